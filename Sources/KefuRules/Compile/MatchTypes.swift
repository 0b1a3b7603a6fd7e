/// What a message or event is, as far as the rules are concerned. The dialogue engine maps each
/// WeChat push to one of these; the rules never see XML.
public enum MatchInput: Sendable, Equatable, CustomStringConvertible {
    case text(String)
    case event(EventInput)
    case message(MessageKind)

    /// In words, for explain and lint witnesses.
    public var description: String {
        switch self {
        case .text(let text): "message “\(text)”"
        case .event(.click(let key)): "menu click \(key)"
        case .event(.view(let url)): "menu link \(url)"
        case .event(.subscribe(let scene)): scene.map { "follow from QR scene \($0)" } ?? "a follow"
        case .event(.scan(let scene)): "QR scan \(scene)"
        case .message(let kind): "a \(kind.rawValue) message"
        }
    }
}

public enum EventInput: Sendable, Equatable {
    /// A follow; `scene` is the QR scene without its `qrscene_` prefix, if any.
    case subscribe(scene: String?)
    case scan(scene: String)
    case click(key: String)
    case view(url: String)
}

/// How a candidate rule matched, in the order of precedence (see ``Precedence``).
public enum MatchKind: String, Sendable, Comparable, CaseIterable {
    case exact, regex, contains, intent, event, message

    var rank: Int {
        switch self {
        case .exact: 0
        case .regex: 1
        case .contains: 2
        case .intent: 3
        case .event: 0
        case .message: 0
        }
    }

    public static func < (a: MatchKind, b: MatchKind) -> Bool { a.rank < b.rank }
}

/// One rule that matched, with where and how.
public struct RuleMatch: Sendable, Equatable {
    /// Index into ``CompiledRules/rules``.
    public var rule: Int
    public var ruleID: String
    public var kind: MatchKind
    /// The keyword, phrase, pattern, intent name, or event key that matched.
    public var trigger: String
    /// Where in the original message (UTF-8 byte offsets), for text matches.
    public var span: Range<Int>?
    /// Named regex groups, as the user typed them.
    public var captures: [String: String]
    /// The intent classifier's calibrated probability, for intent matches.
    public var score: Double?
    /// Tie-breaker within a kind: keyword length in characters, regex match length, event key specificity.
    public var specificity: Int
    public var priority: Int
    public var order: Int
    /// Set when the candidate is an interrupt rather than a rule.
    public var interrupt: InterruptAction? = nil
}

/// Everything the rules found for one input, best first.
public struct MatchResult: Sendable {
    public var input: MatchInput
    /// The normalized message (empty for events).
    public var normalized: NormalizedText
    /// Every rule that matched, sorted by precedence: the first one wins.
    public var candidates: [RuleMatch]
    /// The classifier's answer, when the rule set has intents and the input is text.
    public var intent: IntentPrediction?
    /// Rules that matched but do not answer at this time (`open:` / `after_hours:`), best first.
    public var outsideHours: [RuleMatch] = []

    /// What answers outside a flow: the best candidate, except cancel interrupts (there is nothing to cancel).
    public var winner: RuleMatch? { candidates.first { $0.interrupt != .cancel } }
    /// Inside a flow, the interrupt that acts before the step, if any.
    public var interrupt: RuleMatch? { candidates.first { $0.interrupt != nil } }
}
