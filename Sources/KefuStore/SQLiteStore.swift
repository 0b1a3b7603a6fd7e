import Foundation
import GRDB
import KefuDialogue
import KefuWeChat
import Synchronization

/// The embedded store: one SQLite file in WAL mode (GRDB's `DatabasePool`), so readers never wait
/// for the writer. Each turn (its answer, the user's session, its log line) is one transaction, so
/// a crash or `kill -9` leaves a turn wholly saved or not at all: a session never moves without its
/// answer being remembered, and a retry never advances a flow twice.
///
/// `synchronous = NORMAL`: in WAL mode a commit is in the log file when the call returns, so a
/// crashed or killed process loses nothing; only a power cut can lose the last commits (the file
/// stays consistent). `FULL` would add an fsync to every message and cap the webhook at the disk's
/// sync rate.
///
/// One `kefu serve` process owns a SQLite file (PostgreSQL is the store for several processes). That
/// makes the process's memory authoritative for what it writes, so the per-message path reads
/// nothing from disk: answers of the de-duplication window and sessions are kept in memory after
/// they are written or first read (answers of the last window are loaded at start, so a retry
/// after a restart is still found). Writes are grouped: turns that arrive while a transaction is
/// being written are committed together in the next one, and each caller returns only when its
/// own turn is committed — the reply is never sent before its answer and session are on disk.
public final class SQLiteStore: ConversationStore {
    let pool: DatabasePool
    public let path: String
    let cache: Mutex<Cache>
    let writer = Mutex(WriteQueue())
    /// Held while the store is open with `exclusive`: a second `kefu serve` on the file refuses to start.
    let lock: ProcessLock?

    struct Cache {
        /// Which answers the window holds, as 64-bit digests of their keys (about 12 bytes each): a
        /// new message is known to be new without reading the disk; a hit reads the answer from disk.
        var answers: RecentIndex<UInt64, Bool>
        /// Sessions seen or written (nil value: known to have none), in two generations so that the
        /// cache stays bounded without ever being emptied at once.
        var sessions: Generations<String, Session?>
        var answersLoadedSince: Int64 = .max
    }

    struct WriteQueue {
        var pending: [(TurnRecord, CheckedContinuation<Void, any Error>)] = []
        var writing = false
    }

    /// Opens (creating folders and tables as needed) the database at `path`.
    ///
    /// - Parameters:
    ///   - exclusive: take the file's lock (`PATH.lock`), so that a second process refuses to open it.
    ///   - window: seconds answers are remembered in memory (the de-duplication window).
    ///   - maxRememberedAnswers: the memory budget of that index, in entries; beyond it lookups read the disk.
    ///   - maxCachedSessions: sessions kept in memory (per generation).
    public init(path: String, exclusive: Bool = false, window: Int64 = 660, maxRememberedAnswers: Int = 4_000_000,
                maxCachedSessions: Int = 50_000) throws {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        lock = exclusive ? try ProcessLock(database: path) : nil
        cache = Mutex(Cache(answers: RecentIndex(window: window, maxEntries: maxRememberedAnswers),
                            sessions: Generations(capacity: maxCachedSessions)))
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Loads which answers were saved since `time` into memory, so that looking one up never reads
    /// the disk for a new message afterwards. Call once at start with the beginning of the
    /// de-duplication window. Returns the signed queries saved with them (for the replay guard).
    @discardableResult
    public func warmUp(answersSince time: Int64) throws -> [(query: String, messageKey: String, time: Int64)] {
        let rows = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key, request, answered_at FROM answered WHERE answered_at >= ? ORDER BY answered_at",
                             arguments: [time])
        }
        var queries: [(query: String, messageKey: String, time: Int64)] = []
        cache.withLock { cache in
            for row in rows {
                let key: String = row["key"], at: Int64 = row["answered_at"]
                cache.answers.insert(digest(key), true, at: at)
                if let query: String = row["request"] { queries.append((query, key, at)) }
            }
            cache.answersLoadedSince = min(cache.answersLoadedSince, time)
        }
        return queries
    }

    /// Answers remembered in memory, and how often the budget dropped some early.
    public var memoryStatus: (answers: Int, earlyDrops: Int, sessions: Int) {
        cache.withLock { ($0.answers.count, $0.answers.earlyDrops, $0.sessions.count) }
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
        migrator.registerMigration("v3: the signed query of each answer (replay guard after a restart)") { db in
            try db.alter(table: "answered") { t in t.add(column: "request", .text) }
        }
        registerAccessTokenMigration(&migrator)  // "v4: the shared access token" (SQLiteStore+AccessToken.swift)
        migrator.registerMigration("v5: the outbox and customer-service windows") { db in
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("user", .text).notNull()
                t.column("kind", .text).notNull()       // part, late, scheduled
                t.column("due", .integer).notNull()
                t.column("not_after", .integer)
                t.column("flow", .text)                 // scheduled: the flow that scheduled it (cancel_schedule)
                t.column("name", .text)
                t.column("content", .blob).notNull()    // OutboundContent as JSON
                t.column("state", .text).notNull()      // OutboxState
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("created_at", .integer).notNull()
                t.column("updated_at", .integer).notNull()
                t.column("detail", .text)
                t.column("msgid", .integer)
                t.column("delivery", .text)
            }
            try db.create(index: "outbox_due", on: "outbox", columns: ["state", "due"])
            try db.create(index: "outbox_user", on: "outbox", columns: ["user", "flow"])
            try db.create(index: "outbox_msgid", on: "outbox", columns: ["msgid"])
            try db.create(table: "service_window") { t in
                t.primaryKey("user", .text)
                t.column("message_at", .integer)
                t.column("message_sent", .integer).notNull().defaults(to: 0)
                t.column("event_at", .integer)
                t.column("event_sent", .integer).notNull().defaults(to: 0)
                t.column("until", .integer).indexed()  // when the window closes (clean-up)
            }
        }
        registerQRCodeMigration(&migrator)  // "v6: QR codes made by kefu qr create" (SQLiteStore+QRCodes.swift)
        registerMediaMigration(&migrator)  // "v7: uploaded media of the rule set" (SQLiteStore+Media.swift)
        registerLogMigration(&migrator)  // "v8: what answered, flow marks, day rollups, handed-off users" (SQLiteStore+Log.swift)
        return migrator
    }

    public func response(for key: String, since: Int64) async throws -> PassiveResponse? {
        let hashed = digest(key)
        let certainMiss = cache.withLock { cache in
            cache.answers.value(for: hashed, since: since) == nil && since >= cache.answersLoadedSince && cache.answers.complete(since: since)
        }
        if certainMiss { return nil }
        // Seen (a retry, rare) or not certain (the budget dropped part of the window): ask the disk.
        let bytes = try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT response FROM answered WHERE key = ? AND answered_at >= ?", arguments: [key, since])
        }
        return try bytes.map { try PassiveResponse(storedForm: Array($0)) }
    }

    public func session(for user: String) async throws -> Session? {
        if let cached = cache.withLock({ $0.sessions[user] }) { return cached }
        let data = try await pool.read { db in try Data.fetchOne(db, sql: "SELECT state FROM session WHERE user = ?", arguments: [user]) }
        let session = try data.map { try JSONDecoder().decode(Session.self, from: $0) }
        cache.withLock { cache in if cache.sessions[user] == nil { cache.sessions[user] = .some(session) } }
        return session
    }

    /// Queues the turn for the next grouped transaction and returns when it is committed.
    public func commit(_ record: TurnRecord) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let start = writer.withLock { queue -> Bool in
                queue.pending.append((record, continuation))
                if queue.writing { return false }
                queue.writing = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Writes everything queued, one transaction per batch, until the queue is empty.
    private func drain() async {
        while true {
            let batch = writer.withLock { queue -> [(TurnRecord, CheckedContinuation<Void, any Error>)] in
                let batch = queue.pending
                queue.pending = []
                if batch.isEmpty { queue.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let records = batch.map(\.0)
                let encoded = try records.map(Self.state)
                try await pool.write { db in
                    for (record, state) in zip(records, encoded) { try Self.write(record, state, db) }
                }
                remember(records)
                for (_, continuation) in batch { continuation.resume() }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                // Another connection holds the write lock past the busy timeout: every turn of the
                // group would wait as long again, so they all fail now (nothing is on disk; each
                // message's retry runs again).
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            } catch {
                // The group failed as a whole (nothing of it is on disk): commit each turn alone so
                // that one bad turn does not fail the others.
                for (record, continuation) in batch {
                    do {
                        let state = try Self.state(record)
                        try await pool.write { db in try Self.write(record, state, db) }
                        remember([record])
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// The JSON of the session a turn saves (nil: it saves none, or an empty one, which is deleted).
    static func state(_ record: TurnRecord) throws -> Data? {
        guard case .save(let session) = record.session, !session.isEmpty else { return nil }
        return try JSONEncoder().encode(session)
    }

    static func write(_ record: TurnRecord, _ state: Data?, _ db: Database) throws {
        if record.replacesAnswer {
            // A call's result came within the wait after the turn was kept with its slow: text: it is the answer now.
            try db.cachedStatement(sql: "INSERT INTO answered (key, response, answered_at, request) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET response = excluded.response")
                .execute(arguments: [record.key, Data(record.response.storedForm), record.time, record.request])
        } else {
            try db.cachedStatement(sql: "INSERT INTO answered (key, response, answered_at, request) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO NOTHING")
                .execute(arguments: [record.key, Data(record.response.storedForm), record.time, record.request])
        }
        switch record.session {
        case .unchanged: break
        case .save(let session):
            if let state { try upsert(session, state, db) } else { try delete(record.user, db) }
        case .delete: try delete(record.user, db)
        }
        if let turn = record.log { try insert(turn, db) }
        if let interaction = record.interaction { try open(interaction, for: record.user, at: record.time, db) }
        for flow in record.cancelScheduled {
            try db.cachedStatement(sql: "UPDATE outbox SET state = 'cancelled', updated_at = ? WHERE user = ? AND flow = ? AND kind = 'scheduled' AND state = 'pending'")
                .execute(arguments: [record.time, record.user, flow])
        }
        for flow in record.cancelCalls {
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'cancelled', detail = 'the customer cancelled before it went out', updated_at = ?
                WHERE user = ? AND flow = ? AND kind = 'call' AND state = 'pending'
                """).execute(arguments: [record.time, record.user, flow])
        }
        for update in record.calls { try Self.apply(update, for: record.user, at: record.time, db) }
        for message in record.outbox {
            try db.cachedStatement(sql: """
                INSERT INTO outbox (user, kind, due, not_after, flow, name, content, state, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                """).execute(arguments: [message.user, message.kind.rawValue, message.due, message.notAfter, message.flow, message.name,
                                         try JSONEncoder().encode(message.content), record.time, record.time])
        }
    }

    /// What committed turns wrote, into the memory of this process.
    private func remember(_ records: [TurnRecord]) {
        cache.withLock { cache in
            for record in records {
                cache.answers.insert(digest(record.key), true, at: record.time)
                switch record.session {
                case .unchanged: break
                case .save(let session): cache.sessions[record.user] = .some(session.isEmpty ? nil : session)
                case .delete: cache.sessions[record.user] = .some(nil)
                }
            }
        }
    }

    static func upsert(_ session: Session, _ state: Data, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO session (user, state, due, updated_at, paused_until) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(user) DO UPDATE SET state = excluded.state, due = excluded.due, updated_at = excluded.updated_at,
                paused_until = excluded.paused_until
            """).execute(arguments: [session.user, state, session.due, session.updatedAt, session.pausedUntil])
    }

    static func delete(_ user: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM session WHERE user = ?").execute(arguments: [user])
    }

    public func purgeAnswers(before time: Int64, limit: Int) async throws -> Int {
        cache.withLock { _ = $0.answers.expire(before: time) }
        return try await pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM answered WHERE rowid IN (SELECT rowid FROM answered WHERE answered_at < ? LIMIT ?)")
                .execute(arguments: [time, limit])
            return db.changesCount
        }
    }

    public func purgeLog(before time: Int64, limit: Int) async throws -> Int {
        try await pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM conversation WHERE id IN (SELECT id FROM conversation WHERE time < ? ORDER BY id LIMIT ?)")
                .execute(arguments: [time, limit])
            return db.changesCount
        }
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
        cache.withLock { $0.sessions[user] = .some(session.flatMap { $0.isEmpty ? nil : $0 }) }
    }

    static func insert(_ turn: ConversationTurn, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO conversation (time, user, msg_type, message, normalized, rule, intent, flow, step, reply, latency_us,
                                      kind, mark_flow, mark_event, mark_step, declined)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [turn.time, turn.user, turn.msgType, turn.message, turn.normalized, turn.rule, turn.intent,
                             turn.flow, turn.step, turn.reply, turn.latencyMicroseconds, turn.answerKind.rawValue,
                             turn.flowMark?.flow, turn.flowMark?.event, turn.flowMark?.step, turn.declined])
    }

    /// The last `limit` turns, newest last (for tools and tests).
    public func recentTurns(limit: Int = 100) throws -> [ConversationTurn] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM conversation ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [limit])
                .map { Self.loggedTurn($0).turn }
        }
    }

    public func answeredCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answered") ?? 0 }
    }

    public func sessionCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session") ?? 0 }
    }
}
