import KefuRules
import KefuWeChat

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

    public init(store: any ConversationStore, window: Int64 = 60) {
        self.store = store
        self.window = window
    }

    /// `request`: the signed query that delivered the message, saved with the answer (see `TurnRecord.request`).
    public func respond(to message: InboundMessage, engine: Engine, now: Int64, request: String? = nil) async throws -> Engine.Outcome {
        let key = message.deduplicationKey
        if let stored = try await store.response(for: key, since: now - window) {
            return Engine.Outcome(response: stored, source: .remembered)
        }
        let session = try await store.session(for: message.fromUserName)
        let started = ContinuousClock.now
        let turn = engine.handle(message, session: session, now: now)
        let latency = ContinuousClock.now - started
        let change: TurnRecord.SessionChange = if turn.session == session { .unchanged } else if let next = turn.session { .save(next) } else { .delete }
        try await store.commit(TurnRecord(key: key, response: turn.outcome.response, time: now, user: message.fromUserName,
                                          session: change, log: ConversationTurn(message, turn.outcome, at: now, latency: latency), request: request))
        return turn.outcome
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
