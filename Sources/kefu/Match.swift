import ArgumentParser
import Foundation
import KefuRules

struct Match: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Match messages read one per line from standard input; write one JSON line each.",
        discussion: """
            Each output line: text, rule (id or null), kind (exact, regex, contains, intent),
            intent and score (when the rule set has intents), captures, and the reply that would be sent.
              printf '我要退货\\n订单 DD202406110001 到哪了\\n' | kefu match Rules/shop
            """
    )

    @OptionGroup var rules: RuleSetArgument

    struct Line: Encodable {
        let text: String
        let rule: String?
        let kind: String?
        let intent: String?
        let score: Double?
        let captures: [String: String]
        let reply: String?
        /// The flow the winning rule starts, if any.
        let flow: String?
    }

    func run() throws {
        let compiled = try rules.compile()
        while let line = readLine(strippingNewline: true) {
            let result = compiled.match(.text(line))
            let winner = result.winner
            let reply: RuleReply? = if let winner { compiled.rules[winner.rule].reply } else { compiled.defaultReply }
            var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: line.hashValueStable))
            print(jsonLine(Line(
                text: line, rule: winner?.ruleID, kind: winner?.kind.rawValue,
                intent: result.intent?.intent, score: result.intent.map { ($0.score * 1000).rounded() / 1000 },
                captures: winner?.captures ?? [:], reply: reply.map { $0.preview(captures: winner?.captures ?? [:], facts: compiled.facts, using: &generator) },
                flow: winner.flatMap { compiled.rules[$0.rule].flow?.value })))
        }
    }
}
