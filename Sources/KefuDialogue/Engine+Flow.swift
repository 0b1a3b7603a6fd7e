import KefuRules
import KefuWeChat

/// Flows: starting one, asking the next step, taking an answer or refusing it, re-prompts.
extension TurnState {
    mutating func start(_ flow: FlowSpec, by rule: RuleSpec, captures: [String: String]) {
        trigger = rule.id
        var progress = FlowProgress(name: flow.name, startedAt: now, lastActivity: now, expiresAt: now + flow.expires)
        progress.instance = message.deduplicationKey
        for (name, value) in captures.sorted(by: { $0.key < $1.key }) {
            if flow.name.hasPrefix("rule:") { progress.slots[name] = value; continue }  // a rule's call: its captures are its slots
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
            effects += scheduleEffects(flow, progress)
            if case .text(let done) = flow.done.value, done.source.isEmpty {  // a rule's call: nothing more to say
                return respond(text: intro, .flow(name: flow.name, event: .done))
            }
            if case .messages = flow.done.value {
                prefix += intro
                return reply(with: flow.done.value.renderMessages(captures: progress.slots, facts: facts, using: &generator),
                             .flow(name: flow.name, event: .done), separate: true)
            }
            let rendered = flow.done.value.render(captures: progress.slots, facts: facts, using: &generator)
            if case .transfer = rendered { pause() }
            prefix += intro
            return respond(rendered, .flow(name: flow.name, event: .done))
        }
        if let call = flow.steps[next].call { return startCall(flow, &progress, next, call, saying: intro) }
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
            if step.call != nil { return !progress.called.contains(i) }
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
            if progress.pending != nil, let instance = progress.instance { effects.append(.cancelCalls(instance: instance)) }
            switch action {
            case .cancel:
                if let reply = rule.reply { return say(reply, captures: hit.captures, .flow(name: flow.name, event: .cancelled(by: rule.id))) }
                return respond(text: [cancelledText(flow, progress)], .flow(name: flow.name, event: .cancelled(by: rule.id)))
            case .handoff:
                return handoff(rule.reply, .flow(name: flow.name, event: .handedOff(by: rule.id)))
            }
        }
        if let pending = progress.pending { return whileWaiting(flow, progress, pending, result) }
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
            return finish(.success, .noReply(reason: "no rule answers it; flow '\(flow.name)' still waits for \(step.name)"))
        }
        if step.isConfirm { return confirm(flow, &progress, step, input, result) }
        if let call = step.call {  // a call step without a pending call (a session from before a reload): make it now
            return startCall(flow, &progress, progress.step, call, saying: [])
        }
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
        rules.stepContext(at: localNow, slots: slots)
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
}
