import Foundation
import KefuWeChat
import Testing
@testable import KefuStore

@Suite("Stores")
struct StoreTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kefu-store-\(UInt32.random(in: 0...UInt32.max))/kefu.sqlite").path
    }

    static let reply = PassiveResponse.reply(Reply(toUserName: "o", fromUserName: "gh", createTime: 5, body: .text("您好 😀")))

    @Test("SQLite (WAL): saved answers are found again within the window, from a second connection too, and purged")
    func sqlite() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let store = try SQLiteStore(path: path)
        try await store.save(Self.reply, for: "k1", at: 100)
        try await store.save(.success, for: "k2", at: 100)
        try await store.save(.empty, for: "k3", at: 50)
        try await store.save(.success, for: "k1", at: 101)  // the first answer stays
        #expect(try await store.response(for: "k1", since: 90) == Self.reply)
        #expect(try await store.response(for: "k2", since: 90) == .success)
        #expect(try await store.response(for: "k3", since: 90) == nil)  // older than the window
        #expect(try await store.response(for: "k3", since: 0) == .empty)
        let reopened = try SQLiteStore(path: path)  // as after a restart
        #expect(try await reopened.response(for: "k1", since: 0) == Self.reply)
        try await reopened.purge(before: 60)
        #expect(try reopened.answeredCount() == 2)
        let journal = try await reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let synchronous = try await reopened.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1, "NORMAL")
    }

    @Test("an answer and its log line are saved together")
    func saveWithLog() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let store = try SQLiteStore(path: path)
        let turn = ConversationTurn(time: 7, user: "u", msgType: "text", message: "你好", normalized: "你好", rule: "greeting",
                                    intent: nil, reply: "您好", latencyMicroseconds: 30)
        try await store.save(Self.reply, for: "k", at: 7, logging: turn)
        #expect(try await store.response(for: "k", since: 0) == Self.reply)
        #expect(try store.recentTurns() == [turn])
    }

    @Test("the conversation log keeps every turn in order")
    func log() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let store = try SQLiteStore(path: path)
        for i in 0..<3 {
            try await store.log(ConversationTurn(time: Int64(i), user: "u", msgType: "text", message: "第\(i)条", normalized: "第\(i)条",
                                                 rule: "r", intent: i == 1 ? "refund" : nil, reply: "好", latencyMicroseconds: 12))
        }
        let turns = try store.recentTurns(limit: 2)
        #expect(turns.map(\.message) == ["第1条", "第2条"])
        #expect(turns[0].intent == "refund" && turns[1].intent == nil)
    }

    @Test("memory store behaves the same")
    func memory() async {
        let store = MemoryStore()
        await store.save(Self.reply, for: "k", at: 10)
        #expect(await store.response(for: "k", since: 5) == Self.reply)
        #expect(await store.response(for: "k", since: 11) == nil)
        await store.purge(before: 11)
        #expect(await store.response(for: "k", since: 0) == nil)
    }

    @Test("a stored form that is not a reply is an error, not a crash")
    func corrupt() {
        #expect(throws: WeChatError.self) { try PassiveResponse(storedForm: Array("<xml>".utf8)) }
    }
}
