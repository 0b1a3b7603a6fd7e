import KefuRules
import KefuWeChat
import Synchronization

/// Answers one message with a store around the engine: a message answered before gets its stored
/// answer (the flow does not move again); otherwise the user's session is loaded, the engine
/// answers, and the answer, the next session and the log line are committed together.
///
/// The caller runs one user's messages one at a time (`kefu serve` queues them per user; `kefu chat`
/// and `kefu test` are sequential), so load-answer-commit never interleaves for a user.
public struct Responder: Sendable {
    public let store: any ConversationStore
    /// Seconds an answer is remembered for WeChat's retries.
    public let window: Int64
    /// Keep each customer's customer-service window (needed only where messages are sent through the
    /// API: `kefu serve` with it, `kefu chat`, `kefu test`); without, a turn writes no window row.
    public let tracksWindows: Bool

    public init(store: any ConversationStore, window: Int64 = 60, tracksWindows: Bool = true) {
        self.store = store
        self.window = window
        self.tracksWindows = tracksWindows
    }

    /// `request`: the signed query that delivered the message, saved with the answer (see `TurnRecord.request`).
    /// `gate`: the webhook's race between the answer and its budget (nil: the answer is always passive).
    /// When the budget won, the whole answer goes out through the outbox instead — if the customer's
    /// window allows that many messages; otherwise it is kept as the passive answer for WeChat's retry.
    public func respond(to message: InboundMessage, engine: Engine, now: Int64, request: String? = nil,
                        gate: DeliveryGate? = nil) async throws -> Engine.Outcome {
        let key = message.deduplicationKey
        if let stored = try await store.response(for: key, since: now - window) {
            return Engine.Outcome(response: stored, source: .remembered)
        }
        if case .event(.templateSendJobFinish(let status)) = message.content,
           let msgid = message.fields.text(of: "MsgID").flatMap({ Int64($0) }) {
            // WeChat's report on a template message the outbox sent: kept with it (the turn answers success).
            try await store.recordTemplateFinished(msgid: msgid, status: status, at: now)
        }
        let session = try await store.session(for: message.fromUserName)
        let started = ContinuousClock.now
        let turn = engine.handle(message, session: session, now: now)
        let latency = ContinuousClock.now - started
        var outcome = turn.outcome
        let user = message.fromUserName
        let interaction = tracksWindows ? Interaction(message) : nil
        var outbox = turn.later.map { OutboxMessage(user: user, kind: .part, due: now, content: .message($0)) }
        var cancelled: [String] = []
        for effect in turn.effects {
            switch effect {
            case .schedule(let scheduled): outbox.append(scheduled)
            case .cancelScheduled(let flow): cancelled.append(flow)
            }
        }
        var log = ConversationTurn(message, outcome, at: now, latency: latency)
        if let gate, !gate.claimPassive() {
            // The budget passed: the push was answered `success`; the answer goes through the API.
            let messages = outcome.messages.filter { if case .transfer = $0 { false } else { true } }
            let window = try await store.window(for: user).opened(by: interaction ?? .message, at: now)
            if !messages.isEmpty, interaction != nil, window.remaining(at: now) >= messages.count {
                outbox.removeAll { $0.kind == .part }
                outbox.insert(contentsOf: messages.map { OutboxMessage(user: user, kind: .late, due: now, content: .message($0)) }, at: 0)
                outcome.response = .success
                outcome.late = true
                log.reply = "[sent later] " + log.reply
            }
        }
        let change: TurnRecord.SessionChange = if turn.session == session { .unchanged } else if let next = turn.session { .save(next) } else { .delete }
        try await store.commit(TurnRecord(key: key, response: outcome.response, time: now, user: user, session: change, log: log,
                                          request: request, outbox: outbox, cancelScheduled: cancelled, interaction: interaction))
        outcome.queued = outbox
        return outcome
    }

    /// Cleans up sessions that are due (expired flows become their notices, ended pauses and old
    /// notices go). `perUser` runs each user's change in that user's order (the server's queue).
    /// Returns how many sessions changed.
    @discardableResult
    public func tidy(engine: Engine, now: Int64, limit: Int = 1000,
                     perUser: (String, @escaping @Sendable () async throws -> Void) async throws -> Void = { _, work in try await work() }) async throws -> Int {
        let due = try await store.sessionsDue(at: now, limit: limit)
        let store = self.store
        for session in due {
            try await perUser(session.user) {
                // Read again inside the user's turn: a message may have moved it meanwhile.
                guard let current = try await store.session(for: session.user), (current.due ?? .max) <= now else { return }
                try await store.replaceSession(engine.tidy(current, now: now), for: session.user)
            }
        }
        return due.count
    }
}

extension ConversationTurn {
    /// The conversation-log line of one answered message.
    public init(_ message: InboundMessage, _ outcome: Engine.Outcome, at time: Int64, latency: Duration) {
        let said: String
        switch message.content {
        case .text(let text): said = text.content
        case .event(let event): said = "[\(event.name)\(message.fields.text(of: "EventKey").map { $0.isEmpty ? "" : " " + $0 } ?? "")]"
        case .voice(let voice) where voice.recognition?.isEmpty == false: said = voice.recognition ?? ""
        default: said = "[\(message.msgType)]"
        }
        let reply: String
        switch outcome.response {
        case .success: reply = "success"
        case .empty: reply = ""
        case .reply(let r):
            if case .text(let text) = r.body { reply = text } else { reply = "[\(r.msgType)]" }
        }
        let (seconds, attoseconds) = latency.components
        self.init(time: time, user: message.fromUserName, msgType: message.msgType, message: said, normalized: outcome.normalized,
                  rule: outcome.answeredBy, intent: outcome.intent, flow: outcome.flow, step: outcome.step, reply: reply,
                  latencyMicroseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }
}

/// The race between a turn's answer and the webhook's budget, decided once: either the answer goes
/// into the passive reply (the turn claimed it in time) or the budget passed first and the answer
/// goes out through the outbox. Whoever claims first wins; the other side sees that.
public final class DeliveryGate: Sendable {
    enum State { case open, passive, late }
    private let state = Mutex(State.open)

    public init() {}

    /// True if the passive reply still carries the answer (and now always will).
    public func claimPassive() -> Bool {
        state.withLock { state in
            if state == .open { state = .passive }
            return state == .passive
        }
    }

    /// True if the answer now goes out later (the budget passed before the turn claimed the reply).
    public func claimLate() -> Bool {
        state.withLock { state in
            if state == .open { state = .late }
            return state == .late
        }
    }
}
