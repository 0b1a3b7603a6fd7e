import KefuRules
import KefuWeChat
import Synchronization

/// WeChat users talking to a rule set without WeChat: each message is built as WeChat would push it
/// (ids, times) and answered through ``Responder`` like `kefu serve` does, on a clock that moves
/// only when told (`wait`). `kefu chat` is a terminal around it.
public final class Simulator: @unchecked Sendable {  // used from one task at a time
    public let engine: Engine
    public let store: any ConversationStore
    public let clock: VirtualClock
    public var account = "gh_kefu"
    private let responder: Responder
    private var nextID: UInt64 = 1
    /// The last message sent, for ``resend()``.
    public private(set) var last: InboundMessage?
    /// What went out through the (simulated) API since the last ``takeSent()``: later parts of
    /// replies, late answers, scheduled messages at their time — as the server's outbox worker would send them.
    private var sentSinceTaken: [OutboxEntry] = []
    private var skippedSinceTaken: [OutboxEntry] = []
    /// When set, every message goes through the protocol as it would from WeChat: signed (and
    /// encrypted) by ``WeChatPlatform``, opened by ``WeChatEndpoint``, the reply sealed and read back.
    public var wire: Wire?

    /// The protocol path of `kefu test --wire`.
    public struct Wire: Sendable {
        public let platform: WeChatPlatform
        public let endpoint: WeChatEndpoint
        public let mode: SecurityMode

        public init(_ configuration: WeChatConfiguration, mode: SecurityMode) throws(WeChatError) {
            platform = try WeChatPlatform(configuration)
            endpoint = try WeChatEndpoint(configuration)
            self.mode = mode
        }

        /// A test account (a fixed token and key: nothing secret) in `mode`.
        public static func testAccount(_ mode: SecurityMode = .secure) -> Wire {
            try! Wire(WeChatConfiguration(token: "kefu-test-token", appID: "wxkefutest00000001",
                                          aesKey: try! EncodingAESKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
                                          accepted: .compatible), mode: mode)
        }

        /// The test account in secure mode.
        public static func secure() -> Wire { testAccount(.secure) }
    }

    /// A protocol step failed: what WeChat or the server would have refused.
    public struct WireError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The calls the rule set makes: mocks on the virtual clock (`kefu test`), or a real runner (`kefu chat --service`).
    public let calls: any CallRunner
    /// ``calls`` when they are the mocks.
    public var mocks: SimulatedCalls? { (calls as? SimulatedCalls) ?? (calls as? any WrapsCallRunner)?.inner as? SimulatedCalls }
    private let delivery: CallDelivery
    private let taken = CallLog()

    /// The call outcome branches taken since the last call (`slow` for a result that missed its turn's wait), in order.
    public func takeCallsTaken() -> [CallTaken] { taken.take() }

    final class CallLog: Sendable {
        let calls = Mutex<[CallTaken]>([])
        func add(_ call: CallTaken) { calls.withLock { $0.append(call) } }
        func take() -> [CallTaken] { calls.withLock { c in defer { c = [] }; return c } }
    }

    public init(rules: CompiledRules, store: any ConversationStore = MemoryStore(), clock: VirtualClock, calls: (any CallRunner)? = nil) {
        let engine = Engine(rules: rules)
        self.engine = engine
        self.store = store
        self.clock = clock
        let calls = calls ?? SimulatedCalls(rules: rules)
        self.calls = calls
        let limits = CallDelivery.limits(of: rules)
        // The simulator is sequential: a late result is taken as soon as its (virtual) time comes.
        let late = Responder(store: store, window: 60)
        let log = taken
        let finish: @Sendable (ServiceRequest, CallResult, Int, Int) async throws -> Void = { request, result, attempt, attempts in
            let outcome = try await late.finishCall(request, result: result, attempt: attempt, attempts: attempts, engine: engine, now: clock.now(),
                                                    jitter: 0)
            if let call = outcome?.call { log.add(call) }
        }
        responder = Responder(store: store, window: 60, calls: calls, onLateResult: { try? await finish($0, $1, $2, $3) })
        delivery = CallDelivery(runner: calls, limits: limits, finish: finish)
    }

    /// Sends `content` from `user` now and returns the outcome.
    public func send(_ content: InboundMessage.Content, from user: String) async throws -> Engine.Outcome {
        let built = InboundMessage(toUserName: account, fromUserName: user, createTime: clock.now(),
                                   msgId: content.msgType == "event" ? nil : nextID, content: content)
        // Read back from its XML, as the server would have it: the raw fields (EventKey …) are part
        // of the de-duplication key, so two clicks in one second on different keys stay two messages.
        let message = (try? InboundMessage(xml: built.xml())) ?? built
        nextID += 1
        last = message
        return try await deliver(message)
    }

    private func deliver(_ message: InboundMessage) async throws -> Engine.Outcome {
        let outcome = try await answer(message)
        if let call = outcome.call { taken.add(call) }
        if case .flow(let flow, .calling(let step)) = outcome.source { taken.add(CallTaken(flow: flow, step: step, outcome: "slow")) }
        try await runOutbox()
        return outcome
    }

    /// The outbox worker's round at the current time (the simulated API accepts every message).
    private func runOutbox() async throws {
        let round = try await OutboxDispatcher(store: store, sender: AcceptingSender(), calls: delivery).run(at: clock.now())
        sentSinceTaken += round.sent
        skippedSinceTaken += round.skipped + round.failed
    }

    /// Messages sent through the API since the last call (and those skipped, with why), oldest first.
    public func takeSent() -> (sent: [OutboxEntry], skipped: [OutboxEntry]) {
        defer { sentSinceTaken = []; skippedSinceTaken = [] }
        return (sentSinceTaken, skippedSinceTaken)
    }

    struct AcceptingSender: OutboxSender {
        func send(_ message: OutboxMessage, at time: Int64) async -> OutboxResult { .sent(msgid: nil) }
    }

    private func answer(_ message: InboundMessage) async throws -> Engine.Outcome {
        guard let wire else { return try await responder.respond(to: message, engine: engine, now: clock.now()) }
        let now = clock.now()
        let nonce = String(nextID &* 2_654_435_761 % 1_000_000_007)
        do {
            let (query, body) = try wire.platform.push(message, mode: wire.mode, timestamp: now, nonce: nonce)
            let opened = try wire.endpoint.open(body, query: query, now: now)
            let back = opened.message
            guard back.content == message.content, back.fromUserName == message.fromUserName, back.msgId == message.msgId,
                  back.createTime == message.createTime else { throw WireError(description: "the push did not read back as sent: \(opened.message) vs \(message)") }
            var outcome = try await responder.respond(to: opened.message, engine: engine, now: now)
            let sealed = try wire.endpoint.seal(outcome.response, for: opened, timestamp: now, nonce: nonce)
            let read = try wire.platform.readResponse(sealed, mode: wire.mode)
            guard read == outcome.response else { throw WireError(description: "the reply did not read back as sent: \(read) vs \(outcome.response)") }
            outcome.response = read
            return outcome
        } catch let error as WeChatError {
            throw WireError(description: "protocol: \(error)")
        }
    }

    /// WeChat's retry of the last message: the same message again (same id and time).
    public func resend() async throws -> Engine.Outcome? {
        guard let last else { return nil }
        return try await deliver(last)
    }

    public func session(of user: String) async throws -> Session? { try await store.session(for: user) }

    /// Moves the clock and runs the clean-up a server would have run meanwhile.
    /// Scheduled messages fall due on the way and go out at their own times, in order.
    public func wait(seconds: Int64) async throws {
        let end = clock.now() + seconds
        var rounds = 0
        while rounds < 10_000 {
            let due = try await store.outboxEntries(for: nil).filter({ $0.state == .pending && $0.message.due <= end }).map(\.message.due).min()
            let late = mocks?.nextLate.flatMap { $0 <= end ? $0 : nil }
            guard let next = [due, late].compactMap({ $0 }).min() else { break }
            rounds += 1
            clock.set(max(next, clock.now()))
            await mocks?.deliverLate(at: clock.now())
            try await responder.tidy(engine: engine, now: clock.now())
            try await runOutbox()
        }
        clock.set(end)
        try await responder.tidy(engine: engine, now: clock.now())
        try await runOutbox()
    }
}
