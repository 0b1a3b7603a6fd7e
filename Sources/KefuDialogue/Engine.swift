import KefuRules
import KefuWeChat

/// Turns one WeChat push, and the user's session, into its passive reply and the next session.
///
/// `handle` is a pure function of the rule set, the message, the stored session and the time: no
/// clock, no store, no randomness of its own (random replies are seeded by the message's
/// de-duplication key). ``Responder`` loads and saves the session around it; `kefu serve`,
/// `kefu chat` and the tests all go through the same path.
///
/// Order of work for one message:
/// 1. a flow idle longer than its `expires` is dropped (its `on_expire` is said with this answer);
/// 2. during a handoff pause, messages are transferred to the agent (events are never transferred;
///    the agent closing the session ends the pause);
/// 3. inside a flow: interrupts, then the step's expectation, then other rules as a digression
///    (their answer, then the question again), else a re-prompt; outside: the rules.
public struct Engine: Sendable {
    public let rules: CompiledRules
    /// The media_ids of the rule set's files (`image: {file: …}`).
    public let media: any MediaResolver

    public init(rules: CompiledRules, media: any MediaResolver = PathAsMediaID()) {
        self.rules = rules
        self.media = media
    }

    /// What happened to one message, for the reply, the conversation log and the metrics.
    public struct Outcome: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            /// A rule answered.
            case rule(id: String, kind: MatchKind)
            /// Nothing matched a text; the rule set's `default` answered.
            case defaultReply
            /// A follow with no `subscribe` rule; `events: subscribe` answered.
            case subscribeReply
            /// A flow answered (see ``FlowEvent``).
            case flow(name: String, event: FlowEvent)
            /// An interrupt acted (a handoff outside a flow; inside a flow it is a ``FlowEvent``).
            case interrupt(id: String, action: InterruptAction)
            /// A human agent has this user: the message is transferred to them.
            case handedOff
            /// Nothing answers this push (or WeChat shows no reply to it): `success`.
            case noReply(reason: String)
            /// Answered before (by this process or one before a restart); the stored answer is sent again.
            case remembered
        }

        /// What goes back to WeChat in the HTTP answer, as ``ReplyAdapter`` made it from `parts`.
        public var response: PassiveResponse
        /// What the turn says, in order, before it is a WeChat reply (empty: nothing to say).
        public var parts: [RenderedReply] = []
        /// Each part is a message of its own (a `messages:` reply), rather than runs of text joined.
        public var separateParts = false
        /// ``parts`` as the messages they make.
        public var messages: [RenderedReply] { ReplyAdapter.messages(parts, separate: separateParts) }
        public var source: Source
        /// The normalized text, for text messages.
        public var normalized: String?
        /// The intent the classifier named, if any.
        public var intent: String?
        /// The flow the user is in after this message, and the step it waits for (slot name or `confirm`).
        public var flow: String?
        public var step: String?
        /// The rule the matcher chose for this message when it is not the one named by `answeredBy`
        /// (a rule that started a flow which answered at once, or digressed inside one).
        public var trigger: String?
        /// The answer missed the budget: the push was answered `success` and the answer is in the outbox.
        public var late = false
        /// What the turn put in the outbox (later parts, a late answer, scheduled messages).
        public var queued: [OutboxMessage] = []
        /// The call outcome branch this turn took (for coverage and the log).
        public var call: CallTaken?
        /// The call the turn made and what came of it, for the log: `erp GET /orders/DD1 → 200 in 3 ms`.
        public var callSummary: String?
        /// Why the intent classifier named no intent (`IntentPrediction.Decline`), when the default reply answered.
        public var declined: String?
        /// The flow the user was in before this message, and the step it waited for.
        public var previousFlow: String?
        public var previousStep: String?
        /// A flow that was idle past `expires` when this message came (dropped before the message was matched), and its step.
        public var expired: ExpiredFlow?
        public struct ExpiredFlow: Sendable, Equatable {
            public var flow: String
            public var step: String?
        }

        public init(response: PassiveResponse, source: Source, normalized: String? = nil, intent: String? = nil,
                    flow: String? = nil, step: String? = nil) {
            self.response = response
            self.source = source
            self.normalized = normalized
            self.intent = intent
            self.flow = flow
            self.step = step
        }

        /// For logs: the rule id, `default`, `events.subscribe`, `flow:NAME`, `interrupt:ID`, or empty.
        public var answeredBy: String {
            switch source {
            case .rule(let id, _): id
            case .defaultReply: "default"
            case .subscribeReply: "events.subscribe"
            case .flow(let name, let event):
                switch event {
                case .digression(let rule): rule
                case .cancelled(let by) where by != "on_fail", .handedOff(let by) where by != "on_fail": "interrupt:\(by)"
                default: "flow:\(name)"
                }
            case .interrupt(let id, _): "interrupt:\(id)"
            case .handedOff: "handoff"
            case .noReply, .remembered: ""
            }
        }
    }

    /// What a flow did with a message.
    public enum FlowEvent: Sendable, Equatable {
        /// A rule started the flow (slots its captures filled are skipped).
        case started(rule: String)
        /// The answer filled this slot; the next step is asked (or the flow is done).
        case filled(slot: String)
        /// The answer did not fit; the step is asked again (attempt counts wrong answers in a row).
        case reasked(step: String, attempt: Int)
        /// The answer was understood but refused (`reason`: past, too_far, closed, too_small, too_large, unclear); asked again.
        case refused(step: String, reason: String, attempt: Int)
        /// Another rule answered a question in the middle of the flow; the step is asked again.
        case digression(rule: String)
        /// At the confirm step: 否 (the list of what can change) or the slot being changed.
        case changing(slot: String?)
        /// Every step answered: the done reply.
        case done
        /// Ended by an interrupt (its id) or by `on_fail` after too many wrong answers.
        case cancelled(by: String)
        /// Handed to a human by an interrupt (its id) or by `on_fail`.
        case handedOff(by: String)
        /// `on_fail: {reply: …}`: said, and the step waits again.
        case failed(step: String)
        /// The flow was idle past `expires` and has been dropped (reported by clean-up).
        case expired
        /// A call step's request went out; the flow waits for its result.
        case calling(step: String)
        /// A call's result came: the branch of this outcome was taken.
        case called(step: String, outcome: String)
        /// A message while the flow waits for a call's result.
        case waiting(step: String)

        /// The case's name (`filled`, `reasked` …): the metric's label.
        public var name: String {
            switch self {
            case .started: "started"
            case .filled: "filled"
            case .reasked: "reasked"
            case .refused: "refused"
            case .digression: "digression"
            case .changing: "changing"
            case .done: "done"
            case .cancelled: "cancelled"
            case .handedOff: "handedOff"
            case .failed: "failed"
            case .expired: "expired"
            case .calling: "calling"
            case .called: "called"
            case .waiting: "waiting"
            }
        }
    }

    /// The answer and the session to keep (nil: nothing to keep).
    public struct Turn: Sendable, Equatable {
        public var outcome: Outcome
        public var session: Session?
        /// Messages of the answer after the one in the passive reply, in order (sent through the API).
        public var later: [RenderedReply] = []
        /// What the turn asks for beyond its reply: scheduled messages, cancelled ones.
        public var effects: [Effect] = []
    }

    public func handle(_ message: InboundMessage, session stored: Session?, now: Int64) -> Turn {
        var state = TurnState(engine: self, message: message, now: now,
                              session: stored ?? Session(user: message.fromUserName, updatedAt: now))
        state.run()
        return finishTurn(state, stored: stored, message: message, now: now)
    }

    /// The turn's session, its passive reply made by ``ReplyAdapter`` (when it answers `message`;
    /// without one every part is a later message), where the flow stands.
    func finishTurn(_ state: TurnState, stored: Session?, message: InboundMessage?, now: Int64) -> Turn {
        var session: Session? = state.session
        if let s = session, s.isEmpty { session = nil }
        if session != nil, session != stored { session?.updatedAt = now }
        var outcome = state.outcome
        var later: [RenderedReply] = []
        if !outcome.parts.isEmpty {
            if let message {
                let delivery = ReplyAdapter.deliver(outcome.parts, separate: outcome.separateParts, answering: message, at: now, media: media)
                outcome.response = delivery.passive
                later = delivery.later
                if let refused = delivery.refused {
                    outcome.source = .noReply(reason: "the reply of \(outcome.source) cannot be sent: \(refused)")
                    outcome.trigger = nil
                }
            } else {
                outcome.response = .success
                later = outcome.messages.filter { if case .transfer = $0 { false } else { true } }
            }
        }
        outcome.flow = session?.flow?.name
        outcome.step = session?.flow.flatMap(stepName)
        outcome.previousFlow = stored?.flow?.name
        outcome.previousStep = stored?.flow.flatMap(stepName)
        if case .defaultReply = outcome.source { outcome.declined = state.declined } else { outcome.declined = nil }
        outcome.expired = state.expired.map { Outcome.ExpiredFlow(flow: $0.flow, step: $0.step) }
        outcome.call = state.callOutcome.map { CallTaken(flow: $0.flow, step: $0.step, outcome: $0.outcome.description) }
        return Turn(outcome: outcome, session: session, later: later, effects: state.effects)
    }

    /// The name of the step a flow waits for (nil if the flow or the step is gone from the rule set).
    public func stepName(_ progress: FlowProgress) -> String? {
        guard let flow = rules.flow(named: progress.name), flow.steps.indices.contains(progress.step) else { return nil }
        return flow.steps[progress.step].name
    }

    /// The session as clean-up leaves it at `now`: an expired flow becomes its `on_expire` notice
    /// (slots are forgotten), an ended pause and an old notice are dropped. Nil: nothing left to keep.
    public func tidy(_ session: Session, now: Int64) -> Session? {
        var session = session
        if let progress = session.flow, now >= progress.expiresAt {
            session.flow = nil
            if let notice = expiryNotice(progress) {
                session.notice = notice
                session.noticeUntil = now + Session.noticeRetention
            }
        }
        if let until = session.pausedUntil, until <= now { session.pausedUntil = nil }
        if let until = session.noticeUntil, until <= now { session.notice = nil; session.noticeUntil = nil }
        if session.notice == nil { session.noticeUntil = nil }
        session.updatedAt = now
        return session.isEmpty ? nil : session
    }

    func expiryNotice(_ progress: FlowProgress) -> String? {
        guard let flow = rules.flow(named: progress.name), let template = flow.onExpire else { return nil }
        return template.render(progress.slots, facts: rules.facts)
    }

    /// The calendar day at `now` in the rule set's time zone (for 明天, 下周三).
    func today(_ now: Int64) -> CalendarDay { LocalTime(unixTime: now, utcOffset: rules.settings.utcOffset).day }

    /// The rules' view of a push. Voice with speech recognition is matched as its text.
    static func matchInput(for message: InboundMessage) -> MatchInput? {
        switch message.content {
        case .text(let text): return .text(text.content)
        case .voice(let voice):
            if let recognized = voice.recognition, !recognized.isEmpty { return .text(recognized) }
            return .message(.voice)
        case .image: return .message(.image)
        case .video: return .message(.video)
        case .shortVideo: return .message(.shortvideo)
        case .location: return .message(.location)
        case .link: return .message(.link)
        case .file: return .message(.file)
        case .unknown: return nil
        case .event(let event):
            switch event {
            case .subscribe(let scene, _): return .event(.subscribe(scene: scene))
            case .scan(let scene, _): return .event(.scan(scene: scene))
            case .click(let key): return .event(.click(key: key))
            case .view(let url, _): return .event(.view(url: url))
            case .viewMiniprogram(let path, _): return .event(.view(url: path))
            // Menu buttons of these kinds have keys too; rules answer them as clicks.
            case .scancodePush(let key, _), .scancodeWaitMsg(let key, _), .picSysPhoto(let key, _),
                 .picPhotoOrAlbum(let key, _), .picWeixin(let key, _), .locationSelect(let key, _):
                return .event(.click(key: key))
            case .unsubscribe, .location, .templateSendJobFinish, .massSendJobFinish,
                 .kfCreateSession, .kfCloseSession, .kfSwitchSession, .unknown:
                return nil
            }
        }
    }

    /// What a non-text message gives a media step: its MediaId (a location gives "lat,lon label").
    static func mediaValue(_ message: InboundMessage) -> (kind: MessageKind, value: String)? {
        switch message.content {
        case .image(let m): (.image, m.mediaId)
        case .voice(let m): (.voice, m.mediaId)
        case .video(let m): (.video, m.mediaId)
        case .shortVideo(let m): (.shortvideo, m.mediaId)
        case .location(let m): (.location, "\(m.latitude),\(m.longitude) \(m.label)")
        case .link(let m): (.link, m.url)
        case .file(let m): (.file, m.title)
        default: nil
        }
    }

    static func eventName(_ message: InboundMessage) -> String? {
        if case .event(let event) = message.content { return event.name }
        return nil
    }

    /// The passive-reply body of a rendered reply. News is cut to what WeChat shows: one article
    /// in answer to a message, eight for an event (lint warns about the rest).
    static func body(_ rendered: RenderedReply, answeringEvent: Bool) -> Reply.Body {
        switch rendered {
        case .text(let text): .text(text)
        case .image(let id): .image(mediaId: id)
        case .voice(let id): .voice(mediaId: id)
        case .video(let id, let title, let description): .video(.init(mediaId: id, title: title, description: description))
        case .music(let title, let description, let url, let hqURL, let thumb):
            .music(.init(title: title, description: description, musicURL: url, hqMusicURL: hqURL, thumbMediaId: thumb))
        case .news(let articles):
            .news(articles.prefix(answeringEvent ? Reply.maxArticlesForEvent : 1).map {
                Reply.Article(title: $0.title, description: $0.description, picURL: $0.picURL, url: $0.url)
            })
        case .transfer(let account): .transferCustomerService(kfAccount: account)
        // A file part is given its media_id by the adapter (MediaFile.withMediaID); if one reaches
        // here, the path stands for it, as `kefu test` and `kefu chat` show it.
        case .mediaFile(let file): body(file.withMediaID(file.path), answeringEvent: answeringEvent)
        }
    }
}

extension Engine.FlowEvent {
    /// What happened in the flow, in words (what `kefu chat` and reports print).
    public var summary: String {
        switch self {
        case .started(let rule): "flow started by rule '\(rule)'"
        case .filled(let slot): slot == "confirm" ? "confirmed" : "filled \(slot)"
        case .reasked(let step, let attempt): "\(step) asked again (wrong answer \(attempt))"
        case .refused(let step, let reason, let attempt): "\(step) refused: \(reason) (wrong answer \(attempt))"
        case .digression(let rule): "side question answered by '\(rule)', then the step again"
        case .changing(let slot): slot.map { "changing \($0)" } ?? "asked what to change"
        case .done: "done"
        case .cancelled(let by): by == "on_fail" ? "cancelled after too many wrong answers" : "cancelled by '\(by)'"
        case .handedOff(let by): by == "on_fail" ? "handed to a human after too many wrong answers" : "handed to a human by '\(by)'"
        case .failed(let step): "\(step): on_fail reply after too many wrong answers"
        case .expired: "expired"
        case .calling(let step): "calling \(step); waiting for the result"
        case .called(let step, let outcome): "\(step) answered: \(outcome)"
        case .waiting(let step): "still waiting for \(step)"
        }
    }
}

/// A call outcome branch a turn took: `booking` `book` `409`.
public struct CallTaken: Sendable, Equatable, Hashable, Codable {
    public var flow: String
    public var step: String
    public var outcome: String
    public init(flow: String, step: String, outcome: String) { self.flow = flow; self.step = step; self.outcome = outcome }
}
