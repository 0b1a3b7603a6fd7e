import KefuRules
import KefuWeChat

/// The work of ``Engine/handle(_:session:now:)`` for one message, as a small state machine over
/// the session. Every path ends in ``respond(_:_:)`` (or ``finish(_:_:)`` for `success`).
struct TurnState {
    typealias Source = Engine.Outcome.Source
    typealias FlowEvent = Engine.FlowEvent

    let engine: Engine
    let message: InboundMessage
    let now: Int64
    var session: Session
    var outcome = Engine.Outcome(response: .success, source: .noReply(reason: "not handled"))
    var generator: SeededGenerator
    /// Said before the answer when the answer is text (a flow's `on_expire`).
    var prefix: [String] = []
    var normalized: String?
    var intent: String?
    /// Why the classifier named no intent (for the log of a default reply).
    var declined: String?
    /// A flow dropped because it was idle past `expires` when this message came.
    var expired: (flow: String, step: String?)?
    /// The rule that started a flow or digressed, for ``Engine/Outcome/trigger``.
    var trigger: String?
    /// Scheduled messages and cancellations (a flow's `schedule:` and `cancel_schedule:`).
    var effects: [Effect] = []
    /// The call outcome branch taken (flow, step id, outcome).
    var callOutcome: (flow: String, step: String, outcome: CallOutcome)?

    init(engine: Engine, message: InboundMessage, now: Int64, session: Session) {
        self.engine = engine
        self.message = message
        self.now = now
        self.session = session
        generator = SeededGenerator(seed: message.deduplicationKey.hashValueStable)
    }

    var rules: CompiledRules { engine.rules }
    var localNow: LocalTime { LocalTime(unixTime: now, utcOffset: rules.settings.utcOffset) }
    var facts: Facts? { rules.facts.isEmpty ? nil : rules.facts }

    mutating func run() {
        // 0. An unfollow ends everything: the flow, a handoff pause, an owed notice (the user cannot be answered).
        if case .event(.unsubscribe) = message.content {
            let ended = session.flow?.name
            session = Session(user: session.user, updatedAt: now)
            return finish(.success, .noReply(reason: ended.map { "the user unfollowed; flow '\($0)' and the session are ended" } ?? "the user unfollowed; the session is ended"))
        }
        // 1. A flow idle past `expires` (or gone from the rule set after a reload) is dropped.
        if let progress = session.flow {
            if now >= progress.expiresAt {
                expired = (progress.name, engine.stepName(progress))
                session.flow = nil
                if let notice = engine.expiryNotice(progress) { session.notice = notice }
            } else if rules.flow(named: progress.name) == nil {
                session.flow = nil
            }
        }
        if let notice = session.notice, (session.noticeUntil ?? .max) > now { prefix.append(notice) }
        session.notice = nil
        session.noticeUntil = nil
        // 2. A human agent has the user.
        if let until = session.pausedUntil {
            if until <= now {
                session.pausedUntil = nil
            } else if case .event(let event) = message.content {
                if case .kfCloseSession = event {
                    session.pausedUntil = nil
                    return finish(.success, .noReply(reason: "the agent closed the session; the bot answers this user again"))
                }
                // Events are never transferred: the rules answer them below.
            } else {
                session.pausedUntil = now + rules.settings.handoffPause
                return respond(.transfer(kfAccount: nil), .handedOff)
            }
        }
        // 3. The rules, inside or outside a flow.
        guard let input = Engine.matchInput(for: message) else {
            return finish(.success, .noReply(reason: "\(message.msgType) \(Engine.eventName(message) ?? "") needs no reply"))
        }
        let result = rules.match(input, at: localNow)
        if case .text = input { normalized = result.normalized.string }
        intent = result.intent?.intent
        declined = result.intent?.declined?.rawValue
        if let progress = session.flow, let flow = rules.flow(named: progress.name) {
            inFlow(flow, progress, input, result)
        } else {
            idle(input, result)
        }
    }

    // MARK: Outside a flow

    mutating func idle(_ input: MatchInput, _ result: MatchResult) {
        if let winner = result.winner {
            let rule = rules.rules[winner.rule]
            if let action = rule.interrupt {  // a handoff: cancel interrupts never win outside a flow
                return handoff(rule.reply, .interrupt(id: rule.id, action: action))
            }
            if let name = rule.flow?.value, let flow = rules.flow(named: name) {
                return start(flow, by: rule, captures: winner.captures)
            }
            if let reply = rule.reply {
                return say(reply, captures: winner.captures, .rule(id: winner.ruleID, kind: winner.kind))
            }
        }
        if case .event(.subscribe) = input, let reply = rules.subscribeReply {
            say(reply, captures: [:], .subscribeReply)
        } else if case .text = input, let reply = rules.defaultReply {
            say(reply, captures: [:], .defaultReply)
        } else {
            finish(.success, .noReply(reason: "no rule answers it"))
        }
    }

    mutating func say(_ reply: RuleReply, captures: [String: String], _ source: Source) {
        if case .messages = reply {
            return self.reply(with: reply.renderMessages(captures: captures, facts: facts, using: &generator), source, separate: true)
        }
        let rendered = reply.render(captures: captures, facts: facts, using: &generator)
        if case .transfer = rendered, !message.isEvent { pause() }  // an event cannot be transferred (the reply is refused)
        respond(rendered, source)
    }

    /// Transfers the user to a human agent and pauses the bot for them. Events cannot be transferred.
    mutating func handoff(_ reply: RuleReply?, _ source: Source) {
        guard !message.isEvent else {
            return finish(.success, .noReply(reason: "a handoff needs a message; WeChat does not transfer events"))
        }
        pause()
        let rendered = reply?.render(captures: [:], facts: facts, using: &generator) ?? .transfer(kfAccount: nil)
        respond(rendered, source)
    }

    mutating func pause() {
        session.flow = nil
        session.pausedUntil = now + rules.settings.handoffPause
    }

    // MARK: Answers

    mutating func respond(text parts: [String], _ source: Source) {
        reply(with: parts.map(RenderedReply.text), source)
    }

    mutating func respond(_ rendered: RenderedReply, _ source: Source) {
        reply(with: [rendered], source)
    }

    /// The turn's answer: its parts in order, neutral — ``ReplyAdapter`` (called by ``Engine/handle``)
    /// decides what goes into the passive reply. An owed notice comes first when the answer is text;
    /// an answer that is not text cannot carry it, so it stays owed.
    /// `separate`: every part is a message of its own (a `messages:` reply); an owed notice is then
    /// the first message.
    mutating func reply(with parts: [RenderedReply], _ source: Source, separate: Bool = false) {
        var parts = parts
        if !prefix.isEmpty {
            if separate {
                parts = [.text(prefix.joined(separator: "\n\n"))] + parts
                prefix = []
            } else if parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
                parts = prefix.map(RenderedReply.text) + parts
            } else {
                keepNoticeForLater()
            }
        }
        outcome = Engine.Outcome(response: .success, source: source, normalized: normalized, intent: intent)
        outcome.parts = parts
        outcome.separateParts = separate
        outcome.trigger = trigger
    }

    /// The answer cannot carry the owed notice (it is not text, or there is none): it stays owed.
    mutating func keepNoticeForLater() {
        session.notice = prefix.joined(separator: "\n\n")
        session.noticeUntil = now + Session.noticeRetention
        prefix = []
    }

    mutating func finish(_ response: PassiveResponse, _ source: Source) {
        if !prefix.isEmpty {
            if !message.isEvent { return respond(.text(""), source) }  // the owed notice is the answer
            keepNoticeForLater()
        }
        outcome = Engine.Outcome(response: response, source: source, normalized: normalized, intent: intent)
    }
}

extension StepExpectation {
    var isFreeText: Bool {
        if case .text = self { true } else { false }
    }
}
