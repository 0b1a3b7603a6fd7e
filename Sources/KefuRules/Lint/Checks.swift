/// A rule that can never win: even on a message made of its own trigger (each keyword, phrase,
/// intent example, or event key), another rule wins first. Reported with that message as witness.
struct ShadowedRuleCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for (index, rule) in rules.rules.enumerated() where rule.interrupt != .cancel {  // cancel interrupts act only inside flows
            let witnesses: [MatchInput]
            switch rule.condition {
            case .exact(let phrases), .contains(let phrases): witnesses = phrases.map { .text($0.value) }
            case .intent(let name):
                witnesses = rules.spec.intents.first { $0.name == name.value }?.examples.map { .text($0.value) } ?? []
            case .regex(let patterns):
                // A pattern that is plain text is its own witness; others have none we can build safely.
                witnesses = patterns.compactMap { p in
                    p.value.allSatisfy { !"\\^$.|?*+()[]{}".contains($0) } ? .text(p.value) : nil
                }
            case .click(let keys): witnesses = keys.filter { !$0.value.contains("*") }.map { .event(.click(key: $0.value)) }
            case .view(let urls): witnesses = urls.filter { !$0.value.contains("*") }.map { .event(.view(url: $0.value)) }
            case .subscribe(let scenes): witnesses = scenes?.filter { !$0.value.contains("*") }.map { .event(.subscribe(scene: $0.value)) } ?? [.event(.subscribe(scene: nil))]
            case .scan(let scenes): witnesses = scenes?.filter { !$0.value.contains("*") }.map { .event(.scan(scene: $0.value)) } ?? []
            case .message(let kinds): witnesses = kinds.map { .message($0.value) }
            }
            var losses: [(input: MatchInput, mine: RuleMatch, winner: RuleMatch)] = []
            var tested = 0
            for witness in witnesses {
                let result = rules.match(witness)
                guard let mine = result.candidates.first(where: { $0.rule == index }) else { continue }
                tested += 1
                // Only a rule that can answer whenever this one can shadows it: none or the same `open:` / `after_hours:`.
                let when = rule.hoursCondition
                guard let winner = result.candidates.first(where: { $0.interrupt != .cancel && (rules.rules[$0.rule].hoursCondition == nil || rules.rules[$0.rule].hoursCondition == when) }),
                      winner.rule != index else { break }
                losses.append((witness, mine, winner))
            }
            guard tested > 0, losses.count == tested, let example = losses.first else { continue }
            found.append(Diagnostic(.warning, "shadowed-rule", at: rule.location,
                "rule '\(rule.id)' can never win: '\(example.winner.ruleID)' answers first (witness: \(example.input); \(Precedence.reason(example.mine, lostTo: example.winner)))",
                hint: "give '\(rule.id)' a higher priority, make '\(example.winner.ruleID)' narrower, or remove one of them"))
        }
        return found
    }

}

/// The same keyword (after normalization) in two rules: only one of them can answer it.
struct DuplicateKeywordCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var seen: [String: (rule: String, location: SourceLocation, hours: HoursCondition?)] = [:]
        var found: [Diagnostic] = []
        for rule in rules.rules {
            guard case .contains(let words) = rule.condition else { continue }
            for word in words {
                let key = rules.normalizer.normalize(word.value).string
                // Rules that answer at different times (open: / after_hours:) share keywords by design.
                if let first = seen[key], first.rule != rule.id, first.hours == rule.hoursCondition {
                    found.append(Diagnostic(.warning, "duplicate-keyword", at: word.location,
                        "keyword '\(word.value)' is also a keyword of '\(first.rule)' (\(first.location))",
                        hint: "keep it in one rule; the other one never answers it unless priorities differ"))
                } else if seen[key] == nil {
                    seen[key] = (rule.id, word.location, rule.hoursCondition)
                }
            }
        }
        return found
    }
}

/// Regexes that match every message, that the combined scan of all regexes cannot take (slower:
/// tried on every message with one of their literals, or on every message without one), or that
/// contain characters normalization removes from every message.
struct RegexCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let options = rules.normalizer.options
        for entry in rules.regexes {
            guard case .regex(let patterns) = rules.rules[entry.rule].condition else { continue }
            let pattern = patterns[entry.index]
            if entry.regex.matchesEmpty {
                found.append(Diagnostic(.warning, "regex-matches-empty", at: pattern.location,
                    "regex '\(pattern.value)' matches the empty message, so it matches every message",
                    hint: "require at least one character, e.g. use + instead of *"))
            } else if let reason = entry.notCombined {
                if entry.literals == nil {
                    found.append(Diagnostic(.warning, "regex-without-literal", at: pattern.location,
                        "regex '\(pattern.value)' is checked on its own, outside the combined scan of all regexes, because it uses \(reason); it has no text every match must contain, so it is tried on every message (slow with many rules)",
                        hint: "write it without that if you can; else anchor it on a word, e.g. '订单\\s*(?<order>\\d+)' instead of '(?<order>\\d{12})'"))
                } else {
                    found.append(Diagnostic(.warning, "regex-not-combined", at: pattern.location,
                        "regex '\(pattern.value)' is checked on its own, outside the combined scan of all regexes, because it uses \(reason); it is tried on every message that contains \(entry.literals!.map { "'\($0)'" }.joined(separator: " or "))",
                        hint: "it still matches as written; only speed suffers, and only with many such rules. Write it without that if you can"))
                }
            }
            if let range = pattern.value.firstMatch(of: #/\\\\[dDsSwWbB]/#)?.range {
                let escape = pattern.value[range].dropFirst()
                found.append(Diagnostic(.warning, "regex-double-backslash", at: pattern.location,
                    "regex '\(pattern.value)' has '\(pattern.value[range])': two backslashes match a backslash typed by the customer, followed by '\(escape.dropFirst())'",
                    hint: "in single quotes write one backslash: '\(escape)' (only in double quotes does YAML need two)"))
            }
            let changed = pattern.value.unicodeScalars.filter { scalar in
                (options.width && Normalizer.halfWidth(scalar) != scalar)
                    || (options.chinese == .simplified && ChineseConversion.simplified(scalar.value) != nil)
            }
            if let first = changed.first {
                found.append(Diagnostic(.warning, "regex-unnormalized", at: pattern.location,
                    "regex '\(pattern.value)' contains '\(first)', which no message contains after normalization",
                    hint: "write it as normalization leaves it (半角, 简体): '\(Normalizer(options).normalize(String(first)).string)'"))
            }
        }
        return found
    }
}

/// The same example in two intents; intents no rule uses.
struct IntentCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        var seen: [String: String] = [:]
        for intent in rules.spec.intents {
            for example in intent.examples {
                let key = rules.normalizer.normalize(example.value).string
                if let other = seen[key], other != intent.name {
                    found.append(Diagnostic(.warning, "intent-collision", at: example.location,
                        "example '\(example.value)' of intent '\(intent.name)' is also an example of '\(other)'",
                        hint: "an utterance can teach only one intent; keep it where it belongs"))
                } else {
                    seen[key] = intent.name
                }
            }
            let used = rules.rules.contains { if case .intent(let name) = $0.condition { name.value == intent.name } else { false } }
            if !used {
                found.append(Diagnostic(.warning, "unused-intent", at: intent.location, "no rule answers intent '\(intent.name)'",
                    hint: "add a rule with when: {intent: \(intent.name)} or remove the intent"))
            }
        }
        return found
    }
}

/// Replies WeChat would cut or drop.
struct ReplyCheck: LintCheck {
    /// WeChat is known to deliver about 2048 bytes of passive text; the contract keeps a margin.
    static let textLimit = 2000

    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        var replies: [(String, RuleReply, SourceLocation, Bool)] = rules.rules.compactMap { rule in
            rule.reply.map { (rule.id, $0, rule.replyLocation, !rule.condition.isText && !Self.isMessage(rule.condition)) }
        }
        if let d = rules.spec.defaultReply { replies.append(("default", d.value, d.location, false)) }
        if let s = rules.spec.subscribeReply { replies.append(("subscribe", s.value, s.location, true)) }
        for (id, reply, location, isEvent) in replies {
            for text in Self.texts(reply) where text.utf8.count > Self.textLimit {
                found.append(Diagnostic(.warning, "reply-too-long", at: location,
                    "the reply of '\(id)' is \(text.utf8.count) bytes; WeChat cuts passive text at about 2048 bytes (kefu keeps to \(Self.textLimit))",
                    hint: "shorten it, or link to an article with a news reply"))
            }
            for articles in Self.news(reply) {
                if !isEvent, articles > 1 {
                    found.append(Diagnostic(.warning, "news-articles", at: location,
                        "the reply of '\(id)' has \(articles) news articles; in answer to a message WeChat shows only 1",
                        hint: "keep one article"))
                } else if articles > 8 {
                    found.append(Diagnostic(.warning, "news-articles", at: location,
                        "the reply of '\(id)' has \(articles) news articles; WeChat shows at most 8", hint: "keep 8 or fewer"))
                }
            }
            if isEvent, Self.transfers(reply) {
                found.append(Diagnostic(.warning, "transfer-on-event", at: location,
                    "'\(id)' answers an event with transfer; WeChat hands only user messages to agents",
                    hint: "reply with text that tells the user how to reach an agent instead"))
            }
        }
        return found
    }

    static func isMessage(_ c: Condition) -> Bool { if case .message = c { true } else { false } }

    static func texts(_ reply: RuleReply) -> [String] {
        switch reply {
        case .text(let t): [t.source]
        case .inOrder(let ts): [ts.map(\.source).joined(separator: "\n\n")]
        case .random(let rs): rs.flatMap(texts)
        default: []
        }
    }

    static func news(_ reply: RuleReply) -> [Int] {
        switch reply {
        case .news(let a): [a.count]
        case .random(let rs): rs.flatMap(news)
        default: []
        }
    }

    static func transfers(_ reply: RuleReply) -> Bool {
        switch reply {
        case .transfer: true
        case .random(let rs): rs.contains(where: transfers)
        default: false
        }
    }
}

/// No default reply: messages no rule answers get no answer at all.
struct DefaultReplyCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        guard rules.spec.defaultReply == nil, let first = rules.spec.sources.keys.sorted().first else { return [] }
        return [Diagnostic(.warning, "no-default", at: SourceLocation(file: first, line: 1, column: 1),
            "the rule set has no default reply: a message no rule answers gets no answer",
            hint: "add e.g. default: 抱歉，我没有理解。回复“人工”联系客服。")]
    }
}
