import Foundation
import GRDB
import KefuDialogue

/// The conversation log read back for the console and `kefu report` (``ConversationLog``).
extension SQLiteStore: ConversationLog {
    static func registerLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8: what answered, flow marks, day rollups, handed-off users") { db in
            try db.alter(table: "conversation") { t in
                t.add(column: "kind", .text)        // AnswerKind
                t.add(column: "mark_flow", .text)   // FlowMark
                t.add(column: "mark_event", .text)
                t.add(column: "mark_step", .text)
                t.add(column: "declined", .text)    // why the classifier named no intent
            }
            // Lines from before: their kind from the rule column (AnswerKind(legacyRule:)).
            try db.execute(sql: "UPDATE conversation SET kind = " + AnswerKind.legacySQL)
            try db.execute(sql: "CREATE INDEX conversation_unanswered ON conversation (time) WHERE kind = 'default'")
            // Every index costs each turn's insert: the user's now orders by time too (a transcript), and it replaces the
            // user-only one; a search by rule walks the time index (within the searched days).
            try db.execute(sql: "CREATE INDEX conversation_user_time ON conversation (user, time)")
            try db.execute(sql: "DROP INDEX IF EXISTS conversation_on_user")
            try db.create(table: "day_rollup") { t in
                t.column("day", .integer).notNull()
                t.column("zone", .integer).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["day", "zone"])
            }
            try db.alter(table: "session") { t in t.add(column: "paused_until", .integer) }
            try db.execute(sql: "CREATE INDEX session_paused ON session (paused_until) WHERE paused_until IS NOT NULL")
            // Sessions from before: their pause from the JSON state.
            try db.execute(sql: "UPDATE session SET paused_until = json_extract(state, '$.pausedUntil')")
        }
    }

    static let logColumns = "id, time, user, msg_type, message, normalized, rule, intent, flow, step, reply, latency_us, kind, mark_flow, mark_event, mark_step, declined"

    /// A line from a row of `SELECT *` (any column order: by name).
    static func loggedTurn(_ row: Row) -> LoggedTurn {
        let markFlow: String? = row["mark_flow"], markEvent: String? = row["mark_event"]
        let kind: String? = row["kind"]
        let turn = ConversationTurn(time: row["time"], user: row["user"], msgType: row["msg_type"], message: row["message"],
                                    normalized: row["normalized"], rule: row["rule"], intent: row["intent"], flow: row["flow"], step: row["step"],
                                    reply: row["reply"], latencyMicroseconds: row["latency_us"],
                                    kind: kind.flatMap(AnswerKind.init(rawValue:)),
                                    flowMark: markFlow.flatMap { f in markEvent.map { FlowMark(flow: f, event: $0, step: row["mark_step"]) } },
                                    declined: row["declined"])
        return LoggedTurn(id: row["id"], turn: turn)
    }

    /// A line from a row of ``logColumns`` or ``factColumns`` (by position: several times faster than by name,
    /// which counts when a day of a million-line log is read).
    static func indexedTurn(_ row: Row) -> LoggedTurn {
        let markFlow: String? = row[13], markEvent: String? = row[14]
        let kind: String? = row[12]
        let turn = ConversationTurn(time: row[1], user: row[2], msgType: row[3], message: row[4],
                                    normalized: row[5], rule: row[6], intent: row[7], flow: row[8], step: row[9],
                                    reply: row[10], latencyMicroseconds: row[11],
                                    kind: kind.flatMap(AnswerKind.init(rawValue:)),
                                    flowMark: markFlow.flatMap { f in markEvent.map { FlowMark(flow: f, event: $0, step: row[15]) } },
                                    declined: row[16])
        return LoggedTurn(id: row[0], turn: turn)
    }

    public func logLines(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.logColumns) FROM conversation INDEXED BY conversation_on_time WHERE time >= ? AND time < ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [from, until, afterID, limit]).map(Self.indexedTurn)
        }
    }

    /// The texts left out: counting a day reads a fifth of the bytes.
    static let factColumns = "id, time, user, msg_type, '' AS message, NULL AS normalized, rule, intent, flow, step, '' AS reply, latency_us, kind, mark_flow, mark_event, mark_step, declined"

    public func logFacts(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await pool.read { db in
            // A cursor: each row is read straight from the statement, not copied first.
            let rows = try Row.fetchCursor(db, sql: """
                SELECT \(Self.factColumns) FROM conversation INDEXED BY conversation_on_time WHERE time >= ? AND time < ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [from, until, afterID, limit])
            var lines: [LoggedTurn] = []
            lines.reserveCapacity(min(limit, 50_000))
            while let row = try rows.next() { lines.append(Self.indexedTurn(row)) }
            return lines
        }
    }

    public func searchLog(_ search: LogSearch) async throws -> [LoggedTurn] {
        var conditions = ["time >= ?", "time < ?"]
        var arguments: StatementArguments = [search.from, search.until]
        if let before = search.before { conditions.append("(time < ? OR (time = ? AND id < ?))"); arguments += [before.time, before.time, before.id] }
        if let user = search.user { conditions.append("user = ?"); arguments += [user] }
        if let rule = search.rule { conditions.append("rule = ?"); arguments += [rule] }
        if let flow = search.flow { conditions.append("(flow = ? OR mark_flow = ?)"); arguments += [flow, flow] }
        if let kind = search.kind { conditions.append("kind = ?"); arguments += [kind.rawValue] }
        if let text = search.text {
            // instr: a plain substring (LIKE would treat % and _ in what the lead typed as wildcards, and fold ASCII case).
            conditions.append("(instr(message, ?) > 0 OR instr(reply, ?) > 0)"); arguments += [text, text]
        }
        let sql = "SELECT \(Self.logColumns) FROM conversation WHERE \(conditions.joined(separator: " AND ")) ORDER BY time DESC, id DESC LIMIT ?"
        arguments += [search.limit]
        let finalArguments = arguments
        return try await pool.read { db in try Row.fetchAll(db, sql: sql, arguments: finalArguments).map(Self.indexedTurn) }
    }

    public func logLine(id: Int64) async throws -> LoggedTurn? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.logColumns) FROM conversation WHERE id = ?", arguments: [id]).map(Self.indexedTurn)
        }
    }

    public func unansweredLines(from: Int64, until: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.logColumns) FROM conversation INDEXED BY conversation_unanswered
                WHERE kind = 'default' AND time >= ? AND time < ? ORDER BY time DESC LIMIT ?
                """, arguments: [from, until, limit]).map(Self.indexedTurn)
        }
    }

    public func rollup(day: Int, zone: Int) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM day_rollup WHERE day = ? AND zone = ?", arguments: [day, zone]).map { Array($0) }
        }
    }

    public func saveRollup(_ data: [UInt8], day: Int, zone: Int) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO day_rollup (day, zone, data) VALUES (?, ?, ?)", arguments: [day, zone, Data(data)])
        }
    }

    public func handedOffUsers(at now: Int64, limit: Int) async throws -> [HandedOffUser] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT user, paused_until, updated_at FROM session WHERE paused_until > ? ORDER BY updated_at LIMIT ?
                """, arguments: [now, limit]).map { HandedOffUser(user: $0["user"], until: $0["paused_until"], since: $0["updated_at"]) }
        }
    }

    public func oldestLogTime() async throws -> Int64? {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MIN(time) FROM conversation") }
    }
}
