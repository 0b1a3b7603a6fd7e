extension CompiledRules {
    /// The context a step check runs in at `now`, with the flow's slots so far.
    public func stepContext(at now: LocalTime, slots: [String: String]) -> StepContext {
        StepContext(now: now, normalizer: normalizer, hours: hours, facts: facts.isEmpty ? nil : facts, slots: slots)
    }

    /// `slots` plus what the message that starts `flow` already answers (“我想订明晚七点的位子，4位” gives
    /// the time and the party), step by step in order, each step only if its `if:` holds by then:
    /// a date or time; a number said with its measure word (4位, 两个人 — a bare number is too often part
    /// of something else, and never one inside a date or time: 七 of 七点); a choice named by one of its
    /// words of two characters or more (never by its number); a mobile number. A value the step would
    /// refuse (in the past, over the limit) is left for the step to ask. Regex and free-text steps are
    /// filled only by the starting rule's named captures.
    public func prefill(_ flow: FlowSpec, from text: String, slots: [String: String], at now: LocalTime) -> [String: String] {
        var slots = slots
        let mapped = self.mapped(text)
        let said = normalizer.normalize(text).string
        for step in flow.steps {
            guard let slot = step.slot, slots[slot] == nil, step.applies(to: slots, facts: facts) else { continue }
            let context = stepContext(at: now, slots: slots)
            let given: String?
            switch step.expectation {
            case .date:
                given = step.expectation.answer(for: .text(mapped), context).value
            case .number:
                given = StepExpectation.countedNumber(in: mapped).flatMap { step.expectation.answer(for: .text(String($0)), context).value }
            case .choice(let choices):
                let named = choices.filter { choice in
                    ([choice.value] + choice.words).contains { word in
                        let w = normalizer.normalize(word).string
                        return w.count >= 2 && said.contains(w)
                    }
                }
                given = named.count == 1 ? named[0].value : nil
            case .mobile:
                given = StepExpectation.mobileInside(mapped)
            case .regex, .text, .media:
                given = nil
            }
            if let given { slots[slot] = given }
        }
        return slots
    }
}
