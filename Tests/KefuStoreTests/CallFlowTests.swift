import Foundation
import KefuDialogue
import KefuRules
import KefuWeChat
import Testing
@testable import KefuStore

/// Calls through the whole turn path (Simulator → Responder → store → outbox worker) on the clinic
/// sample, its HIS answered by `kefu test`'s mocks on the virtual clock, the store a real SQLite file.
@Suite("Calls through the turn path")
struct CallFlowTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let clinic = try! RuleSetCompiler.compile(directory: root.appendingPathComponent("Rules/clinic").path)
    /// 2026-11-25 10:00 +08:00.
    static let start: Int64 = 1_795_572_000

    static func mock(_ method: CallSpec.Method, _ path: String, _ status: Int = 200, _ body: JSONValue? = nil, delay: Int64 = 0) -> SimulatedCalls.Mock {
        SimulatedCalls.Mock(service: "his", method: method, path: path, status: status, body: body, delay: delay)
    }

    static let free = mock(.get, "/availability*", 200, .object(["available": .bool(true)]))

    /// Walks the clinic's booking to its confirmation and says 对的.
    @discardableResult
    static func book(_ simulator: Simulator, user: String = "o_b") async throws -> Engine.Outcome {
        for text in ["我想挂儿科", "周医生", "下周一上午9点半", "李小宝", "13812345678"] {
            _ = try await simulator.send(.text(.init(content: text)), from: user)
        }
        return try await simulator.send(.text(.init(content: "对的")), from: user)
    }

    static func text(_ outcome: Engine.Outcome) -> String {
        if case .reply(let reply) = outcome.response, case .text(let text) = reply.body { return text }
        return ""
    }

    @Test("a write keeps one idempotency key through Kefu's retries; a new run of the step (after 409) gets a new one; the key is the same for the same conversation")
    func idempotencyKeys() async throws {
        var keys: [[String]] = []
        for _ in 0..<2 {
            let calls = SimulatedCalls(mocks: [Self.free, Self.mock(.post, "/appointments", 503), Self.mock(.post, "/appointments", 503),
                                              Self.mock(.post, "/appointments", 409), Self.mock(.post, "/appointments", 201, .object(["id": .string("A7")]))],
                                       rules: Self.clinic)
            let simulator = Simulator(rules: Self.clinic, clock: VirtualClock(Self.start), calls: calls)
            #expect(Self.text(try await Self.book(simulator)) == "正在为您提交预约，结果稍后发给您。")
            try await simulator.wait(seconds: 60)  // two retries: 503, then 409 → back to the time step
            #expect(try await simulator.session(of: "o_b")?.flow?.slots["time"] == nil)
            _ = try await simulator.send(.text(.init(content: "下周一下午2点")), from: "o_b")
            let done = try await simulator.send(.text(.init(content: "是")), from: "o_b")
            #expect(Self.text(done).contains("预约号 A7"), "\(Self.text(done))")
            let posts = calls.takeMade().filter { $0.request.method == .post }
            #expect(posts.map(\.attempt) == [1, 2, 3, 1])
            keys.append(posts.map(\.request.idempotencyKey))
        }
        let first = try #require(keys.first)
        #expect(Set(first.prefix(3)).count == 1, "one key for every try of one run")
        #expect(first[3] != first[0], "a new run of the step gets a new key")
        #expect(keys[0] == keys[1], "derived from the conversation, not random")
        #expect(first[0].hasPrefix("kefu-") && first[0].count == 37)
    }

    @Test("kill -9 while a write is out: the row survives in the file; after its lease the next process makes it once, with the same key, and the flow goes on")
    func crashDuringWrite() async throws {
        let path = StoreTests.temporaryPath()
        defer { StoreTests.removeFolder(of: path) }
        let clock = VirtualClock(Self.start)
        var firstKey = ""
        do {
            // The first process: the HIS takes 3 s; the process "dies" before the answer comes (its late result is never taken).
            let store = try SQLiteStore(path: path)
            let calls = SimulatedCalls(mocks: [Self.free, Self.mock(.post, "/appointments", 201, .object(["id": .string("A9")]), delay: 3)], rules: Self.clinic)
            let simulator = Simulator(rules: Self.clinic, store: store, clock: clock, calls: calls)
            #expect(Self.text(try await Self.book(simulator)) == "正在为您提交预约，结果稍后发给您。")
            firstKey = try #require(calls.takeMade().last?.request.idempotencyKey)
            let rows = try await store.outboxEntries(for: "o_b")
            #expect(rows.map(\.message.kind) == [.call] && rows.first?.state == .pending)
        }
        // The next process on the same file, later than the row's lease.
        clock.advance(by: 60)
        let store = try SQLiteStore(path: path)
        let calls = SimulatedCalls(mocks: [Self.mock(.post, "/appointments", 201, .object(["id": .string("A9")]))], rules: Self.clinic)
        let simulator = Simulator(rules: Self.clinic, store: store, clock: clock, calls: calls)
        try await simulator.wait(seconds: 1)
        let made = calls.takeMade()
        #expect(made.map(\.request.idempotencyKey) == [firstKey])
        let sent = simulator.takeSent().sent.map(\.message.content.preview)
        #expect(sent.count == 1 && sent[0].contains("预约成功") && sent[0].contains("预约号 A9"), "\(sent)")
        #expect(try await store.session(for: "o_b")?.flow == nil)
        try await simulator.wait(seconds: 3600)
        #expect(calls.takeMade().isEmpty, "done once: not made again")
        let row = try #require(try await store.outboxEntries(for: "o_b").first { $0.message.kind == .call })
        #expect(row.state == .sent)
    }

    @Test("a result for a flow that moved on changes nothing; a read past the wait's limit takes the error branch at the next message")
    func staleResults() async throws {
        let engine = Engine(rules: Self.clinic)
        let message = InboundMessage(toUserName: "gh", fromUserName: "o_s", createTime: Self.start, msgId: 1, content: .text(.init(content: "我要取消预约")))
        let started = engine.handle(message, session: nil, now: Self.start)
        let request = ServiceRequest(service: "his", method: .delete, path: "/appointments", idempotencyKey: "kefu-other",
                                     call: CallRef(user: "o_s", flow: "cancel-appointment", step: "cancel-booking", instance: "x", run: 1))
        let resumed = engine.resume(request, result: CallResult(.response(status: 200, body: .object([:]))), session: started.session, now: Self.start + 1)
        #expect(resumed.session == started.session)
        if case .noReply = resumed.outcome.source {} else { Issue.record("expected no reply, got \(resumed.outcome.source)") }

        // The shop's lookup went out and its result never came (the process stopped): past the wait's limit,
        // the next message runs the call's error branch instead of "still waiting".
        let shop = Engine(rules: try RuleSetCompiler.compile(directory: Self.root.appendingPathComponent("Rules/shop").path))
        let ask = InboundMessage(toUserName: "gh", fromUserName: "o_s", createTime: Self.start, msgId: 2, content: .text(.init(content: "订单 DD202406110001 到哪了")))
        let waiting = shop.handle(ask, session: nil, now: Self.start)
        let until = try #require(waiting.session?.flow?.pending?.until)
        let soon = InboundMessage(toUserName: "gh", fromUserName: "o_s", createTime: Self.start + 2, msgId: 3, content: .text(.init(content: "好了吗")))
        #expect(Self.text(shop.handle(soon, session: waiting.session, now: Self.start + 2).outcome) == Engine.callPendingText)
        let later = InboundMessage(toUserName: "gh", fromUserName: "o_s", createTime: until, msgId: 4, content: .text(.init(content: "好了吗")))
        let gaveUp = shop.handle(later, session: waiting.session, now: until)
        #expect(Self.text(gaveUp.outcome).hasPrefix("订单系统暂时无法查询"), "\(gaveUp.outcome.response)")
        #expect(gaveUp.session?.flow == nil)
    }

    @Test("save: reads fields, [*] joins a list with 、; map: turns codes into words; a missing field leaves the slot empty")
    func saveAndMap() throws {
        let path = try JSONPath.parse("$.alternatives[*].label").get()
        let body = JSONValue.parse(Array(#"{"available":false,"alternatives":[{"label":"09:00"},{"label":"10:30"},{"x":1}],"n":3}"#.utf8))!
        #expect(path.text(in: body) == "09:00、10:30")
        #expect(try JSONPath.parse("$.available").get().text(in: body) == "false")
        #expect(try JSONPath.parse("$.n").get().text(in: body) == "3")
        #expect(try JSONPath.parse("$.alternatives[-1].x").get().text(in: body) == "1")
        #expect(try JSONPath.parse("$.missing.deeper").get().text(in: body) == nil)
    }
}
