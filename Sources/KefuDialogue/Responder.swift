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
    /// Makes the calls turns start (nil: a call has no way out and takes its `error` branch).
    public let calls: (any CallRunner)?
    /// Where a result that missed its turn's wait goes: the server runs it in the customer's order
    /// (``finishCall(_:result:attempt:attempts:engine:now:jitter:)`` inside the user's queue).
    public let onLateResult: (@Sendable (ServiceRequest, CallResult, _ attempt: Int, _ attempts: Int) async -> Void)?

    /// How long a delivery waits for another process's answer to the same message (WeChat's retry
    /// reached another instance while the first was still answering it) before it gives up
    /// (``MessageInFlightElsewhere``: the webhook answers `success`, WeChat's next retry finds the answer).
    public var claimWait: Duration = .milliseconds(4_200)

    public init(store: any ConversationStore, window: Int64 = 60, tracksWindows: Bool = true, calls: (any CallRunner)? = nil,
                onLateResult: (@Sendable (ServiceRequest, CallResult, Int, Int) async -> Void)? = nil) {
        self.store = store
        self.window = window
        self.tracksWindows = tracksWindows
        self.calls = calls
        self.onLateResult = onLateResult
    }

    /// How long a call's row is left alone while a try of it runs (its timeout plus this): after
    /// a crash, the outbox worker takes it up again then, with the same idempotency key.
    public static let callLease: Int64 = 5

    /// `request`: the signed query that delivered the message, saved with the answer (see `TurnRecord.request`).
    /// `gate`: the webhook's race between the answer and its budget (nil: the answer is always passive).
    /// When the budget won, the whole answer goes out through the outbox instead — if the customer's
    /// window allows that many messages; otherwise it is kept as the passive answer for WeChat's retry.
    public func respond(to message: InboundMessage, engine: Engine, now: Int64, request: String? = nil,
                        gate: DeliveryGate? = nil) async throws -> Engine.Outcome {
        let key = message.deduplicationKey
        let deadline = ContinuousClock.now + claimWait
        var pause = Duration.milliseconds(20)
        var conflicts = 0
        while true {
            let claim = try await store.claim(key, user: message.fromUserName, since: now - window, at: now)
            switch claim {
            case .answered(let stored):
                return Engine.Outcome(response: stored, source: .remembered)
            case .inFlight:
                // Another process is answering this message (WeChat's retry reached another instance): its answer, when saved.
                guard ContinuousClock.now + pause < deadline else { throw MessageInFlightElsewhere(key: key) }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(200))
            case .owned(let stored):
                do {
                    return try await answer(message, key: key, stored: stored, engine: engine, now: now, request: request, gate: gate)
                } catch is SessionConflict where conflicts < Self.maxConflicts {
                    // Another process answered one of this user's messages meanwhile: nothing was saved; answer again from its session.
                    conflicts += 1
                } catch {
                    // Not awaited: with the database down the release would wait as long again, and the webhook answers now.
                    let store = self.store
                    Task { await store.release(key, at: now) }
                    throw error
                }
            }
        }
    }

    /// How often a turn is answered again after ``SessionConflict`` before the message is given up (WeChat retries it).
    static let maxConflicts = 4

    func answer(_ message: InboundMessage, key: String, stored: StoredSession, engine: Engine, now: Int64, request: String?,
                gate: DeliveryGate?) async throws -> Engine.Outcome {
        if case .event(.templateSendJobFinish(let status)) = message.content,
           let msgid = message.fields.text(of: "MsgID").flatMap({ Int64($0) }) {
            // WeChat's report on a template message the outbox sent: kept with it (the turn answers success).
            try await store.recordTemplateFinished(msgid: msgid, status: status, at: now)
        }
        let session = stored.session
        let started = ContinuousClock.now
        var turn = engine.handle(message, session: session, now: now)
        let user = message.fromUserName
        let interaction = tracksWindows ? Interaction(message) : nil
        var record = TurnRecord(key: key, response: .success, time: now, user: user, session: .unchanged, log: nil,
                                request: request, interaction: interaction)
        if let effect = turn.effects.lazy.compactMap(\.call).first {
            turn.effects.removeAll { $0.call != nil }
            let wait = Duration.milliseconds(effect.waitMs)
            if effect.isWrite {
                // A write is kept before it goes out: a crash from here on loses nothing, and every try carries the key.
                var first = turn
                first.effects.append(.call(effect))
                record = self.record(first, key: key, now: now, user: user, request: request, interaction: interaction,
                                     latency: ContinuousClock.now - started, message: message, stored: session)
                record.sessionVersion = stored.version
                try await store.commit(record)
                if let calls, let result = await calls.attempt(effect.request, attempt: 1, wait: wait, at: now, late: late(effect, attempt: 1)),
                   var answered = try await finishCall(effect.request, result: result, attempt: 1, attempts: effect.attempts, engine: engine, now: now,
                                                       jitter: Self.jitter(effect.request), answering: (message, key, effect.intro)) {
                    answered.callSummary = "\(effect.request.summary) → \(result.summary)"
                    return answered
                }
                var outcome = first.outcome
                outcome.queued = record.outbox
                outcome.callSummary = "\(effect.request.summary) → kept in the outbox, tried again later"
                return outcome
            }
            if let calls, let result = await calls.attempt(effect.request, attempt: 1, wait: wait, at: now, late: late(effect, attempt: 1)) {
                var resumed = engine.resume(effect.request, result: result, session: turn.session, now: now, answering: message, intro: effect.intro)
                resumed.effects = turn.effects + resumed.effects
                resumed.outcome.normalized = turn.outcome.normalized
                resumed.outcome.intent = turn.outcome.intent
                resumed.outcome.trigger = turn.outcome.trigger
                resumed.outcome.callSummary = "\(effect.request.summary) → \(result.summary)"
                turn = Self.sameTurn(resumed, as: turn)
            } else if calls == nil {
                turn = Self.sameTurn(engine.resume(effect.request, result: CallResult(.network("no service calls here")), session: turn.session, now: now,
                                                   answering: message, intro: effect.intro), as: turn)
            } else {
                turn.effects.append(.call(effect))  // its row: taken up again after a crash
                turn.outcome.callSummary = "\(effect.request.summary) → still running after \(effect.waitMs) ms; the result goes out later"
            }
        }
        record = self.record(turn, key: key, now: now, user: user, request: request, interaction: interaction,
                             latency: ContinuousClock.now - started, message: message, stored: session)
        record.sessionVersion = stored.version
        var outcome = turn.outcome
        if let gate, !gate.claimPassive() {
            // The budget passed: the push was answered `success`; the answer goes through the API.
            let messages = outcome.messages.filter { if case .transfer = $0 { false } else { true } }
            let window = try await store.window(for: user).opened(by: interaction ?? .message, at: now)
            if !messages.isEmpty, interaction != nil, window.remaining(at: now) >= messages.count {
                record.outbox.removeAll { $0.kind == .part }
                record.outbox.insert(contentsOf: messages.map { OutboxMessage(user: user, kind: .late, due: now, content: .message($0)) }, at: 0)
                outcome.response = .success
                outcome.late = true
                record.response = .success
                let said = record.log?.reply ?? ""
                record.log?.reply = "[sent later] " + said
            }
        }
        try await store.commit(record)
        outcome.queued = record.outbox
        return outcome
    }

    /// The record of a turn: its answer, session change, log line, and outbox rows (later parts,
    /// scheduled messages, a call) with the cancellations before them.
    func record(_ turn: Engine.Turn, key: String, now: Int64, user: String, request: String?, interaction: Interaction?,
                latency: Duration, message: InboundMessage?, stored: Session?) -> TurnRecord {
        var outbox = turn.later.map { OutboxMessage(user: user, kind: message == nil ? .late : .part, due: now, content: .message($0)) }
        var cancelled: [String] = [], cancelledCalls: [String] = []
        for effect in turn.effects {
            switch effect {
            case .schedule(let scheduled): outbox.append(scheduled)
            case .cancelScheduled(let flow): cancelled.append(flow)
            case .call(let call):
                // Due when a try of it would have to have finished: the worker takes it up only then (or, queued from a
                // result, at once).
                let due = message == nil ? now : now + (call.timeoutMs + 999) / 1000 + Self.callLease
                outbox.append(OutboxMessage(user: user, kind: .call, due: due, flow: call.request.call.flow, name: call.request.idempotencyKey,
                                            content: .call(call.request)))
            case .cancelCalls:
                if let flow = stored?.flow?.name { cancelledCalls.append(flow) }
            }
        }
        let change: TurnRecord.SessionChange = if turn.session == stored { .unchanged } else if let next = turn.session { .save(next) } else { .delete }
        let log = message.map { ConversationTurn($0, turn.outcome, at: now, latency: latency) }
        var record = TurnRecord(key: key, response: turn.outcome.response, time: now, user: user, session: change, log: log,
                                request: request, outbox: outbox, cancelScheduled: cancelled, interaction: interaction)
        record.cancelCalls = cancelledCalls
        return record
    }

    /// The hand-off of a result that missed the wait (nil without ``onLateResult``: it is lost, and the row takes it up after its lease).
    func late(_ effect: CallEffect, attempt: Int) -> @Sendable (CallResult) async -> Void {
        let handler = onLateResult
        let request = effect.request, attempts = effect.attempts
        return { result in await handler?(request, result, attempt, attempts) }
    }

    /// -1…1, the same for a request (so a test sees the same pauses), different between requests.
    public static func jitter(_ request: ServiceRequest) -> Double {
        Double(request.idempotencyKey.hashValueStable % 2001) / 1000 - 1
    }

    /// What came of one try of a call: a write that may be tried again is put off (its row due
    /// at the next try); otherwise the engine takes the result (``Engine/resume``) and the turn it
    /// makes is committed with the row marked done — its messages go out through the outbox, or,
    /// when `answering` names the message still waiting for its passive reply, they are that
    /// reply (the stored answer is replaced, so WeChat's retry gets it too).
    /// Returns the outcome of the result's turn (nil: the write is tried again later).
    @discardableResult
    public func finishCall(_ request: ServiceRequest, result: CallResult, attempt: Int, attempts: Int, engine: Engine, now: Int64,
                           jitter: Double, answering: (message: InboundMessage, key: String, intro: [String])? = nil) async throws -> Engine.Outcome? {
        var result = result
        let user = request.call.user
        if request.method.isWrite, result.isRetryable {
            if attempt < attempts {
                let next = now + CallRetry.delay(after: attempt, jitter: jitter)
                var record = TurnRecord(key: "call|\(request.idempotencyKey)|\(attempt)", response: .success, time: now, user: user, session: .unchanged, log: nil)
                record.calls = [CallUpdate(key: request.idempotencyKey, result: .retry(at: next, "try \(attempt) of \(attempts): \(result.summary)"))]
                try await store.commit(record)
                return nil
            }
            result = CallResult(.gaveUp(attempts: attempt, last: result.summary), latencyMs: result.latencyMs)
        }
        var conflicts = 0
        while true {
            do {
                return try await take(request, result: result, attempt: attempt, engine: engine, now: now, answering: answering)
            } catch is SessionConflict where conflicts < Self.maxConflicts {
                conflicts += 1  // a message of the customer moved the session meanwhile (another process): take the result again on it
            }
        }
    }

    private func take(_ request: ServiceRequest, result: CallResult, attempt: Int, engine: Engine, now: Int64,
                      answering: (message: InboundMessage, key: String, intro: [String])?) async throws -> Engine.Outcome? {
        let user = request.call.user
        let stored = try await store.loadSession(for: user)
        let session = stored.session
        let turn = engine.resume(request, result: result, session: session, now: now, answering: answering?.message, intro: answering?.intro ?? [])
        var record = self.record(turn, key: answering?.key ?? "call|\(request.idempotencyKey)|\(attempt)", now: now, user: user, request: nil,
                                 interaction: nil, latency: .zero, message: answering?.message, stored: session)
        record.sessionVersion = stored.version
        record.replacesAnswer = answering != nil
        let detail = result.summary
        record.calls = [CallUpdate(key: request.idempotencyKey, result: {
            if case .gaveUp = result.kind { return .failed(detail) }
            return .sent(msgid: nil)
        }(), detail: detail)]
        record.log = ConversationTurn(time: now, user: user, msgType: "call", message: "[call \(request.summary) → \(detail)]",
                                      normalized: nil, rule: turn.outcome.answeredBy, intent: nil, flow: turn.outcome.flow,
                                      step: turn.outcome.step, reply: Self.logReply(turn), latencyMicroseconds: result.latencyMs * 1000,
                                      kind: .call, flowMark: FlowMark(turn.outcome))
        try await store.commit(record)
        var outcome = turn.outcome
        outcome.queued = record.outbox
        return outcome
    }

    /// A call's result taken within the message's own turn: the turn still started where the message found the
    /// session (for the log's flow mark: a flow the message started is marked started).
    static func sameTurn(_ resumed: Engine.Turn, as first: Engine.Turn) -> Engine.Turn {
        var resumed = resumed
        resumed.outcome.previousFlow = first.outcome.previousFlow
        resumed.outcome.previousStep = first.outcome.previousStep
        resumed.outcome.declined = first.outcome.declined
        if resumed.outcome.expired == nil { resumed.outcome.expired = first.outcome.expired }
        return resumed
    }

    static func logReply(_ turn: Engine.Turn) -> String {
        let said = (turn.outcome.messages).map(\.preview)
        return said.isEmpty ? "" : said.joined(separator: " | ")
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
                // Read again inside the user's turn: a message may have moved it meanwhile (in another process too: then the
                // versioned replace writes nothing, and the next round looks again).
                let stored = try await store.loadSession(for: session.user)
                guard let current = stored.session, (current.due ?? .max) <= now else { return }
                let next = engine.tidy(current, now: now)
                guard let progress = current.flow, now >= progress.expiresAt else {
                    _ = try await store.replaceSession(next, for: session.user, ifVersion: stored.version)
                    return
                }
                // A flow ends unfinished: a line in the log (the funnels count where people gave up), with the session's change.
                let log = ConversationTurn(time: now, user: session.user, msgType: "expired", message: "[流程超时 \(progress.name)]", normalized: nil,
                                           rule: "flow:\(progress.name)", intent: nil, reply: next?.notice.map { "（下次回复前说）" + $0 } ?? "",
                                           latencyMicroseconds: 0, kind: .flow,
                                           flowMark: FlowMark(flow: progress.name, event: "expired", step: engine.stepName(progress)))
                var record = TurnRecord(key: "expired|\(session.user)|\(progress.instance ?? "")|\(progress.expiresAt)", response: .success, time: now,
                                        user: session.user, session: next.map { .save($0) } ?? .delete, log: log)
                record.sessionVersion = stored.version
                do { try await store.commit(record) } catch is SessionConflict {}  // moved meanwhile: the next round looks again
            }
        }
        return due.count
    }
}

/// Another process was still answering the message when the wait for its answer ran out.
public struct MessageInFlightElsewhere: Error, CustomStringConvertible {
    public let key: String
    public var description: String { "another kefu serve process is still answering this message" }
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
                  latencyMicroseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000,
                  kind: AnswerKind(outcome), flowMark: FlowMark(outcome), declined: outcome.declined)
    }
}

extension AnswerKind {
    /// The kind of a turn's answer.
    public init(_ outcome: Engine.Outcome) {
        switch outcome.source {
        case .rule(_, let kind):
            switch kind {
            case .intent: self = .intent
            case .event: self = .event
            default: self = .rule
            }
        case .defaultReply: self = .defaultReply
        case .subscribeReply: self = .event
        case .flow(_, let event):
            switch event {
            case .digression: self = .rule
            case .handedOff: self = .handoff
            default: self = .flow
            }
        case .interrupt(_, let action): self = action == .handoff ? .handoff : .flow
        case .handedOff: self = .human
        case .noReply, .remembered: self = .silent
        }
    }
}

extension FlowMark {
    /// What the turn did to a flow, if anything (an expiry found when the message came, when nothing else happened to a flow).
    /// A flow that was not running before the turn and did more than start in it (its first message's captures filled
    /// every slot, or took it straight to a call) is marked `started+EVENT`. Call steps are named as the flow names
    /// its steps: `call:ID`.
    public init?(_ outcome: Engine.Outcome) {
        guard var mark = FlowMark(event: outcome) else { return nil }
        if case .flow(let name, let event) = outcome.source, outcome.previousFlow != name, mark.event != "started", event != .expired {
            mark.event = "started+" + mark.event
        }
        self = mark
    }

    private init?(event outcome: Engine.Outcome) {
        let before = outcome.previousStep
        func call(_ step: String) -> String { step.hasPrefix("call:") ? step : "call:" + step }
        switch outcome.source {
        case .flow(let name, let event):
            switch event {
            case .started: self.init(flow: name, event: "started", step: outcome.step)
            case .filled(let slot): self.init(flow: name, event: "filled", step: slot)
            case .reasked(let step, _): self.init(flow: name, event: "reasked", step: step)
            case .refused(let step, _, _): self.init(flow: name, event: "refused", step: step)
            case .digression: self.init(flow: name, event: "digression", step: before)
            case .changing: self.init(flow: name, event: "changing", step: before)
            case .done: self.init(flow: name, event: "done", step: before)
            case .cancelled: self.init(flow: name, event: "cancelled", step: before)
            case .handedOff: self.init(flow: name, event: "handoff", step: before)
            case .failed(let step): self.init(flow: name, event: "failed", step: step)
            case .expired: self.init(flow: name, event: "expired", step: before)
            case .calling(let step): self.init(flow: name, event: "calling", step: call(step))
            case .called(let step, let result): self.init(flow: name, event: "called." + result, step: call(step))
            case .waiting(let step): self.init(flow: name, event: "waiting", step: call(step))
            }
        case .interrupt(_, let action) where outcome.previousFlow != nil:
            self.init(flow: outcome.previousFlow!, event: action == .handoff ? "handoff" : "cancelled", step: before)
        default:
            guard let expired = outcome.expired else { return nil }
            self.init(flow: expired.flow, event: "expired", step: expired.step)
        }
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
