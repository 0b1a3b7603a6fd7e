/// What `kefu explain` prints: how one input travels through a rule set.
public struct Explanation: Sendable {
    public let rules: CompiledRules
    public let input: MatchInput
    public let result: MatchResult
    /// The local time the message is explained at (`open:` / `after_hours:`, dates in the message).
    public let time: LocalTime?

    public init(_ rules: CompiledRules, _ input: MatchInput, at time: LocalTime? = nil) {
        self.rules = rules
        self.input = input
        self.time = time
        result = rules.match(input, at: time)
    }

    public func render() -> String {
        var lines: [String] = []
        switch input {
        case .text(let text):
            lines.append("消息 message: “\(text)”")
            lines.append("规范化 normalization:")
            var previous = text
            for (step, after) in rules.normalizer.trace(text) {
                let change = after == previous ? "(no change)" : "→ “\(after)”"
                lines.append("  \(step.rawValue): \(change)")
                previous = after
            }
            lines.append("  result: “\(result.normalized.string)”")
            if let prediction = result.intent {
                let top = prediction.ranking.prefix(3).map { "\($0.intent) \(Precedence.format($0.score))" }.joined(separator: ", ")
                let classifier = rules.intentClassifier
                let verdict = prediction.intent.map { "→ \($0)" }
                    ?? "→ none of them (needs score ≥ \(Precedence.format(classifier?.threshold ?? 0)) and similarity to the examples ≥ \(Precedence.format(classifier?.minimumSimilarity ?? 0)))"
                lines.append("意图 intents: \(top) \(verdict)")
            }
        case .event:
            lines.append("事件 event: \(input)")
        case .message(let kind):
            lines.append("消息类型 message type: \(kind.rawValue)")
        }
        lines.append("候选 candidates:")
        if result.candidates.isEmpty { lines.append("  (none)") }
        let utf8 = Array(inputText.utf8)
        for (position, candidate) in result.candidates.enumerated() {
            var line = "  \(position + 1). \(candidate.ruleID) [\(rules.rules[candidate.rule].location)] — \(candidate.kind.rawValue) “\(candidate.trigger)”"
            if let span = candidate.span, span.upperBound <= utf8.count, !span.isEmpty {
                line += " at “\(String(decoding: utf8[span], as: UTF8.self))” (bytes \(span.lowerBound)..<\(span.upperBound))"
            }
            if let score = candidate.score { line += " score \(Precedence.format(score))" }
            if candidate.priority != 0 { line += " priority \(candidate.priority)" }
            if !candidate.captures.isEmpty {
                line += " captures " + candidate.captures.sorted { $0.key < $1.key }.map { "\($0.key)=“\($0.value)”" }.joined(separator: " ")
            }
            if let action = candidate.interrupt { line += " (interrupt: \(action.rawValue))" }
            if candidate == result.winner {
                line += "  ← winner"
            } else if candidate.interrupt == .cancel {
                line += "  (cancels a flow; outside a flow it does not answer)"
            } else if let winner = result.winner {
                line += "  ✗ lost: \(Precedence.reason(candidate, lostTo: winner))"
            }
            lines.append(line)
        }
        for candidate in result.outsideHours {
            let rule = rules.rules[candidate.rule]
            guard let condition = rule.hoursCondition else { continue }
            let when = time.map { " at \($0.description)" } ?? ""
            lines.append("  -. \(candidate.ruleID) [\(rule.location)] — \(candidate.kind.rawValue) “\(candidate.trigger)”  ✗ not now: \(condition.key): \(condition.hours.value) does not hold\(when)")
        }
        var generator = SeededGenerator(seed: inputText.hashValueStable)
        if let winner = result.winner {
            let rule = rules.rules[winner.rule]
            if let reply = rule.reply { lines.append("回复 reply (\(winner.ruleID)): \(reply.preview(captures: winner.captures, facts: rules.facts, using: &generator))") }
            if let flow = rule.flow.flatMap({ rules.flow(named: $0.value) }) {
                var slots = winner.captures.filter { flow.slots.contains($0.key) }
                if let time { slots = rules.prefill(flow, from: inputText, slots: slots, at: time) }
                let filled = slots.sorted { $0.key < $1.key }.map { "\($0.key)=“\($0.value)”" }
                lines.append("流程 flow: starts '\(flow.name)' (\(flow.title))" + (filled.isEmpty ? "" : ", slots from the message: " + filled.joined(separator: " ")))
            }
            if rule.interrupt == .handoff { lines.append("转人工 handoff: transfer_customer_service, then the bot pauses for this user") }
        } else if case .event(.subscribe) = input, let reply = rules.subscribeReply {
            lines.append("回复 reply (events.subscribe): \(reply.preview(captures: [:], facts: rules.facts, using: &generator))")
        } else if case .text = input, let reply = rules.defaultReply {
            lines.append("回复 reply (default): \(reply.preview(captures: [:], facts: rules.facts, using: &generator))")
        } else {
            lines.append("回复 reply: none (answered with success)")
        }
        return lines.joined(separator: "\n")
    }

    private var inputText: String {
        if case .text(let text) = input { return text }
        return ""
    }
}
