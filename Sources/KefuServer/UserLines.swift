import Synchronization

/// Exactly once and in order, in one structure: each user has a line of turns; a turn runs when it
/// reaches the front (one user's messages one at a time, in arrival order; different users in parallel),
/// and a delivery whose key is already in the line (WeChat's retry while the first is queued or running)
/// waits for that turn's result instead of adding one.
///
/// One lock over a dictionary and no tasks of its own: a turn runs in the task of the delivery that
/// added it, and hands the front to the next turn by resuming its continuation (the first version had an
/// actor for de-duplication and another for ordering, which cost five task creations and four executor
/// hops per request). Only lines with work in them are kept (memory grows with concurrency, not with
/// traffic). A retry that arrives after its turn finished is answered by the store, which saved the
/// answer with the session; a result the turn does not want remembered (the store failed) is simply gone,
/// and the next retry runs again.
public final class UserLines<Value: Sendable>: Sendable {
    /// One turn: its key, the continuation of the delivery waiting to run it, its result and who waits for it.
    final class Turn: Sendable {
        let key: String
        struct State {
            /// Set when the turn reaches the front; `start` is resumed then (or not set at all if it was already there).
            var atFront = false
            var start: CheckedContinuation<Void, Never>?
            var value: Value?
            var waiters: [CheckedContinuation<Value, Never>] = []
        }
        let state: Mutex<State>
        init(key: String, atFront: Bool) {
            self.key = key
            state = Mutex(State(atFront: atFront))
        }
    }

    private enum Admission { case duplicate(Turn), mine(Turn) }

    private struct Lines {
        var byUser: [String: [Turn]] = [:]
        /// Deliveries waiting for another delivery's turn.
        var waiting = 0
        var inFlight = 0
    }

    private let lines = Mutex(Lines())

    public init() {}

    /// Runs `work` once for every delivery of `key` that arrives while the turn is in the line, after the
    /// user's earlier turns. `duplicate` is true for every caller but the one whose call ran the work.
    public func run(key: String, user: String, _ work: () async -> Value) async -> (value: Value, duplicate: Bool) {
        let admission = lines.withLock { lines -> Admission in
            if let existing = lines.byUser[user]?.first(where: { $0.key == key }) {
                lines.waiting += 1
                return .duplicate(existing)
            }
            let line = lines.byUser[user]
            let turn = Turn(key: key, atFront: line == nil)
            lines.byUser[user, default: []].append(turn)
            lines.inFlight += 1
            return .mine(turn)
        }
        switch admission {
        case .duplicate(let turn):
            let value = await Self.result(of: turn)
            lines.withLock { $0.waiting -= 1 }
            return (value, true)
        case .mine(let turn):
            await Self.reachFront(turn)
            let value = await work()
            finish(turn, user: user, value: value)
            return (value, false)
        }
    }

    /// Runs `work` in the user's line without a key (no de-duplication): a call's late result, the console's hand-back,
    /// clean-up of a session.
    public func run<T: Sendable>(for user: String, _ work: () async -> T) async -> T {
        let turn = lines.withLock { lines -> Turn in
            let turn = Turn(key: "", atFront: lines.byUser[user] == nil)
            lines.byUser[user, default: []].append(turn)
            return turn
        }
        await Self.reachFront(turn)
        let value = await work()
        let next = lines.withLock { lines in Self.removeFront(turn, user: user, &lines) }
        next.map(Self.start)
        return value
    }

    private static func reachFront(_ turn: Turn) async {
        if turn.state.withLock({ $0.atFront }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = turn.state.withLock { state -> Bool in
                if state.atFront { return true }
                state.start = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private static func result(of turn: Turn) async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let value = turn.state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }

    private func finish(_ turn: Turn, user: String, value: Value) {
        // The turn leaves the line before its waiters hear: a retry that comes after this is answered by the store.
        let next = lines.withLock { lines -> Turn? in
            lines.inFlight -= 1
            return Self.removeFront(turn, user: user, &lines)
        }
        let waiters = turn.state.withLock { state -> [CheckedContinuation<Value, Never>] in
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
        next.map(Self.start)
    }

    /// Takes `turn` (the front) out of the user's line; the next turn, if any, to start.
    private static func removeFront(_ turn: Turn, user: String, _ lines: inout Lines) -> Turn? {
        guard var line = lines.byUser[user], line.first === turn else { return nil }
        line.removeFirst()
        if line.isEmpty { lines.byUser[user] = nil; return nil }
        lines.byUser[user] = line
        return line[0]
    }

    private static func start(_ turn: Turn) {
        let continuation = turn.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.atFront = true
            defer { state.start = nil }
            return state.start
        }
        continuation?.resume()
    }

    /// Deliveries waiting for another delivery's turn.
    public var waiting: Int { lines.withLock { $0.waiting } }
    /// Messages being answered or queued now.
    public var inFlight: Int { lines.withLock { $0.inFlight } }
    /// Users with a turn queued or running.
    public var activeUsers: Int { lines.withLock { $0.byUser.count } }
}
