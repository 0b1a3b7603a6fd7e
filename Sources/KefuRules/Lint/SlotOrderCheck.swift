/// Errors in the order of a flow's steps, found while compiling (so that serve refuses them too):
///
/// - `slot-before-asked`: a text said while a step is asked (its `ask`, `retry`, `change`, `on_fail`
///   reply) or the flow's `start` text uses `{{slot}}` of a slot that no earlier step asks — the
///   customer sees it empty (“想订国贸店哪天几点？位？”). The engine asks the first step whose `if`
///   holds and whose slot is empty, so when a step is asked every earlier step that applies has
///   its answer, and no later one has (a step's own slot is empty while it is asked). A slot that
///   earlier steps fill only on some paths (they have an `if:`) is the `maybe-empty-slot` warning.
///   A slot is known before any step when *every* rule that starts the flow is a regex rule and
///   *every* one of its patterns has a named group of that name that takes part in every match
///   (not inside `?`, `*`, `{0,…}`, one side of `|`, or a lookaround): the engine fills slots from
///   those captures. (The value still has to fit the step's `expect`; write the group to match what
///   the step accepts.) Any other starting rule — keywords, an intent, a menu click — gives none.
/// - `unknown-slot`: an `if:` names a slot no step of the flow fills, so the step is never asked;
///   with the closest slot name. Only the names under `if:` are read (equality and comparisons alike), not the values.
///
/// Names with '.' or '[' (`{{branch.address}}`, `{{branches[store].phone}}`) are facts, not slots,
/// and are checked elsewhere.
enum SlotOrderCheck {
    static func errors(_ spec: RuleSetSpec) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for flow in spec.flows {
            let slots = flow.slots
            let prefilled = prefilledSlots(flow, rules: spec.rules)
            func isSlot(_ name: String) -> Bool { slots.contains(name) && !name.contains(".") && !name.contains("[") }
            func firstStep(of slot: String) -> Int? { flow.steps.firstIndex { $0.slot == slot } }

            if let start = flow.start {
                for variable in unique(start.variables) where isSlot(variable) && !prefilled.contains(variable) {
                    found.append(Diagnostic(.error, "slot-before-asked", at: SourceSearch.key("start", underFlow: flow.location, in: spec.sources) ?? flow.location,
                        "the start text of flow '\(flow.name)' uses {{\(variable)}}, but it is said before any step is asked, so the customer sees it empty",
                        hint: "take {{\(variable)}} out of start:, or capture it in every rule that starts the flow, e.g. regex: '(?<\(variable)>…)'"))
                }
            }
            for (index, step) in flow.steps.enumerated() {
                let before = Set(flow.steps[..<index].compactMap(\.slot)).union(prefilled)
                var texts: [(String, Template, SourceLocation)] = [(step.kind == .confirm ? "confirm" : "ask", step.ask.value, step.ask.location)]
                for template in step.retry { texts.append(("retry", template, SourceSearch.key("retry", under: step.location, in: spec.sources) ?? step.location)) }
                if let change = step.change { texts.append(("change", change, SourceSearch.key("change", under: step.location, in: spec.sources) ?? step.location)) }
                if case .reply(let reply) = step.onFail { texts.append(("on_fail", reply, SourceSearch.key("on_fail", under: step.location, in: spec.sources) ?? step.location)) }
                var reported: Set<String> = []
                let name = step.slot.map { "step '\($0)'" } ?? "the confirm step"
                for (key, template, location) in texts {
                    for variable in unique(template.variables) where isSlot(variable) && !before.contains(variable) && reported.insert(variable).inserted {
                        let later = firstStep(of: variable) ?? index
                        if later == index {
                            found.append(Diagnostic(.error, "slot-before-asked", at: location,
                                "the \(key) text of \(name) of flow '\(flow.name)' uses {{\(variable)}}, the slot this step asks for, so the customer sees it empty",
                                hint: "take {{\(variable)}} out of \(key):; show the answer in a later step, the confirm step or done:"))
                        } else {
                            found.append(Diagnostic(.error, "slot-before-asked", at: location,
                                "the \(key) text of \(name) of flow '\(flow.name)' uses {{\(variable)}}, but '\(variable)' is asked only later (step \(later + 1)), so the customer sees it empty",
                                hint: "move the step that asks '\(variable)' before this one, or take {{\(variable)}} out of \(key):"))
                        }
                    }
                }
                // Keys with '.' or '[' read a fact of a row (`门店.包间`), checked with the facts at load.
                for slot in Set(step.condition.keys).union(step.comparisons.keys).sorted() where !slots.contains(slot) && Facts.Reference(slot) == nil {
                    found.append(Diagnostic(.error, "unknown-slot", at: SourceSearch.key(slot, under: step.location, in: spec.sources, after: "if") ?? step.location,
                        "the if: of \(name) of flow '\(flow.name)' needs slot '\(slot)', which no step of the flow fills, so the step is never asked",
                        hint: slots.isEmpty ? "add a step with slot: \(slot)" : Suggestions.hint(for: slot, among: slots)))
                }
            }
        }
        return found
    }

    static func unique(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// The slots every rule that starts the flow fills from a capture that takes part in every match.
    static func prefilledSlots(_ flow: FlowSpec, rules: [RuleSpec]) -> Set<String> {
        let starters = rules.filter { $0.flow?.value == flow.name }
        var common: Set<String>?
        for rule in starters {
            guard case .regex(let patterns) = rule.condition else { return [] }
            for pattern in patterns {
                let required = RegexGroups.requiredNames(pattern.value)
                common = common.map { $0.intersection(required) } ?? required
            }
        }
        return common ?? []
    }
}

/// Which named groups of a pattern take part in every match.
enum RegexGroups {
    /// Names of groups that capture whenever the pattern matches: not inside an optional or starred
    /// group, one branch of an alternation (unless every branch has it), a lookaround or a conditional.
    static func requiredNames(_ pattern: String) -> Set<String> {
        struct Frame {
            var name: String?
            var unreliable = false
            var branches: [Set<String>] = []
            var current: Set<String> = []
            var result: Set<String> { (branches + [current]).dropFirst().reduce(branches.first ?? current) { $0.intersection($1) } }
        }
        let p = Array(pattern.unicodeScalars)
        var stack = [Frame()]
        var i = 0
        func optionalQuantifier(at k: Int) -> Bool {
            guard k < p.count else { return false }
            if p[k] == "?" || p[k] == "*" { return true }
            if p[k] == "{" {
                var digits = ""
                var j = k + 1
                while j < p.count, ("0"..."9").contains(p[j]) { digits.unicodeScalars.append(p[j]); j += 1 }
                return j < p.count && (p[j] == "," || p[j] == "}") && (digits.isEmpty || Int(digits) == 0)
            }
            return false
        }
        while i < p.count {
            let c = p[i]
            switch c {
            case "\\":
                if i + 1 < p.count, p[i + 1] == "Q" {
                    i += 2
                    while i + 1 < p.count, !(p[i] == "\\" && p[i + 1] == "E") { i += 1 }
                }
                i += 2
            case "[":
                i += 1
                if i < p.count, p[i] == "^" { i += 1 }
                if i < p.count, p[i] == "]" { i += 1 }
                while i < p.count, p[i] != "]" {
                    if p[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 1
            case "(":
                var frame = Frame()
                if i + 1 < p.count, p[i + 1] == "?" || p[i + 1] == "*" {
                    let rest = p[(i + 2)...].prefix(3).map(Character.init)
                    let s = String(rest)
                    if s.hasPrefix("<=") || s.hasPrefix("<!") || s.hasPrefix("=") || s.hasPrefix("!") || s.hasPrefix("(") || p[i + 1] == "*" {
                        frame.unreliable = true
                    } else if s.hasPrefix("<") || s.hasPrefix("P<") || s.hasPrefix("'") {
                        var j = i + 2 + (s.hasPrefix("P<") ? 2 : 1)
                        var name = ""
                        while j < p.count, p[j] != ">", p[j] != "'" { name.unicodeScalars.append(p[j]); j += 1 }
                        frame.name = name
                        i = j
                    }
                }
                stack.append(frame)
                i += 1
            case "|":
                stack[stack.count - 1].branches.append(stack[stack.count - 1].current)
                stack[stack.count - 1].current = []
                i += 1
            case ")":
                guard stack.count > 1 else { i += 1; continue }
                let frame = stack.removeLast()
                var names = frame.unreliable ? [] : frame.result
                if let name = frame.name, !frame.unreliable { names.insert(name) }
                if optionalQuantifier(at: i + 1) { names = [] }
                stack[stack.count - 1].current.formUnion(names)
                i += 1
            default:
                i += 1
            }
        }
        return stack[0].result
    }
}

/// Texts said when a flow ends early (`cancelled:`, `on_expire:`) that use a slot: it is empty
/// when the flow ends before that slot is answered.
struct FlowEndTextCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for flow in rules.flows {
            let prefilled = SlotOrderCheck.prefilledSlots(flow, rules: rules.spec.rules)
            for (key, template) in [("cancelled", flow.cancelled), ("on_expire", flow.onExpire)] {
                guard let template else { continue }
                for variable in SlotOrderCheck.unique(template.variables)
                where flow.slots.contains(variable) && !prefilled.contains(variable) && !variable.contains(".") && !variable.contains("[") {
                    found.append(Diagnostic(.warning, "maybe-empty-slot", at: SourceSearch.key(key, underFlow: flow.location, in: rules.spec.sources) ?? flow.location,
                        "the \(key) text of flow '\(flow.name)' uses {{\(variable)}}, which is empty when the flow ends before '\(variable)' is answered",
                        hint: "word the text so it reads well without it, or take {{\(variable)}} out of \(key):"))
                }
            }
        }
        return found
    }
}

/// Where a key is written, for diagnostics about values the model keeps without a place of their own.
enum SourceSearch {
    /// The first `key:` on the lines of the block that starts at `start` (the lines after it that are
    /// indented more than it, or the same line), optionally only after an `after:` key; nil if none.
    static func key(_ key: String, under start: SourceLocation, in sources: [String: String], after: String? = nil) -> SourceLocation? {
        self.key(key, under: start, in: sources, after: after, isKey: false)
    }

    /// Under a flow's name.
    static func key(_ key: String, underFlow start: SourceLocation, in sources: [String: String]) -> SourceLocation? {
        self.key(key, under: start, in: sources, after: nil, isKey: true)
    }

    static func key(_ key: String, under start: SourceLocation, in sources: [String: String], after: String?, isKey: Bool) -> SourceLocation? {
        guard let text = sources[start.file] else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard start.line >= 1, start.line <= lines.count else { return nil }
        let startIndent = start.column - 1
        var seenAfter = after == nil
        for index in (start.line - 1)..<lines.count {
            let line = Array(lines[index].unicodeScalars)
            // A flow's name is a key whose block is indented more; a step is a mapping whose keys line up with it.
            let indent = line.prefix { $0 == " " }.count
            let ends = isKey ? indent <= startIndent : indent < startIndent
            if index > start.line - 1, ends, line.contains(where: { $0 != " " && $0 != "\r" }) { break }
            let from = index == start.line - 1 ? startIndent : 0
            for column in from..<line.count {
                guard column == 0 || " {,-".unicodeScalars.contains(line[column - 1]) else { continue }
                for candidate in seenAfter ? [key] : [after!] {
                    let word = Array(candidate.unicodeScalars)
                    guard column + word.count <= line.count, Array(line[column..<(column + word.count)]) == word else { continue }
                    var k = column + word.count
                    while k < line.count, line[k] == " " { k += 1 }
                    guard k < line.count, line[k] == ":" else { continue }
                    if seenAfter { return SourceLocation(file: start.file, line: index + 1, column: column + 1) }
                    seenAfter = true
                }
            }
        }
        return nil
    }
}
