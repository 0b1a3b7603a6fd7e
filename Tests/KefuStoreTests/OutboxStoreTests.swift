import Foundation
import KefuDialogue
import KefuRules
import Testing
@testable import KefuStore

/// The outbox part of the store contract, on the SQLite file and the memory store.
@Suite("Outbox in the stores")
struct OutboxStoreTests {
    static func message(_ user: String, _ text: String, kind: OutboxMessage.Kind = .part, due: Int64 = 100, flow: String? = nil) -> OutboxMessage {
        OutboxMessage(user: user, kind: kind, due: due, flow: flow, name: flow.map { _ in "r" }, content: .message(.text(text)))
    }

    static let template = OutboxMessage(user: "u", kind: .scheduled, due: 100, flow: "book", name: "day",
                                        content: .template(RenderedTemplate(templateID: "TM1", data: [.init(key: "thing1", value: "内科")], clientMessageID: "c1")))

    @Test("written with the turn, cancelled by flow, worked through pending → sending → sent, the window counted; in both stores")
    func lifecycle() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            try await store.commit(TurnRecord(key: "k1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.message("u", "第二段"), Self.message("u", "提醒", kind: .scheduled, due: 500, flow: "book"), Self.template],
                                              interaction: .message))
            #expect(try await store.window(for: "u") == ServiceWindow(messageAt: 100))
            #expect(try await store.dueOutbox(at: 100, limit: 10).map(\.message.content.preview) == ["第二段", Self.template.content.preview])
            let status = try await store.outboxStatus(at: 130)
            #expect(status.depth == 2 && status.oldestAge == 30 && status.scheduled == 1)

            let first = try #require(try await store.dueOutbox(at: 100, limit: 1).first)
            #expect(try await store.beginSending(first.id, at: 101))
            #expect(try await store.beginSending(first.id, at: 101) == false)  // not pending any more
            try await store.finishSending(first.id, .sent(msgid: nil), at: 102)
            #expect(try await store.window(for: "u").messageSent == 1)

            // A later turn cancels the flow's pending scheduled messages (not the sent ones, not other flows').
            try await store.commit(TurnRecord(key: "k2", response: .success, time: 200, user: "u", session: .unchanged, log: nil,
                                              cancelScheduled: ["book"], interaction: .event))
            let states = try await store.outboxEntries(for: "u").map(\.state)
            #expect(states == [.sent, .cancelled, .cancelled])
            #expect(try await store.window(for: "u").eventAt == 200)
            #expect(try await store.outboxEntries(for: "u").first?.message == Self.message("u", "第二段"))
        }
    }

    @Test("after a crash: a message left sending is unknown (never sent again); a template younger than 10 minutes is pending again")
    func recovery() async throws {
        // A shared store recovers only the rows of instances that stopped: KefuPostgresTests covers it with two instances.
        for (store, path) in try await StoreTests.stores() where !store.isShared {
            defer { path.map(StoreTests.removeFolder) }
            try await store.commit(TurnRecord(key: "k1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.message("u", "晚到的回答", kind: .late), Self.template], interaction: .message))
            for entry in try await store.dueOutbox(at: 100, limit: 10) { #expect(try await store.beginSending(entry.id, at: 100)) }
            let recovered = try await store.recoverOutbox(at: 300, resendTemplatesWithin: 600)
            #expect(recovered.unknown == 1 && recovered.resent == 1)
            let entries = try await store.outboxEntries(for: nil)
            #expect(entries.map(\.state) == [.unknown, .pending])
            #expect(entries[0].detail?.contains("may or may not") == true || path == nil)
            try await store.finishSending(entries[1].id, .sent(msgid: 4242), at: 301)
            try await store.recordTemplateFinished(msgid: 4242, status: "failed:user block", at: 320)
            #expect(try await store.outboxEntries(for: nil)[1].delivery == "failed:user block")
        }
    }

    @Test("the window SQLite writes in one statement is the one ServiceWindow computes, for any sequence of pushes")
    func windowParity() async throws {
        let path = StoreTests.temporaryPath()
        defer { StoreTests.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        var expected = ServiceWindow()
        var generator = SeededGenerator(seed: 13)
        var time: Int64 = 1_000
        for i in 0..<60 {
            let interaction = [Interaction.message, .event, .event, .unfollow, .message][Int(generator.next() % 5)]
            time += Int64(generator.next() % 200_000)
            try await store.commit(TurnRecord(key: "k\(i)", response: .success, time: time, user: "u", session: .unchanged, log: nil, interaction: interaction))
            expected = expected.opened(by: interaction, at: time)
            #expect(try await store.window(for: "u") == expected, "after \(interaction) at \(time)")
        }
    }

    @Test("clean-up deletes finished rows older than the retention, never pending ones, and closed windows")
    func purge() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            try await store.commit(TurnRecord(key: "k1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.message("u", "已发"), Self.message("u", "待发", due: 10_000)], interaction: .event))
            let first = try #require(try await store.dueOutbox(at: 100, limit: 1).first)
            #expect(try await store.beginSending(first.id, at: 100))
            try await store.finishSending(first.id, .sent(msgid: nil), at: 100)
            #expect(try await store.purgeOutbox(before: 100, limit: 10) == 0)  // not older yet
            #expect(try await store.purgeOutbox(before: 500, limit: 10) == 1)
            #expect(try await store.outboxEntries(for: "u").map(\.message.content.preview) == ["待发"])
            #expect(try await store.window(for: "u") == ServiceWindow(), "the click's window closed at 160")
        }
    }

    @Test("a kill -9 between the turn and the send loses nothing: another process opening the file finds the message pending")
    func survivesReopen() async throws {
        let path = StoreTests.temporaryPath()
        defer { StoreTests.removeFolder(of: path) }
        do {
            let store = try SQLiteStore(path: path)
            try await store.commit(TurnRecord(key: "k1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.message("u", "晚到的回答", kind: .late)], interaction: .message))
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.recoverOutbox(at: 200, resendTemplatesWithin: 600) == (0, 0))
        #expect(try await reopened.dueOutbox(at: 200, limit: 10).map(\.message.content.preview) == ["晚到的回答"])
        #expect(try await reopened.window(for: "u").allows(at: 200))
    }
}
