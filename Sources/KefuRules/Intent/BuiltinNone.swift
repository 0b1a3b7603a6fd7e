/// Messages no intent may answer, as the classifier's "none" class learns them: where each one
/// comes from, so that `kefu explain` can say why a message was declined.
public struct NoneExample: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Kefu's built-in set (`BuiltinNone`), with the category's title (问候, 感谢, …).
        case builtin(category: String)
        /// The rule set's `intents: none:` list.
        case ruleSet(SourceLocation)
        /// An intent's `not:` list.
        case notOf(intent: String, at: SourceLocation)
    }

    /// Normalized text.
    public var text: String
    public var source: Source

    public init(text: String, source: Source) {
        self.text = text
        self.source = source
    }

    /// How `kefu explain` names the source, for a support lead.
    public var describedSource: String {
        switch source {
        case .builtin(let category): return "内置的“\(category)”类闲聊"
        case .ruleSet(let location): return "规则集的 none 例句（\(location)）"
        case .notOf(let intent, let location): return "意图 \(intent) 的 not: 例句（\(location)）"
        }
    }
}

/// Kefu's built-in "none of them" set: a few hundred ordinary messages (greetings, thanks, 好的,
/// 在吗, 你是机器人吗, asking for a human, coupons, questions for other businesses) that every rule
/// set's classifier learns as "none of them", unless `settings: builtin_none: false`.
///
/// A rule set may *mean* some of these: CrossWOZ's user acts have a `general_thank` intent, a
/// shop may declare `coupon`. So a built-in message is left out when one of the rule set's own
/// examples is (nearly) the same sentence — same letters ignoring punctuation and spaces, or
/// character-bigram overlap (Jaccard) of at least 0.6 — and a whole category is left out when
/// three or more of its messages are, so that 谢谢你了啊 is not declined by a rule set whose
/// `thank` intent lists 好的，谢谢。 but not 谢谢你了啊.
public enum BuiltinNone {
    struct Category: Sendable {
        var name: String
        /// Chinese title, for explain.
        var title: String
        var messages: [String]
    }

    /// Every built-in message, in category order.
    public static var allMessages: [String] { categories.flatMap(\.messages) }

    /// The built-in examples a rule set gets, `normalize`d, minus those like its own `examples`
    /// (already normalized); also the titles of the categories left out entirely.
    public static func examples(normalize: (String) -> String, excludingLike examples: [String])
        -> (examples: [NoneExample], droppedCategories: [String]) {
        let keys = examples.map(Self.key)
        var byKey = Set(keys)
        byKey.remove("")
        let bigramSets = keys.map(Self.bigrams)
        // Inverted index bigram → examples, so each message is compared with few examples.
        var index: [String: [Int]] = [:]
        for (i, set) in bigramSets.enumerated() {
            for b in set { index[b, default: []].append(i) }
        }
        func conflicts(_ message: String) -> Bool {
            let k = key(message)
            if k.isEmpty { return false }
            if byKey.contains(k) { return true }
            let mine = bigrams(k)
            guard !mine.isEmpty else { return false }
            var shared: [Int: Int] = [:]
            for b in mine { for i in index[b] ?? [] { shared[i, default: 0] += 1 } }
            for (i, n) in shared {
                let union = mine.count + bigramSets[i].count - n
                if Double(n) / Double(union) >= 0.6 { return true }
            }
            return false
        }
        var result: [NoneExample] = []
        var dropped: [String] = []
        for category in categories {
            let normalized = category.messages.map(normalize).filter { !$0.isEmpty }
            let conflicting = normalized.map(conflicts)
            if conflicting.filter({ $0 }).count >= 3 {
                dropped.append(category.title)
                continue
            }
            for (text, conflict) in zip(normalized, conflicting) where !conflict {
                result.append(NoneExample(text: text, source: .builtin(category: category.title)))
            }
        }
        return (result, dropped)
    }

    /// Letters, digits and ideographs only (punctuation, symbols and spaces dropped).
    static func key(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter {
            $0.properties.isAlphabetic || $0.properties.numericType != nil
        }))
    }

    static func bigrams(_ key: String) -> Set<String> {
        let chars = Array(key)
        guard chars.count >= 2 else { return chars.isEmpty ? [] : [String(chars)] }
        return Set((0..<(chars.count - 1)).map { String(chars[$0...($0 + 1)]) })
    }
}
