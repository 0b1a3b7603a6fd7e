/// A flow that no rule starts: customers can never enter it.
struct FlowNotEnteredCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        let entered = Set(rules.rules.compactMap { $0.flow?.value })
        return rules.flows.filter { !entered.contains($0.name) }.map { flow in
            Diagnostic(.warning, "flow-not-entered", at: flow.location, "no rule starts flow '\(flow.name)'",
                       hint: "add a rule with flow: \(flow.name), e.g. when: {contains: [\(flow.title)]}")
        }
    }
}

/// Steps that can never be asked, and templates that may show an empty slot.
///
/// Walks the steps in order, as the engine does, keeping which slots earlier steps can fill and,
/// for choices, with which values. A step whose `if` needs a slot no earlier step fills, or a value
/// its choice cannot give, is never asked; nor is a second unconditional step for the same slot.
struct FlowStepCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for flow in rules.flows {
            /// slot → the values earlier steps can give it (nil: any value).
            var fillable: [String: Set<String>?] = [:]
            var alwaysFilled: Set<String> = []
            for step in flow.steps {
                var reason: String?
                for (slot, values) in step.condition.sorted(by: { $0.key < $1.key }) where Facts.Reference(slot) == nil {  // facts are checked at load
                    guard let possible = fillable[slot] else {
                        // A slot no step fills is the unknown-slot error (SlotOrderCheck), found while compiling.
                        reason = "its if needs slot '\(slot)', which only a later step fills"
                        break
                    }
                    if let possible, !values.contains(where: { possible.contains($0.value) }) {
                        reason = "its if wants \(slot) = \(values.map(\.value).joined(separator: " or ")), which the choice of '\(slot)' never gives (options: \(possible.sorted().joined(separator: ", ")))"
                        break
                    }
                }
                if reason == nil, let slot = step.slot, step.condition.isEmpty, alwaysFilled.contains(slot) {
                    reason = "an earlier step always fills slot '\(slot)'"
                }
                if let reason {
                    found.append(Diagnostic(.warning, "unreachable-step", at: step.location,
                        "step '\(step.slot ?? "confirm")' of flow '\(flow.name)' is never asked: \(reason)",
                        hint: "move the step, fix its if, or remove it"))
                    continue
                }
                guard let slot = step.slot else { continue }
                let values: Set<String>? = if case .choice(let choices) = step.expectation { Set(choices.map(\.value)) } else { nil }
                if let existing = fillable[slot] {
                    fillable[slot] = existing.flatMap { old in values.map { old.union($0) } }
                } else {
                    fillable[slot] = .some(values)
                }
                if step.condition.isEmpty { alwaysFilled.insert(slot) }
            }
            // A slot filled only by conditional steps is still always filled when those steps branch on
            // one always-filled choice and between them cover all its options (a doctor step per department).
            for slot in Set(flow.steps.compactMap(\.slot)).subtracting(alwaysFilled) {
                let steps = flow.steps.filter { $0.slot == slot }
                guard let on = steps.first?.condition.keys.first, steps.allSatisfy({ $0.condition.count == 1 && $0.condition[on] != nil }),
                      alwaysFilled.contains(on), let options = fillable[on] ?? nil else { continue }
                let covered = Set(steps.flatMap { $0.condition[on]!.map(\.value) })
                if options.isSubset(of: covered) { alwaysFilled.insert(slot) }
            }
            // Templates that may show an empty slot: the slot's every step is conditional.
            var reported: Set<String> = []
            let templates: [(Template, SourceLocation)] = flow.done.value.templates.map { ($0, flow.done.location) }
                + flow.steps.flatMap { step in step.templates.map { ($0, step.ask.location) } }
            for (template, location) in templates {
                for variable in template.variables where !alwaysFilled.contains(variable) && fillable[variable] != nil && !reported.contains(variable) {
                    reported.insert(variable)
                    found.append(Diagnostic(.warning, "maybe-empty-slot", at: location,
                        "{{\(variable)}} may be empty here: the step that fills it is asked only when its if holds",
                        hint: "word the text so it reads well without it, or fill '\(variable)' in every branch"))
                }
            }
        }
        return found
    }
}

/// A rule that starts a flow and captures groups the flow has no slot for (they are ignored), and
/// choices where one word names two options (such an answer is asked again).
struct FlowEntryCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for entry in rules.regexes {
            let rule = rules.rules[entry.rule]
            // A rule's call: (flow rule:<id>) keeps every capture as a slot of its own.
            guard let name = rule.flow?.value, !name.hasPrefix(RuleFileReader.ruleFlowPrefix), let flow = rules.flow(named: name) else { continue }
            for group in entry.regex.names.map(\.name) where !flow.slots.contains(group) {
                found.append(Diagnostic(.warning, "prefill-not-a-slot", at: rule.location,
                    "rule '\(rule.id)' captures '\(group)', but flow '\(name)' has no slot of that name, so it is not filled",
                    hint: Suggestions.closest(to: group, in: flow.slots).map { "did you mean '\($0)'?" } ?? "name the group after a slot: \(flow.slots.joined(separator: ", "))"))
            }
        }
        for flow in rules.flows {
            for step in flow.steps {
                guard case .choice(let choices) = step.expectation else { continue }
                var owner: [String: String] = [:]
                for choice in choices {
                    for word in Set(([choice.value] + choice.words).map { rules.normalizer.normalize($0).string }) where !word.isEmpty {
                        if let other = owner[word], other != choice.value {
                            found.append(Diagnostic(.warning, "ambiguous-choice", at: step.location,
                                "in step '\(step.slot ?? "")' of flow '\(flow.name)', “\(word)” names both '\(other)' and '\(choice.value)'; an answer with it is asked again",
                                hint: "keep the word under one option"))
                        } else {
                            owner[word] = choice.value
                        }
                    }
                }
            }
        }
        return found
    }
}

/// A scheduled text goes out as a customer-service message, which WeChat allows only within 48 h
/// of the customer's last message: counted back further than that, most customers never get it.
struct ScheduledTextWindowCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        rules.flows.flatMap { flow in
            flow.schedule.compactMap { entry -> Diagnostic? in
                guard case .text = entry.message else { return nil }
                let late: Bool = switch entry.anchor {
                case .afterDone: entry.offset >= 48 * 3600
                case .before: false  // depends on when the customer booked; checked when it is sent
                }
                guard late else { return nil }
                return Diagnostic(.warning, "schedule-outside-window", at: entry.location,
                    "the scheduled text '\(entry.id)' of flow '\(flow.name)' goes out \(DurationText.describe(entry.offset)) after the flow, past WeChat's 48-hour window for customer-service messages: it is never sent",
                    hint: "send a template message instead (template: {id: …, data: …}), or send it sooner")
            }
        }
    }
}

/// Since May 2023 WeChat shows at most 20 characters of each template field and no line breaks,
/// and trims the rest without an error: a template value whose own words already pass that is cut.
struct TemplateValueLengthCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        rules.flows.flatMap { flow in
            flow.schedule.flatMap { entry -> [Diagnostic] in
                guard case .template(let template) = entry.message else { return [] }
                return template.data.compactMap { field -> Diagnostic? in
                    let literal = field.value.segments.map { if case .literal(let text) = $0 { text } else { "" } }.joined()
                    let breaks = literal.contains("\n")
                    guard breaks || literal.count > 20 else { return nil }
                    return Diagnostic(.warning, "template-value-too-long", at: entry.location,
                        "the value of \(field.key) in the template message '\(entry.id)' of flow '\(flow.name)' " +
                        (breaks ? "has a line break" : "has \(literal.count) characters before any slot is filled") +
                        "; WeChat shows at most 20 characters of a template field, on one line, and cuts the rest without telling",
                        hint: "shorten it to the essentials (e.g. '{{department}}' rather than a sentence); say more in the page the template's url opens")
                }
            }
        }
    }
}
