import KefuRules
import KefuWeChat

/// Digressions: another rule answers a side question in the middle of a flow.
extension TurnState {
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
}
