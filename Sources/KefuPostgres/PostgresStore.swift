import Foundation
import KefuDialogue
import Logging
import KefuWeChat
import NIOCore
import PostgresNIO
import Synchronization

/// One account's store in the shared PostgreSQL database: several `kefu serve` processes answer
/// its messages exactly once between them.
///
/// - A message is claimed (``claim(_:user:since:at:)``) in the same round trip that reads the
///   user's session: the first instance to see it answers it; a retry that reaches another instance
///   meanwhile waits for that answer; a claim not answered within ``claimLease`` is taken over.
/// - A turn is committed in one round trip (the `kefu_turn` function) with the session version it
///   started from: a session another instance moved meanwhile fails the commit (``SessionConflict``)
///   and the turn is answered again from the new session — one user's messages are serialised
///   across instances without holding a lock while a message is answered.
/// - Outbox rows are taken with `FOR UPDATE SKIP LOCKED` and a short lease, so instances work off
///   disjoint batches; rows left `sending` by an instance that stopped beating are recovered by the others.
/// - Clean-up takes due sessions by lease, so two instances never tidy the same session.
///
/// Answers this instance saved are also kept in memory for the de-duplication window (bounded):
/// a retry that reaches the same instance is answered without a round trip.
public final class PostgresStore: ConversationStore {
    public let database: PostgresDatabase
    /// Every row of this store carries it (the account's appid, or "default").
    public let account: String
    /// A claim older than this (seconds) whose instance saved no answer is taken over.
    public let claimLease: Int64
    /// Seconds due sessions and outbox rows are held by the instance that took them.
    public let workLease: Int64
    let answers: Mutex<RecentIndex<String, Remembered>>

    struct Remembered: Sendable { let response: PassiveResponse; let time: Int64 }

    func remembered(_ key: String, since: Int64) -> PassiveResponse? {
        answers.withLock { index in index.value(for: key, since: since).flatMap { $0.time >= since ? $0.response : nil } }
    }
    var client: PostgresClient { database.client }
    var owner: String { database.instance }

    public init(database: PostgresDatabase, account: String = "default", window: Int64 = 660, rememberedAnswers: Int = 100_000,
                claimLease: Int64 = 10, workLease: Int64 = 30) {
        self.database = database
        self.account = account
        self.claimLease = claimLease
        self.workLease = workLease
        answers = Mutex(RecentIndex(window: window, maxEntries: rememberedAnswers))
    }

    public var isShared: Bool { true }

    static func bytes(_ buffer: ByteBuffer?) -> [UInt8]? { buffer.map { Array($0.readableBytesView) } }

    static func decodeSession(_ buffer: ByteBuffer?) throws -> Session? {
        guard let buffer else { return nil }
        return try JSONDecoder().decode(Session.self, from: Data(buffer.readableBytesView))
    }

    // MARK: answers and claims

    public func claim(_ key: String, user: String, since: Int64, at time: Int64) async throws -> MessageClaim {
        if let remembered = remembered(key, since: since) { return .answered(remembered) }
        let (client, account, owner, stale) = (self.client, self.account, self.owner, time - claimLease)
        let found = try await database.timed { () -> (Bool, [UInt8]?, ByteBuffer?, Int64?) in
            let rows = try await client.query("""
                WITH c AS (
                    INSERT INTO kefu_answered (account, key, owner, claimed_at) VALUES (\(account), \(key), \(owner), \(time))
                    ON CONFLICT (account, key) DO UPDATE SET owner = EXCLUDED.owner, claimed_at = EXCLUDED.claimed_at,
                        response = NULL, answered_at = NULL, request = NULL
                    WHERE (kefu_answered.response IS NULL AND (kefu_answered.owner = EXCLUDED.owner OR kefu_answered.claimed_at < \(stale)))
                       OR (kefu_answered.response IS NOT NULL AND kefu_answered.answered_at < \(since))
                    RETURNING 1)
                SELECT EXISTS (SELECT 1 FROM c),
                       (SELECT response FROM kefu_answered WHERE account = \(account) AND key = \(key) AND response IS NOT NULL AND answered_at >= \(since)),
                       s.state, s.version
                FROM (SELECT 1) AS one LEFT JOIN kefu_session s ON s.account = \(account) AND s.user_id = \(user)
                """)
            for try await (owned, response, state, version) in rows.decode((Bool, ByteBuffer?, ByteBuffer?, Int64?).self) {
                return (owned, Self.bytes(response), state, version)
            }
            return (false, nil, nil, nil)
        }
        if found.0 { return .owned(StoredSession(try Self.decodeSession(found.2), version: found.3 ?? 0)) }
        if let response = found.1 { return .answered(try PassiveResponse(storedForm: response)) }
        return .inFlight
    }

    public func release(_ key: String, at time: Int64) async {
        try? await database.execute("""
            DELETE FROM kefu_answered WHERE account = \(account) AND key = \(key) AND owner = \(owner) AND response IS NULL
            """)
    }

    public func response(for key: String, since: Int64) async throws -> PassiveResponse? {
        if let remembered = remembered(key, since: since) { return remembered }
        let (client, account) = (self.client, self.account)
        let bytes = try await database.timed { () -> [UInt8]? in
            let rows = try await client.query("""
                SELECT response FROM kefu_answered WHERE account = \(account) AND key = \(key) AND response IS NOT NULL AND answered_at >= \(since)
                """)
            for try await (response,) in rows.decode((ByteBuffer.self)) { return Self.bytes(response) }
            return nil
        }
        return try bytes.map { try PassiveResponse(storedForm: $0) }
    }

    // MARK: sessions

    public func session(for user: String) async throws -> Session? { try await loadSession(for: user).session }

    public func loadSession(for user: String) async throws -> StoredSession {
        let (client, account) = (self.client, self.account)
        let row = try await database.timed { () -> (ByteBuffer, Int64)? in
            let rows = try await client.query("SELECT state, version FROM kefu_session WHERE account = \(account) AND user_id = \(user)")
            for try await (state, version) in rows.decode((ByteBuffer, Int64).self) { return (state, version) }
            return nil
        }
        guard let row else { return StoredSession(nil) }
        return StoredSession(try Self.decodeSession(row.0), version: row.1)
    }

    public func replaceSession(_ session: Session?, for user: String) async throws {
        if let session, !session.isEmpty {
            let state = ByteBuffer(bytes: try JSONEncoder().encode(session))
            try await database.execute("""
                INSERT INTO kefu_session (account, user_id, state, due, updated_at, version)
                VALUES (\(account), \(user), \(state), \(session.due), \(session.updatedAt), nextval('kefu_session_version'))
                ON CONFLICT (account, user_id) DO UPDATE SET state = EXCLUDED.state, due = EXCLUDED.due, updated_at = EXCLUDED.updated_at,
                    version = EXCLUDED.version
                """)
        } else {
            try await database.execute("DELETE FROM kefu_session WHERE account = \(account) AND user_id = \(user)")
        }
    }

    public func replaceSession(_ session: Session?, for user: String, ifVersion version: Int64) async throws -> Bool {
        let (client, account) = (self.client, self.account)
        let state: ByteBuffer? = try session.flatMap { $0.isEmpty ? nil : ByteBuffer(bytes: try JSONEncoder().encode($0)) }
        let due = session?.due, updated = session?.updatedAt ?? 0
        return try await database.timed { () -> Bool in
            let rows: PostgresRowSequence
            switch (state, version) {
            case (let state?, 0):
                rows = try await client.query("""
                    INSERT INTO kefu_session (account, user_id, state, due, updated_at, version)
                    VALUES (\(account), \(user), \(state), \(due), \(updated), nextval('kefu_session_version'))
                    ON CONFLICT (account, user_id) DO NOTHING RETURNING 1
                    """)
            case (let state?, _):
                rows = try await client.query("""
                    UPDATE kefu_session SET state = \(state), due = \(due), updated_at = \(updated), version = nextval('kefu_session_version')
                    WHERE account = \(account) AND user_id = \(user) AND version = \(version) RETURNING 1
                    """)
            case (nil, 0):
                return true
            case (nil, _):
                rows = try await client.query("DELETE FROM kefu_session WHERE account = \(account) AND user_id = \(user) AND version = \(version) RETURNING 1")
            }
            var changed = false
            for try await _ in rows { changed = true }
            return changed
        }
    }

    public func sessionsDue(at time: Int64, limit: Int) async throws -> [Session] {
        // Taken by lease: the due time moves past the lease, so another instance's clean-up skips them
        // (locked rows are skipped, not waited for); the tidy writes the session's real due time back.
        let (client, account, until) = (self.client, self.account, time + workLease)
        let limit = Int64(limit)
        let states = try await database.timed { () -> [ByteBuffer] in
            let rows = try await client.query("""
                UPDATE kefu_session SET due = \(until) WHERE (account, user_id) IN (
                    SELECT account, user_id FROM kefu_session WHERE account = \(account) AND due <= \(time)
                    ORDER BY due LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING state
                """)
            var states: [ByteBuffer] = []
            for try await (state,) in rows.decode((ByteBuffer.self)) { states.append(state) }
            return states
        }
        return try states.compactMap { try Self.decodeSession($0) }
    }

    // MARK: turns

    public func commit(_ record: TurnRecord) async throws {
        let turn = try TurnArguments(record, account: account)
        let extras = !record.outbox.isEmpty || !record.cancelScheduled.isEmpty || !record.cancelCalls.isEmpty || !record.calls.isEmpty
        do {
            if extras {
                let account = self.account
                let outbox = try record.outbox.map { ($0, String(decoding: try JSONEncoder().encode($0.content), as: UTF8.self)) }
                try await database.transaction { connection in
                    try await connection.query(turn.query, logger: Self.quiet)
                    for flow in record.cancelScheduled {
                        try await connection.query("""
                            UPDATE kefu_outbox SET state = 'cancelled', updated_at = \(record.time)
                            WHERE account = \(account) AND user_id = \(record.user) AND flow = \(flow) AND kind = 'scheduled' AND state = 'pending'
                            """, logger: Self.quiet)
                    }
                    for flow in record.cancelCalls {
                        try await connection.query("""
                            UPDATE kefu_outbox SET state = 'cancelled', detail = 'the customer cancelled before it went out', updated_at = \(record.time)
                            WHERE account = \(account) AND user_id = \(record.user) AND flow = \(flow) AND kind = 'call' AND state = 'pending'
                            """, logger: Self.quiet)
                    }
                    for update in record.calls {
                        try await connection.query(Self.callUpdate(update, account: account, user: record.user, at: record.time), logger: Self.quiet)
                    }
                    for (message, content) in outbox {
                        try await connection.query("""
                            INSERT INTO kefu_outbox (account, user_id, kind, due, not_after, flow, name, content, state, created_at, updated_at)
                            VALUES (\(account), \(message.user), \(message.kind.rawValue), \(message.due), \(message.notAfter), \(message.flow),
                                    \(message.name), \(content)::jsonb, 'pending', \(record.time), \(record.time))
                            """, logger: Self.quiet)
                    }
                }
            } else {
                try await database.execute(turn.query)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "KF409" {
            throw SessionConflict(user: record.user)
        }
        if !record.key.hasPrefix("call|") {
            // As the database keeps it: the first answer for a key, unless this one replaces it.
            answers.withLock { index in
                if record.replacesAnswer || index.value(for: record.key, since: .min) == nil { index.insert(record.key, Remembered(response: record.response, time: record.time), at: record.time) }
            }
        }
    }

    static let quiet = Logger(label: "kefu.postgres.quiet", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The arguments of `kefu_turn` for one record.
    struct TurnArguments {
        let query: PostgresQuery

        init(_ record: TurnRecord, account: String) throws {
            let response = ByteBuffer(bytes: record.response.storedForm)
            var op: Int64 = 0
            var state: ByteBuffer?
            var due: Int64?, updated: Int64?
            switch record.session {
            case .unchanged: op = 0
            case .save(let session) where session.isEmpty: op = 2
            case .save(let session):
                op = 1
                state = ByteBuffer(bytes: try JSONEncoder().encode(session))
                due = session.due
                updated = session.updatedAt
            case .delete: op = 2
            }
            let interaction: Int64 = switch record.interaction {
            case nil: 0
            case .message?: 1
            case .event?: 2
            case .unfollow?: 3
            }
            let log = record.log
            query = """
                SELECT kefu_turn(\(account), \(record.key), \(response), \(record.time), \(record.request), \(record.replacesAnswer),
                    \(record.user), \(op), \(state), \(due), \(updated), \(record.sessionVersion),
                    \(interaction),
                    \(log != nil), \(log?.msgType), \(log?.message), \(log?.normalized), \(log?.rule), \(log?.intent),
                    \(log?.flow), \(log?.step), \(log?.reply), \(log?.latencyMicroseconds),
                    \(log?.answerKind.rawValue), \(log?.flowMark?.flow), \(log?.flowMark?.event), \(log?.flowMark?.step), \(log?.declined))
                """
        }
    }

    // MARK: reloads across instances

    /// Asks every instance serving this account to reload its rule set; returns the request's number.
    @discardableResult
    public func requestReload(reason: String, at time: Int64) async throws -> Int64 {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            let rows = try await client.query("""
                INSERT INTO kefu_reload (account, seq, requested_at, reason) VALUES (\(account), 1, \(time), \(reason))
                ON CONFLICT (account) DO UPDATE SET seq = kefu_reload.seq + 1, requested_at = EXCLUDED.requested_at, reason = EXCLUDED.reason
                RETURNING seq
                """)
            for try await (seq,) in rows.decode((Int64.self)) { return seq }
            return 0
        }
    }

    /// The latest reload request for this account (0: none yet) and why it was made.
    public func reloadRequest() async throws -> (seq: Int64, reason: String) {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            let rows = try await client.query("SELECT seq, reason FROM kefu_reload WHERE account = \(account)")
            for try await (seq, reason) in rows.decode((Int64, String).self) { return (seq, reason) }
            return (0, "")
        }
    }

    // MARK: clean-up and tools

    public func purgeAnswers(before time: Int64, limit: Int) async throws -> Int {
        _ = answers.withLock { $0.expire(before: time) }
        return try await deleted("""
            DELETE FROM kefu_answered WHERE ctid IN (
                SELECT ctid FROM kefu_answered WHERE account = \(account) AND claimed_at < \(time) LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING 1
            """)
    }

    public func purgeLog(before time: Int64, limit: Int) async throws -> Int {
        try await deleted("""
            DELETE FROM kefu_conversation WHERE id IN (
                SELECT id FROM kefu_conversation WHERE account = \(account) AND time < \(time) ORDER BY id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING 1
            """)
    }

    /// Runs a statement that returns one row per row it changed; returns how many.
    func deleted(_ query: PostgresQuery) async throws -> Int {
        let client = self.client
        return try await database.timed {
            var n = 0
            for try await _ in try await client.query(query) { n += 1 }
            return n
        }
    }

    /// Rows of a table for this account (tests and tools).
    public func count(_ table: Table) async throws -> Int {
        let client = self.client
        let query = PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.rawValue) WHERE account = $1", binds: {
            var binds = PostgresBindings()
            binds.append(account)
            return binds
        }())
        return try await database.timed {
            for try await (n,) in try await client.query(query).decode((Int64.self)) { return Int(n) }
            return 0
        }
    }

    public enum Table: String, Sendable {
        case answered = "kefu_answered", session = "kefu_session", conversation = "kefu_conversation", outbox = "kefu_outbox", window = "kefu_window"
    }
}
