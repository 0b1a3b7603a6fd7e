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
            if let prediction = result.intent, let classifier = rules.intentClassifier {
                lines += Self.intentLines(prediction, classifier: classifier, text: result.normalized.string)
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

    /// The intent decision in words a support lead reads (then the numbers, for whoever tunes).
    static func intentLines(_ prediction: IntentPrediction, classifier: IntentClassifier, text: String) -> [String] {
        var top = prediction.ranking.prefix(3).map { "\($0.intent) \(Precedence.format($0.score))" }.joined(separator: ", ")
        if !classifier.noneExamples.isEmpty { top += "，都不是 none \(Precedence.format(prediction.noneScore))" }
        let best = prediction.ranking.first?.intent ?? ""
        let nearest = classifier.nearestExample(of: best, to: text)
        let verdict: String
        switch prediction.declined {
        case nil:
            let like = nearest.map { "，和例句“\($0.text)”很像" } ?? ""
            verdict = prediction.isConfident
                ? "→ \(best)：有把握\(like)；流程进行中也可以回答"
                : "→ \(best)：会回答，但把握一般\(like)；流程进行中不会用它打断流程"
        case .noSharedWords?:
            verdict = "→ 都不是：这句话和所有例句没有一个相同的字，不会触发意图规则"
        case .resemblesNone?:
            if let (example, similarity) = classifier.nearestNoneExample(to: text) {
                let how = similarity > 0.999 ? "它就是\(example.describedSource)里的“\(example.text)”"
                                             : "最像\(example.describedSource)里的“\(example.text)”"
                verdict = "→ 都不是：这句更像不该由意图回答的话（\(how)），这类话会被当作闲聊，不触发意图规则"
            } else {
                verdict = "→ 都不是：这句更像不该由意图回答的话，会被当作闲聊，不触发意图规则"
            }
        case .unlikeExamples?:
            let closest = nearest.map { "（最接近的例句是“\($0.text)”）" } ?? ""
            verdict = "→ 都不是（没有把握）：最像‘\(best)’，但和它的例句不够像\(closest)；想让它回答，就把这种说法加进 \(best) 的例句"
        case .unsure?:
            let second = prediction.ranking.dropFirst().first?.intent ?? ""
            verdict = "→ 都不是（没有把握）：‘\(best)’和‘\(second)’差不多像，分不清是哪一个；给这两个意图多写些能区分它们的例句"
        }
        let confident = classifier.confidentThreshold.isFinite ? "，\(Precedence.format(classifier.confidentThreshold)) 起算有把握" : "，例句太少，从不算有把握"
        return ["意图 intents: \(top) \(verdict)",
                "  细节 details: 概率 \(Precedence.format(prediction.score))（至少 \(Precedence.format(classifier.threshold)) 才回答\(confident)），"
                + "和例句的相似度 \(Precedence.format(prediction.similarity))（至少 \(Precedence.format(classifier.minimumSimilarity))），由例句交叉验证校准"]
    }

    private var inputText: String {
        if case .text(let text) = input { return text }
        return ""
    }
}
