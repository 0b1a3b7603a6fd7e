import Foundation
import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// One user talking to a rule set through ``Responder`` with a memory store and a virtual clock:
/// what `kefu chat` and `kefu test` do.
final class Chat {
    let engine: Engine
    let store: MemoryStore
    let responder: Responder
    let clock: VirtualClock
    let user: String
    private(set) var last: InboundMessage?
    private(set) var lastOutcome: Engine.Outcome?
    private var nextID: UInt64 = 1

    /// 2026-11-25 10:00 in +08:00 (a Wednesday).
    static let start: Int64 = 1_795_572_000

    convenience init(_ yaml: String, user: String = "o_user", store: MemoryStore = MemoryStore(), clock: VirtualClock = VirtualClock(Chat.start)) throws {
        try self.init(rules: RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: yaml)])), user: user, store: store, clock: clock)
    }

    /// A sample rule set of the repository (Rules/NAME).
    convenience init(sample name: String, user: String = "o_user") throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try self.init(rules: RuleSetCompiler.compile(directory: root.appendingPathComponent("Rules/\(name)").path), user: user)
    }

    init(rules: CompiledRules, user: String = "o_user", store: MemoryStore = MemoryStore(), clock: VirtualClock = VirtualClock(Chat.start)) throws {
        engine = Engine(rules: rules)
        self.store = store
        responder = Responder(store: store, window: 60)
        self.clock = clock
        self.user = user
    }

    func send(_ content: InboundMessage.Content) async throws -> Engine.Outcome {
        let isEvent = content.msgType == "event"
        let message = InboundMessage(toUserName: "gh_kefu", fromUserName: user, createTime: clock.now(),
                                     msgId: isEvent ? nil : nextID, content: content)
        nextID += 1
        last = message
        let outcome = try await responder.respond(to: message, engine: engine, now: clock.now())
        lastOutcome = outcome
        return outcome
    }

    /// The text reply to `text` ("" when the answer is not text).
    @discardableResult
    func say(_ text: String) async throws -> String {
        Self.text(try await send(.text(.init(content: text))))
    }

    /// WeChat's retry of the last message.
    func resend() async throws -> Engine.Outcome {
        try await responder.respond(to: last!, engine: engine, now: clock.now())
    }

    func wait(minutes: Int64) { clock.advance(by: minutes * 60) }

    func session() async -> Session? { await store.session(for: user) }
    func slots() async -> [String: String] { await session()?.flow?.slots ?? [:] }

    static func text(_ outcome: Engine.Outcome) -> String {
        if case .reply(let reply) = outcome.response, case .text(let text) = reply.body { return text }
        return ""
    }

    static func isTransfer(_ outcome: Engine.Outcome) -> Bool {
        if case .reply(let reply) = outcome.response, case .transferCustomerService = reply.body { return true }
        return false
    }
}
