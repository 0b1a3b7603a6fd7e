/// A confirm step that cancels something (its flow's name or title says 取消, 退订, 注销 or cancel)
/// without `strict: true`: a bare 嗯 — often just "I'm listening" — would cancel.
struct SoftCancelCheck: LintCheck {
    static let words = ["取消", "退订", "注销", "撤销", "cancel"]

    func run(_ rules: CompiledRules) -> [Diagnostic] {
        rules.flows.flatMap { flow -> [Diagnostic] in
            let name = (flow.name + " " + flow.title).lowercased()
            guard Self.words.contains(where: { name.contains($0) }) else { return [] }
            return flow.steps.filter { $0.kind == .confirm && !$0.strict }.map { step in
                Diagnostic(.warning, "soft-cancel-confirm", at: step.location,
                    "the confirm step of flow '\(flow.name)' (\(flow.title)) is not strict, so a bare 嗯 or 好吧 confirms the cancellation",
                    hint: "add strict: true under confirm:, so that only 是, 确认 or your confirm_words confirm it")
            }
        }
    }
}

/// An hours table nothing uses (no rule's open:/after_hours:, no date step, no template, no fact).
struct UnusedHoursCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var used: Set<String> = []
        for rule in rules.rules { if let c = rule.hoursCondition { used.insert(c.hours.value) } }
        var templates: [Template] = rules.rules.flatMap { $0.reply?.templates ?? [] }
            + [rules.spec.defaultReply, rules.spec.subscribeReply].compactMap { $0?.value }.flatMap(\.templates)
        for flow in rules.flows {
            templates += flow.done.value.templates + [flow.start, flow.cancelled, flow.onExpire].compactMap { $0 }
            for step in flow.steps {
                templates += step.templates
                if case .date(_, let limits) = step.expectation, let hours = limits.hours { used.insert(hours) }
            }
        }
        used.formUnion(templates.flatMap(\.variables))
        used.formUnion(rules.facts.values.values)
        used.formUnion(rules.facts.tables.values.flatMap { $0.values.flatMap(\.values) })
        return rules.spec.hours.filter { !used.contains($0.name) }.map { table in
            Diagnostic(.warning, "unused-hours", at: table.location, "nothing uses hours '\(table.name)'",
                       hint: "use it in a rule (open: \(table.name)), a date step (expect: {datetime: {hours: \(table.name)}}) or a reply ({{\(table.name)}}), or remove it")
        }
    }
}
