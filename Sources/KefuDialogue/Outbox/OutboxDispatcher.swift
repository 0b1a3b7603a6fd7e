/// Sends one outbox message through WeChat's API (the server's API client; the simulator's record).
public protocol OutboxSender: Sendable {
    /// Everything the send needs before the message itself goes out (an access token, an upload):
    /// nil when ready, else what to do with the message instead (try again later, give up). The
    /// message is marked `sending` only after this, so a crash while preparing leaves it pending.
    func prepare(_ message: OutboxMessage, at time: Int64) async -> OutboxResult?
    /// What came of it: sent, failed for good, outcome unknown, or try again at a time.
    func send(_ message: OutboxMessage, at time: Int64) async -> OutboxResult
}

extension OutboxSender {
    public func prepare(_ message: OutboxMessage, at time: Int64) async -> OutboxResult? { nil }
}

/// One round of the outbox worker: every due message, oldest first, checked, marked `sending`,
/// sent, and its result recorded. Shared by `kefu serve` (the worker Service, on the API client)
/// and `kefu chat` / `kefu test` (on the virtual clock), so both send exactly the same things.
///
/// - A message past its `notAfter` (a reminder after the appointment) is skipped.
/// - A customer-service message outside the customer's window is skipped: WeChat would refuse it
///   (45015/45047) and a retry cannot help until the customer writes again.
/// - Per customer, messages go in order: when one must wait (retry later), the ones after it wait too.
public struct OutboxDispatcher: Sendable {
    public let store: any ConversationStore
    public let sender: any OutboxSender
    /// Messages per round (the rest wait for the next).
    public let batch: Int
    /// Tries before a message that keeps being put off (WeChat busy, not reachable) is given up.
    public static let maxAttempts = 8

    public init(store: any ConversationStore, sender: any OutboxSender, batch: Int = 100) {
        self.store = store; self.sender = sender; self.batch = batch
    }

    public struct Round: Sendable, Equatable {
        public var sent: [OutboxEntry] = []
        public var failed: [OutboxEntry] = []
        public var skipped: [OutboxEntry] = []
        public var unknown: [OutboxEntry] = []
        public var deferred = 0
        public var isEmpty: Bool { sent.isEmpty && failed.isEmpty && skipped.isEmpty && unknown.isEmpty && deferred == 0 }
    }

    @discardableResult
    public func run(at now: Int64) async throws -> Round {
        var round = Round()
        var waiting: [String: Int64] = [:]  // user → the time their first waiting message is due again
        for var entry in try await store.dueOutbox(at: now, limit: batch) {
            let user = entry.message.user
            if let again = waiting[user] {
                try await store.finishSending(entry.id, .retry(at: again, "waits for an earlier message to the same customer"), at: now)
                round.deferred += 1
                continue
            }
            if let limit = entry.message.notAfter, now > limit {
                try await finish(&entry, .skipped("its time passed before it could be sent"), now, &round)
                continue
            }
            if entry.message.needsWindow, !(try await store.window(for: user).allows(at: now)) {
                try await finish(&entry, .skipped("the customer's window is closed (WeChat allows customer-service messages only within 48 h of their last message, at most 5)"), now, &round)
                continue
            }
            var result: OutboxResult
            if let instead = await sender.prepare(entry.message, at: now) {
                result = instead
            } else {
                guard try await store.beginSending(entry.id, at: now) else { continue }  // cancelled meanwhile
                result = await sender.send(entry.message, at: now)
            }
            if case .retry(let at, let why) = result {
                if entry.attempts + 1 >= Self.maxAttempts {
                    result = .failed("gave up after \(Self.maxAttempts) tries: \(why)")
                } else {
                    waiting[user] = at
                }
            }
            try await finish(&entry, result, now, &round)
        }
        return round
    }

    private func finish(_ entry: inout OutboxEntry, _ result: OutboxResult, _ now: Int64, _ round: inout Round) async throws {
        try await store.finishSending(entry.id, result, at: now)
        entry.updatedAt = now
        switch result {
        case .sent(let msgid): entry.state = .sent; entry.msgid = msgid; round.sent.append(entry)
        case .failed(let why): entry.state = .failed; entry.detail = why; round.failed.append(entry)
        case .skipped(let why): entry.state = .skipped; entry.detail = why; round.skipped.append(entry)
        case .unknown(let why): entry.state = .unknown; entry.detail = why; round.unknown.append(entry)
        case .retry: round.deferred += 1
        }
    }
}
