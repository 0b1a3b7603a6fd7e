import KefuDialogue
import KefuRules

/// What a corpus reaches of a rule set: every rule, interrupt, default and subscribe reply, intent,
/// flow step and re-prompt, and which of them no case reaches.
public struct Coverage: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case rule, interrupt, reply, intent, step, reprompt, refusal, scheduled, call

        /// How a report names the group.
        public var plural: String {
            switch self {
            case .rule: "rules"
            case .interrupt: "interrupts"
            case .reply: "default and subscribe replies"
            case .intent: "intents"
            case .step: "flow steps"
            case .reprompt: "re-prompts"
            case .refusal: "refuse texts"
            case .scheduled: "scheduled messages"
            case .call: "call outcomes"
            }
        }
    }

    public struct Item: Sendable, Equatable {
        public var kind: Kind
        /// `refund`, `default`, `after-sales/phone`, `after-sales/phone retry 2` …
        public var name: String
        public var location: SourceLocation?
        public var reached: Bool
    }

    public var items: [Item]

    public var reached: Int { items.filter(\.reached).count }
    /// Percentage reached (100 when there is nothing to reach).
    public var percent: Double { items.isEmpty ? 100 : Double(reached) * 100 / Double(items.count) }
    public var missing: [Item] { items.filter { !$0.reached } }

    public init(rules: CompiledRules, results: [CaseResult]) {
        let observations = results.flatMap { $0.observations.compactMap { $0 } }
        let answered = Set(observations.flatMap(\.rules))
        let intents = Set(observations.compactMap(\.intent))
        var asked: Set<String> = []
        var reprompted: Set<String> = []
        var refused: Set<String> = []
        for o in observations {
            guard let flow = o.flow, let index = o.stepIndex else { continue }
            asked.insert("\(flow)#\(index)")
            if case .flow(_, .reasked(_, let attempt)) = o.source { reprompted.insert("\(flow)#\(index)#\(attempt)") }
            if case .flow(_, .refused(_, let reason, let attempt)) = o.source {
                refused.insert("\(flow)#\(index)#\(reason)")
                // Without a refuse: text of its own, the customer sees the step's retry text after the reason.
                if let step = rules.flow(named: flow)?.steps[safe: index], step.refusals[reason] == nil { reprompted.insert("\(flow)#\(index)#\(attempt)") }
            }
        }
        let scheduledSent = results.reduce(into: Set<String>()) { $0.formUnion($1.scheduledSent) }
        let callsTaken = results.reduce(into: Set<CallTaken>()) { $0.formUnion($1.callsTaken) }
        var items: [Item] = []
        for rule in rules.rules {
            if rule.interrupt != nil {
                items.append(Item(kind: .interrupt, name: rule.id, location: rule.location, reached: answered.contains("interrupt:\(rule.id)")))
            } else {
                items.append(Item(kind: .rule, name: rule.id, location: rule.location, reached: answered.contains(rule.id)))
            }
        }
        if let d = rules.spec.defaultReply { items.append(Item(kind: .reply, name: "default", location: d.location, reached: answered.contains("default"))) }
        if let s = rules.spec.subscribeReply {
            items.append(Item(kind: .reply, name: "events.subscribe", location: s.location, reached: answered.contains("events.subscribe")))
        }
        for intent in rules.spec.intents {
            items.append(Item(kind: .intent, name: intent.name, location: intent.location, reached: intents.contains(intent.name)))
        }
        for flow in rules.flows {
            for (index, step) in flow.steps.enumerated() {
                if let call = step.call {
                    // A call step: each outcome branch it has (and `slow:`) is a branch of its own.
                    let label = flow.name.hasPrefix("rule:") ? String(flow.name.dropFirst(5)) + " call" : "\(flow.name)/\(step.name)"
                    var outcomes = call.branches.keys.sorted().map(\.description)
                    if call.slow != nil { outcomes.append("slow") }
                    for outcome in outcomes {
                        items.append(Item(kind: .call, name: "\(label) \(outcome)", location: call.branches.first { $0.key.description == outcome }?.value.location ?? step.location,
                                          reached: callsTaken.contains(CallTaken(flow: flow.name, step: call.id, outcome: outcome))))
                    }
                    continue
                }
                let label = "\(flow.name)/\(step.slot ?? "confirm")" + (flow.steps.filter { $0.slot == step.slot }.count > 1 ? " (step \(index + 1))" : "")
                items.append(Item(kind: .step, name: label, location: step.location, reached: asked.contains("\(flow.name)#\(index)")))
                // The business's own refusal texts (refuse:), each a sentence a customer can see.
                for kind in step.refusals.keys.sorted() {
                    items.append(Item(kind: .refusal, name: "\(label) refuse \(kind)", location: step.location,
                                      reached: refused.contains("\(flow.name)#\(index)#\(kind)")))
                }
                // Re-prompts: the retry texts a customer can see before on_fail (the last one repeats).
                let attempts = step.maxAttempts - 1
                guard attempts >= 1 else { continue }
                let texts = step.retry.isEmpty ? 1 : min(step.retry.count, attempts)
                for k in 1...texts {
                    // Attempt a shows retry text min(a, count); the last text covers every later attempt.
                    let covering = k < texts ? [k] : Array(k...attempts)
                    let reached = covering.contains { reprompted.contains("\(flow.name)#\(index)#\($0)") }
                    let what = step.retry.isEmpty ? "re-prompt" : "retry \(k)"
                    items.append(Item(kind: .reprompt, name: "\(label) \(what)", location: step.location, reached: reached))
                }
            }
        }
        // A flow's scheduled messages: each one sent at its time in some case (`wait:` to it).
        for flow in rules.flows {
            for entry in flow.schedule {
                items.append(Item(kind: .scheduled, name: "\(flow.name)/\(entry.id)", location: entry.location,
                                  reached: scheduledSent.contains("\(flow.name)/\(entry.id)")))
            }
        }
        self.items = items
    }
}

/// The conversations whose replies differ between two rule sets: the review before publishing.
public struct ConversationChange: Sendable {
    public struct Step: Sendable {
        public var index: Int
        public var summary: String
        public var old: String
        public var new: String
    }

    public var testCase: ConversationCase
    public var steps: [Step]

    /// Pairs the results of the same cases run on the old and the new rule set.
    public static func compare(old: [CaseResult], new: [CaseResult]) -> [ConversationChange] {
        zip(old, new).compactMap { before, after in
            var steps: [Step] = []
            let count = max(before.observations.count, after.observations.count)
            for i in 0..<count {
                let a = i < before.observations.count ? before.observations[i] : nil
                let b = i < after.observations.count ? after.observations[i] : nil
                let oldReply = a.map(\.reply) ?? (i < before.observations.count ? "" : "(not reached: \(before.error ?? "stopped"))")
                let newReply = b.map(\.reply) ?? (i < after.observations.count ? "" : "(not reached: \(after.error ?? "stopped"))")
                if oldReply != newReply {
                    steps.append(Step(index: i, summary: after.testCase.steps[i].summary, old: oldReply, new: newReply))
                }
            }
            return steps.isEmpty ? nil : ConversationChange(testCase: after.testCase, steps: steps)
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
