import KefuWeChat

/// Where a conversation's state lives: answered messages (so WeChat's retries get the same answer,
/// also after a restart), each user's session, and the conversation log.
///
/// ``commit(_:)`` writes a turn's three parts in one transaction where the store has them: a crash
/// between receiving and answering leaves either nothing of the turn or all of it, never a session
/// that moved without its answer being remembered (a retry would then advance the flow twice).
///
///     let store = try SQLiteStore(path: "kefu-data/kefu.sqlite")   // KefuStore
///     let responder = Responder(store: store)
///     let outcome = try await responder.respond(to: message, engine: engine, now: clock.now())
public protocol ConversationStore: Sendable {
    /// The response saved for `key` at or after `since` (Unix seconds), if any.
    func response(for key: String, since: Int64) async throws -> PassiveResponse?
    /// The user's session, if one is kept.
    func session(for user: String) async throws -> Session?
    /// Saves a turn: its answer (the first one saved for a key is kept), the user's session change, its log line.
    func commit(_ record: TurnRecord) async throws
    /// Forgets at most `limit` answers saved before `time` (clean-up runs in small batches so that
    /// it never holds the writer for long); returns how many went.
    func purgeAnswers(before time: Int64, limit: Int) async throws -> Int
    /// Deletes at most `limit` conversation-log lines older than `time` (log retention); returns how many went.
    func purgeLog(before time: Int64, limit: Int) async throws -> Int
    /// Sessions whose ``Session/due`` time is at or before `time`, at most `limit` of them.
    func sessionsDue(at time: Int64, limit: Int) async throws -> [Session]
    /// Replaces one session outside a turn (clean-up); nil deletes it.
    func replaceSession(_ session: Session?, for user: String) async throws
}

/// Everything one answered message changes.
public struct TurnRecord: Sendable, Equatable {
    public enum SessionChange: Sendable, Equatable {
        case unchanged
        case save(Session)
        case delete
    }

    public var key: String
    public var response: PassiveResponse
    public var time: Int64
    public var user: String
    public var session: SessionChange
    public var log: ConversationTurn?
    /// The signed query that delivered the message (`ReplayGuard.queryText`), kept with the answer so
    /// that a restarted server still knows which message that query carried; nil outside the webhook.
    public var request: String?

    public init(key: String, response: PassiveResponse, time: Int64, user: String, session: SessionChange, log: ConversationTurn?,
                request: String? = nil) {
        self.key = key; self.response = response; self.time = time; self.user = user; self.session = session; self.log = log
        self.request = request
    }
}

/// One message and what answered it: a line of the conversation log.
public struct ConversationTurn: Sendable, Equatable {
    public var time: Int64
    public var user: String
    public var msgType: String
    /// The text the user sent (or the event and its key).
    public var message: String
    public var normalized: String?
    /// The rule id, `default`, `events.subscribe`, `flow:NAME`, `interrupt:ID`, or empty when nothing answered.
    public var rule: String
    public var intent: String?
    /// The flow the user is in after the turn, and the step it waits for.
    public var flow: String?
    public var step: String?
    /// The reply in one line (`[news]` for media), or `success`.
    public var reply: String
    public var latencyMicroseconds: Int64

    public init(time: Int64, user: String, msgType: String, message: String, normalized: String?, rule: String,
                intent: String?, flow: String? = nil, step: String? = nil, reply: String, latencyMicroseconds: Int64) {
        self.time = time; self.user = user; self.msgType = msgType; self.message = message; self.normalized = normalized
        self.rule = rule; self.intent = intent; self.flow = flow; self.step = step; self.reply = reply
        self.latencyMicroseconds = latencyMicroseconds
    }
}

extension PassiveResponse {
    /// The bytes a store keeps: the plaintext reply XML, `success`, or nothing.
    public var storedForm: [UInt8] { body() }

    /// Reads back ``storedForm``.
    public init(storedForm bytes: [UInt8]) throws {
        if bytes.isEmpty { self = .empty }
        else if bytes == Array("success".utf8) { self = .success }
        else { self = .reply(try Reply(xml: bytes)) }
    }
}

/// The store of `--store memory`, `kefu chat` and `kefu test`: forgets everything when the process ends.
public actor MemoryStore: ConversationStore {
    /// Answers in time buckets: forgetting old ones never sweeps them all.
    private var answered = RecentIndex<String, (response: PassiveResponse, time: Int64)>(window: 600, maxEntries: 1_000_000, buckets: 10)
    private var sessions: [String: Session] = [:]
    private var storedTurns: [ConversationTurn] = []
    /// The last `logLimit` turns, oldest first.
    public var turns: [ConversationTurn] { Array(storedTurns.suffix(logLimit)) }
    /// The log keeps this many turns (the oldest go first).
    public let logLimit: Int

    public init(logLimit: Int = 10_000) { self.logLimit = logLimit }

    public func response(for key: String, since: Int64) -> PassiveResponse? {
        guard let entry = answered.value(for: key, since: since), entry.time >= since else { return nil }
        return entry.response
    }

    public func session(for user: String) -> Session? { sessions[user] }

    public func commit(_ record: TurnRecord) {
        if answered.value(for: record.key, since: .min) == nil { answered.insert(record.key, (record.response, record.time), at: record.time) }
        apply(record.session, for: record.user)
        if let turn = record.log {
            storedTurns.append(turn)
            // Trim in halves, not one at a time: removing the first element shifts the whole array.
            if storedTurns.count >= 2 * logLimit { storedTurns.removeFirst(storedTurns.count - logLimit) }
        }
    }

    public func purgeAnswers(before time: Int64, limit: Int) -> Int {
        answered.expire(before: time)
    }

    public func purgeLog(before time: Int64, limit: Int) -> Int {
        let old = storedTurns.prefix { $0.time < time }.prefix(limit).count
        storedTurns.removeFirst(old)
        return old
    }

    public func sessionsDue(at time: Int64, limit: Int) -> [Session] {
        Array(sessions.values.filter { ($0.due ?? .max) <= time }.sorted { $0.user < $1.user }.prefix(limit))
    }

    public func replaceSession(_ session: Session?, for user: String) {
        apply(session.map { .save($0) } ?? .delete, for: user)
    }

    public var sessionCount: Int { sessions.count }

    private func apply(_ change: TurnRecord.SessionChange, for user: String) {
        switch change {
        case .unchanged: break
        case .save(let session): sessions[user] = session.isEmpty ? nil : session
        case .delete: sessions[user] = nil
        }
    }
}
