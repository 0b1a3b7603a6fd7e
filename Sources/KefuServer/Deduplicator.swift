/// Exactly once while a message is being answered: the first delivery runs the work; a retry that
/// arrives meanwhile waits for the same result instead of running it again.
///
/// Only work in flight is kept here (memory grows with concurrency, not with traffic, and there is
/// nothing to sweep). A retry that arrives after the work finished is answered by the store, which
/// saved the answer in the same transaction as the session (`Responder`): that is what also holds
/// across a restart. A result the work does not want remembered (the store failed) is therefore
/// simply gone, and the next retry runs again.
public actor Deduplicator<Value: Sendable> {
    private var running: [String: Task<Value, Never>] = [:]

    public init() {}

    /// Runs `work` once for every caller that asks for `key` while it runs.
    /// `duplicate` is true for every caller but the one whose call ran the work.
    public func run(_ key: String, _ work: @escaping @Sendable () async -> Value) async -> (value: Value, duplicate: Bool) {
        if let task = running[key] {
            waiting += 1
            defer { waiting -= 1 }
            return (await task.value, true)
        }
        let task = Task { await work() }
        running[key] = task
        let value = await task.value
        running[key] = nil
        return (value, false)
    }

    /// Deliveries waiting for another delivery's work.
    public private(set) var waiting = 0

    /// Messages being answered now.
    public var inFlight: Int { running.count }
}
