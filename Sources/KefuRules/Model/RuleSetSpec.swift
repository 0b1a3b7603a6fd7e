/// A rule set as its authors wrote it, read from a folder of YAML files and checked for form
/// (every value in the right shape, every name known), with the source location of everything,
/// but not yet compiled. ``RuleSetCompiler`` turns it into ``CompiledRules``.
public struct RuleSetSpec: Sendable {
    public var settings: Settings
    /// In declaration order: files sorted by name, then top to bottom.
    public var rules: [RuleSpec]
    public var intents: [IntentSpec]
    /// `flows:` by name, in declaration order. A rule's `call:` is a flow of its own, named `rule:<id>`.
    public var flows: [FlowSpec]
    /// `services:` the company systems `call:` steps may call, in declaration order.
    public var services: [ServiceSpec] = []
    /// `events: {subscribe: …}`: the reply to a follow that no `subscribe` rule answers.
    public var subscribeReply: Located<RuleReply>?
    /// `default: …`: the reply when nothing matches a text message.
    public var defaultReply: Located<RuleReply>?
    /// `hours:` tables by name, in declaration order.
    public var hours: [OpeningHours] = []
    /// `facts:` plain values and tables.
    public var facts = Facts()
    /// File path → text, for diagnostics that quote the source.
    public var sources: [String: String]
    /// `intents: none:` messages no intent may answer (the classifier's "none of them" class).
    public var noneExamples: [Located<String>] = []
    /// `menu:` the account's custom menu (in one file of the rule set), if the rule set has one.
    public var menu: MenuSpec?
    /// Where `menu:` was written, also when it did not read (so that a second one is still reported).
    package var menuDeclaredAt: SourceLocation?
    /// The rule-set folder the files were read from (nil for files given in memory): media files
    /// in replies (`image: {file: …}`) are relative to it.
    public var directory: String?

    public init(settings: Settings = Settings(), rules: [RuleSpec] = [], intents: [IntentSpec] = [], flows: [FlowSpec] = [],
                subscribeReply: Located<RuleReply>? = nil, defaultReply: Located<RuleReply>? = nil, sources: [String: String] = [:]) {
        self.settings = settings
        self.rules = rules
        self.intents = intents
        self.flows = flows
        self.subscribeReply = subscribeReply
        self.defaultReply = defaultReply
        self.sources = sources
    }
}

/// A value and where it was written.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation
    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// Rule-set-wide settings (`settings:` in one file of the folder).
public struct Settings: Sendable, Equatable {
    public var normalization = NormalizationOptions()
    /// Overrides the intent classifier's calibrated "none of them" threshold for every intent.
    public var intentThreshold: Double?
    /// `builtin_none:` whether the intent classifier also learns Kefu's built-in "none of them"
    /// messages (greetings, thanks, 在吗 …; `BuiltinNone`). Default true.
    public var builtinNone = true
    /// The account's UTC offset in seconds, for the dates customers say (明天, 下周三). Default +08:00.
    public var utcOffset: Int64 = 8 * 3600
    /// After a transfer to a human, how long (seconds) the bot stays out of the way. Default 30 minutes,
    /// the time after which WeChat releases an idle agent session.
    public var handoffPause: Int64 = 30 * 60
    /// `confirm_words:` / `deny_words:`: the business's own words for yes and no at confirm steps,
    /// added to the built-in ones (normalized as messages are). They count at strict steps too.
    public var confirmWords: [String] = []
    public var denyWords: [String] = []
    public var location: SourceLocation?
    public init() {}
}

/// A rule, or an interrupt (`interrupts:`), which is matched like a rule but acts before any flow step.
public struct RuleSpec: Sendable {
    public var id: String
    public var condition: Condition
    /// What it says; nil for a rule that only starts a flow, or an interrupt without a reply of its own.
    public var reply: RuleReply?
    /// `flow:` the flow the rule starts; its named captures fill slots of the same name.
    public var flow: Located<String>?
    /// Set for the entries of `interrupts:`.
    public var interrupt: InterruptAction?
    /// `open:` / `after_hours:` beside the condition: the rule answers only then.
    public var hoursCondition: HoursCondition? = nil
    /// Higher wins; 0 unless set. See ``Precedence``.
    public var priority: Int
    /// Where the rule starts (its `- id:` line).
    public var location: SourceLocation
    public var replyLocation: SourceLocation
    /// Position in the whole rule set (files by name, then top to bottom): the last tie-breaker.
    public var order: Int
}

public struct IntentSpec: Sendable {
    public var name: String
    public var examples: [Located<String>]
    public var location: SourceLocation
    /// `not:` messages this intent must not answer; the classifier learns them as "none of them".
    public var negatives: [Located<String>] = []
}

/// What a rule answers. Exactly one per rule.
public enum Condition: Sendable, Equatable {
    /// The whole message, after normalization, is one of these.
    case exact([Located<String>])
    /// The message contains one of these keywords.
    case contains([Located<String>])
    /// One of these PCRE2 patterns (UTF, Unicode properties) matches; named groups become captures.
    case regex([Located<String>])
    /// The intent classifier names this intent.
    case intent(Located<String>)
    /// A follow; `nil` = any follow, else one of these QR scenes (the part after `qrscene_`).
    case subscribe(scenes: [Located<String>]?)
    /// A follower scanned a parametric QR code; `nil` = any scene.
    case scan(scenes: [Located<String>]?)
    /// A menu click with one of these keys (`*` matches any run of characters).
    case click([Located<String>])
    /// A menu link to one of these URLs (`*` allowed).
    case view([Located<String>])
    /// A message of one of these kinds (image, voice, video, …).
    case message([Located<MessageKind>])

    /// The condition's key as written in YAML.
    public var kind: String {
        switch self {
        case .exact: "exact"
        case .contains: "contains"
        case .regex: "regex"
        case .intent: "intent"
        case .subscribe: "subscribe"
        case .scan: "scan"
        case .click: "click"
        case .view: "view"
        case .message: "message"
        }
    }

    /// Whether it answers text (as opposed to events and media).
    public var isText: Bool {
        switch self {
        case .exact, .contains, .regex, .intent: true
        default: false
        }
    }
}

/// Kinds of non-text message a rule can answer.
public enum MessageKind: String, Sendable, CaseIterable, Hashable {
    case image, voice, video, shortvideo, link, file, location
}
