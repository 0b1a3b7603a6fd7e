import KefuRules
import KefuWeChat

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

    public init(rules: CompiledRules, store: any ConversationStore = MemoryStore(), clock: VirtualClock) {
        engine = Engine(rules: rules)
        self.store = store
        self.clock = clock
        responder = Responder(store: store, window: 60)
    }

    /// Sends `content` from `user` now and returns the outcome.
    public func send(_ content: InboundMessage.Content, from user: String) async throws -> Engine.Outcome {
        let message = InboundMessage(toUserName: account, fromUserName: user, createTime: clock.now(),
                                     msgId: content.msgType == "event" ? nil : nextID, content: content)
        nextID += 1
        last = message
        return try await responder.respond(to: message, engine: engine, now: clock.now())
    }

    /// WeChat's retry of the last message: the same message again (same id and time).
    public func resend() async throws -> Engine.Outcome? {
        guard let last else { return nil }
        return try await responder.respond(to: last, engine: engine, now: clock.now())
    }

    public func session(of user: String) async throws -> Session? { try await store.session(for: user) }

    /// Moves the clock and runs the clean-up a server would have run meanwhile.
    public func wait(seconds: Int64) async throws {
        clock.advance(by: seconds)
        try await responder.tidy(engine: engine, now: clock.now())
    }
}
