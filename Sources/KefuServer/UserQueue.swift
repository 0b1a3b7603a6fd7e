/// One user's messages are handled one at a time, in the order they arrived; different users'
/// messages run in parallel.
public actor UserQueue {
    private var tails: [String: Task<Void, Never>] = [:]

    public init() {}

    public func run<T: Sendable>(for user: String, _ work: @escaping @Sendable () async -> T) async -> T {
        let previous = tails[user]
        let task = Task<T, Never> {
            await previous?.value
            return await work()
        }
        let tail = Task<Void, Never> { _ = await task.value }
        tails[user] = tail
        let value = await task.value
        if tails[user] == tail { tails[user] = nil }  // nothing queued behind us: forget the user
        return value
    }

    public var activeUsers: Int { tails.count }
}
