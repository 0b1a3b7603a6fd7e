import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// Scheduled messages, late answers and the outbox round, on the memory store and the virtual clock.
@Suite("The outbox")
struct OutboxTests {
    static let rules = """
    default: 抱歉
    rules:
      - {id: book, when: {contains: [预约]}, flow: book}
      - {id: quit, when: {contains: [取消预约]}, flow: quit}
      - {id: hi, when: {exact: [你好]}, reply: 您好}
    flows:
      book:
        steps:
          - {slot: time, ask: 几点？, expect: datetime}
        done: 约好了：{{time}}
        schedule:
          - {id: day, before: 24h, of: time, template: {id: TM1, data: {time1: '{{time}}'}}}
          - {id: soon, before: 2h, of: time, text: '快到了：{{time}}'}
          - {id: ask-later, after: 3d, template: {id: TM2, data: {thing1: 回访}}}
      quit:
        steps:
          - {confirm: 确定吗？}
        done: 已取消
        cancel_schedule: [book]
    """

    final class Recorder: OutboxSender, @unchecked Sendable {
        var results: [OutboxResult]
        var sent: [OutboxMessage] = []
        init(_ results: [OutboxResult] = []) { self.results = results }
        func send(_ message: OutboxMessage, at time: Int64) async -> OutboxResult {
            sent.append(message)
            return results.isEmpty ? .sent(msgid: nil) : results.removeFirst()
        }
    }

    @Test("a booking schedules its reminders at the slot's time minus the offset; the past ones are left out; the reply says nothing of them")
    func schedules() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        let done = try await chat.send(.text(.init(content: "明天下午3点")))
        #expect(Chat.text(done) == "约好了：2026-11-26 周四 15:00")
        let queued = done.queued
        #expect(queued.map(\.name) == ["day", "soon", "ask-later"])
        let appointment = LocalTime("2026-11-26 15:00")!.unixTime(utcOffset: 8 * 3600)
        #expect(queued.map(\.due) == [appointment - 86_400, appointment - 7_200, Chat.start + 3 * 86_400])
        #expect(queued.map(\.notAfter) == [appointment, appointment, nil])
        #expect(queued[0].content == .template(RenderedTemplate(templateID: "TM1", data: [.init(key: "time1", value: "2026-11-26 周四 15:00")],
                                                                clientMessageID: queued[0].content.clientMessageID!)))
        // An appointment in 90 minutes: both reminders are already too late.
        let soon = try Chat(Self.rules, user: "o_soon")
        try await soon.say("预约")
        let near = try await soon.send(.text(.init(content: "今天11点30")))
        #expect(near.queued.map(\.name) == ["ask-later"])
    }

    @Test("at their times: the template goes, the text goes inside the window, nothing after a cancellation")
    func sendsAtTheirTimes() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        try await chat.say("明天下午3点")
        try await chat.simulator.wait(seconds: 4 * 3600)
        #expect(chat.simulator.takeSent().sent.isEmpty)
        try await chat.simulator.wait(seconds: 3600)  // 15:00 today = 24 h before
        #expect(chat.simulator.takeSent().sent.map(\.message.name) == ["day"])
        try await chat.simulator.wait(seconds: 22 * 3600)
        #expect(chat.simulator.takeSent().sent.map(\.message.content.preview) == ["快到了：2026-11-26 周四 15:00"])

        let other = try Chat(Self.rules, user: "o_other")
        try await other.say("预约")
        try await other.say("明天下午3点")
        try await other.say("取消预约")
        let cancelled = try await other.send(.text(.init(content: "是")))
        #expect(Chat.text(cancelled) == "已取消")
        try await other.simulator.wait(seconds: 5 * 86_400)
        #expect(other.simulator.takeSent().sent.isEmpty)
        #expect(await other.store.outboxEntries(for: "o_other").map(\.state) == [.cancelled, .cancelled, .cancelled])
    }

    @Test("a text reminder outside the 48-hour window is skipped with why; a template reminder is not")
    func window() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        try await chat.say("12月1号上午10点")
        try await chat.simulator.wait(seconds: 7 * 86_400)
        let (sent, skipped) = chat.simulator.takeSent()
        #expect(sent.map(\.message.name) == ["ask-later", "day"])
        #expect(skipped.map(\.message.name) == ["soon"])
        #expect(skipped.first?.detail?.contains("window is closed") == true)
    }

    @Test("the window: 5 messages in 48 h after a message, 3 in a minute after a click; an unfollow closes it")
    func windowCounts() {
        var window = ServiceWindow().opened(by: .message, at: 100)
        for _ in 0..<5 { #expect(window.allows(at: 200)); window.use(at: 200) }
        #expect(!window.allows(at: 200))
        window = window.opened(by: .event, at: 300)
        #expect(window.remaining(at: 300) == 3)
        window.use(at: 300); window.use(at: 300); window.use(at: 300)
        #expect(!window.allows(at: 310))
        window = window.opened(by: .message, at: 400)
        #expect(!window.allows(at: 400 + ServiceWindow.messageLife))
        #expect(!window.opened(by: .unfollow, at: 500).allows(at: 500))
    }

    @Test("a late answer: when the budget won the race, the whole answer goes to the outbox and the push gets success; a retry gets success too")
    func late() async throws {
        let store = MemoryStore()
        let compiled = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: Self.rules)]))
        let engine = Engine(rules: compiled)
        let responder = Responder(store: store)
        let message = InboundMessage(toUserName: "gh", fromUserName: "o_late", createTime: Chat.start, msgId: 7, content: .text(.init(content: "你好")))
        let gate = DeliveryGate()
        #expect(gate.claimLate())
        let outcome = try await responder.respond(to: message, engine: engine, now: Chat.start, gate: gate)
        #expect(outcome.response == .success)
        #expect(outcome.late)
        #expect(outcome.queued.map(\.kind) == [.late])
        #expect(outcome.queued.first?.content == .message(.text("您好")))
        let again = try await responder.respond(to: message, engine: engine, now: Chat.start + 5, gate: DeliveryGate())
        #expect(again.response == .success && again.source == .remembered && again.queued.isEmpty)

        // The turn claimed the reply first: it is passive, nothing queued.
        let passiveGate = DeliveryGate()
        #expect(passiveGate.claimPassive())
        #expect(!passiveGate.claimLate())
        let second = InboundMessage(toUserName: "gh", fromUserName: "o_late", createTime: Chat.start + 1, msgId: 8, content: .text(.init(content: "你好")))
        let passive = try await responder.respond(to: second, engine: engine, now: Chat.start + 1, gate: passiveGate)
        #expect(!passive.late && passive.queued.isEmpty)
        if case .reply = passive.response {} else { Issue.record("expected a passive reply, got \(passive.response)") }
    }

    @Test("a round: messages past their notAfter are skipped, a retry holds back the same customer's later messages, unknown is final")
    func dispatcher() async throws {
        let store = MemoryStore()
        let text = { (s: String) in OutboundContent.message(.text(s)) }
        await store.commit(TurnRecord(key: "k1", response: .success, time: 100, user: "a", session: .unchanged, log: nil,
                                      outbox: [OutboxMessage(user: "a", kind: .part, due: 100, content: text("a1")),
                                               OutboxMessage(user: "a", kind: .part, due: 100, content: text("a2"))],
                                      interaction: .message))
        await store.commit(TurnRecord(key: "k2", response: .success, time: 100, user: "b", session: .unchanged, log: nil,
                                      outbox: [OutboxMessage(user: "b", kind: .scheduled, due: 100, notAfter: 90, content: text("b-old")),
                                               OutboxMessage(user: "b", kind: .part, due: 100, content: text("b1"))],
                                      interaction: .message))
        let sender = Recorder([.retry(at: 160, "-1 system busy"), .unknown("timed out")])
        let round = try await OutboxDispatcher(store: store, sender: sender).run(at: 100)
        #expect(sender.sent.map(\.content.preview) == ["a1", "b1"])
        #expect(round.skipped.map(\.message.content.preview) == ["b-old"])
        #expect(round.unknown.map(\.message.content.preview) == ["b1"])
        let entries = await store.outboxEntries(for: nil)
        #expect(entries.map(\.state) == [.pending, .pending, .skipped, .unknown])
        #expect(entries.prefix(2).map(\.message.due) == [160, 160])
        // At 160: a1 then a2, in order; the unknown one is never sent again.
        let next = try await OutboxDispatcher(store: store, sender: sender).run(at: 160)
        #expect(next.sent.map(\.message.content.preview) == ["a1", "a2"])
        #expect(sender.sent.map(\.content.preview) == ["a1", "b1", "a1", "a2"])
        #expect(await store.window(for: "a").messageSent == 2)
    }
}

extension OutboundContent {
    var clientMessageID: String? { if case .template(let t) = self { t.clientMessageID } else { nil } }
}
