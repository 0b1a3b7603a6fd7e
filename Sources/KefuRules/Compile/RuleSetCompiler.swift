/// Turns a ``RuleSetSpec`` into ``CompiledRules``, or reports every error it finds (bad regexes,
/// keywords that normalize to nothing, unknown intents, template variables no rule captures).
/// Like the loader, it yields all or nothing.
public enum RuleSetCompiler {
    /// Loads and compiles the rule set in `directory`.
    public static func compile(directory: String) throws(RuleSetError) -> CompiledRules {
        try compile(RuleSetLoader.load(directory: directory))
    }

    public static func compile(_ spec: RuleSetSpec) throws(RuleSetError) -> CompiledRules {
        var diagnostics: [Diagnostic] = []
        let options = spec.settings.normalization
        let normalizer = Normalizer(options)
        var mappingOnly = options
        mappingOnly.punctuation = .keep
        mappingOnly.emoji = .keep
        mappingOnly.spaces = .keep
        let mapper = Normalizer(mappingOnly)
        /// A character kept by normalization stands in the normalized text as it stands in the mapped text.
        let keeps: @Sendable (Character) -> Bool = { character in
            character.unicodeScalars.allSatisfy { scalar in
                !Normalizer.isSpace(scalar)
                    && !(options.punctuation == .remove && Normalizer.isPunctuation(scalar))
                    && !(options.emoji == .remove && Normalizer.isEmoji(scalar))
            }
        }

        var builder = KeywordAutomatonBuilder()
        var owners: [[CompiledRules.PatternOwner]] = []
        func own(_ pattern: [UInt8], _ owner: CompiledRules.PatternOwner) {
            guard let id = builder.add(pattern) else { return }
            if id == owners.count { owners.append([]) }
            owners[id].append(owner)
        }
        var exact: [[UInt8]: [(rule: Int, phrase: Int)]] = [:]
        var regexes: [CompiledRules.RegexEntry] = []
        var alwaysConfirm: [Int] = []
        let oracle = ASCIIOracle()
        var combined = RegexNFABuilder()
        var combinedEntries: [Int] = [], combinedWithoutLiteral: [Int] = []
        var fallbackBuilder = KeywordAutomatonBuilder()
        var fallbackOwners: [[Int]] = []
        var intentRules: [String: [Int]] = [:]
        var eventRules: [Int] = [], messageRules: [Int] = []
        let intentNames = spec.intents.map(\.name)

        for (index, rule) in spec.rules.enumerated() {
            var captured: Set<String> = []
            switch rule.condition {
            case .exact(let phrases), .contains(let phrases):
                let isExact = rule.condition.kind == "exact"
                for (k, phrase) in phrases.enumerated() {
                    let normalized = normalizer.normalize(phrase.value).bytes
                    if normalized.isEmpty {
                        diagnostics.append(Diagnostic(.error, "empty-keyword", at: phrase.location,
                            "'\(phrase.value)' is empty after normalization (only spaces, punctuation or emoji)",
                            hint: "use words; punctuation and emoji are removed from messages before matching (settings: normalize)"))
                        continue
                    }
                    if isExact { exact[normalized, default: []].append((index, k)) } else { own(normalized, .keyword(rule: index, keyword: k)) }
                }
            case .regex(let patterns):
                for (k, pattern) in patterns.enumerated() {
                    do {
                        let regex = try PatternRegex(pattern.value, caseless: options.caseFold)
                        let literals = RequiredLiterals.extract(pattern.value, keep: keeps)?
                            .map { mapper.normalize($0).bytes }.filter { !$0.isEmpty }
                        let entry = regexes.count
                        // The combined scan of all regexes takes it if it can read it; else the old path.
                        var notCombined: String?
                        do {
                            let superset = try RegexSuperset.parse(pattern.value, caseless: options.caseFold, oracle: oracle)
                            if !combined.add(superset) {
                                notCombined = "it is too large for the combined scan (its repeats make more than 20,000 steps)"
                            }
                        } catch {
                            notCombined = error.reason
                        }
                        if notCombined == nil {
                            combinedEntries.append(entry)
                            if let literals, !literals.isEmpty {
                                for literal in literals {
                                    guard let id = fallbackBuilder.add(literal) else { continue }
                                    if id == fallbackOwners.count { fallbackOwners.append([]) }
                                    fallbackOwners[id].append(entry)
                                }
                            } else {
                                combinedWithoutLiteral.append(entry)
                            }
                        } else if let literals, !literals.isEmpty {
                            for literal in literals { own(literal, .regexLiteral(regex: entry)) }
                        } else {
                            alwaysConfirm.append(entry)
                        }
                        regexes.append(.init(rule: index, index: k, regex: regex,
                                             literals: literals.flatMap { $0.isEmpty ? nil : $0.map { String(decoding: $0, as: UTF8.self) } },
                                             notCombined: notCombined))
                        captured.formUnion(regex.names.map(\.name))
                    } catch {
                        diagnostics.append(.badRegex(error, patternAt: pattern.location))
                    }
                }
            case .intent(let name):
                if intentNames.contains(name.value) {
                    intentRules[name.value, default: []].append(index)
                } else if name.value == RuleFileReader.noneIntent {
                    diagnostics.append(Diagnostic(.error, "intent-none-in-rule", at: name.location,
                        "'none' is not an intent a rule can answer: its examples are the messages no intent may answer",
                        hint: "to answer messages no rule understands, write a default: reply; to answer greetings, use exact: [你好, 在吗]"))
                } else {
                    diagnostics.append(Diagnostic(.error, "unknown-intent", at: name.location, "no intent is named '\(name.value)'",
                        hint: intentNames.isEmpty ? "declare it under intents: with a few examples" : Suggestions.hint(for: name.value, among: intentNames)))
                }
            case .subscribe, .scan, .click, .view:
                eventRules.append(index)
            case .message:
                messageRules.append(index)
            }
            if let flow = rule.flow, !spec.flows.contains(where: { $0.name == flow.value }) {
                diagnostics.append(Diagnostic(.error, "unknown-flow", at: flow.location, "rule '\(rule.id)' starts flow '\(flow.value)', which does not exist",
                    hint: spec.flows.isEmpty ? "declare it under flows:" : Suggestions.hint(for: flow.value, among: spec.flows.map(\.name))))
            }
            for template in rule.reply?.templates ?? [] {
                for variable in template.variables where !captured.contains(variable) {
                    if let problem = factProblem(variable, names: captured, spec.facts) {
                        if problem.isEmpty { continue }
                        diagnostics.append(Diagnostic(.error, "unknown-fact", at: rule.replyLocation, "the reply of '\(rule.id)' uses {{\(variable)}}: \(problem)",
                                                      hint: factHint(variable, spec.facts)))
                        continue
                    }
                    diagnostics.append(Diagnostic(.error, "unknown-variable", at: rule.replyLocation,
                        "the reply of '\(rule.id)' uses {{\(variable)}}, which its condition does not capture",
                        hint: captured.isEmpty ? "only named regex groups can be used, e.g. regex: '(?<order>DD\\d{12})' and {{order}}"
                                               : Suggestions.hint(for: variable, among: captured.sorted())))
                }
            }
        }
        for reply in [spec.defaultReply, spec.subscribeReply].compactMap({ $0 }) {
            for template in reply.value.templates {
                for variable in template.variables {
                    if let problem = factProblem(variable, names: [], spec.facts) {
                        if !problem.isEmpty {
                            diagnostics.append(Diagnostic(.error, "unknown-fact", at: reply.location, "this reply uses {{\(variable)}}: \(problem)", hint: factHint(variable, spec.facts)))
                        }
                        continue
                    }
                    diagnostics.append(Diagnostic(.error, "unknown-variable", at: reply.location,
                        "this reply uses {{\(variable)}}, but nothing is captured here", hint: "write the text without placeholders, or declare it under facts:"))
                }
            }
        }
        diagnostics += flowDiagnostics(spec)
        diagnostics += MenuChecks.errors(spec) + MediaFileChecks.errors(spec)
        if !diagnostics.isEmpty { throw RuleSetError(diagnostics) }

        var classifier: IntentClassifier?
        if !spec.intents.isEmpty {
            let examples = spec.intents.flatMap { intent in intent.examples.map { (intent: intent.name, text: normalizer.normalize($0.value).string) } }
            var intentOptions = IntentClassifier.Options()
            if let threshold = spec.settings.intentThreshold { intentOptions.threshold = threshold }
            classifier = IntentClassifier(examples: examples, none: noneExamples(spec, normalizer: normalizer, examples: examples.map(\.text)),
                                          options: intentOptions)
        }
        return CompiledRules(spec: spec, normalizer: normalizer, mapper: mapper, automaton: builder.build(), patternOwners: owners,
                             exact: exact, regexes: regexes, alwaysConfirm: alwaysConfirm,
                             regexSet: combinedEntries.isEmpty ? nil : RegexSet(nfa: RegexNFA(combined), count: combinedEntries.count),
                             combinedEntries: combinedEntries,
                             combinedFallback: .init(automaton: fallbackBuilder.build(), owners: fallbackOwners, withoutLiteral: combinedWithoutLiteral),
                             maxGroups: regexes.map(\.regex.groupCount).max() ?? 0, classifier: classifier,
                             intentRules: intentRules, eventRules: eventRules, messageRules: messageRules,
                             hoursByName: spec.hours.reduce(into: [:]) { $0[$1.name] = $1 })
    }

    /// The classifier's "none of them" texts: the rule set's `none:` list, every intent's `not:`
    /// list and (unless `builtin_none: false`) `BuiltinNone` minus what the intents themselves say.
    static func noneExamples(_ spec: RuleSetSpec, normalizer: Normalizer, examples: [String]) -> [NoneExample] {
        var result = spec.noneExamples.map { NoneExample(text: normalizer.normalize($0.value).string, source: .ruleSet($0.location)) }
        for intent in spec.intents {
            result += intent.negatives.map {
                NoneExample(text: normalizer.normalize($0.value).string, source: .notOf(intent: intent.name, at: $0.location))
            }
        }
        if spec.settings.builtinNone {
            result += BuiltinNone.examples(normalize: { normalizer.normalize($0).string }, excludingLike: examples).examples
        }
        return result
    }

    /// Templates of a flow may use only the flow's slots.
    static func flowDiagnostics(_ spec: RuleSetSpec) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for flow in spec.flows {
            let slots = flow.slots
            func check(_ templates: [Template], at location: SourceLocation, _ what: String, also: [String] = []) {
                for template in templates {
                    for variable in template.variables where !slots.contains(variable) && !also.contains(variable) {
                        if let problem = factProblem(variable, names: Set(slots), spec.facts) {
                            if !problem.isEmpty {
                                diagnostics.append(Diagnostic(.error, "unknown-fact", at: location, "\(what) of flow '\(flow.name)' uses {{\(variable)}}: \(problem)",
                                                              hint: factHint(variable, spec.facts)))
                            }
                            continue
                        }
                        diagnostics.append(Diagnostic(.error, "unknown-variable", at: location,
                            "\(what) of flow '\(flow.name)' uses {{\(variable)}}, which is not a slot of the flow",
                            hint: slots.isEmpty && also.isEmpty ? "add a step with slot: \(variable)" : Suggestions.hint(for: variable, among: slots + also)))
                    }
                }
            }
            let saved = CallChecks.saved(flow), captures = Array(CallChecks.ruleCaptures(flow, spec))
            check(flow.done.value.templates, at: flow.done.location, "the done reply", also: saved + captures)
            for entry in flow.schedule {
                var templates: [Template] = []
                switch entry.message {
                case .text(let text): templates = [text]
                case .template(let message): templates = message.data.map(\.value) + (message.url.map { [$0] } ?? [])
                }
                check(templates, at: entry.location, "the scheduled message '\(entry.id)'", also: saved + captures)
            }
            diagnostics += scheduleDiagnostics(flow, spec)
            check([flow.onExpire, flow.start, flow.cancelled].compactMap { $0 }, at: flow.location, "a text", also: captures)
            for (index, step) in flow.steps.enumerated() where step.call == nil {
                let what = step.slot.map { "step '\($0)'" } ?? "the confirm step"
                let savedBefore = CallChecks.saved(flow, before: index)
                check(step.templates.filter { t in !step.refusals.values.contains(t) }, at: step.ask.location, what, also: savedBefore)
                check(Array(step.refusals.values), at: step.ask.location, "the refuse: texts of \(what)", also: ["said", "min", "max", "days", "hours"] + savedBefore)
            }
            diagnostics += CallChecks.errors(flow, spec)
        }
        return diagnostics + SlotOrderCheck.errors(spec)
    }

    /// A scheduled message counts back from a slot that a date step fills with a time; its id is
    /// unique in the flow; `cancel_schedule:` names flows of the rule set that schedule something.
    static func scheduleDiagnostics(_ flow: FlowSpec, _ spec: RuleSetSpec) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var ids: Set<String> = []
        for entry in flow.schedule {
            if !ids.insert(entry.id).inserted {
                diagnostics.append(Diagnostic(.error, "duplicate-schedule", at: entry.location,
                    "flow '\(flow.name)' schedules two messages named '\(entry.id)'",
                    hint: "give each scheduled message its own id: (e.g. id: 提前一天提醒)"))
            }
            guard case .before(let slot) = entry.anchor else { continue }
            let steps = flow.steps.filter { $0.slot == slot }
            guard !steps.isEmpty else {
                diagnostics.append(Diagnostic(.error, "unknown-slot", at: entry.location,
                    "the scheduled message '\(entry.id)' of flow '\(flow.name)' counts back from slot '\(slot)', which no step of the flow fills",
                    hint: flow.slots.isEmpty ? "of: names a step's slot that expects a datetime" : Suggestions.hint(for: slot, among: flow.slots)))
                continue
            }
            for step in steps {
                guard case .date(let requireTime, _) = step.expectation else {
                    diagnostics.append(Diagnostic(.error, "schedule-not-datetime", at: entry.location,
                        "the scheduled message '\(entry.id)' of flow '\(flow.name)' counts back from slot '\(slot)', but its step does not expect a date",
                        hint: "of: names a step with expect: datetime (a date and a time), e.g. the appointment time"))
                    break
                }
                if !requireTime {
                    diagnostics.append(Diagnostic(.warning, "schedule-date-only", at: entry.location,
                        "the scheduled message '\(entry.id)' of flow '\(flow.name)' counts back from slot '\(slot)', a date without a time: it counts from midnight",
                        hint: "make the step expect: datetime, or choose before: so that midnight minus it is a good time (e.g. before: 14h is 10:00 the day before)"))
                }
            }
        }
        let scheduling = Set(spec.flows.filter { !$0.schedule.isEmpty }.map(\.name))
        for name in flow.cancelSchedule where !scheduling.contains(name.value) {
            let exists = spec.flows.contains { $0.name == name.value }
            diagnostics.append(Diagnostic(.error, exists ? "cancel-nothing" : "unknown-flow", at: name.location,
                exists ? "cancel_schedule of flow '\(flow.name)' names flow '\(name.value)', which schedules no messages"
                       : "cancel_schedule of flow '\(flow.name)' names flow '\(name.value)', which does not exist",
                hint: exists ? "add schedule: to flow '\(name.value)', or remove it here"
                             : Suggestions.hint(for: name.value, among: spec.flows.map(\.name))))
        }
        return diagnostics
    }

    /// Nil when `variable` is not a fact at all (then it must be a slot or capture); "" when it is a
    /// fact that resolves; else what is wrong with the reference. `names` are the slots or captures
    /// that can name a table's row.
    static func factProblem(_ variable: String, names: Set<String>, _ facts: Facts) -> String? {
        guard let reference = Facts.Reference(variable) else { return facts.values[variable] != nil || facts.hoursSummaries[variable] != nil ? "" : nil }
        guard let table = facts.tables[reference.name] else {
            return facts.values[reference.name] != nil ? "'\(reference.name)' is a plain fact, not a table" : "no fact table is named '\(reference.name)'"
        }
        if let row = reference.row, table[row] == nil { return "table '\(reference.name)' has no row '\(row)' (rows: \(table.keys.sorted().joined(separator: ", ")))" }
        if reference.row == nil, !names.contains(reference.name) {
            return "nothing here is called '\(reference.name)' to pick the row; name a slot '\(reference.name)', or write {{\(reference.name)[row].\(reference.field ?? "field")}}"
        }
        guard let field = reference.field else { return "say which field, e.g. {{\(reference.name).\(table.values.first?.keys.sorted().first ?? "field")}}" }
        let rows = reference.row.map { [$0] } ?? table.keys.sorted()
        let missing = rows.filter { table[$0]?[field] == nil }
        return missing.isEmpty ? "" : "row\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) of '\(reference.name)' \(missing.count > 1 ? "have" : "has") no '\(field)'"
    }

    static func factHint(_ variable: String, _ facts: Facts) -> String {
        let reference = Facts.Reference(variable)
        let name = reference?.name ?? variable
        if let table = facts.tables[name], let field = reference?.field {
            let fields = Set(table.values.flatMap(\.keys)).sorted()
            return Suggestions.closest(to: field, in: fields).map { "did you mean '\($0)'?" } ?? "fields: \(fields.joined(separator: ", "))"
        }
        let names = (Array(facts.values.keys) + Array(facts.tables.keys)).sorted()
        return names.isEmpty ? "declare it under facts:" : Suggestions.hint(for: name, among: names)
    }
}
