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

    // Many processes on one store (PostgreSQL). Stores owned by one process (SQLite, memory) take the
    // defaults below: their process's own de-duplication and per-user queue already give the same guarantees.

    /// Claims message `key` for this process: `.owned` with the user's session (the first process to
    /// see the message answers it), `.answered` with the saved answer (answered at or after `since`),
    /// or `.inFlight` while another process is answering it (ask again shortly; a claim whose process
    /// did not commit within the store's lease is taken over). A process that claimed a message and
    /// then cannot answer it calls ``release(_:at:)``.
    func claim(_ key: String, user: String, since: Int64, at time: Int64) async throws -> MessageClaim
    /// Gives up this process's claim on a message it could not answer (nothing of the turn was saved),
    /// so that WeChat's retry, wherever it arrives, runs the turn again.
    func release(_ key: String, at time: Int64) async
    /// The user's session and its version (stores with one owner: version 0). A commit whose
    /// ``TurnRecord/sessionVersion`` no longer matches throws ``SessionConflict``.
    func loadSession(for user: String) async throws -> StoredSession
    /// Replaces one session outside a turn (clean-up) if it is still at `version`; false when a
    /// message moved it meanwhile (nothing is written).
    func replaceSession(_ session: Session?, for user: String, ifVersion version: Int64) async throws -> Bool
    /// True when several processes share the store: rows left by a process that died are recovered
    /// while the others run (``recoverOutbox(at:resendTemplatesWithin:)`` is safe at any time).
    var isShared: Bool { get }

    /// Forgets at most `limit` answers saved before `time` (clean-up runs in small batches so that
    /// it never holds the writer for long); returns how many went.
    func purgeAnswers(before time: Int64, limit: Int) async throws -> Int
    /// Deletes at most `limit` conversation-log lines older than `time` (log retention); returns how many went.
    func purgeLog(before time: Int64, limit: Int) async throws -> Int
    /// Sessions whose ``Session/due`` time is at or before `time`, at most `limit` of them.
    func sessionsDue(at time: Int64, limit: Int) async throws -> [Session]
    /// Replaces one session outside a turn (clean-up); nil deletes it.
    func replaceSession(_ session: Session?, for user: String) async throws

    // The outbox (see OutboxMessage): written by `commit`, worked off by the server's outbox worker.

    /// The customer's customer-service window as the pushes so far opened it.
    func window(for user: String) async throws -> ServiceWindow
    /// Pending messages due at `time`, oldest first, at most `limit`.
    func dueOutbox(at time: Int64, limit: Int) async throws -> [OutboxEntry]
    /// Marks a pending message as being sent (committed before the API call, so that a crash during
    /// the call leaves it `sending`, never pending: it is not sent again blindly). False when it is
    /// no longer pending (cancelled meanwhile).
    func beginSending(_ id: Int64, at time: Int64) async throws -> Bool
    /// Takes a due call row for one try: it stays pending, due again at `until` (if this process
    /// stops mid-try, the worker tries again then, with the same key). False when it is no longer
    /// pending or someone else took it.
    func claimCall(_ id: Int64, until: Int64, at time: Int64) async throws -> Bool
    /// Records what came of sending: sent (counted against the window), failed, unknown, skipped,
    /// or pending again at a later time.
    func finishSending(_ id: Int64, _ result: OutboxResult, at time: Int64) async throws
    /// After a crash: messages left `sending` become `unknown` (a template message, which WeChat
    /// de-duplicates by its client_msg_id, is pending again when younger than `resendTemplatesWithin`).
    /// Returns how many became unknown and how many pending.
    func recoverOutbox(at time: Int64, resendTemplatesWithin: Int64) async throws -> (unknown: Int, resent: Int)
    /// Depth and age of the outbox, for /status and /metrics.
    func outboxStatus(at time: Int64) async throws -> OutboxStatus
    /// The call rows of the outbox by service (depth and age of the due ones, `scheduled`: waiting for a later try, counts by state).
    func callStatus(at time: Int64) async throws -> [String: OutboxStatus]
    /// Every message of the outbox for `user` (all users: nil), oldest first, for tools and tests.
    func outboxEntries(for user: String?) async throws -> [OutboxEntry]
    /// WeChat's TEMPLATESENDJOBFINISH for a template message sent with this msgid.
    func recordTemplateFinished(msgid: Int64, status: String, at time: Int64) async throws
    /// Deletes at most `limit` finished outbox rows (sent, failed, unknown, skipped, cancelled) last
    /// changed before `time`, and windows closed before it; returns how many rows went.
    func purgeOutbox(before time: Int64, limit: Int) async throws -> Int
}

/// What ``ConversationStore/claim(_:user:since:at:)`` found.
public enum MessageClaim: Sendable, Equatable {
    /// This process answers the message; the user's session as the answer must start from.
    case owned(StoredSession)
    /// Answered before (WeChat's retry): the saved answer.
    case answered(PassiveResponse)
    /// Another process is answering it now.
    case inFlight
}

/// A user's session as stored, with the version a commit checks (per-user order across processes).
public struct StoredSession: Sendable, Equatable {
    public var session: Session?
    public var version: Int64
    public init(_ session: Session?, version: Int64 = 0) { self.session = session; self.version = version }
}

/// The user's session changed after this turn read it (another process answered one of the user's
/// messages meanwhile): nothing of the turn was saved; read the session again and answer again.
public struct SessionConflict: Error, CustomStringConvertible {
    public let user: String
    public init(user: String) { self.user = user }
    public var description: String { "the session of \(user) changed while this message was answered (another process answered the user meanwhile)" }
}

extension ConversationStore {
    public func claim(_ key: String, user: String, since: Int64, at time: Int64) async throws -> MessageClaim {
        if let stored = try await response(for: key, since: since) { return .answered(stored) }
        return .owned(StoredSession(try await session(for: user)))
    }

    public func release(_ key: String, at time: Int64) async {}

    public func loadSession(for user: String) async throws -> StoredSession { StoredSession(try await session(for: user)) }

    public func replaceSession(_ session: Session?, for user: String, ifVersion version: Int64) async throws -> Bool {
        try await replaceSession(session, for: user)
        return true
    }

    public var isShared: Bool { false }
}

/// One row of the outbox.
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var message: OutboxMessage
    public var state: OutboxState
    public var attempts: Int
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The errcode and what it means, or why it was skipped.
    public var detail: String?
    /// The template message's msgid, and WeChat's delivery status for it (TEMPLATESENDJOBFINISH).
    public var msgid: Int64?
    public var delivery: String?

    public init(id: Int64, message: OutboxMessage, state: OutboxState, attempts: Int = 0, createdAt: Int64, updatedAt: Int64,
                detail: String? = nil, msgid: Int64? = nil, delivery: String? = nil) {
        self.id = id; self.message = message; self.state = state; self.attempts = attempts; self.createdAt = createdAt
        self.updatedAt = updatedAt; self.detail = detail; self.msgid = msgid; self.delivery = delivery
    }
}

public enum OutboxState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its time (or for another try).
    case pending
    /// Handed to WeChat; the answer is not in yet. Left so by a crash, it becomes `unknown`.
    case sending
    /// WeChat said ok.
    case sent
    /// WeChat refused it for good (outside the window, quota spent, a bad id …): never retried.
    case failed
    /// Sent, but whether it arrived is not known (a timeout or a reset): never repeated blindly.
    case unknown
    /// A flow cancelled it (a cancelled or rescheduled booking).
    case cancelled
    /// Not sent on purpose: its time passed, or the customer's window was closed.
    case skipped
}

public enum OutboxResult: Sendable, Equatable {
    case sent(msgid: Int64?)
    case failed(String)
    case unknown(String)
    case skipped(String)
    /// Pending again, due at this time.
    case retry(at: Int64, String)
}

/// What /status shows of the outbox.
public struct OutboxStatus: Sendable, Equatable {
    /// Pending or sending messages that are due.
    public var depth: Int
    /// Seconds since the oldest due message was due (0: none).
    public var oldestAge: Int64
    /// Messages scheduled for later.
    public var scheduled: Int
    public var counts: [OutboxState: Int]

    public init(depth: Int, oldestAge: Int64, scheduled: Int, counts: [OutboxState: Int]) {
        self.depth = depth; self.oldestAge = oldestAge; self.scheduled = scheduled; self.counts = counts
    }
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
    /// Messages to send through the API (later parts, a late answer, scheduled reminders).
    public var outbox: [OutboxMessage] = []
    /// Flows whose scheduled messages for this user are cancelled (before `outbox` is added).
    public var cancelScheduled: [String] = []
    /// How the push changes the customer's window.
    public var interaction: Interaction?
    /// The answer replaces the one stored for `key` (a call's result came within the wait after
    /// the turn was committed with its `slow:` text).
    public var replacesAnswer = false
    /// What came of calls (their outbox rows, by idempotency key).
    public var calls: [CallUpdate] = []
    /// Flows whose calls for this user that have not gone out are cancelled (the customer cancelled).
    public var cancelCalls: [String] = []
    /// The version of the session the turn started from: a shared store refuses the commit
    /// (``SessionConflict``) if the session is no longer at it. Nil: not checked (a call's retry row).
    public var sessionVersion: Int64?

    public init(key: String, response: PassiveResponse, time: Int64, user: String, session: SessionChange, log: ConversationTurn?,
                request: String? = nil, outbox: [OutboxMessage] = [], cancelScheduled: [String] = [], interaction: Interaction? = nil) {
        self.key = key; self.response = response; self.time = time; self.user = user; self.session = session; self.log = log
        self.request = request; self.outbox = outbox; self.cancelScheduled = cancelScheduled; self.interaction = interaction
    }
}

/// What came of a call's row: done (`sent`), given up (`failed`), or due again (`retry`).
public struct CallUpdate: Sendable, Equatable {
    public var key: String
    public var result: OutboxResult
    public var detail: String?
    public init(key: String, result: OutboxResult, detail: String? = nil) { self.key = key; self.result = result; self.detail = detail }

    /// What the row becomes: its state, its new due time (a retry; nil keeps it) and its detail.
    public var row: (state: String, due: Int64?, detail: String?) {
        switch result {
        case .retry(let at, let why): ("pending", at, why)
        case .sent: ("sent", nil, detail)
        case .failed(let why): ("failed", nil, why)
        case .unknown(let why): ("unknown", nil, why)
        case .skipped(let why): ("skipped", nil, why)
        }
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
    /// What kind of answer it was (nil in lines written before Kefu kept it: see ``AnswerKind/init(legacyRule:intent:msgType:)``).
    public var kind: AnswerKind?
    /// What happened to a flow in this turn (``FlowMark``), for the funnels.
    public var flowMark: FlowMark?
    /// Why the intent classifier named no intent, when the default reply answered (`noSharedWords`, `resemblesNone` …).
    public var declined: String?

    public init(time: Int64, user: String, msgType: String, message: String, normalized: String?, rule: String,
                intent: String?, flow: String? = nil, step: String? = nil, reply: String, latencyMicroseconds: Int64,
                kind: AnswerKind? = nil, flowMark: FlowMark? = nil, declined: String? = nil) {
        self.time = time; self.user = user; self.msgType = msgType; self.message = message; self.normalized = normalized
        self.rule = rule; self.intent = intent; self.flow = flow; self.step = step; self.reply = reply
        self.latencyMicroseconds = latencyMicroseconds
        self.kind = kind; self.flowMark = flowMark; self.declined = declined
    }

    /// The kind, for old lines too.
    public var answerKind: AnswerKind { kind ?? AnswerKind(legacyRule: rule, intent: intent, msgType: msgType) }
}

/// What answered a message, as the console counts it.
public enum AnswerKind: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
    /// A keyword, phrase or pattern rule (also a rule answering a side question inside a flow).
    case rule
    /// An intent rule (the classifier named the intent).
    case intent
    /// A flow: it started, asked, took an answer, confirmed, finished, was cancelled.
    case flow
    /// An event rule: follow, menu click, scan.
    case event
    /// Nothing matched: the rule set's `default` reply.
    case defaultReply = "default"
    /// The bot handed the user to a human (an interrupt or a flow's on_fail).
    case handoff
    /// A human agent has the user: the message went to them.
    case human
    /// Nothing to answer (an unfollow, a location report …): `success`.
    case silent
    /// A call's result (a line of the log written when it came, not a message of the customer).
    case call

    /// Counts as a message of the customer (not a call result or a clean-up line).
    public var isMessage: Bool { self != .call }

    /// ``init(legacyRule:intent:msgType:)`` as SQL over the log's columns (SQLite and PostgreSQL alike), for the
    /// migration that gives old lines their kind.
    public static let legacySQL = """
        CASE
            WHEN msg_type = 'call' THEN 'call'
            WHEN rule = 'default' THEN 'default'
            WHEN rule = 'handoff' THEN 'human'
            WHEN rule LIKE 'interrupt:%' THEN 'handoff'
            WHEN rule LIKE 'flow:%' THEN 'flow'
            WHEN rule = '' THEN 'silent'
            WHEN rule LIKE 'events.%' OR msg_type = 'event' THEN 'event'
            WHEN intent IS NOT NULL THEN 'intent'
            ELSE 'rule' END
        """

    /// The kind of a line written before the kind was kept, from its rule column.
    public init(legacyRule rule: String, intent: String?, msgType: String) {
        if msgType == "call" { self = .call }
        else if rule == "default" { self = .defaultReply }
        else if rule == "handoff" { self = .human }
        else if rule.hasPrefix("interrupt:") { self = .handoff }
        else if rule.hasPrefix("flow:") { self = .flow }
        else if rule.hasPrefix("events.") || msgType == "event" { self = rule.isEmpty ? .silent : .event }
        else if rule.isEmpty { self = .silent }
        else if intent != nil { self = .intent }
        else { self = .rule }
    }
}

/// What happened to a flow in a turn: the flow, the event (`started`, `filled`, `reasked`, `refused`,
/// `digression`, `changing`, `done`, `cancelled`, `handoff`, `failed`, `expired`, `calling`,
/// `called.OUTCOME`, `waiting`; `started+EVENT` when a flow started and did more in one turn) and the step it concerns (the step asked again, the slot filled,
/// the step the customer was at when the flow ended).
public struct FlowMark: Sendable, Equatable, Hashable {
    public var flow: String
    public var event: String
    public var step: String?
    public init(flow: String, event: String, step: String?) { self.flow = flow; self.event = event; self.step = step }

    /// The flow started in this turn (`started`, or `started+EVENT` when it did more in the same turn).
    public var isStart: Bool { event == "started" || event.hasPrefix("started+") }
    /// What the turn did besides starting it (`event` without `started+`).
    public var action: String { event.hasPrefix("started+") ? String(event.dropFirst("started+".count)) : event }

    /// The flow ended at this turn without being done (where people give up).
    public var isEnding: Bool { ["cancelled", "handoff", "expired"].contains(action) }
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
    /// The id of `storedTurns[0]` (ids count every line ever logged, from 1).
    private var firstID: Int64 = 1
    private var rollups: [String: [UInt8]] = [:]
    private var windows: [String: ServiceWindow] = [:]
    private var outbox: [OutboxEntry] = []
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
        if record.replacesAnswer || answered.value(for: record.key, since: .min) == nil {
            answered.insert(record.key, (record.response, record.time), at: record.time)
        }
        apply(record.session, for: record.user)
        if let interaction = record.interaction { windows[record.user] = (windows[record.user] ?? ServiceWindow()).opened(by: interaction, at: record.time) }
        for flow in record.cancelScheduled {
            for i in outbox.indices where outbox[i].message.user == record.user && outbox[i].message.flow == flow && outbox[i].message.kind == .scheduled && outbox[i].state == .pending {
                outbox[i].state = .cancelled
                outbox[i].updatedAt = record.time
            }
        }
        for flow in record.cancelCalls {
            for i in outbox.indices where outbox[i].message.user == record.user && outbox[i].message.flow == flow && outbox[i].message.kind == .call && outbox[i].state == .pending {
                outbox[i].state = .cancelled
                outbox[i].detail = "the customer cancelled before it went out"
                outbox[i].updatedAt = record.time
            }
        }
        for update in record.calls {
            guard let i = outbox.firstIndex(where: { $0.message.kind == .call && $0.message.name == update.key && $0.state == .pending }) else { continue }
            outbox[i].updatedAt = record.time
            outbox[i].attempts += 1
            switch update.result {
            case .retry(let due, let why): outbox[i].message.due = due; outbox[i].detail = why
            case .sent: outbox[i].state = .sent; outbox[i].detail = update.detail
            case .failed(let why): outbox[i].state = .failed; outbox[i].detail = why
            case .unknown(let why): outbox[i].state = .unknown; outbox[i].detail = why
            case .skipped(let why): outbox[i].state = .skipped; outbox[i].detail = why
            }
        }
        for message in record.outbox {
            outbox.append(OutboxEntry(id: Int64(outbox.count + 1), message: message, state: .pending, createdAt: record.time, updatedAt: record.time))
        }
        if let turn = record.log {
            storedTurns.append(turn)
            // Trim in halves, not one at a time: removing the first element shifts the whole array.
            if storedTurns.count >= 2 * logLimit {
                firstID += Int64(storedTurns.count - logLimit)
                storedTurns.removeFirst(storedTurns.count - logLimit)
            }
        }
    }

    public func purgeAnswers(before time: Int64, limit: Int) -> Int {
        answered.expire(before: time)
    }

    public func purgeLog(before time: Int64, limit: Int) -> Int {
        let old = storedTurns.prefix { $0.time < time }.prefix(limit).count
        storedTurns.removeFirst(old)
        firstID += Int64(old)
        return old
    }

    public func sessionsDue(at time: Int64, limit: Int) -> [Session] {
        Array(sessions.values.filter { ($0.due ?? .max) <= time }.sorted { $0.user < $1.user }.prefix(limit))
    }

    public func replaceSession(_ session: Session?, for user: String) {
        apply(session.map { .save($0) } ?? .delete, for: user)
    }

    public var sessionCount: Int { sessions.count }

    public func window(for user: String) -> ServiceWindow { windows[user] ?? ServiceWindow() }

    public func dueOutbox(at time: Int64, limit: Int) -> [OutboxEntry] {
        Array(outbox.filter { $0.state == .pending && $0.message.due <= time }.prefix(limit))
    }

    public func beginSending(_ id: Int64, at time: Int64) -> Bool {
        guard let i = outbox.firstIndex(where: { $0.id == id }), outbox[i].state == .pending else { return false }
        outbox[i].state = .sending
        outbox[i].attempts += 1
        outbox[i].updatedAt = time
        return true
    }

    public func claimCall(_ id: Int64, until: Int64, at time: Int64) -> Bool {
        guard let i = outbox.firstIndex(where: { $0.id == id }), outbox[i].state == .pending, outbox[i].message.due <= time else { return false }
        outbox[i].message.due = until
        outbox[i].updatedAt = time
        return true
    }

    public func finishSending(_ id: Int64, _ result: OutboxResult, at time: Int64) {
        guard let i = outbox.firstIndex(where: { $0.id == id }) else { return }
        outbox[i].updatedAt = time
        switch result {
        case .sent(let msgid):
            outbox[i].state = .sent
            outbox[i].msgid = msgid
            if outbox[i].message.needsWindow { windows[outbox[i].message.user, default: ServiceWindow()].use(at: time) }
        case .failed(let why): outbox[i].state = .failed; outbox[i].detail = why
        case .unknown(let why): outbox[i].state = .unknown; outbox[i].detail = why
        case .skipped(let why): outbox[i].state = .skipped; outbox[i].detail = why
        case .retry(let due, let why): outbox[i].state = .pending; outbox[i].message.due = due; outbox[i].detail = why
        }
    }

    public func recoverOutbox(at time: Int64, resendTemplatesWithin: Int64) -> (unknown: Int, resent: Int) {
        var counts = (unknown: 0, resent: 0)
        for i in outbox.indices where outbox[i].state == .sending {
            if case .template = outbox[i].message.content, time - outbox[i].updatedAt < resendTemplatesWithin {
                outbox[i].state = .pending; counts.resent += 1
            } else {
                outbox[i].state = .unknown; outbox[i].detail = "the server stopped while sending it"; counts.unknown += 1
            }
        }
        return counts
    }

    public func outboxStatus(at time: Int64) -> OutboxStatus {
        OutboxStatus.of(outbox, at: time)
    }

    public func callStatus(at time: Int64) -> [String: OutboxStatus] {
        OutboxStatus.byService(outbox, at: time)
    }

    public func outboxEntries(for user: String?) -> [OutboxEntry] {
        outbox.filter { user == nil || $0.message.user == user }
    }

    public func recordTemplateFinished(msgid: Int64, status: String, at time: Int64) {
        for i in outbox.indices where outbox[i].msgid == msgid { outbox[i].delivery = status; outbox[i].updatedAt = time }
    }

    public func purgeOutbox(before time: Int64, limit: Int) -> Int {
        var gone = 0
        outbox.removeAll { entry in
            guard gone < limit, entry.state != .pending, entry.state != .sending, entry.updatedAt < time else { return false }
            gone += 1
            return true
        }
        windows = windows.filter { ($0.value.until ?? .min) >= time }
        return gone
    }

    private func apply(_ change: TurnRecord.SessionChange, for user: String) {
        switch change {
        case .unchanged: break
        case .save(let session): sessions[user] = session.isEmpty ? nil : session
        case .delete: sessions[user] = nil
        }
    }
}

extension OutboxStatus {
    /// The status of the call rows among `entries`, by service.
    public static func byService(_ entries: [OutboxEntry], at time: Int64) -> [String: OutboxStatus] {
        var rows: [String: [OutboxEntry]] = [:]
        for entry in entries { if let request = entry.message.request { rows[request.service, default: []].append(entry) } }
        return rows.mapValues { of($0, at: time) }
    }

    /// The status of a list of entries (the memory store; tests).
    public static func of(_ entries: [OutboxEntry], at time: Int64) -> OutboxStatus {
        var counts: [OutboxState: Int] = [:]
        for entry in entries { counts[entry.state, default: 0] += 1 }
        let due = entries.filter { ($0.state == .pending || $0.state == .sending) && $0.message.due <= time }
        let oldest = due.map(\.message.due).min().map { time - $0 } ?? 0
        let scheduled = entries.filter { $0.state == .pending && $0.message.due > time }.count
        return OutboxStatus(depth: due.count, oldestAge: oldest, scheduled: scheduled, counts: counts)
    }
}

extension MemoryStore: ConversationLog {
    private var logged: [LoggedTurn] {
        storedTurns.enumerated().map { LoggedTurn(id: firstID + Int64($0.offset), turn: $0.element) }
    }

    public func logLines(from: Int64, until: Int64, afterID: Int64, limit: Int) -> [LoggedTurn] {
        Array(logged.lazy.filter { $0.id > afterID && $0.turn.time >= from && $0.turn.time < until }.prefix(limit))
    }

    public func searchLog(_ search: LogSearch) -> [LoggedTurn] {
        Array(logged.sorted { ($0.turn.time, $0.id) > ($1.turn.time, $1.id) }.lazy.filter(search.matches).prefix(search.limit))
    }

    public func logLine(id: Int64) -> LoggedTurn? { logged.first { $0.id == id } }

    public func unansweredLines(from: Int64, until: Int64, limit: Int) -> [LoggedTurn] {
        searchLog(LogSearch(from: from, until: until, kind: .defaultReply, limit: limit))
    }

    public func rollup(day: Int, zone: Int) -> [UInt8]? { rollups["\(day)/\(zone)"] }

    public func saveRollup(_ data: [UInt8], day: Int, zone: Int) { rollups["\(day)/\(zone)"] = data }

    public func handedOffUsers(at now: Int64, limit: Int) -> [HandedOffUser] {
        sessions.values.compactMap { s in s.pausedUntil.flatMap { $0 > now ? HandedOffUser(user: s.user, until: $0, since: s.updatedAt) : nil } }
            .sorted { ($0.since, $0.user) < ($1.since, $1.user) }.prefix(limit).map { $0 }
    }

    public func oldestLogTime() -> Int64? { storedTurns.first?.time }
}
