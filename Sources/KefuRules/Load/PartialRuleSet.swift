import Yams

/// The part of a rule set that loaded when some of it did not: every rule, intent and flow read
/// without an error (the loader drops each one that has an error, whole), and whether every file
/// could be read at all.
///
/// It is never compiled to answer anyone (a rule set with an error is refused whole). It exists so
/// that one `kefu lint` run reports everything: the loader adds the compile errors of this part
/// (bad regexes, unknown intents and flows, templates) to its ``RuleSetError``, and lint runs its
/// checks on the part that compiles — leaving out what would only be a consequence of the parts
/// that did not load (a rule that starts a flow with an error is not told the flow does not exist).
package struct PartialRuleSet: Sendable {
    package var spec: RuleSetSpec
    /// False when a file could not be read or parsed at all: then nothing is known of what it declares.
    package var complete: Bool

    /// What the files declare and use, read from their YAML, whether or not it loaded.
    struct Declared {
        var flows: Set<String> = [], intents: Set<String> = []
        var startedFlows: Set<String> = [], usedIntents: Set<String> = []
        var hasDefault = false
        var complete = true
        /// The keys and patterns of every `when: {click: …}` written, loaded or not.
        var clickPatterns: [String] = []

        func answersClick(_ key: String) -> Bool {
            clickPatterns.contains { CompiledRules.matchKey(key, [Located($0, at: SourceLocation(file: "", line: 0, column: 0))]) != nil }
        }
    }

    func declared() -> Declared {
        var declared = Declared()
        declared.complete = complete
        for (path, text) in spec.sources {
            let composed = TypingMistakes.compose(text, file: path)
            guard composed.syntax == nil else { declared.complete = false; continue }
            guard case .mapping(let top)? = composed.root else { continue }
            for (keyNode, value) in top {
                switch keyNode.scalar?.string {
                case "flows": declared.flows.formUnion(Self.keys(value))
                case "intents": declared.intents.formUnion(Self.keys(value))
                case "default": declared.hasDefault = true
                case "rules", "interrupts":
                    guard case .sequence(let items) = value else { continue }
                    for case .mapping(let rule) in items {
                        for (k, v) in rule {
                            if k.scalar?.string == "flow", let name = v.scalar?.string { declared.startedFlows.insert(name) }
                            if k.scalar?.string == "when", case .mapping(let when) = v {
                                for (ck, cv) in when where ck.scalar?.string == "intent" {
                                    if let name = cv.scalar?.string { declared.usedIntents.insert(name) }
                                }
                                for (ck, cv) in when where ck.scalar?.string == "click" {
                                    if let key = cv.scalar?.string { declared.clickPatterns.append(key) }
                                    if case .sequence(let keys) = cv { declared.clickPatterns += keys.compactMap { $0.scalar?.string } }
                                }
                            }
                        }
                    }
                default: break
                }
            }
        }
        return declared
    }

    static func keys(_ node: Node) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.compactMap { $0.key.scalar?.string }
    }

    /// The compile errors of the loaded part, without those that only follow from a part that did
    /// not load (a flow or intent that is declared but has an error of its own).
    func compileErrors(_ declared: Declared) -> [Diagnostic] {
        do {
            _ = try RuleSetCompiler.compile(spec)
            return []
        } catch {
            return error.diagnostics.filter { !isConsequence($0, declared) }
        }
    }

    func isConsequence(_ d: Diagnostic, _ declared: Declared) -> Bool {
        switch d.code {
        case "unknown-flow":
            guard let rule = spec.rules.first(where: { $0.flow?.location == d.location }), let name = rule.flow?.value else { return false }
            return !declared.complete || declared.flows.contains(name)
        case "unknown-intent":
            guard let name = spec.rules.lazy.compactMap({ rule -> Located<String>? in
                if case .intent(let name) = rule.condition, name.location == d.location { name } else { nil }
            }).first else { return false }
            return !declared.complete || declared.intents.contains(name.value)
        case "menu-click-unanswered":
            return !declared.complete || menuKey(at: d.location).map(declared.answersClick) ?? false
        default:
            return false
        }
    }

    /// The key of the menu button whose action is written at `location`.
    func menuKey(at location: SourceLocation) -> String? {
        spec.menu?.keys.first { $0.button.actionLocation == location }?.key
    }

    /// The lint warnings of the part that compiles: rules and flows with a compile error are left
    /// out, and so are the warnings about what is missing (a flow no rule starts, an intent no rule
    /// uses, no default reply) when a rule or file that did not load may be what provides it.
    func lintWarnings() -> [Diagnostic] {
        let declared = declared()
        guard let compiled = compilable() else { return [] }
        return Linter.checks.flatMap { $0.run(compiled) }.filter { warning in
            switch warning.code {
            case "flow-not-entered":
                guard let flow = compiled.flows.first(where: { $0.location == warning.location }) else { return true }
                return declared.complete && !declared.startedFlows.contains(flow.name)
            case "unused-intent":
                guard let intent = compiled.spec.intents.first(where: { $0.location == warning.location }) else { return true }
                return declared.complete && !declared.usedIntents.contains(intent.name)
            case "no-default":
                return declared.complete && !declared.hasDefault
            case "menu-event-unanswered":
                return declared.complete && !(menuKey(at: warning.location).map(declared.answersClick) ?? false)
            default:
                return true
            }
        }
    }

    /// The loaded part without every rule, flow and reply that has a compile error (and the rules
    /// that start a flow left out), compiled; nil if that does not converge in a few rounds.
    func compilable() -> CompiledRules? {
        var spec = spec
        for _ in 0..<4 {
            do {
                return try RuleSetCompiler.compile(spec)
            } catch {
                let errors = error.diagnostics
                let rules = spec.rules.count, flows = spec.flows.count
                let spans = spec.flows.indices.map { Self.span(of: spec.flows[$0], next: spec.flows.indices.contains($0 + 1) ? spec.flows[$0 + 1].location : nil) }
                let broken = Set(spec.flows.indices.filter { i in errors.contains { spans[i].contains($0.location) } }.map { spec.flows[$0].name })
                spec.flows.removeAll { broken.contains($0.name) }
                spec.rules.removeAll { rule in
                    errors.contains { Self.span(of: rule).contains($0.location) }
                        || rule.flow.map { name in !spec.flows.contains { $0.name == name.value } } ?? false
                }
                func replyBroken(_ reply: Located<RuleReply>) -> Bool {
                    errors.contains { e in e.location == reply.location || reply.value.mediaFiles.contains { $0.path.location == e.location } }
                }
                if let reply = spec.defaultReply, replyBroken(reply) { spec.defaultReply = nil }
                if let reply = spec.subscribeReply, replyBroken(reply) { spec.subscribeReply = nil }
                let menuBroken = spec.menu != nil && errors.contains { $0.code.hasPrefix("menu-") }
                if menuBroken { spec.menu = nil }
                if spec.rules.count == rules, spec.flows.count == flows, !menuBroken { return nil }
            }
        }
        return nil
    }

    /// The lines a rule or flow takes in its file, as far as its recorded locations tell.
    struct Span {
        var file: String
        var lines: ClosedRange<Int>
        func contains(_ location: SourceLocation) -> Bool { location.file == file && lines.contains(location.line) }
    }

    static func span(of rule: RuleSpec) -> Span {
        var locations = [rule.location, rule.replyLocation] + (rule.flow.map { [$0.location] } ?? [])
            + (rule.reply?.mediaFiles ?? []).map(\.path.location)
        switch rule.condition {
        case .exact(let l), .contains(let l), .regex(let l), .click(let l), .view(let l): locations += l.map(\.location)
        case .subscribe(let l), .scan(let l): locations += (l ?? []).map(\.location)
        case .intent(let name): locations.append(name.location)
        case .message(let kinds): locations += kinds.map(\.location)
        }
        return span(rule.location, locations)
    }

    /// A flow's lines: up to the next flow of the same file, or a few lines past its last recorded
    /// place (texts such as retry: and on_fail: have no place of their own).
    static func span(of flow: FlowSpec, next: SourceLocation?) -> Span {
        let locations = [flow.location, flow.done.location] + flow.steps.flatMap { [$0.location, $0.ask.location] }
        var result = span(flow.location, locations)
        let end = next.flatMap { $0.file == flow.location.file ? $0.line - 1 : nil } ?? result.lines.upperBound + 15
        result.lines = result.lines.lowerBound...max(result.lines.upperBound, end)
        return result
    }

    static func span(_ start: SourceLocation, _ locations: [SourceLocation]) -> Span {
        let lines = locations.filter { $0.file == start.file }.map(\.line)
        return Span(file: start.file, lines: (lines.min() ?? start.line)...(lines.max() ?? start.line))
    }
}

extension RuleSetError {
    /// The loader's error for a rule set with `diagnostics`: with them, the compile errors of the
    /// part that loaded, so that serve, test and lint name every error in one run.
    static func partial(_ spec: RuleSetSpec, _ diagnostics: [Diagnostic], complete: Bool) -> RuleSetError {
        let loaded = PartialRuleSet(spec: spec, complete: complete)
        let known = Set(diagnostics)
        let compile = loaded.compileErrors(loaded.declared()).filter { !known.contains($0) }
        return RuleSetError(diagnostics + compile, loaded: loaded)
    }
}
