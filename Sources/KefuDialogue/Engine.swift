import KefuRules
import KefuWeChat

/// Turns one WeChat push into its passive reply, using a compiled rule set.
///
/// This is the rules-only engine: no flows and no sessions yet (they arrive with the dialogue
/// issue), so `handle` is a pure function of the rule set and the message. Random replies are
/// seeded by the message's de-duplication key, so a retry that reaches the engine again (after the
/// server's record of the first answer has expired) still gets the same reply.
public struct Engine: Sendable {
    public let rules: CompiledRules

    public init(rules: CompiledRules) {
        self.rules = rules
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
            /// Nothing answers this push (or WeChat shows no reply to it): `success`.
            case noReply(reason: String)
            /// Answered before (by this process or one before a restart); the stored answer is sent again.
            case remembered
        }

        public var response: PassiveResponse
        public var source: Source
        /// The normalized text, for text messages.
        public var normalized: String?
        /// The intent the classifier named, if any.
        public var intent: String?

        public init(response: PassiveResponse, source: Source, normalized: String? = nil, intent: String? = nil) {
            self.response = response
            self.source = source
            self.normalized = normalized
            self.intent = intent
        }
    }

    public func handle(_ message: InboundMessage, now: Int64) -> Outcome {
        guard let input = Self.matchInput(for: message) else {
            return Outcome(response: .success, source: .noReply(reason: "\(message.msgType) \(Self.eventName(message) ?? "") needs no reply"))
        }
        let result = rules.match(input)
        var generator = SeededGenerator(seed: message.deduplicationKey.hashValueStable)
        let normalized: String? = if case .text = input { result.normalized.string } else { nil }
        let intent = result.intent?.intent
        let chosen: (RuleReply, [String: String], Outcome.Source)?
        if let winner = result.winner {
            chosen = (rules.rules[winner.rule].reply, winner.captures, .rule(id: winner.ruleID, kind: winner.kind))
        } else if case .event(.subscribe) = input, let reply = rules.subscribeReply {
            chosen = (reply, [:], .subscribeReply)
        } else if case .text = input, let reply = rules.defaultReply {
            chosen = (reply, [:], .defaultReply)
        } else {
            chosen = nil
        }
        guard let (reply, captures, source) = chosen else {
            return Outcome(response: .success, source: .noReply(reason: "no rule answers it"), normalized: normalized, intent: intent)
        }
        let rendered = reply.render(captures: captures, using: &generator)
        do {
            let body = Self.body(rendered, answeringEvent: message.isEvent)
            let built = try Reply.answering(message, with: body, at: now)
            return Outcome(response: .reply(built), source: source, normalized: normalized, intent: intent)
        } catch {
            return Outcome(response: .success, source: .noReply(reason: "the reply of \(source) cannot be sent: \(error)"),
                           normalized: normalized, intent: intent)
        }
    }

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
        }
    }
}
