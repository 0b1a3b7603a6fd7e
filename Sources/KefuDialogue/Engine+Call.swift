import Crypto
import KefuRules
import KefuWeChat

/// Call steps: the walk reaches a `call:` step, the request goes out as an effect and the flow
/// waits; the result comes back through ``Engine/resume(_:result:session:now:answering:intro:)``,
/// which keeps what `save:` names, takes the outcome's branch and walks on.
extension TurnState {
    mutating func startCall(_ flow: FlowSpec, _ progress: inout FlowProgress, _ index: Int, _ call: CallSpec, saying intro: [String]) {
        var runs = progress.callRuns ?? [:]
        let run = (runs[call.id] ?? 0) + 1
        runs[call.id] = run
        progress.callRuns = runs
        let ref = CallRef(user: session.user, flow: flow.name, step: call.id, instance: progress.instance ?? String(progress.startedAt), run: run)
        var values = progress.slots
        values["user.openid"] = session.user
        let rendered = call.render(values, facts: facts)
        let request = ServiceRequest(service: call.service.value, method: call.method, path: rendered.path, query: rendered.query,
                                     body: rendered.body, idempotencyKey: Engine.idempotencyKey(ref), call: ref)
        let service = rules.service(named: call.service.value)
        let timeout = service?.timeoutMs ?? ServiceSpec.defaultTimeoutMs
        let attempts = call.method.isWrite ? (service?.attempts ?? ServiceSpec.defaultAttempts) : 1
        let wait = min(call.waitMs ?? Engine.defaultCallWaitMs, timeout)
        let until = now + CallRetry.longest(attempts: attempts, timeoutMs: timeout) + CallRetry.margin
        progress.pending = PendingCall(step: index, request: request, since: now, until: until)
        progress.step = index
        progress.expiresAt = max(progress.expiresAt, until)
        session.flow = progress
        effects.append(.call(CallEffect(request: request, waitMs: wait, timeoutMs: timeout, attempts: attempts, intro: intro)))
        let slow = call.slow.map { [$0.render(progress.slots, facts: facts)] } ?? []
        respond(text: intro + slow, .flow(name: flow.name, event: .calling(step: call.id)))
    }

    /// A message while the flow waits for a call: interrupts have acted already; a rule may answer
    /// a side question (the flow keeps waiting); anything else is told to wait. Past the wait's
    /// limit the result is not coming: the call's `error` branch runs.
    mutating func whileWaiting(_ flow: FlowSpec, _ progress: FlowProgress, _ pending: PendingCall, _ result: MatchResult) {
        var progress = progress
        guard flow.steps.indices.contains(pending.step), let call = flow.steps[pending.step].call else {
            progress.pending = nil
            session.flow = nil
            return finish(.success, .noReply(reason: "the call the flow waited for is gone from the rule set"))
        }
        if now >= pending.until {
            return resumeCall(flow, &progress, pending.step, call, CallResult(.network("no result came within its time")), intro: [])
        }
        session.flow = progress
        if let winner = result.winner, winner.interrupt == nil, winner.kind != .intent || result.intent?.isConfident == true {
            let rule = rules.rules[winner.rule]
            if rule.flow == nil, let reply = rule.reply {
                trigger = rule.id
                let rendered = reply.render(captures: winner.captures, facts: facts, using: &generator)
                if case .transfer = rendered { return respond(.text(Engine.callPendingText), .flow(name: flow.name, event: .waiting(step: call.id))) }
                return respond(rendered, .flow(name: flow.name, event: .digression(rule: rule.id)))
            }
        }
        respond(text: [Engine.callPendingText], .flow(name: flow.name, event: .waiting(step: call.id)))
    }

    /// The result of the call at `index`: save, map, then the outcome's branch.
    mutating func resumeCall(_ flow: FlowSpec, _ progress: inout FlowProgress, _ index: Int, _ call: CallSpec, _ result: CallResult, intro: [String]) {
        progress.pending = nil
        progress.called.append(index)
        progress.lastActivity = now
        let outcome = result.outcome(among: Set(call.branches.keys))
        if outcome == .ok, case .response(_, let body?) = result.kind {
            for save in call.save {
                progress.slots[save.slot] = save.path.text(in: body).map { call.map[save.slot]?[$0] ?? $0 }
            }
        }
        callOutcome = (flow.name, call.id, outcome)
        let event = FlowEvent.called(step: call.id, outcome: outcome.description)
        guard let (taken, entries) = call.branches(for: outcome), let entry = entries.first(where: { $0.applies(to: progress.slots, facts: facts) }) else {
            return advance(flow, &progress, saying: intro, event)
        }
        callOutcome = (flow.name, call.id, taken)
        var said = intro
        var media: RenderedReply?
        if let reply = entry.reply {
            switch reply.render(captures: progress.slots, facts: facts, using: &generator) {
            case .text(let text): if !text.isEmpty { said.append(text) }
            case let other: media = other
            }
        }
        switch entry.then {
        case .next:
            advance(flow, &progress, saying: said, event)
        case .goto(let slot):
            if let target = flow.steps.firstIndex(where: { $0.slot == slot }) {
                progress.slots[slot] = nil
                progress.called.removeAll { $0 > target }
                progress.confirmed.removeAll { $0 > target }
            }
            advance(flow, &progress, saying: said, event)
        case .cancel:
            session.flow = nil
            if entry.reply == nil { said.append(cancelledText(flow, progress)) }
            respond(text: said, .flow(name: flow.name, event: .cancelled(by: "call:\(call.id)")))
        case .handoff:
            // WeChat transfers only in a passive reply: the transfer goes there, what is said goes as messages of their own.
            pause()
            return reply(with: [.transfer(kfAccount: nil)] + said.map(RenderedReply.text), .flow(name: flow.name, event: .handedOff(by: "call:\(call.id)")),
                         separate: true)
        }
        if let media {
            // A branch's non-text reply (an image …) goes before what the turn says, each a message of its own.
            self.outcome.parts.insert(media, at: 0)
            self.outcome.separateParts = true
        }
    }
}

extension Engine {
    /// How long a passive reply waits for a call by default (ms): most of WeChat's 5 seconds, with
    /// room for the rest of the turn.
    public static let defaultCallWaitMs: Int64 = 3000
    /// What a customer is told while the flow waits for a call's result.
    public static let callPendingText = "正在为您处理上一个请求，结果出来后马上告诉您。如需取消请回复“取消”。"

    /// The idempotency key of one run of one call step of one flow instance: the same across
    /// WeChat's retries, restarts and Kefu's own retries; a new run (after `goto`) gets a new key.
    public static func idempotencyKey(_ ref: CallRef) -> String {
        let text = "kefu-call|\(ref.user)|\(ref.flow)|\(ref.instance)|\(ref.step)|\(ref.run)"
        let digest = SHA256.hash(data: Array(text.utf8))
        let hex = Array("0123456789abcdef")
        var out = "kefu-"
        for byte in digest.prefix(16) { out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)]) }
        return out
    }

    /// The turn a call's result makes: what `save:` keeps, the outcome's branch, the walk on.
    /// `answering`: the message whose passive reply this still is (the result came within the wait);
    /// nil when it goes out later as customer-service messages (``Turn/later`` holds them all).
    /// A result the session no longer waits for (the customer cancelled, the flow moved on) changes
    /// nothing: its outcome is `.noReply`.
    public func resume(_ request: ServiceRequest, result: CallResult, session stored: Session?, now: Int64,
                       answering message: InboundMessage? = nil, intro: [String] = []) -> Turn {
        let user = request.call.user
        let carrier = message ?? InboundMessage(toUserName: "", fromUserName: user, createTime: now, content: .unknown(msgType: "call_result"))
        var state = TurnState(engine: self, message: carrier, now: now, session: stored ?? Session(user: user, updatedAt: now))
        guard var progress = stored?.flow, let pending = progress.pending, pending.request.idempotencyKey == request.idempotencyKey,
              let flow = rules.flow(named: progress.name), flow.steps.indices.contains(pending.step), let call = flow.steps[pending.step].call else {
            let outcome = Outcome(response: .success, source: .noReply(reason: "the result of \(request.summary) came after the flow moved on; nothing changes"))
            return Turn(outcome: outcome, session: stored)
        }
        state.resumeCall(flow, &progress, pending.step, call, result, intro: intro)
        return finishTurn(state, stored: stored, message: message, now: now)
    }
}

/// Kefu's retries of a write: 2 s, 6 s, 18 s … ×3 each time, at most 10 minutes apart, with ±20 % jitter.
public enum CallRetry {
    public static let first: Int64 = 2
    public static let cap: Int64 = 600
    /// Seconds of grace after the last possible result before a waiting flow gives up on it.
    public static let margin: Int64 = 30

    /// The pause after the `attempt`-th try failed (`jitter` in -1…1).
    public static func delay(after attempt: Int, jitter: Double) -> Int64 {
        var base = first
        for _ in 1..<max(attempt, 1) { base = min(base * 3, cap) }
        return max(1, base + Int64((Double(base) * 0.2 * jitter).rounded()))
    }

    /// Seconds the tries of a call can take in all, at most (every try timing out, every pause the longest).
    public static func longest(attempts: Int, timeoutMs: Int64) -> Int64 {
        var total = Int64(attempts) * ((timeoutMs + 999) / 1000)
        for attempt in 1..<max(attempts, 1) { total += delay(after: attempt, jitter: 1) }
        return total
    }
}
