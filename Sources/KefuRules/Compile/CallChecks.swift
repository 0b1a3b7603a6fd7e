/// Errors in `call:` steps found while compiling, once every file is read (so that serve refuses
/// them too): the service is declared (`unknown-service`), `goto:` names a slot step of the same
/// flow (`unknown-step`), every `{{name}}` of the call is known there (`unknown-variable`), and an
/// `if:` of a branch names something the flow has (`unknown-slot`).
///
/// What a call's texts may use:
/// - path, query and body: the flow's slots (asked by earlier steps: `slot-before-asked`), slots
///   saved by earlier calls, facts, the starting rule's captures (a rule's `call:`), and
///   `{{user.openid}}`, the customer's OpenID;
/// - the branches: also what this call saves;
/// - `on.slow`: not what this call saves (the answer is not there yet).
enum CallChecks {
    /// The customer's OpenID, for call paths, queries and bodies only.
    static let userVariables: Set<String> = ["user.openid"]

    /// The names a rule's one-step call flow gets from the rule (its regex's named groups).
    static func ruleCaptures(_ flow: FlowSpec, _ spec: RuleSetSpec) -> Set<String> {
        guard flow.name.hasPrefix(RuleFileReader.ruleFlowPrefix) else { return [] }
        let id = String(flow.name.dropFirst(RuleFileReader.ruleFlowPrefix.count))
        guard let rule = spec.rules.first(where: { $0.id == id }), case .regex(let patterns) = rule.condition else { return [] }
        var names: Set<String> = []
        for pattern in patterns {
            if let regex = try? PatternRegex(pattern.value, caseless: true) { names.formUnion(regex.names.map(\.name)) }
        }
        return names
    }

    /// Slots saved by the call steps before `index` (all of them for `index == nil`).
    static func saved(_ flow: FlowSpec, before index: Int? = nil) -> [String] {
        flow.steps.prefix(index ?? flow.steps.count).flatMap { $0.call?.save.map(\.slot) ?? [] }
    }

    static func errors(_ flow: FlowSpec, _ spec: RuleSetSpec) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let slots = flow.slots
        let services = spec.services.map(\.name)
        let captures = ruleCaptures(flow, spec)
        let prefilled = SlotOrderCheck.prefilledSlots(flow, rules: spec.rules).union(captures)
        let allSaved = saved(flow)
        let slotSteps = Set(flow.steps.compactMap(\.slot))
        for (index, step) in flow.steps.enumerated() {
            guard let call = step.call else { continue }
            if !services.contains(call.service.value) {
                found.append(Diagnostic(.error, "unknown-service", at: call.service.location,
                    "the call '\(call.id)' of \(displayName(flow)) calls service '\(call.service.value)', which is not declared",
                    hint: services.isEmpty ? "declare it under services:, e.g. services: {\(call.service.value): {base: https://erp.example.com/api, auth: {bearer: ERP_TOKEN}}}"
                                           : Suggestions.hint(for: call.service.value, among: services)))
            }
            let askedBefore = Set(flow.steps[..<index].compactMap(\.slot)).union(prefilled)
            let savedBefore = Set(saved(flow, before: index))
            let own = Set(call.save.map(\.slot))
            let known = Set(slots).union(captures).union(savedBefore)
            func check(_ templates: [Template], _ what: String, at location: SourceLocation, also: Set<String>) {
                var reported: Set<String> = []
                for template in templates {
                    for variable in template.variables where reported.insert(variable).inserted {
                        if known.contains(variable) || also.contains(variable) {
                            if slots.contains(variable), !askedBefore.contains(variable), !savedBefore.contains(variable), !also.contains(variable) {
                                found.append(Diagnostic(.error, "slot-before-asked", at: location,
                                    "\(what) of the call '\(call.id)' in \(displayName(flow)) uses {{\(variable)}}, but '\(variable)' is asked only after the call",
                                    hint: "move the step that asks '\(variable)' before the call"))
                            }
                            continue
                        }
                        if variable.hasPrefix("user."), !allSaved.contains(variable) {
                            found.append(Diagnostic(.error, "unknown-variable", at: location,
                                "\(what) of the call '\(call.id)' uses {{\(variable)}}; of the customer only {{user.openid}} is known, and only in a call's path, query and body",
                                hint: "write {{user.openid}} in the path, query: or body:; a reply cannot show it"))
                            continue
                        }
                        if let problem = RuleSetCompiler.factProblem(variable, names: known.union(also), spec.facts) {
                            if !problem.isEmpty {
                                found.append(Diagnostic(.error, "unknown-fact", at: location, "\(what) of the call '\(call.id)' uses {{\(variable)}}: \(problem)",
                                                        hint: RuleSetCompiler.factHint(variable, spec.facts)))
                            }
                            continue
                        }
                        let message: String, hint: String
                        if allSaved.contains(variable) || own.contains(variable) {
                            message = "\(what) of the call '\(call.id)' in \(displayName(flow)) uses {{\(variable)}}, which is saved only "
                                + (own.contains(variable) ? "when this call's answer comes" : "by a later call")
                            hint = own.contains(variable) ? "use it in the on: branches (ok:, 404: …), not here" : "move the call that saves '\(variable)' before this one"
                        } else {
                            message = "\(what) of the call '\(call.id)' in \(displayName(flow)) uses {{\(variable)}}, which is not a slot of the flow"
                            let candidates = Array(known.union(also)).sorted()
                            hint = candidates.isEmpty ? "add a step with slot: \(variable), or save: it from an earlier call" : Suggestions.hint(for: variable, among: candidates)
                        }
                        found.append(Diagnostic(.error, "unknown-variable", at: location, message, hint: hint))
                    }
                }
            }
            let sources = spec.sources
            func at(_ key: String) -> SourceLocation { SourceSearch.key(key, under: call.location, in: sources) ?? call.location }
            check([call.path.value], "the path", at: call.path.location, also: userVariables)
            if !call.query.isEmpty { check(call.query.map(\.value), "the query", at: at("query"), also: userVariables) }
            if let body = call.body { check(body.templates, "the body", at: at("body"), also: userVariables) }
            if let slow = call.slow { check([slow], "the slow: text", at: at("slow"), also: []) }
            for (outcome, branches) in call.branches.sorted(by: { $0.key < $1.key }) {
                for branch in branches.value {
                    check(branch.reply?.templates ?? [], "the \(outcome) branch", at: branch.location, also: own)
                    for key in Set(branch.condition.keys).union(branch.comparisons.keys).sorted() {
                        if known.contains(key) || own.contains(key) { continue }
                        if Facts.Reference(key) != nil {
                            if let problem = RuleSetCompiler.factProblem(key, names: known.union(own), spec.facts), !problem.isEmpty {
                                found.append(Diagnostic(.error, "unknown-fact", at: branch.location, "the if: of the \(outcome) branch of call '\(call.id)' reads \(key): \(problem)",
                                                        hint: RuleSetCompiler.factHint(key, spec.facts)))
                            }
                            continue
                        }
                        let candidates = Array(known.union(own)).sorted()
                        found.append(Diagnostic(.error, "unknown-slot", at: SourceSearch.key(key, under: branch.location, in: sources, after: "if") ?? branch.location,
                            "the if: of the \(outcome) branch of call '\(call.id)' in \(displayName(flow)) needs '\(key)', which no step fills and the call does not save",
                            hint: candidates.isEmpty ? "save it from the answer, e.g. save: {\(key): $.\(key)}" : Suggestions.hint(for: key, among: candidates)))
                    }
                    guard case .goto(let target) = branch.then, !slotSteps.contains(target) else { continue }
                    let stepNames = flow.steps.compactMap(\.slot)
                    found.append(Diagnostic(.error, "unknown-step", at: SourceSearch.key("goto", under: branch.location, in: sources) ?? branch.location,
                        "the \(outcome) branch of call '\(call.id)' goes to '\(target)', but \(displayName(flow)) has no step with slot: \(target)",
                        hint: stepNames.isEmpty ? "a rule's call has no steps to go back to: use cancel:, handoff: or a reply" : Suggestions.hint(for: target, among: stepNames)))
                }
            }
        }
        return found
    }

    /// `rule 'order-lookup'` for a rule's call, else `flow 'order-status'`.
    static func displayName(_ flow: FlowSpec) -> String {
        flow.name.hasPrefix(RuleFileReader.ruleFlowPrefix) ? "rule '\(flow.name.dropFirst(RuleFileReader.ruleFlowPrefix.count))'" : "flow '\(flow.name)'"
    }
}
