import Foundation
import GRDB
import KefuDialogue
import KefuWeChat
import Testing
@testable import KefuStore

/// The store contract, on the SQLite file (and the memory store beside it).
@Suite("Stores")
struct StoreTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kefu-store-\(UInt32.random(in: 0...UInt32.max))/kefu.sqlite").path
    }

    static func removeFolder(of path: String) {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    static let reply = PassiveResponse.reply(Reply(toUserName: "o", fromUserName: "gh", createTime: 5, body: .text("您好 😀")))

    static func turn(_ i: Int, user: String = "u", flow: String? = nil, step: String? = nil) -> ConversationTurn {
        ConversationTurn(time: Int64(i), user: user, msgType: "text", message: "第\(i)条", normalized: "第\(i)条", rule: "r",
                         intent: i == 1 ? "refund" : nil, flow: flow, step: step, reply: "好", latencyMicroseconds: 12,
                         kind: i == 1 ? .intent : .rule)
    }

    static func session(_ user: String, step: Int, expiresAt: Int64 = 1_000) -> Session {
        Session(user: user, flow: FlowProgress(name: "after-sales", slots: ["order": "DD202406110001", "phone": "13812345678"], step: step,
                                               startedAt: 1, lastActivity: 2, expiresAt: expiresAt), updatedAt: 2)
    }

    static func record(_ key: String, _ response: PassiveResponse = reply, at time: Int64, user: String = "u",
                       _ session: TurnRecord.SessionChange = .unchanged, log: ConversationTurn? = nil) -> TurnRecord {
        TurnRecord(key: key, response: response, time: time, user: user, session: session, log: log)
    }

    /// The three stores the contract holds for: a SQLite file, the memory store, a fresh PostgreSQL database.
    static func stores() async throws -> [(any ConversationStore, String?)] {
        let path = temporaryPath()
        return [(try SQLiteStore(path: path), path), (MemoryStore(), nil), (try await TestPostgres.store(), nil)]
    }

    @Test("answers: found again within the window, the first one kept, purged by age; in both stores")
    func answers() async throws {
        for (store, path) in try await Self.stores() {
            defer { path.map(Self.removeFolder) }
            try await store.commit(Self.record("k1", at: 100))
            try await store.commit(Self.record("k2", .success, at: 100))
            try await store.commit(Self.record("k3", .empty, at: 50))
            try await store.commit(Self.record("k1", .success, at: 101))  // the first answer stays
            #expect(try await store.response(for: "k1", since: 90) == Self.reply)
            #expect(try await store.response(for: "k2", since: 90) == .success)
            #expect(try await store.response(for: "k3", since: 90) == nil)  // older than the window
            #expect(try await store.response(for: "k3", since: 0) == .empty)
            _ = try await store.purgeAnswers(before: 60, limit: 1000)
            #expect(try await store.response(for: "k3", since: 0) == nil)
            #expect(try await store.response(for: "k1", since: 0) == Self.reply)
        }
    }

    @Test("sessions: saved, changed, deleted with their turn; due ones listed; replaced by clean-up; in both stores")
    func sessions() async throws {
        for (store, path) in try await Self.stores() {
            defer { path.map(Self.removeFolder) }
            try await store.commit(Self.record("a", at: 1, user: "u1", .save(Self.session("u1", step: 1, expiresAt: 500))))
            try await store.commit(Self.record("b", at: 1, user: "u2", .save(Self.session("u2", step: 0, expiresAt: 2_000))))
            #expect(try await store.session(for: "u1") == Self.session("u1", step: 1, expiresAt: 500))
            try await store.commit(Self.record("c", at: 2, user: "u1", .save(Self.session("u1", step: 2, expiresAt: 500))))
            #expect(try await store.session(for: "u1")?.flow?.step == 2)
            #expect(try await store.sessionsDue(at: 600, limit: 10).map(\.user) == ["u1"])
            #expect(try await store.sessionsDue(at: 3_000, limit: 10).map(\.user).sorted() == ["u1", "u2"])
            try await store.replaceSession(Session(user: "u1", notice: "已超时", noticeUntil: 9_000, updatedAt: 600), for: "u1")
            #expect(try await store.session(for: "u1")?.notice == "已超时")
            #expect(try await store.sessionsDue(at: 600, limit: 10).isEmpty)
            try await store.commit(Self.record("d", at: 3, user: "u2", .delete))
            #expect(try await store.session(for: "u2") == nil)
            try await store.replaceSession(nil, for: "u1")
            #expect(try await store.session(for: "u1") == nil)
            try await store.commit(Self.record("e", at: 3, user: "u3", .save(Session(user: "u3", updatedAt: 3))))
            #expect(try await store.session(for: "u3") == nil, "an empty session is not kept")
        }
    }

    @Test("SQLite: WAL, synchronous NORMAL, everything survives reopening (a restart)")
    func sqliteDurable() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        do {
            let store = try SQLiteStore(path: path)
            try await store.commit(Self.record("k", at: 7, user: "u", .save(Self.session("u", step: 3)), log: Self.turn(7, flow: "after-sales", step: "phone")))
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.response(for: "k", since: 0) == Self.reply)
        #expect(try await reopened.session(for: "u") == Self.session("u", step: 3))
        #expect(try reopened.recentTurns() == [Self.turn(7, flow: "after-sales", step: "phone")])
        let journal = try await reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let synchronous = try await reopened.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1, "NORMAL")
    }

    @Test("SQLite: a turn is one transaction — if its log line cannot be written, neither the answer nor the session is")
    func atomicTurn() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        try await store.commit(Self.record("k0", at: 1, user: "u", .save(Self.session("u", step: 1))))
        // Make the log insert fail inside the transaction.
        try await store.pool.write { db in
            try db.execute(sql: "CREATE TRIGGER fail_log BEFORE INSERT ON conversation BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        await #expect(throws: (any Error).self) {
            try await store.commit(Self.record("k1", at: 2, user: "u", .save(Self.session("u", step: 2)), log: Self.turn(2)))
        }
        #expect(try await store.response(for: "k1", since: 0) == nil)
        #expect(try await store.session(for: "u")?.flow?.step == 1, "the session did not move")
    }

    @Test("SQLite: a database written by the previous version (v1) is migrated in place, keeping its rows")
    func migrationFromV1() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        do {
            let queue = try DatabaseQueue(path: path)
            var v1 = DatabaseMigrator()
            v1.registerMigration("v1: answered messages and the conversation log") { db in
                try db.execute(sql: """
                    CREATE TABLE answered (key TEXT PRIMARY KEY, response BLOB NOT NULL, answered_at INTEGER NOT NULL);
                    CREATE TABLE conversation (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, user TEXT NOT NULL,
                      msg_type TEXT NOT NULL, message TEXT NOT NULL, normalized TEXT, rule TEXT NOT NULL, intent TEXT,
                      reply TEXT NOT NULL, latency_us INTEGER NOT NULL);
                    INSERT INTO answered VALUES ('old', 'success', 5);
                    INSERT INTO conversation (time, user, msg_type, message, rule, reply, latency_us) VALUES (5, 'u', 'text', '你好', 'greeting', '您好', 9);
                    """)
            }
            try v1.migrate(queue)
        }
        let store = try SQLiteStore(path: path)
        #expect(try await store.response(for: "old", since: 0) == .success)
        #expect(try store.recentTurns().map(\.message) == ["你好"])
        try await store.commit(Self.record("new", at: 6, user: "u", .save(Self.session("u", step: 0)), log: Self.turn(6, flow: "after-sales", step: "order")))
        #expect(try store.recentTurns().last?.step == "order")
    }

    @Test("SQLite: concurrent turns are grouped into transactions, each caller returns after its own commit, nothing is lost")
    func groupedCommits() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await store.commit(Self.record("k\(i)", at: 10, user: "u\(i % 20)", .save(Self.session("u\(i % 20)", step: i)), log: Self.turn(i)))
                    #expect(try await store.response(for: "k\(i)", since: 0) == Self.reply, "committed before returning")
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.answeredCount() == 200)
        #expect(try store.recentTurns(limit: 1000).count == 200)
        let reopened = try SQLiteStore(path: path)  // what is on disk, not in memory
        #expect(try await reopened.session(for: "u7") != nil)
        try reopened.warmUp(answersSince: 0)
        #expect(try await reopened.response(for: "k199", since: 5) == Self.reply)
        #expect(try await reopened.response(for: "missing", since: 5) == nil, "after the warm-up memory answers for the window")
    }

    @Test("the conversation log keeps every turn in order")
    func log() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        for i in 0..<3 { try await store.commit(Self.record("k\(i)", at: Int64(i), log: Self.turn(i))) }
        let turns = try store.recentTurns(limit: 2)
        #expect(turns.map(\.message) == ["第1条", "第2条"])
        #expect(turns[0].intent == "refund" && turns[1].intent == nil)
    }

    @Test("clean-up removes old answers and log lines in batches of the given size; nothing newer goes")
    func batchedPurge() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        for i in 0..<25 { try await store.commit(Self.record("k\(i)", at: Int64(i), log: Self.turn(i))) }
        #expect(try await store.purgeAnswers(before: 20, limit: 8) == 8)
        #expect(try await store.purgeAnswers(before: 20, limit: 8) == 8)
        #expect(try await store.purgeAnswers(before: 20, limit: 8) == 4)
        #expect(try await store.purgeAnswers(before: 20, limit: 8) == 0)
        #expect(try store.answeredCount() == 5)
        #expect(try await store.response(for: "k3", since: 0) == nil)
        #expect(try await store.response(for: "k21", since: 0) == Self.reply)
        #expect(try await store.purgeLog(before: 10, limit: 6) == 6)
        #expect(try await store.purgeLog(before: 10, limit: 6) == 4)
        #expect(try store.recentTurns(limit: 100).map(\.time) == Array(10..<25))
    }

    @Test("a second exclusive opener of the file is refused with the file and the owner's pid; the lock goes with the store")
    func exclusive() throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        var first: SQLiteStore? = try SQLiteStore(path: path, exclusive: true)
        let error = #expect(throws: ProcessLock.InUse.self) { try SQLiteStore(path: path, exclusive: true) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("pid \(getpid())") == true)
        #expect(error?.description.contains("PostgreSQL") == true)
        _ = try SQLiteStore(path: path)  // tools that only read are not refused
        first = nil
        _ = first
        _ = try SQLiteStore(path: path, exclusive: true)
    }

    @Test("the queries saved with answers come back at warm-up, for the replay guard")
    func savedQueries() async throws {
        let path = Self.temporaryPath()
        defer { Self.removeFolder(of: path) }
        let store = try SQLiteStore(path: path)
        var record = Self.record("k1", at: 100)
        record.request = "sig|100|n1"
        try await store.commit(record)
        try await store.commit(Self.record("k2", at: 100))
        try await store.commit(Self.record("k0", at: 10))
        let queries = try SQLiteStore(path: path).warmUp(answersSince: 50)
        #expect(queries.map(\.query) == ["sig|100|n1"] && queries.map(\.messageKey) == ["k1"] && queries.map(\.time) == [100])
    }

    @Test("a stored form that is not a reply is an error, not a crash")
    func corrupt() {
        #expect(throws: WeChatError.self) { try PassiveResponse(storedForm: Array("<xml>".utf8)) }
    }
}
