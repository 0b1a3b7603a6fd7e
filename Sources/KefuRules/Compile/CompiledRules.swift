/// A compiled rule set: immutable, `Sendable`, and cheap to share, so a server can build a new
/// one beside the live one and swap it atomically.
///
/// Matching a text message costs one normalization, one scan of the keyword automaton (which
/// holds every `contains` keyword of every rule and the required literals of the regexes the
/// combined scan cannot read), one hash lookup for `exact`, one combined scan of the regexes
/// (``RegexSet``, on the text as regexes see it), PCRE2 only for the regexes the scans proposed
/// (plus those outside the combined scan without a required literal), and one intent
/// classification: none of it grows with the number of rules.
public struct CompiledRules: Sendable {
    public let spec: RuleSetSpec
    public let normalizer: Normalizer
    /// The character-mapping steps only (width, case, 繁→简): what regexes see.
    let mapper: Normalizer
    let automaton: KeywordAutomaton
    /// Pattern id → what it stands for (a rule's keyword, or a regex's required literal).
    let patternOwners: [[PatternOwner]]
    /// Normalized phrase → (rule, phrase index) for `exact` rules.
    let exact: [[UInt8]: [(rule: Int, phrase: Int)]]
    let regexes: [RegexEntry]
    /// Regexes outside the combined scan with no required literal: confirmed on every text message.
    let alwaysConfirm: [Int]
    /// The combined scan of the regexes it can read (``RegexSet``): proposes which of them may match.
    var regexSet: RegexSet?
    /// Pattern of the combined scan → regex.
    let combinedEntries: [Int]
    /// For a message the combined scan gives up on: the old path for its regexes.
    let combinedFallback: CombinedFallback
    /// The most capturing groups of any regex (sizes the match data shared by one message's regexes).
    let maxGroups: Int
    let classifier: IntentClassifier?
    /// Intent name → rules that answer it.
    let intentRules: [String: [Int]]
    let eventRules: [Int]
    let messageRules: [Int]
    /// `hours:` tables by name (built once: date steps and `open:` look them up per message).
    let hoursByName: [String: OpeningHours]

    public var rules: [RuleSpec] { spec.rules }
    public var defaultReply: RuleReply? { spec.defaultReply?.value }
    public var subscribeReply: RuleReply? { spec.subscribeReply?.value }
    public var keywordAutomaton: KeywordAutomaton { automaton }
    public var flows: [FlowSpec] { spec.flows }
    /// `services:` the systems `call:` steps call.
    public var services: [ServiceSpec] { spec.services }
    public func service(named name: String) -> ServiceSpec? { spec.services.first { $0.name == name } }
    public var settings: Settings { spec.settings }
    public var facts: Facts { spec.facts }
    /// `menu:` the account's custom menu, checked against WeChat's limits and the rules (MenuChecks).
    public var menu: MenuSpec? { spec.menu }
    /// `hours:` tables by name.
    public var hours: [String: OpeningHours] { hoursByName }

    /// Whether a rule's `open:` / `after_hours:` holds at `time` (always, for a rule without one).
    public func hoursHold(_ rule: Int, at time: LocalTime) -> Bool {
        guard let condition = rules[rule].hoursCondition, let table = hoursByName[condition.hours.value] else { return true }
        return table.isOpen(at: time) != condition.whenClosed
    }

    /// The text as regexes see it: the character-mapping steps only (width, case, 繁→简), punctuation kept.
    public func mapped(_ text: String) -> String { mapper.normalize(text).string }

    /// ``mapped(_:)`` with the original byte range of every byte.
    public func mappedText(_ text: String) -> NormalizedText { mapper.normalize(text) }

    /// The flow called `name` (flows are few; a linear search is cheaper than a dictionary here).
    public func flow(named name: String) -> FlowSpec? { spec.flows.first { $0.name == name } }
    public var intentClassifier: IntentClassifier? { classifier }

    enum PatternOwner: Sendable {
        case keyword(rule: Int, keyword: Int)
        case regexLiteral(regex: Int)
    }

    struct RegexEntry: Sendable {
        let rule: Int
        let index: Int  // which pattern of the rule
        let regex: PatternRegex
        let literals: [String]?
        /// Why the combined scan does not take it (nil: it does).
        let notCombined: String?
    }

    /// The required literals of the combined regexes, in an automaton of their own, and those without one.
    struct CombinedFallback: Sendable {
        let automaton: KeywordAutomaton
        let owners: [[Int]]
        let withoutLiteral: [Int]
    }

    /// The combined regex scan's cache: states, memory, resets and give-ups so far (zeros without one).
    public var regexScanStatistics: (states: Int, memoryBytes: Int, resets: Int, giveUps: Int, scans: Int, bytes: Int, patterns: Int) {
        guard let s = regexSet?.statistics else { return (0, 0, 0, 0, 0, 0, 0) }
        return (s.states, s.memoryBytes, s.resets, s.giveUps, s.scans, s.bytes, combinedEntries.count)
    }
}

extension CompiledRules {
    /// Every rule that matches `input`, best first. With `time`, rules whose `open:` / `after_hours:`
    /// does not hold then are set aside in ``MatchResult/outsideHours``; without it, hours are not looked at.
    public func match(_ input: MatchInput, at time: LocalTime? = nil) -> MatchResult {
        var result: MatchResult
        switch input {
        case .text(let text): result = matchText(text)
        case .event(let event): result = MatchResult(input: input, normalized: NormalizedText(), candidates: matchEvent(event), intent: nil)
        case .message(let kind): result = MatchResult(input: input, normalized: NormalizedText(), candidates: matchMessage(kind), intent: nil)
        }
        if let time, !hoursByName.isEmpty, result.candidates.contains(where: { rules[$0.rule].hoursCondition != nil }) {
            let holds = result.candidates.map { hoursHold($0.rule, at: time) }
            result.outsideHours = zip(result.candidates, holds).filter { !$0.1 }.map(\.0)
            result.candidates = zip(result.candidates, holds).filter { $0.1 }.map(\.0)
        }
        return result
    }

    func candidate(_ rule: Int, _ kind: MatchKind, trigger: String, span: Range<Int>? = nil, captures: [String: String] = [:],
                   score: Double? = nil, specificity: Int) -> RuleMatch {
        let spec = rules[rule]
        return RuleMatch(rule: rule, ruleID: spec.id, kind: kind, trigger: trigger, span: span, captures: captures,
                         score: score, specificity: specificity, priority: spec.priority, order: spec.order, interrupt: spec.interrupt)
    }

    func matchText(_ text: String) -> MatchResult {
        let normalized = normalizer.normalize(text)
        // Each rule's best match. Candidates are few (usually none to three), so a linear array
        // beats hashing into a dictionary on the per-message path.
        var best: [RuleMatch] = []
        func offer(_ m: RuleMatch) {
            if let i = best.firstIndex(where: { $0.rule == m.rule }) {
                if Precedence.precedes(m, best[i]) { best[i] = m }
            } else {
                best.append(m)
            }
        }
        // exact
        if let hits = exact[normalized.bytes] {
            for (rule, phrase) in hits {
                guard case .exact(let phrases) = rules[rule].condition else { continue }
                offer(candidate(rule, .exact, trigger: phrases[phrase].value, span: 0..<text.utf8.count, specificity: normalized.string.count))
            }
        }
        // one scan: keywords and regex literals
        var proposed: [Int] = []  // regexes whose literal the scan found (may repeat)
        normalized.bytes.withUnsafeBufferPointer { buffer in
            automaton.forEachMatch(in: buffer) { pattern, end in
                for owner in patternOwners[pattern] {
                    switch owner {
                    case .keyword(let rule, let keyword):
                        guard case .contains(let keywords) = rules[rule].condition else { continue }
                        let start = end - Int(automaton.patternLengths[pattern])
                        let word = keywords[keyword].value
                        offer(candidate(rule, .contains, trigger: word, span: normalized.originalRange(of: start..<end),
                                        specificity: String(decoding: normalized.bytes[start..<end], as: UTF8.self).count))
                    case .regexLiteral(let regex):
                        proposed.append(regex)
                    }
                }
            }
        }
        // regexes: proposed by the combined scan, by the keyword scan, or without literals
        if !proposed.isEmpty || !alwaysConfirm.isEmpty || regexSet != nil {
            let mapped = mapper.normalize(text)
            let toRun = regexesToConfirm(mapped: mapped, normalized: normalized, proposed: proposed)
            let utf8 = Array(text.utf8)
            let scratch = PatternRegex.Scratch(groups: maxGroups)
            for index in toRun {
                let entry = regexes[index]
                guard let m = mapped.bytes.withUnsafeBufferPointer({ entry.regex.firstMatch(in: $0, scratch: scratch) }) else { continue }
                var captures: [String: String] = [:]
                for (name, range) in m.captures {
                    let original = mapped.originalRange(of: range)
                    captures[name] = String(decoding: utf8[original], as: UTF8.self)
                }
                offer(candidate(entry.rule, .regex, trigger: entry.regex.pattern, span: mapped.originalRange(of: m.range),
                                captures: captures, specificity: m.range.count))
            }
        }
        // intents
        var prediction: IntentPrediction?
        if let classifier, !normalized.isEmpty {
            let p = classifier.classify(normalized.string)
            prediction = p
            if let intent = p.intent {
                for rule in intentRules[intent] ?? [] {
                    offer(candidate(rule, .intent, trigger: intent, score: p.score, specificity: 0))
                }
            }
        }
        let sorted = best.count > 1 ? best.sorted(by: Precedence.precedes) : best
        return MatchResult(input: .text(text), normalized: normalized, candidates: sorted, intent: prediction)
    }

    /// The regexes PCRE2 runs on for a message, sorted, without repeats: those the combined scan
    /// proposes (or, if it gave up, those whose literal the message holds), those outside it whose
    /// literal the keyword scan found (`proposed`), and those outside it without a literal.
    func regexesToConfirm(mapped: NormalizedText, normalized: NormalizedText, proposed: [Int]) -> [Int] {
        var toRun = proposed + alwaysConfirm
        if let regexSet {
            var found: [Int32] = []
            let complete = mapped.bytes.withUnsafeBufferPointer { regexSet.propose($0, into: &found) }
            if complete {
                for pattern in found { toRun.append(combinedEntries[Int(pattern)]) }
            } else {
                // The scan gave up on this message (its cache kept filling up): required literals instead.
                toRun += combinedFallback.withoutLiteral
                normalized.bytes.withUnsafeBufferPointer { buffer in
                    combinedFallback.automaton.forEachMatch(in: buffer) { pattern, _ in toRun += combinedFallback.owners[pattern] }
                }
            }
        }
        if toRun.count > 1 {
            toRun.sort()
            var unique = 0
            for i in toRun.indices where i == 0 || toRun[i] != toRun[i - 1] { toRun[unique] = toRun[i]; unique += 1 }
            toRun.removeLast(toRun.count - unique)
        }
        return toRun
    }

    /// How many regexes PCRE2 runs on for `text` (for the benchmark: what the prefilters leave).
    public func regexesConfirmed(for text: String) -> Int {
        guard !regexes.isEmpty else { return 0 }
        let normalized = normalizer.normalize(text)
        var proposed: [Int] = []
        normalized.bytes.withUnsafeBufferPointer { buffer in
            automaton.forEachMatch(in: buffer) { pattern, _ in
                for case .regexLiteral(let regex) in patternOwners[pattern] { proposed.append(regex) }
            }
        }
        return regexesToConfirm(mapped: mapper.normalize(text), normalized: normalized, proposed: proposed).count
    }

    func matchEvent(_ event: EventInput) -> [RuleMatch] {
        var found: [RuleMatch] = []
        for rule in eventRules {
            switch (rules[rule].condition, event) {
            case (.subscribe(let scenes), .subscribe(let scene)):
                if let m = Self.matchKey(scene, scenes) { found.append(candidate(rule, .event, trigger: m.trigger, specificity: m.specificity)) }
            case (.scan(let scenes), .scan(let scene)):
                if let m = Self.matchKey(scene, scenes) { found.append(candidate(rule, .event, trigger: m.trigger, specificity: m.specificity)) }
            case (.click(let keys), .click(let key)):
                if let m = Self.matchKey(key, keys) { found.append(candidate(rule, .event, trigger: m.trigger, specificity: m.specificity)) }
            case (.view(let urls), .view(let url)):
                if let m = Self.matchKey(url, urls) { found.append(candidate(rule, .event, trigger: m.trigger, specificity: m.specificity)) }
            default:
                continue
            }
        }
        return found.sorted(by: Precedence.precedes)
    }

    func matchMessage(_ kind: MessageKind) -> [RuleMatch] {
        messageRules.compactMap { rule in
            guard case .message(let kinds) = rules[rule].condition, kinds.contains(where: { $0.value == kind }) else { return nil }
            return candidate(rule, .message, trigger: kind.rawValue, specificity: 0)
        }.sorted(by: Precedence.precedes)
    }

    /// Specificity: an exact key 2, a `*` pattern 1, "any" (nil list) 0.
    static func matchKey(_ value: String?, _ patterns: [Located<String>]?) -> (trigger: String, specificity: Int)? {
        guard let patterns else { return ("any", 0) }
        guard let value else { return nil }
        var best: (String, Int)?
        for pattern in patterns.map(\.value) {
            if pattern == value { return (pattern, 2) }
            if pattern.contains("*"), glob(pattern, value), best == nil { best = (pattern, 1) }
        }
        return best
    }

    /// `*` matches any run of characters; everything else literally.
    static func glob(_ pattern: String, _ value: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(value)
        for (i, part) in parts.enumerated() {
            if i == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if i == parts.count - 1 {
                return rest.hasSuffix(part)
            } else {
                guard let range = rest.firstRange(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
        }
        return rest.isEmpty || parts.count > 1
    }
}
