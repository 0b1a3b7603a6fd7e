import Foundation
import GRDB
import KefuDialogue
import KefuWeChat

/// The embedded store: one SQLite file in WAL mode (GRDB's `DatabasePool`), so readers never wait
/// for the writer. Each turn (its answer, the user's session, its log line) is one transaction, so
/// a crash or `kill -9` leaves a turn wholly saved or not at all: a session never moves without its
/// answer being remembered, and a retry never advances a flow twice.
///
/// `synchronous = NORMAL`: in WAL mode a commit is in the log file when the call returns, so a
/// crashed or killed process loses nothing; only a power cut can lose the last commits (the file
/// stays consistent). `FULL` would add an fsync to every message and cap the webhook at the disk's
/// sync rate.
public final class SQLiteStore: ConversationStore {
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
        migrator.registerMigration("v2: sessions; flow and step in the conversation log") { db in
            try db.create(table: "session") { t in
                t.primaryKey("user", .text)
                t.column("state", .blob).notNull()  // Session as JSON
                t.column("due", .integer).indexed()  // Session.due: when clean-up looks at it
                t.column("updated_at", .integer).notNull()
            }
            try db.alter(table: "conversation") { t in
                t.add(column: "flow", .text)
                t.add(column: "step", .text)
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

    public func session(for user: String) async throws -> Session? {
        let data = try await pool.read { db in try Data.fetchOne(db, sql: "SELECT state FROM session WHERE user = ?", arguments: [user]) }
        return try data.map { try JSONDecoder().decode(Session.self, from: $0) }
    }

    public func commit(_ record: TurnRecord) async throws {
        let response = Data(record.response.storedForm)
        let state: Data? = if case .save(let session) = record.session, !session.isEmpty { try JSONEncoder().encode(session) } else { nil }
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO answered (key, response, answered_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
                           arguments: [record.key, response, record.time])
            switch record.session {
            case .unchanged: break
            case .save(let session):
                if let state { try Self.upsert(session, state, db) } else { try Self.delete(record.user, db) }
            case .delete: try Self.delete(record.user, db)
            }
            if let turn = record.log { try Self.insert(turn, db) }
        }
    }

    static func upsert(_ session: Session, _ state: Data, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO session (user, state, due, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(user) DO UPDATE SET state = excluded.state, due = excluded.due, updated_at = excluded.updated_at
            """, arguments: [session.user, state, session.due, session.updatedAt])
    }

    static func delete(_ user: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM session WHERE user = ?", arguments: [user])
    }

    public func purgeAnswers(before time: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM answered WHERE answered_at < ?", arguments: [time]) }
    }

    public func sessionsDue(at time: Int64, limit: Int) async throws -> [Session] {
        let rows = try await pool.read { db in
            try Data.fetchAll(db, sql: "SELECT state FROM session WHERE due <= ? ORDER BY due LIMIT ?", arguments: [time, limit])
        }
        return try rows.map { try JSONDecoder().decode(Session.self, from: $0) }
    }

    public func replaceSession(_ session: Session?, for user: String) async throws {
        let state: Data? = try session.flatMap { $0.isEmpty ? nil : try JSONEncoder().encode($0) }
        try await pool.write { db in
            if let session, let state { try Self.upsert(session, state, db) } else { try Self.delete(user, db) }
        }
    }

    static func insert(_ turn: ConversationTurn, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO conversation (time, user, msg_type, message, normalized, rule, intent, flow, step, reply, latency_us)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [turn.time, turn.user, turn.msgType, turn.message, turn.normalized, turn.rule, turn.intent,
                             turn.flow, turn.step, turn.reply, turn.latencyMicroseconds])
    }

    /// The last `limit` turns, newest last (for tools and tests).
    public func recentTurns(limit: Int = 100) throws -> [ConversationTurn] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM conversation ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [limit]).map { row in
                ConversationTurn(time: row["time"], user: row["user"], msgType: row["msg_type"], message: row["message"],
                                 normalized: row["normalized"], rule: row["rule"], intent: row["intent"], flow: row["flow"], step: row["step"],
                                 reply: row["reply"], latencyMicroseconds: row["latency_us"])
            }
        }
    }

    public func answeredCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answered") ?? 0 }
    }

    public func sessionCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session") ?? 0 }
    }
}
