/// The conversation log read back: what the console's pages and `kefu report` ask of a store.
/// Every store that keeps a log (SQLite, PostgreSQL, memory) answers it; the pages never write
/// through it except for day rollups (``saveRollup(_:day:zone:)``), which are derived data.
public protocol ConversationLog: Sendable {
    /// The lines with `from <= time < until`, in id order, at most `limit` after `afterID` (paging).
    func logLines(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn]
    /// ``logLines(from:until:afterID:limit:)`` for counting: the texts (message, normalized, reply)
    /// may come back empty, which saves reading them.
    func logFacts(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn]
    /// The lines a search finds, newest first (by time, then id).
    func searchLog(_ search: LogSearch) async throws -> [LoggedTurn]
    /// One line by its id.
    func logLine(id: Int64) async throws -> LoggedTurn?
    /// The messages the default reply answered with `from <= time < until`, newest first.
    func unansweredLines(from: Int64, until: Int64, limit: Int) async throws -> [LoggedTurn]
    /// A day's rollup as saved (``saveRollup(_:day:zone:)``), nil if none is.
    func rollup(day: Int, zone: Int) async throws -> [UInt8]?
    /// Keeps a closed day's rollup (the console computes it once; days are in the zone's local time).
    func saveRollup(_ data: [UInt8], day: Int, zone: Int) async throws
    /// Users a human agent has now (the bot is paused for them), longest-paused first.
    func handedOffUsers(at now: Int64, limit: Int) async throws -> [HandedOffUser]
    /// The time of the oldest line (nil: the log is empty).
    func oldestLogTime() async throws -> Int64?
}

extension ConversationLog {
    public func logFacts(from: Int64, until: Int64, afterID: Int64, limit: Int) async throws -> [LoggedTurn] {
        try await logLines(from: from, until: until, afterID: afterID, limit: limit)
    }
}

/// A log line with its id (ids grow with time: newer lines have higher ids).
public struct LoggedTurn: Sendable, Equatable {
    public var id: Int64
    public var turn: ConversationTurn
    public init(id: Int64, turn: ConversationTurn) { self.id = id; self.turn = turn }
}

/// What the 会话 page searches by. Every field narrows; nil fields do not.
public struct LogSearch: Sendable {
    public var from: Int64
    public var until: Int64
    /// The user's openid, exactly.
    public var user: String?
    /// A piece of what the customer sent or of the reply (case-sensitive substring).
    public var text: String?
    /// The rule column exactly (a rule id, `default`, `flow:NAME` …).
    public var rule: String?
    /// The flow the user was in after the turn, or the flow the turn's mark concerns.
    public var flow: String?
    public var kind: AnswerKind?
    /// Paging: only lines older than this one (by time, then id), the last of the previous page.
    public var before: (time: Int64, id: Int64)?
    public var limit: Int

    public init(from: Int64 = 0, until: Int64 = .max, user: String? = nil, text: String? = nil, rule: String? = nil,
                flow: String? = nil, kind: AnswerKind? = nil, before: (time: Int64, id: Int64)? = nil, limit: Int = 50) {
        self.from = from; self.until = until; self.user = user; self.text = text; self.rule = rule; self.flow = flow
        self.kind = kind; self.before = before; self.limit = limit
    }

    /// The same test as the stores' queries, for the memory store and for checking them.
    public func matches(_ line: LoggedTurn) -> Bool {
        let t = line.turn
        if t.time < from || t.time >= until { return false }
        if let before, (t.time, line.id) >= (before.time, before.id) { return false }
        if let user, t.user != user { return false }
        if let text, !t.message.contains(text) && !t.reply.contains(text) { return false }
        if let rule, t.rule != rule { return false }
        if let flow, t.flow != flow && t.flowMark?.flow != flow { return false }
        if let kind, t.answerKind != kind { return false }
        return true
    }
}

/// A user a human agent has: the bot stays quiet for them until `until` (or until handed back).
public struct HandedOffUser: Sendable, Equatable {
    public var user: String
    public var until: Int64
    /// When the session last changed (about when the hand-off happened).
    public var since: Int64
    public init(user: String, until: Int64, since: Int64) { self.user = user; self.until = until; self.since = since }
}
