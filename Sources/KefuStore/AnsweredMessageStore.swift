import KefuWeChat

/// Where answered messages are remembered, so that WeChat's retries get the same answer even
/// after a restart, and where each turn of a conversation is logged.
///
///     let store = try SQLiteStore(path: "kefu-data/kefu.sqlite")
///     if let again = try await store.response(for: key, since: now - 60) { … send it again … }
///     try await store.save(.reply(reply), for: key, at: now)
public protocol AnsweredMessageStore: Sendable {
    /// The response saved for `key` at or after `since` (Unix seconds), if any.
    func response(for key: String, since: Int64) async throws -> PassiveResponse?
    /// Remembers the response to `key`. Saving the same key again keeps the first response.
    func save(_ response: PassiveResponse, for key: String, at time: Int64) async throws
    /// Forgets responses saved before `time`.
    func purge(before time: Int64) async throws
    /// Appends one turn to the conversation log.
    func log(_ turn: ConversationTurn) async throws
    /// Saves an answer and logs its turn (one transaction where the store has them).
    func save(_ response: PassiveResponse, for key: String, at time: Int64, logging turn: ConversationTurn) async throws
}

extension AnsweredMessageStore {
    public func save(_ response: PassiveResponse, for key: String, at time: Int64, logging turn: ConversationTurn) async throws {
        try await save(response, for: key, at: time)
        try await log(turn)
    }
}

/// One message and what answered it.
public struct ConversationTurn: Sendable, Equatable {
    public var time: Int64
    public var user: String
    public var msgType: String
    /// The text the user sent (or the event and its key).
    public var message: String
    public var normalized: String?
    /// The rule id, `default`, `events.subscribe`, or empty when nothing answered.
    public var rule: String
    public var intent: String?
    /// The reply in one line (`[news: …]` for media), or `success`.
    public var reply: String
    public var latencyMicroseconds: Int64

    public init(time: Int64, user: String, msgType: String, message: String, normalized: String?, rule: String,
                intent: String?, reply: String, latencyMicroseconds: Int64) {
        self.time = time; self.user = user; self.msgType = msgType; self.message = message; self.normalized = normalized
        self.rule = rule; self.intent = intent; self.reply = reply; self.latencyMicroseconds = latencyMicroseconds
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

/// The store of `--store memory`: forgets everything when the process ends.
public actor MemoryStore: AnsweredMessageStore {
    private var answered: [String: (response: PassiveResponse, time: Int64)] = [:]
    public private(set) var turns: [ConversationTurn] = []

    public init() {}

    public func response(for key: String, since: Int64) -> PassiveResponse? {
        guard let entry = answered[key], entry.time >= since else { return nil }
        return entry.response
    }

    public func save(_ response: PassiveResponse, for key: String, at time: Int64) {
        if answered[key] == nil { answered[key] = (response, time) }
    }

    public func purge(before time: Int64) {
        answered = answered.filter { $0.value.time >= time }
    }

    public func log(_ turn: ConversationTurn) {
        turns.append(turn)
        if turns.count > 10_000 { turns.removeFirst(turns.count - 10_000) }
    }
}
