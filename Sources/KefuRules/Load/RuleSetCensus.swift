/// What each rule file of a rule set holds, by name: its rules (and interrupts), intents and flows.
/// Two censuses compared (``RuleSetChange``) say what a reload adds and removes, file by file.
public struct RuleSetCensus: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// Rule and interrupt ids, intent names, flow names, in file order.
        public var rules: [String] = []
        public var intents: [String] = []
        public var flows: [String] = []
        public init() {}
    }

    /// Every file read, by its path as diagnostics show it (an empty file too).
    public var files: [String: File]

    public init(_ spec: RuleSetSpec) {
        var files: [String: File] = [:]
        for path in spec.sources.keys { files[path] = File() }
        for rule in spec.rules.sorted(by: { $0.location < $1.location }) { files[rule.location.file, default: File()].rules.append(rule.id) }
        for intent in spec.intents { files[intent.location.file, default: File()].intents.append(intent.name) }
        for flow in spec.flows { files[flow.location.file, default: File()].flows.append(flow.name) }
        self.files = files
    }

    public var ruleCount: Int { files.values.reduce(0) { $0 + $1.rules.count } }
    public var intentCount: Int { files.values.reduce(0) { $0 + $1.intents.count } }
    public var flowCount: Int { files.values.reduce(0) { $0 + $1.flows.count } }
}

/// What a reload would change, from the live rule set's census to the new one's, and whether it
/// looks like a file caught half-written rather than an edit: a reload that loses more than half
/// of one file's rules (or intents, or flows), a whole file's worth included, is suspicious.
/// A rule that moves to another file, or a file renamed, loses nothing.
public struct RuleSetChange: Sendable {
    public let before: RuleSetCensus
    public let after: RuleSetCensus

    public init(from before: RuleSetCensus, to after: RuleSetCensus) {
        self.before = before
        self.after = after
    }

    /// Names in `before` that `after` no longer has anywhere, in file and then declaration order.
    public var removedRules: [String] { Self.gone(\.rules, from: before, in: after) }
    public var removedIntents: [String] { Self.gone(\.intents, from: before, in: after) }
    public var removedFlows: [String] { Self.gone(\.flows, from: before, in: after) }
    public var addedRules: [String] { Self.gone(\.rules, from: after, in: before) }
    public var addedIntents: [String] { Self.gone(\.intents, from: after, in: before) }
    public var addedFlows: [String] { Self.gone(\.flows, from: after, in: before) }

    private static func gone(_ kind: KeyPath<RuleSetCensus.File, [String]>, from a: RuleSetCensus, in b: RuleSetCensus) -> [String] {
        let kept = Set(b.files.values.flatMap { $0[keyPath: kind] })
        return a.files.keys.sorted().flatMap { a.files[$0]![keyPath: kind].filter { !kept.contains($0) } }
    }

    /// One sentence per file that loses more than half of its rules, intents or flows; empty if none does.
    public var suspicious: [String] {
        var found: [String] = []
        for path in before.files.keys.sorted() {
            let old = before.files[path]!
            let new = after.files[path]
            let state = new == nil ? " (the file is gone)" : new == RuleSetCensus.File() ? " (the file is now empty)" : ""
            for (kind, noun) in [(\RuleSetCensus.File.rules, "rules"), (\.intents, "intents"), (\.flows, "flows")] {
                let names = old[keyPath: kind]
                let kept = Set(after.files.values.flatMap { $0[keyPath: kind] })
                let lost = names.filter { !kept.contains($0) }.count
                guard lost * 2 > names.count else { continue }
                found.append(lost == names.count
                    ? "\(path) would lose all its \(Self.count(names.count, noun))\(state)"
                    : "\(path) would lose \(lost) of its \(Self.count(names.count, noun))\(state)")
            }
        }
        return found
    }

    public var isSuspicious: Bool { !suspicious.isEmpty }

    /// Whether any rule, intent or flow is removed.
    public var removesAnything: Bool { !removedRules.isEmpty || !removedIntents.isEmpty || !removedFlows.isEmpty }

    /// `42 → 40 rules; Rules/shop/faq.yaml 12 → 10; removed: a, b`: the totals, each file whose
    /// counts change, and the names removed and added.
    public var summary: String {
        var parts = ["\(before.ruleCount) → \(after.ruleCount) rules"]
        if before.intentCount != after.intentCount { parts[0] += ", \(before.intentCount) → \(after.intentCount) intents" }
        if before.flowCount != after.flowCount { parts[0] += ", \(before.flowCount) → \(after.flowCount) flows" }
        for path in Set(before.files.keys).union(after.files.keys).sorted() {
            let old = before.files[path], new = after.files[path]
            guard old?.rules.count != new?.rules.count || old?.intents.count != new?.intents.count || old?.flows.count != new?.flows.count else { continue }
            func counts(_ file: RuleSetCensus.File) -> String {
                var text = Self.count(file.rules.count, "rules")
                if file.intents.count > 0 || (old?.intents.count ?? 0) != (new?.intents.count ?? 0) { text += ", " + Self.count(file.intents.count, "intents") }
                if file.flows.count > 0 || (old?.flows.count ?? 0) != (new?.flows.count ?? 0) { text += ", " + Self.count(file.flows.count, "flows") }
                return text
            }
            switch (old, new) {
            case (let old?, let new?) where old.intents.count == new.intents.count && old.flows.count == new.flows.count:
                parts.append("\(path) \(old.rules.count) → \(new.rules.count)")
            case (let old?, let new?): parts.append("\(path) \(counts(old)) → \(counts(new))")
            case (nil, let new?): parts.append("\(path) new (\(counts(new)))")
            case (let old?, nil): parts.append("\(path) gone (was \(counts(old)))")
            case (nil, nil): break
            }
        }
        let removed = removedRules + removedIntents.map { "intent \($0)" } + removedFlows.map { "flow \($0)" }
        let added = addedRules + addedIntents.map { "intent \($0)" } + addedFlows.map { "flow \($0)" }
        if !removed.isEmpty { parts.append("removed: " + Self.list(removed)) }
        if !added.isEmpty { parts.append("added: " + Self.list(added)) }
        if removed.isEmpty, added.isEmpty { parts.append("no rule, intent or flow added or removed") }
        return parts.joined(separator: "; ")
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(n == 1 ? String(noun.dropLast()) : noun)" }

    static func list(_ names: [String], limit: Int = 10) -> String {
        names.count <= limit ? names.joined(separator: ", ") : names.prefix(limit).joined(separator: ", ") + " and \(names.count - limit) more"
    }
}
