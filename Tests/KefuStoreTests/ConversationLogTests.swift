import Foundation
import KefuDialogue
import Testing
@testable import KefuStore

/// The log read back (``ConversationLog``) on the three stores: SQLite, memory, PostgreSQL.
@Suite("Conversation log read back")
struct ConversationLogTests {
    static func line(_ time: Int64, _ user: String, _ message: String, rule: String, kind: AnswerKind, reply: String = "好",
                     flow: String? = nil, step: String? = nil, mark: FlowMark? = nil, declined: String? = nil) -> ConversationTurn {
        ConversationTurn(time: time, user: user, msgType: "text", message: message, normalized: message, rule: rule, intent: nil,
                         flow: flow, step: step, reply: reply, latencyMicroseconds: 1500, kind: kind, flowMark: mark, declined: declined)
    }

    static let lines: [ConversationTurn] = [
        line(100, "oA", "运费多少", rule: "shipping-fee", kind: .rule, reply: "满 99 包邮"),
        line(110, "oA", "我要退货", rule: "refund", kind: .flow, flow: "after-sales", step: "order", mark: FlowMark(flow: "after-sales", event: "started", step: "order")),
        line(120, "oB", "你们卖飞机吗 100%_off", rule: "default", kind: .defaultReply, reply: "没听懂", declined: "noSharedWords"),
        line(130, "oA", "不知道", rule: "flow:after-sales", kind: .flow, flow: "after-sales", step: "order", mark: FlowMark(flow: "after-sales", event: "reasked", step: "order")),
        line(200, "oC", "可以开专票吗", rule: "default", kind: .defaultReply, reply: "没听懂"),
        line(300, "oB", "转人工", rule: "interrupt:human", kind: .handoff, reply: "正在转接"),
    ]

    @Test("every column comes back; searches narrow by user, text (a plain substring), rule, flow, kind, time and page")
    func search() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            for (i, line) in Self.lines.enumerated() {
                try await store.commit(StoreTests.record("k\(i)", at: line.time, user: line.user, log: line))
            }
            let log = try #require(store as? any ConversationLog, "\(type(of: store))")
            let all = try await log.logLines(from: 0, until: 1000, afterID: 0, limit: 100)
            #expect(all.map(\.turn) == Self.lines, "\(type(of: store))")
            #expect(all.map(\.id) == all.map(\.id).sorted() && Set(all.map(\.id)).count == 6)
            let page = try await log.logLines(from: 0, until: 1000, afterID: all[1].id, limit: 2)
            #expect(page.map(\.turn.message) == ["你们卖飞机吗 100%_off", "不知道"])
            #expect(try await log.logLines(from: 110, until: 200, afterID: 0, limit: 100).count == 3)

            func found(_ search: LogSearch) async throws -> [String] { try await log.searchLog(search).map(\.turn.message) }
            #expect(try await found(LogSearch(user: "oA")) == ["不知道", "我要退货", "运费多少"], "newest first")
            #expect(try await found(LogSearch(text: "100%_")) == ["你们卖飞机吗 100%_off"], "% and _ are plain characters")
            #expect(try await found(LogSearch(text: "%")).count == 1)
            #expect(try await found(LogSearch(text: "包邮")) == ["运费多少"], "the reply is searched too")
            #expect(try await found(LogSearch(rule: "default")).count == 2)
            #expect(try await found(LogSearch(flow: "after-sales")) == ["不知道", "我要退货"])
            #expect(try await found(LogSearch(kind: .handoff)) == ["转人工"])
            #expect(try await found(LogSearch(from: 120, until: 201)) == ["可以开专票吗", "不知道", "你们卖飞机吗 100%_off"])
            #expect(try await found(LogSearch(before: (all[2].turn.time, all[2].id), limit: 1)) == ["我要退货"])
            #expect(try await log.logLine(id: all[3].id)?.turn == Self.lines[3])
            #expect(try await log.logLine(id: 999_999) == nil)
            #expect(try await found(LogSearch(user: "oA", text: "退")) == ["我要退货"])

            let unanswered = try await log.unansweredLines(from: 0, until: 1000, limit: 10)
            #expect(unanswered.map(\.turn.message) == ["可以开专票吗", "你们卖飞机吗 100%_off"])
            #expect(unanswered.last?.turn.declined == "noSharedWords")
            #expect(try await log.unansweredLines(from: 150, until: 1000, limit: 10).count == 1)
            #expect(try await log.oldestLogTime() == 100)
        }
    }

    @Test("handed-off users are those paused now, from the session; rollups are kept per day and zone")
    func handoffsAndRollups() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            let log = try #require(store as? any ConversationLog)
            try await store.commit(StoreTests.record("h1", at: 100, user: "oB", .save(Session(user: "oB", pausedUntil: 2_000, updatedAt: 100))))
            try await store.commit(StoreTests.record("h2", at: 150, user: "oD", .save(Session(user: "oD", pausedUntil: 1_000, updatedAt: 150))))
            try await store.commit(StoreTests.record("h3", at: 160, user: "oE", .save(StoreTests.session("oE", step: 1))))
            #expect(try await log.handedOffUsers(at: 500, limit: 10) == [HandedOffUser(user: "oB", until: 2_000, since: 100),
                                                                       HandedOffUser(user: "oD", until: 1_000, since: 150)])
            #expect(try await log.handedOffUsers(at: 1_500, limit: 10).map(\.user) == ["oB"])
            // Handed back: the pause gone from the session, the user gone from the list.
            let stored = try await store.loadSession(for: "oB")
            var back = try #require(stored.session)
            back.pausedUntil = nil
            back.updatedAt = 600
            #expect(try await store.replaceSession(back.isEmpty ? nil : back, for: "oB", ifVersion: stored.version))
            #expect(try await log.handedOffUsers(at: 500, limit: 10).map(\.user) == ["oD"])

            #expect(try await log.rollup(day: 20_000, zone: 4801) == nil)
            try await log.saveRollup([1, 2, 3], day: 20_000, zone: 4801)
            try await log.saveRollup([9], day: 20_000, zone: 4811)
            try await log.saveRollup([4, 5], day: 20_000, zone: 4801)
            #expect(try await log.rollup(day: 20_000, zone: 4801) == [4, 5])
            #expect(try await log.rollup(day: 20_000, zone: 4811) == [9])
        }
    }
}
