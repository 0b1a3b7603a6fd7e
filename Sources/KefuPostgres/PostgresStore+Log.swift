import KefuDialogue
import NIOCore
import PostgresNIO

/// The conversation log read back for the console and `kefu report` (``ConversationLog``), per account.
extension PostgresStore: ConversationLog {
    static let logColumns = "id, time, user_id, msg_type, message, normalized, rule, intent, flow, step, reply, latency_us, kind, mark_flow, mark_event, mark_step, declined"

    /// The console's reads are allowed longer than a turn's queries (a search over a long period).
    static let readTimeout: Duration = .seconds(10)

    static func loggedTurn(_ row: PostgresRow) throws -> LoggedTurn {
        let cells = row.makeRandomAccess()
        func text(_ i: Int) throws -> String { try cells[i].decode(String.self) }
        func optional(_ i: Int) throws -> String? { try cells[i].decode(String?.self) }
        let markFlow = try optional(13), markEvent = try optional(14)
        let turn = ConversationTurn(time: try cells[1].decode(Int64.self), user: try text(2), msgType: try text(3), message: try text(4),
                                    normalized: try optional(5), rule: try text(6), intent: try optional(7), flow: try optional(8),
                                    step: try optional(9), reply: try text(10), latencyMicroseconds: try cells[11].decode(Int64.self),
                                    kind: try optional(12).flatMap(AnswerKind.init(rawValue:)),
                                    flowMark: try markFlow.flatMap { f in try markEvent.map { FlowMark(flow: f, event: $0, step: try optional(15)) } },
                                    declined: try optional(16))
        return LoggedTurn(id: try cells[0].decode(Int64.self), turn: turn)
    }

    /// Runs a query with binds numbered in the order they are added.
    struct Query {
        var sql = ""
        var binds = PostgresBindings()
        var count = 0
        mutating func bind(_ value: String) -> String {
            binds.append(value)
            count += 1
            return "$\(count)"
        }
        mutating func bind(_ value: Int64) -> String {
            binds.append(value)
            count += 1
            return "$\(count)"
        }
        var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
    }

    func lines(_ query: PostgresQuery) async throws -> [LoggedTurn] {
        let client = self.client
        return try await database.timed(within: Self.readTimeout) {
            var lines: [LoggedTurn] = []
            for try await row in try await client.query(query) { lines.append(try Self.loggedTurn(row)) }
            return lines
        }
    }

    public func logLines(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await lines("""
            SELECT \(unescaped: Self.logColumns) FROM kefu_conversation
            WHERE account = \(account) AND time >= \(from) AND time < \(until) AND id > \(afterID) ORDER BY id LIMIT \(Int64(limit))
            """)
    }

    static let factColumns = "id, time, user_id, msg_type, '' AS message, NULL::text AS normalized, rule, intent, flow, step, '' AS reply, latency_us, kind, mark_flow, mark_event, mark_step, declined"

    public func logFacts(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await lines("""
            SELECT \(unescaped: Self.factColumns) FROM kefu_conversation
            WHERE account = \(account) AND time >= \(from) AND time < \(until) AND id > \(afterID) ORDER BY id LIMIT \(Int64(limit))
            """)
    }

    public func searchLog(_ search: LogSearch) async throws -> [LoggedTurn] {
        var q = Query()
        var conditions = ["account = \(q.bind(account))", "time >= \(q.bind(search.from))", "time < \(q.bind(search.until))"]
        if let before = search.before {
            let t = q.bind(before.time)
            conditions.append("(time < \(t) OR (time = \(t) AND id < \(q.bind(before.id))))")
        }
        if let user = search.user { conditions.append("user_id = \(q.bind(user))") }
        if let rule = search.rule { conditions.append("rule = \(q.bind(rule))") }
        if let flow = search.flow { let f = q.bind(flow); conditions.append("(flow = \(f) OR mark_flow = \(f))") }
        if let kind = search.kind { conditions.append("kind = \(q.bind(kind.rawValue))") }
        if let text = search.text { let t = q.bind(text); conditions.append("(strpos(message, \(t)) > 0 OR strpos(reply, \(t)) > 0)") }
        q.sql = "SELECT \(Self.logColumns) FROM kefu_conversation WHERE \(conditions.joined(separator: " AND ")) ORDER BY time DESC, id DESC LIMIT \(q.bind(Int64(search.limit)))"
        return try await lines(q.query)
    }

    public func logLine(id: Int64) async throws -> LoggedTurn? {
        try await lines("SELECT \(unescaped: Self.logColumns) FROM kefu_conversation WHERE account = \(account) AND id = \(id)").first
    }

    public func unansweredLines(from: Int64, until: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await lines("""
            SELECT \(unescaped: Self.logColumns) FROM kefu_conversation
            WHERE account = \(account) AND kind = 'default' AND time >= \(from) AND time < \(until) ORDER BY time DESC LIMIT \(Int64(limit))
            """)
    }

    public func rollup(day: Int, zone: Int) async throws -> [UInt8]? {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            let rows = try await client.query("SELECT data FROM kefu_day_rollup WHERE account = \(account) AND day = \(day) AND zone = \(zone)")
            for try await (data,) in rows.decode((ByteBuffer.self)) { return Array(buffer: data) }
            return nil
        }
    }

    public func saveRollup(_ data: [UInt8], day: Int, zone: Int) async throws {
        try await database.execute("""
            INSERT INTO kefu_day_rollup (account, day, zone, data) VALUES (\(account), \(day), \(zone), \(ByteBuffer(bytes: data)))
            ON CONFLICT (account, day, zone) DO UPDATE SET data = EXCLUDED.data
            """)
    }

    public func handedOffUsers(at now: Int64, limit: Int) async throws -> [HandedOffUser] {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            var users: [HandedOffUser] = []
            let rows = try await client.query("""
                SELECT user_id, paused_until, updated_at FROM kefu_session
                WHERE account = \(account) AND paused_until > \(now) ORDER BY updated_at LIMIT \(Int64(limit))
                """)
            for try await (user, until, since) in rows.decode((String, Int64, Int64).self) {
                users.append(HandedOffUser(user: user, until: until, since: since))
            }
            return users
        }
    }

    public func oldestLogTime() async throws -> Int64? {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            for try await (time,) in try await client.query("SELECT min(time) FROM kefu_conversation WHERE account = \(account)").decode((Int64?.self)) {
                return time
            }
            return nil
        }
    }
}
