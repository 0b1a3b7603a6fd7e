import KefuRules
import KefuWeChat

/// The confirm step: yes (firm, soft, the business's words), no and the change menu, naming what to change.
extension TurnState {
    /// Firm yes: confirms at every confirm step.
    static let yes: Set<String> = ["是", "是的", "对", "对的", "确认", "确定", "好", "好的", "可以", "没问题", "没错", "正确",
                                   "ok", "okay", "yes", "y", "提交", "确认提交", "对没错", "是的没错", "确认无误", "无误", "没有问题", "确定提交"]
    /// Soft yes: confirms an ordinary step, but not a `strict: true` one (a cancellation), where a
    /// bare 嗯 is as likely to mean "I'm listening" as "yes, cancel it".
    static let softYes: Set<String> = ["嗯", "嗯嗯", "嗯呢", "恩", "恩恩", "好吧", "好滴", "好哒", "好嘞", "好哦", "行", "行吧", "中", "可", "ojbk"]
    static let no: Set<String> = ["否", "不", "不是", "不对", "不行", "错了", "有误", "修改", "要修改", "改", "改一下", "需要修改", "no", "n",
                                  "不确认", "不对要改", "错"]
    static let changeWords = ["改", "换", "错", "不对", "不是", "修改", "更正", "重新"]

    func plain(_ text: String) -> String {
        String(rules.normalizer.normalize(text).string.filter { !" ,.!?，。！？~～、".contains($0) })
    }

    mutating func confirm(_ flow: FlowSpec, _ progress: inout FlowProgress, _ step: StepSpec, _ input: MatchInput, _ result: MatchResult) {
        guard case .text(let text) = input else {
            if digress(flow, progress, result, freeText: false) { return }
            return reask(flow, &progress, step)
        }
        let said = plain(text)
        let changeable = flow.steps.indices.filter { i in
            guard let slot = flow.steps[i].slot else { return false }
            return progress.slots[slot] != nil && flow.steps[i].applies(to: progress.slots, facts: facts)
        }
        if progress.choosingChange {
            let options = StepExpectation.choice(changeable.map { .init(value: flow.steps[$0].label, words: [flow.steps[$0].slot ?? ""]) })
            if changeable.count > 1, let label = options.value(for: .text(text), today: engine.today(now), normalizer: rules.normalizer),
               let index = changeable.first(where: { flow.steps[$0].label == label }) {
                return change(flow, &progress, index, text: nil)
            }
            // The new value itself (“13900001111”): the one step whose specific expectation takes it.
            let takers = changeable.filter { !flow.steps[$0].expectation.isFreeText && check(flow.steps[$0].expectation, text: text, slots: progress.slots).value != nil }
            if takers.count == 1 { return change(flow, &progress, takers[0], text: text) }
        }
        if Self.changeWords.contains(where: { said.contains($0) }), let index = named(flow, changeable, in: said) {
            return change(flow, &progress, index, text: text)
        }
        if Self.yes.contains(said) || rules.settings.confirmWords.contains(where: { plain($0) == said })
            || (!step.strict && Self.softYes.contains(said)) {
            progress.confirmed.append(progress.step)
            return advance(flow, &progress, saying: [], .filled(slot: "confirm"))
        }
        if Self.no.contains(said) || rules.settings.denyWords.contains(where: { plain($0) == said }) || (said.hasPrefix("不") && said.count <= 4) {
            if changeable.count == 1 { return change(flow, &progress, changeable[0], text: nil) }  // nothing to choose from
            progress.choosingChange = true
            progress.attempts = 0
            session.flow = progress
            let question = step.change?.render(progress.slots, facts: facts) ?? StepSpec.defaultChange
            return respond(text: [question + "\n" + StepExpectation.numbered(changeable.map { flow.steps[$0].label })],
                           .flow(name: flow.name, event: .changing(slot: nil)))
        }
        if digress(flow, progress, result, freeText: false) { return }
        reask(flow, &progress, step)
    }

    /// The changeable step whose label or slot name the customer mentions (the longest one).
    func named(_ flow: FlowSpec, _ changeable: [Int], in said: String) -> Int? {
        var best: (index: Int, length: Int)?
        for index in changeable {
            for name in [flow.steps[index].label, flow.steps[index].slot ?? ""] {
                let word = plain(name)
                if !word.isEmpty, said.contains(word), word.count > (best?.length ?? 0) { best = (index, word.count) }
            }
        }
        return best?.index
    }

    /// Empties a slot (and every slot whose step no longer applies without it) and asks it again;
    /// “手机号改成 139…” fills it at once when the expectation is more specific than free text.
    mutating func change(_ flow: FlowSpec, _ progress: inout FlowProgress, _ index: Int, text: String?) {
        let step = flow.steps[index]
        guard let slot = step.slot else { return }
        progress.slots[slot] = nil
        progress.confirmed = []
        progress.called = []  // what the calls found depended on it: they run again
        var changed = true
        while changed {
            changed = false
            for (name, _) in progress.slots where !flow.steps.contains(where: { $0.slot == name && $0.applies(to: progress.slots, facts: facts) }) {
                progress.slots[name] = nil
                changed = true
            }
        }
        if let text, !(step.expectation.isFreeText), let value = answer(step.expectation, .text(text), slots: progress.slots).value {
            progress.slots[slot] = value
        }
        advance(flow, &progress, saying: [], .changing(slot: slot))
    }
}
