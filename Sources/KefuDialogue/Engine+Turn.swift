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
    /// The rule that started a flow or digressed, for ``Engine/Outcome/trigger``.
    var trigger: String?

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

    // MARK: Flows

    mutating func start(_ flow: FlowSpec, by rule: RuleSpec, captures: [String: String]) {
        trigger = rule.id
        var progress = FlowProgress(name: flow.name, startedAt: now, lastActivity: now, expiresAt: now + flow.expires)
        for (name, value) in captures.sorted(by: { $0.key < $1.key }) {
            guard let step = flow.steps.first(where: { $0.slot == name }), let filled = check(step.expectation, text: value, slots: progress.slots).value else { continue }
            progress.slots[name] = filled
        }
        if case .text(let text)? = Engine.matchInput(for: message) { prefill(flow, &progress, from: text) }
        var intro: [String] = []
        if let reply = rule.reply, case .text(let text) = reply.render(captures: captures, facts: facts, using: &generator) { intro.append(text) }
        if let start = flow.start { intro.append(start.render(progress.slots, facts: facts)) }
        advance(flow, &progress, saying: intro, .started(rule: rule.id))
    }

    /// Fills the steps the first message already answers (see ``CompiledRules/prefill(_:from:slots:at:)``).
    mutating func prefill(_ flow: FlowSpec, _ progress: inout FlowProgress, from text: String) {
        progress.slots = rules.prefill(flow, from: text, slots: progress.slots, at: localNow)
    }

    /// Asks the next step, or says the done reply when every step is answered.
    mutating func advance(_ flow: FlowSpec, _ progress: inout FlowProgress, saying intro: [String], _ event: FlowEvent) {
        progress.attempts = 0
        progress.choosingChange = false
        progress.lastActivity = now
        progress.expiresAt = now + flow.expires
        guard let next = Self.nextStep(flow, progress, facts: facts) else {
            session.flow = nil
            let rendered = flow.done.value.render(captures: progress.slots, facts: facts, using: &generator)
            if case .transfer = rendered { pause() }
            prefix += intro
            return respond(rendered, .flow(name: flow.name, event: .done))
        }
        progress.step = next
        session.flow = progress
        respond(text: intro + [ask(flow, next, progress.slots)], .flow(name: flow.name, event: event))
    }

    /// The first step whose `if` holds and that is not answered yet.
    static func nextStep(_ flow: FlowSpec, _ progress: FlowProgress, facts: Facts?) -> Int? {
        flow.steps.indices.first { i in
            let step = flow.steps[i]
            guard step.applies(to: progress.slots, facts: facts) else { return false }
            if let slot = step.slot { return progress.slots[slot] == nil }
            return !progress.confirmed.contains(i)
        }
    }

    /// A step's question; a choice whose options the question does not name gets a numbered list.
    func ask(_ flow: FlowSpec, _ index: Int, _ slots: [String: String]) -> String {
        let step = flow.steps[index]
        let text = step.ask.value.render(slots, facts: facts)
        if case .choice(let choices) = step.expectation, !choices.contains(where: { text.contains($0.value) }) {
            return text + "\n" + StepExpectation.numbered(choices.map(\.value))
        }
        return text
    }

    mutating func inFlow(_ flow: FlowSpec, _ stored: FlowProgress, _ input: MatchInput, _ result: MatchResult) {
        var progress = stored
        progress.lastActivity = now
        progress.expiresAt = now + flow.expires
        guard flow.steps.indices.contains(progress.step) else {  // the flow changed under a reload
            session.flow = nil
            return idle(input, result)
        }
        let step = flow.steps[progress.step]
        // Interrupts first.
        if let hit = result.interrupt, let action = hit.interrupt, !(message.isEvent && action == .handoff) {
            let rule = rules.rules[hit.rule]
            session.flow = nil
            switch action {
            case .cancel:
                if let reply = rule.reply { return say(reply, captures: hit.captures, .flow(name: flow.name, event: .cancelled(by: rule.id))) }
                return respond(text: [cancelledText(flow, progress)], .flow(name: flow.name, event: .cancelled(by: rule.id)))
            case .handoff:
                return handoff(rule.reply, .flow(name: flow.name, event: .handedOff(by: rule.id)))
            }
        }
        if case .event = input {
            // Menu clicks and other events are answered by their rules; the step keeps waiting.
            session.flow = progress
            if digress(flow, progress, result, freeText: false) { return }
            if case .event(.subscribe) = input, let reply = rules.subscribeReply {
                // A follow (a re-follow, or a follow by QR code) is always welcomed; then the step is asked again.
                trigger = nil
                let rendered = reply.render(captures: [:], facts: facts, using: &generator)
                if case .text(let text) = rendered {
                    return respond(text: [text, ask(flow, progress.step, progress.slots)], .flow(name: flow.name, event: .digression(rule: "events.subscribe")))
                }
                return respond(rendered, .flow(name: flow.name, event: .digression(rule: "events.subscribe")))
            }
            return finish(.success, .noReply(reason: "no rule answers it; flow '\(flow.name)' still waits for \(step.slot ?? "confirm")"))
        }
        if step.kind == .confirm { return confirm(flow, &progress, step, input, result) }
        let freeText = if case .text = step.expectation { true } else { false }
        if freeText, digress(flow, progress, result, freeText: true) { return }
        let given = answer(step.expectation, input, slots: progress.slots)
        if let value = given.value, let slot = step.slot {
            progress.slots[slot] = value
            return advance(flow, &progress, saying: [], .filled(slot: slot))
        }
        if !freeText, digress(flow, progress, result, freeText: false) { return }
        if case .refused(let refusal) = given { return reask(flow, &progress, step, refused: refusal) }
        reask(flow, &progress, step)
    }

    /// The slot value this message gives the expectation, why it is refused, or nothing.
    func answer(_ expectation: StepExpectation, _ input: MatchInput, slots: [String: String]) -> StepAnswer {
        if case .media = expectation, let (kind, value) = Engine.mediaValue(message) {
            return expectation.answer(for: .media(kind), context(slots)).value == nil ? .nothing : .value(value)
        }
        guard case .text(let text) = input else { return .nothing }
        return check(expectation, text: text, slots: slots)
    }

    /// What a step check needs: now, the hours tables and facts, the slots so far.
    func context(_ slots: [String: String]) -> StepContext {
        StepContext(now: localNow, normalizer: rules.normalizer, hours: rules.hours, facts: facts, slots: slots)
    }

    /// Regexes, numbers and dates read the text as rule regexes do (全角 digits and letters made
    /// half-width, case and 繁→简 per the settings); free text keeps what the customer typed.
    func check(_ expectation: StepExpectation, text: String, slots: [String: String]) -> StepAnswer {
        if case .regex(let regex) = expectation {
            // Matched on the mapped text; the value is what the customer typed there, made half-width
            // (“ＤＤ２０２４…” → “DD2024…”), its letter case kept.
            let mapped = rules.mappedText(text)
            guard let m = regex.firstMatch(in: mapped.bytes) else { return .nothing }
            let original = mapped.originalRange(of: m.captures["slot"] ?? m.range)
            let typed = String(decoding: Array(text.utf8)[original], as: UTF8.self)
            var value = String.UnicodeScalarView()
            value.append(contentsOf: typed.unicodeScalars.map(Normalizer.halfWidth))
            return .value(String(value))
        }
        let seen: String = switch expectation {
        case .number, .date: rules.mapped(text)
        default: text
        }
        return expectation.answer(for: .text(seen), context(slots))
    }

    /// Another rule answers a question asked mid-flow; then the current question is asked again.
    /// An intent digresses only when the classifier is confident (``IntentPrediction/isConfident``):
    /// a loose guess must not take an answer away from the step. At a free-text step only a whole
    /// known phrase (`exact`) or a question that a rule (or a confident intent) answers digresses, so
    /// that a description mentioning “发货” is still taken as the answer.
    mutating func digress(_ flow: FlowSpec, _ progress: FlowProgress, _ result: MatchResult, freeText: Bool) -> Bool {
        guard let winner = result.winner, winner.interrupt == nil else { return false }
        if winner.kind == .intent {
            guard result.intent?.isConfident == true, !freeText || Self.looksLikeQuestion(normalized ?? "") else { return false }
        }
        let rule = rules.rules[winner.rule]
        if freeText, winner.kind != .exact, !Self.looksLikeQuestion(normalized ?? "") {
            // A rule starting another flow still wins when its keyword is most of the message
            // (“取消预约”, “我要改约”), not when it is a word inside an answer (“预约的是我妈妈”).
            let switches = rule.flow.map { $0.value != flow.name } ?? false
            let length = (normalized ?? "").count
            guard switches, winner.kind == .contains, length > 0, winner.specificity * 2 >= length else { return false }
        }
        trigger = rule.id
        if let name = rule.flow?.value, let other = rules.flow(named: name) {
            if name != flow.name { start(other, by: rule, captures: winner.captures); return true }
            session.flow = progress
            respond(text: [ask(flow, progress.step, progress.slots)], .flow(name: flow.name, event: .digression(rule: rule.id)))
            return true
        }
        guard let reply = rule.reply else { return false }
        let rendered = reply.render(captures: winner.captures, facts: facts, using: &generator)
        if case .transfer = rendered {
            guard !message.isEvent else { return false }
            pause()
            respond(rendered, .flow(name: flow.name, event: .handedOff(by: rule.id)))
            return true
        }
        session.flow = progress
        if case .text(let text) = rendered {
            respond(text: [text, ask(flow, progress.step, progress.slots)], .flow(name: flow.name, event: .digression(rule: rule.id)))
        } else {
            respond(rendered, .flow(name: flow.name, event: .digression(rule: rule.id)))
        }
        return true
    }

    static func looksLikeQuestion(_ text: String) -> Bool {
        ["?", "？", "吗", "呢", "么", "怎么", "如何", "什么", "几点", "哪"].contains { text.contains($0) }
    }

    /// A wrong answer: the next re-prompt, or `on_fail` after `max_attempts` in a row.
    /// A refused answer (in the past, closed that day, over the limit) is told why — the step's
    /// `refuse:` text or the built-in sentence — and asked again; it counts as a wrong answer.
    mutating func reask(_ flow: FlowSpec, _ progress: inout FlowProgress, _ step: StepSpec, refused: StepRefusal? = nil) {
        progress.attempts += 1
        let label = step.slot ?? "confirm"
        if progress.attempts >= step.maxAttempts {
            switch step.onFail {
            case .cancel:
                session.flow = nil
                return respond(text: [cancelledText(flow, progress)], .flow(name: flow.name, event: .cancelled(by: "on_fail")))
            case .handoff:
                pause()
                return respond(.transfer(kfAccount: nil), .flow(name: flow.name, event: .handedOff(by: "on_fail")))
            case .reply(let text):
                progress.attempts = 0
                session.flow = progress
                return respond(text: [text.render(progress.slots, facts: facts)], .flow(name: flow.name, event: .failed(step: label)))
            }
        }
        session.flow = progress
        let text: String
        if let refused {
            // The step's own refuse: text, then the question; else the built-in reason, then the
            // step's retry text if it has one (the business's wording of what to answer) or the question.
            let values = progress.slots.merging(refused.variables) { _, new in new }
            let event = Engine.FlowEvent.refused(step: label, reason: refused.kind, attempt: progress.attempts)
            if let own = step.refusals[refused.kind] {
                return respond(text: [own.render(values, facts: facts), ask(flow, progress.step, progress.slots)], .flow(name: flow.name, event: event))
            }
            let then = step.retry.isEmpty ? ask(flow, progress.step, progress.slots)
                : step.retry[min(progress.attempts, step.retry.count) - 1].render(progress.slots, facts: facts)
            return respond(text: [refused.sentence, then], .flow(name: flow.name, event: event))
        }
        if !step.retry.isEmpty {
            text = step.retry[min(progress.attempts, step.retry.count) - 1].render(progress.slots, facts: facts)
        } else if step.kind == .confirm {
            text = "抱歉，没有看懂。请回复“是”确认，或回复“否”修改。"
        } else if case .choice = step.expectation {
            text = "抱歉，没有看懂。" + step.expectation.hint
        } else {
            text = "抱歉，没有看懂。" + step.expectation.hint + "\n" + ask(flow, progress.step, progress.slots)
        }
        respond(text: [text], .flow(name: flow.name, event: .reasked(step: label, attempt: progress.attempts)))
    }

    func cancelledText(_ flow: FlowSpec, _ progress: FlowProgress) -> String {
        flow.cancelled?.render(progress.slots, facts: facts) ?? FlowSpec.defaultCancelled
    }

    // MARK: The confirm step

    /// Firm yes: confirms at every confirm step.
    static let yes: Set<String> = ["是", "是的", "对", "对的", "确认", "确定", "好", "好的", "可以", "没问题", "没错", "正确",
                                   "ok", "okay", "yes", "y", "提交", "确认提交", "对没错", "是的没错", "确认无误", "无误", "没有问题", "确定提交"]
    /// Soft yes: confirms an ordinary step, but not a `strict: true` one (a cancellation), where a
    /// bare 嗯 is as likely to mean "I'm listening" as "yes, cancel it".
    static let softYes: Set<String> = ["嗯", "嗯嗯", "嗯呢", "恩", "恩恩", "好吧", "好滴", "好哒", "好嘞", "好哦", "行", "行吧", "中", "可", "ojbk"]
    static let no: Set<String> = ["否", "不", "不是", "不对", "不行", "错了", "有误", "修改", "要修改", "改", "改一下", "需要修改", "no", "n",
                                  "不确认", "不对要改", "错"]
    static let changeWords = ["改", "换", "错", "不对", "不是", "修改", "更正", "重新"]

    func plain(_ text: String) -> String {
        String(rules.normalizer.normalize(text).string.filter { !" ,.!?，。！？~～、".contains($0) })
    }

    mutating func confirm(_ flow: FlowSpec, _ progress: inout FlowProgress, _ step: StepSpec, _ input: MatchInput, _ result: MatchResult) {
        guard case .text(let text) = input else {
            if digress(flow, progress, result, freeText: false) { return }
            return reask(flow, &progress, step)
        }
        let said = plain(text)
        let changeable = flow.steps.indices.filter { i in
            guard let slot = flow.steps[i].slot else { return false }
            return progress.slots[slot] != nil && flow.steps[i].applies(to: progress.slots, facts: facts)
        }
        if progress.choosingChange {
            let options = StepExpectation.choice(changeable.map { .init(value: flow.steps[$0].label, words: [flow.steps[$0].slot ?? ""]) })
            if changeable.count > 1, let label = options.value(for: .text(text), today: engine.today(now), normalizer: rules.normalizer),
               let index = changeable.first(where: { flow.steps[$0].label == label }) {
                return change(flow, &progress, index, text: nil)
            }
            // The new value itself (“13900001111”): the one step whose specific expectation takes it.
            let takers = changeable.filter { !flow.steps[$0].expectation.isFreeText && check(flow.steps[$0].expectation, text: text, slots: progress.slots).value != nil }
            if takers.count == 1 { return change(flow, &progress, takers[0], text: text) }
        }
        if Self.changeWords.contains(where: { said.contains($0) }), let index = named(flow, changeable, in: said) {
            return change(flow, &progress, index, text: text)
        }
        if Self.yes.contains(said) || rules.settings.confirmWords.contains(where: { plain($0) == said })
            || (!step.strict && Self.softYes.contains(said)) {
            progress.confirmed.append(progress.step)
            return advance(flow, &progress, saying: [], .filled(slot: "confirm"))
        }
        if Self.no.contains(said) || rules.settings.denyWords.contains(where: { plain($0) == said }) || (said.hasPrefix("不") && said.count <= 4) {
            if changeable.count == 1 { return change(flow, &progress, changeable[0], text: nil) }  // nothing to choose from
            progress.choosingChange = true
            progress.attempts = 0
            session.flow = progress
            let question = step.change?.render(progress.slots, facts: facts) ?? StepSpec.defaultChange
            return respond(text: [question + "\n" + StepExpectation.numbered(changeable.map { flow.steps[$0].label })],
                           .flow(name: flow.name, event: .changing(slot: nil)))
        }
        if digress(flow, progress, result, freeText: false) { return }
        reask(flow, &progress, step)
    }

    /// The changeable step whose label or slot name the customer mentions (the longest one).
    func named(_ flow: FlowSpec, _ changeable: [Int], in said: String) -> Int? {
        var best: (index: Int, length: Int)?
        for index in changeable {
            for name in [flow.steps[index].label, flow.steps[index].slot ?? ""] {
                let word = plain(name)
                if !word.isEmpty, said.contains(word), word.count > (best?.length ?? 0) { best = (index, word.count) }
            }
        }
        return best?.index
    }

    /// Empties a slot (and every slot whose step no longer applies without it) and asks it again;
    /// “手机号改成 139…” fills it at once when the expectation is more specific than free text.
    mutating func change(_ flow: FlowSpec, _ progress: inout FlowProgress, _ index: Int, text: String?) {
        let step = flow.steps[index]
        guard let slot = step.slot else { return }
        progress.slots[slot] = nil
        progress.confirmed = []
        var changed = true
        while changed {
            changed = false
            for (name, _) in progress.slots where !flow.steps.contains(where: { $0.slot == name && $0.applies(to: progress.slots, facts: facts) }) {
                progress.slots[name] = nil
                changed = true
            }
        }
        if let text, !(step.expectation.isFreeText), let value = answer(step.expectation, .text(text), slots: progress.slots).value {
            progress.slots[slot] = value
        }
        advance(flow, &progress, saying: [], .changing(slot: slot))
    }

    // MARK: Answers

    mutating func respond(text parts: [String], _ source: Source) {
        respond(.text(parts.joined(separator: "\n\n")), source)
    }

    mutating func respond(_ rendered: RenderedReply, _ source: Source) {
        var rendered = rendered
        if !prefix.isEmpty {
            if case .text(let text) = rendered {
                rendered = .text((prefix + [text]).filter { !$0.isEmpty }.joined(separator: "\n\n"))
            } else {
                keepNoticeForLater()
            }
        }
        do {
            let built = try Reply.answering(message, with: Engine.body(rendered, answeringEvent: message.isEvent), at: now)
            outcome = Engine.Outcome(response: .reply(built), source: source, normalized: normalized, intent: intent)
            outcome.trigger = trigger
        } catch {
            outcome = Engine.Outcome(response: .success, source: .noReply(reason: "the reply of \(source) cannot be sent: \(error)"),
                                     normalized: normalized, intent: intent)
        }
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
