import KefuRules

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

    /// Calls to the rule set's services (nil: call rows wait for a process that can make them).
    public let calls: CallDelivery?

    public init(store: any ConversationStore, sender: any OutboxSender, batch: Int = 100, calls: CallDelivery? = nil) {
        self.store = store; self.sender = sender; self.batch = batch; self.calls = calls
    }

    public struct Round: Sendable, Equatable {
        public var sent: [OutboxEntry] = []
        public var failed: [OutboxEntry] = []
        public var skipped: [OutboxEntry] = []
        public var unknown: [OutboxEntry] = []
        public var deferred = 0
        /// Call rows tried this round.
        public var calls = 0
        public var isEmpty: Bool { sent.isEmpty && failed.isEmpty && skipped.isEmpty && unknown.isEmpty && deferred == 0 && calls == 0 }
    }

    @discardableResult
    public func run(at now: Int64) async throws -> Round {
        var round = Round()
        var waiting: [String: Int64] = [:]  // user → the time their first waiting message is due again
        var callRows: [(OutboxEntry, ServiceRequest)] = []
        for var entry in try await store.dueOutbox(at: now, limit: batch) {
            let user = entry.message.user
            if let request = entry.message.request {  // a call: not a WeChat message, not in the customer's order of messages
                if calls != nil { callRows.append((entry, request)) }
                continue
            }
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
        if let calls, !callRows.isEmpty { round.calls = try await run(callRows, calls, now) }
        return round
    }

    /// The due call rows, concurrently: each claimed for one try (its row due again after the try's
    /// lease), tried, and its result handed to ``CallDelivery/finish``.
    private func run(_ rows: [(OutboxEntry, ServiceRequest)], _ calls: CallDelivery, _ now: Int64) async throws -> Int {
        var claimed: [(OutboxEntry, ServiceRequest, Int, Int64)] = []
        for (entry, request) in rows {
            let (attempts, timeoutMs) = calls.limits(request.service)
            guard try await store.claimCall(entry.id, until: now + (timeoutMs + 999) / 1000 + Responder.callLease, at: now) else { continue }
            claimed.append((entry, request, attempts, timeoutMs))
        }
        await withTaskGroup(of: Void.self) { group in
            for (entry, request, attempts, timeoutMs) in claimed {
                group.addTask {
                    let attempt = entry.attempts + 1
                    let finish = calls.finish
                    let result = await calls.runner.attempt(request, attempt: attempt, wait: .milliseconds(timeoutMs + 1000), at: now) { late in
                        try? await finish(request, late, attempt, attempts)
                    }
                    if let result { try? await finish(request, result, attempt, attempts) }
                }
            }
        }
        return claimed.count
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

/// What the outbox worker needs to make calls: the runner, each service's limits, and where a
/// result goes (``Responder/finishCall(_:result:attempt:attempts:engine:now:jitter:answering:)`` in the customer's order).
public struct CallDelivery: Sendable {
    public let runner: any CallRunner
    /// Service name → tries in all for a write, timeout of one try (ms).
    public let limits: @Sendable (String) -> (attempts: Int, timeoutMs: Int64)
    public let finish: @Sendable (ServiceRequest, CallResult, _ attempt: Int, _ attempts: Int) async throws -> Void

    public init(runner: any CallRunner, limits: @escaping @Sendable (String) -> (attempts: Int, timeoutMs: Int64),
                finish: @escaping @Sendable (ServiceRequest, CallResult, Int, Int) async throws -> Void) {
        self.runner = runner; self.limits = limits; self.finish = finish
    }

    /// The limits a rule set gives its services.
    public static func limits(of rules: CompiledRules) -> @Sendable (String) -> (attempts: Int, timeoutMs: Int64) {
        let services = Dictionary(rules.services.map { ($0.name, ($0.attempts, $0.timeoutMs)) }, uniquingKeysWith: { a, _ in a })
        return { services[$0] ?? (ServiceSpec.defaultAttempts, ServiceSpec.defaultTimeoutMs) }
    }
}
