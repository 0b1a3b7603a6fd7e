import Foundation
import GRDB
import KefuWeChat

/// The embedded store: one SQLite file in WAL mode (GRDB's `DatabasePool`), so readers never wait
/// for the writer and a crash never leaves a half-written row (each answer and its log line are one
/// transaction).
///
/// `synchronous = NORMAL`: in WAL mode a commit is in the log file when the call returns, so a
/// crashed or killed process loses nothing; only a power cut can lose the last commits (the file
/// stays consistent). `FULL` would add an fsync to every message and cap the webhook at the disk's
/// sync rate.
public final class SQLiteStore: AnsweredMessageStore {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating folders and tables as needed) the database at `path`.
    public init(path: String) throws {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: answered messages and the conversation log") { db in
            try db.create(table: "answered") { t in
                t.primaryKey("key", .text)
                t.column("response", .blob).notNull()
                t.column("answered_at", .integer).notNull().indexed()
            }
            try db.create(table: "conversation") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull().indexed()
                t.column("user", .text).notNull().indexed()
                t.column("msg_type", .text).notNull()
                t.column("message", .text).notNull()
                t.column("normalized", .text)
                t.column("rule", .text).notNull()
                t.column("intent", .text)
                t.column("reply", .text).notNull()
                t.column("latency_us", .integer).notNull()
            }
        }
        return migrator
    }

    public func response(for key: String, since: Int64) async throws -> PassiveResponse? {
        let bytes = try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT response FROM answered WHERE key = ? AND answered_at >= ?", arguments: [key, since])
        }
        return try bytes.map { try PassiveResponse(storedForm: Array($0)) }
    }

    public func save(_ response: PassiveResponse, for key: String, at time: Int64) async throws {
        let data = Data(response.storedForm)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO answered (key, response, answered_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
                           arguments: [key, data, time])
        }
    }

    public func purge(before time: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM answered WHERE answered_at < ?", arguments: [time]) }
    }

    public func save(_ response: PassiveResponse, for key: String, at time: Int64, logging turn: ConversationTurn) async throws {
        let data = Data(response.storedForm)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO answered (key, response, answered_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
                           arguments: [key, data, time])
            try Self.insert(turn, db)
        }
    }

    static func insert(_ turn: ConversationTurn, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO conversation (time, user, msg_type, message, normalized, rule, intent, reply, latency_us)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [turn.time, turn.user, turn.msgType, turn.message, turn.normalized, turn.rule, turn.intent,
                             turn.reply, turn.latencyMicroseconds])
    }

    public func log(_ turn: ConversationTurn) async throws {
        try await pool.write { db in try Self.insert(turn, db) }
    }

    /// The last `limit` turns, newest last (for tools and tests).
    public func recentTurns(limit: Int = 100) throws -> [ConversationTurn] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM conversation ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [limit]).map { row in
                ConversationTurn(time: row["time"], user: row["user"], msgType: row["msg_type"], message: row["message"],
                                 normalized: row["normalized"], rule: row["rule"], intent: row["intent"], reply: row["reply"],
                                 latencyMicroseconds: row["latency_us"])
            }
        }
    }

    public func answeredCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answered") ?? 0 }
    }
}
