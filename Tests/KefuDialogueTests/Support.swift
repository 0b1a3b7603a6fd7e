import Foundation
import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// One user talking to a rule set through ``Simulator`` (Responder, a memory store, a virtual
/// clock): what `kefu chat` and `kefu test` do.
final class Chat {
    let simulator: Simulator
    let store: MemoryStore
    let user: String
    private(set) var lastOutcome: Engine.Outcome?

    var engine: Engine { simulator.engine }
    var clock: VirtualClock { simulator.clock }
    /// The clean-up the server runs, on this store (for tests that call it directly).
    var responder: Responder { Responder(store: store, window: 60) }

    /// 2026-11-25 10:00 in +08:00 (a Wednesday).
    static let start: Int64 = 1_795_572_000

    convenience init(_ yaml: String, user: String = "o_user", store: MemoryStore = MemoryStore(), clock: VirtualClock = VirtualClock(Chat.start)) throws {
        try self.init(rules: RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: yaml)])), user: user, store: store, clock: clock)
    }

    /// A sample rule set of the repository (Rules/NAME).
    convenience init(sample name: String, user: String = "o_user") throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try self.init(rules: RuleSetCompiler.compile(directory: root.appendingPathComponent("Rules/\(name)").path), user: user)
        simulator.mocks?.setMocks(Self.sampleMocks)
    }

    /// How the samples' services answer in these tests (as Corpora/ mocks them).
    static let sampleMocks: [SimulatedCalls.Mock] = [
        .init(service: "erp", method: .get, path: "/orders/*",
              body: .object(["status": .string("SHIPPED"), "shipment": .object(["carrier": .string("顺丰速运"), "no": .string("SF1234567890")])])),
        .init(service: "erp", method: .post, path: "/tickets", status: 201, body: .object(["ticket_no": .string("SH-000101")])),
        .init(service: "his", method: .get, path: "/availability*", body: .object(["available": .bool(true)])),
        .init(service: "his", method: .post, path: "/appointments", status: 201, body: .object(["id": .string("A1001")])),
        .init(service: "his", method: .delete, path: "/appointments*", body: .object(["cancelled": .number(1)])),
    ]

    init(rules: CompiledRules, user: String = "o_user", store: MemoryStore = MemoryStore(), clock: VirtualClock = VirtualClock(Chat.start)) throws {
        simulator = Simulator(rules: rules, store: store, clock: clock)
        self.store = store
        self.user = user
    }

    func send(_ content: InboundMessage.Content) async throws -> Engine.Outcome {
        let outcome = try await simulator.send(content, from: user)
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
        try #require(try await simulator.resend())
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
