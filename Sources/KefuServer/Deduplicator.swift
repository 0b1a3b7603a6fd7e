/// Exactly once, despite WeChat's retries: the first delivery of a message runs the work; a retry
/// that arrives while it runs waits for the same result; a retry after it gets the stored result.
/// Results are kept for a window (default 60 s; WeChat retries within about 15 s).
///
/// In memory: enough for one process. A shared store (SQLite, PostgreSQL) takes this role when
/// sessions arrive, so that a restart or a second server also remembers.
public actor Deduplicator<Value: Sendable> {
    private enum Entry {
        case running(Task<Value, Never>)
        case done(Value, expires: ContinuousClock.Instant)
    }

    private var entries: [String: Entry] = [:]
    private let window: Duration
    private var lastSweep = ContinuousClock.now

    public init(window: Duration) {
        self.window = window
    }

    /// Whether `key` was already seen (running or done).
    public func contains(_ key: String) -> Bool {
        switch entries[key] {
        case .running: return true
        case .done(_, let expires): return expires > .now
        case nil: return false
        }
    }

    /// Runs `work` once per key within the window and returns its result to every caller.
    /// `duplicate` is true for every caller but the one whose call ran the work.
    public func run(_ key: String, _ work: @escaping @Sendable () async -> Value) async -> (value: Value, duplicate: Bool) {
        sweepIfDue()
        switch entries[key] {
        case .done(let value, let expires) where expires > .now:
            return (value, true)
        case .running(let task):
            return (await task.value, true)
        default:
            let task = Task { await work() }
            entries[key] = .running(task)
            let value = await task.value
            entries[key] = .done(value, expires: .now + window)
            return (value, false)
        }
    }

    public var count: Int { entries.count }

    private func sweepIfDue() {
        let now = ContinuousClock.now
        guard now - lastSweep > .seconds(5) else { return }
        lastSweep = now
        entries = entries.filter { _, entry in
            if case .done(_, let expires) = entry { return expires > now }
            return true
        }
    }
}
