import KefuRules

/// Names in expectations that the rule set does not have (a misspelt rule id, flow, step or intent):
/// reported before anything runs, with the name's location and the closest real one, because such
/// a step could never pass and its failure would only say “expected refnd, got refund”.
public enum CorpusCheck {
    public static func diagnostics(_ cases: [ConversationCase], rules: CompiledRules) -> [Diagnostic] {
        let ruleNames = Set(rules.rules.filter { $0.interrupt == nil }.map(\.id))
        var answerers = ruleNames.union(rules.rules.compactMap { $0.interrupt == nil ? nil : "interrupt:\($0.id)" })
            .union(rules.flows.map { "flow:\($0.name)" })
            .union(["handoff"])
        if rules.spec.defaultReply != nil { answerers.insert("default") }
        if rules.spec.subscribeReply != nil { answerers.insert("events.subscribe") }
        let flows = rules.flows.map(\.name)
        let intents = rules.spec.intents.map(\.name)
        let steps = Set(rules.flows.flatMap { $0.steps.map(\.name) })
        // Slots the steps fill, and those a call's save: fills.
        let slots = Set(rules.flows.flatMap(\.slots) + rules.flows.flatMap { $0.steps.flatMap { $0.call?.save.map(\.slot) ?? [] } })
        var found: [Diagnostic] = []
        func unknown(_ what: String, _ name: String, _ among: [String], _ at: SourceLocation) {
            found.append(Diagnostic(.error, "unknown-name", at: at, "\(what) '\(name)' is not in the rule set",
                                    hint: among.isEmpty ? "the rule set has none" : Suggestions.hint(for: name, among: among.sorted())))
        }
        for c in cases {
            for step in c.steps {
                for e in step.expectations {
                    switch e.value {
                    case .rule(let name) where !answerers.contains(name): unknown("rule", name, Array(answerers), e.location)
                    case .flow(let name?) where !flows.contains(name): unknown("flow", name, flows, e.location)
                    case .intent(let name?) where !intents.contains(name): unknown("intent", name, intents, e.location)
                    case .step(let name) where !steps.contains(name): unknown("step", name, Array(steps), e.location)
                    case .slots(let values):
                        for name in values.keys.sorted() where !slots.contains(name) { unknown("slot", name, Array(slots), e.location) }
                    default: break
                    }
                }
            }
        }
        return found
    }
}
