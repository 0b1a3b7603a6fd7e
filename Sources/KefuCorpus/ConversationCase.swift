import KefuDialogue
import KefuRules
import KefuWeChat

/// One conversation test: a user (or several) saying things, clicking, waiting, WeChat retrying,
/// and what each reply, rule and session must be. Written in YAML under Corpora/ (see docs/testing.md).
public struct ConversationCase: Sendable {
    public var name: String
    public var location: SourceLocation
    /// Local time of the rule set when the case starts (default 2026-11-25 10:00, a Wednesday).
    public var start: LocalTime
    /// Who speaks unless a step says otherwise.
    public var user: String
    public var steps: [CaseStep]
    /// `mock:` how the rule set's services answer in this case (a call nothing answers fails the case).
    public var mocks: [SimulatedCalls.Mock] = []

    public static let defaultUser = "o_test_user"
}

public struct CaseStep: Sendable {
    public enum Action: Sendable, Equatable {
        case say(String)
        /// An event or a non-text message (image, voice, location …).
        case event(InboundMessage.Content)
        /// Moves the virtual clock (seconds); due sessions are cleaned up as a server would.
        case wait(Int64)
        /// WeChat's retry of the previous message.
        case resend
    }

    public var action: Action
    /// The user who acts, when not the case's.
    public var user: String?
    public var expectations: [Located<Expectation>]
    public var location: SourceLocation
    /// The action as written, for reports: `say “我要退货”`, `event click MENU_BOOK`, `wait 31m`.
    public var summary: String
}

/// What a step's answer must be.
public enum Expectation: Sendable, Equatable {
    /// The whole reply text.
    case reply(String)
    case contains([String])
    case notContains([String])
    case regex(PatternRegex)
    /// text, news, transfer, success (no reply), image, voice, video, music.
    case type(ReplyType)
    /// The rule, interrupt, `default`, `events.subscribe` or `flow:NAME` that answered (a rule that
    /// started a flow, or digressed in one, counts too).
    case rule(String)
    /// The intent the classifier named; nil = none.
    case intent(String?)
    /// The flow the user is in after the step; nil = none.
    case flow(String?)
    /// The step the flow waits for (a slot name or `confirm`).
    case step(String)
    /// These slots have these values (others may be filled too).
    case slots([String: String])
    /// Whether a human agent has the user (handoff pause).
    case paused(Bool)
    /// What went out through WeChat's API during the step, in order (one line each, as `kefu chat`
    /// shows it): later parts of a reply, scheduled messages when a `wait` reaches their time. `[]`: nothing.
    case sent([String])
    /// The calls made during the step, in order (`erp GET /orders/DD1`), each with the body fields it must carry. `[]`: none.
    case calls([ExpectedCall])

    public enum ReplyType: String, Sendable, CaseIterable {
        case text, news, transfer, success, image, voice, video, music
    }

    /// The key as written in a case file.
    public var key: String {
        switch self {
        case .reply: "reply"
        case .contains: "contains"
        case .notContains: "not_contains"
        case .regex: "regex"
        case .type: "type"
        case .rule: "rule"
        case .intent: "intent"
        case .flow: "flow"
        case .step: "step"
        case .slots: "slots"
        case .paused: "paused"
        case .sent: "sent"
        case .calls: "calls"
        }
    }
}

/// One request a step expects: `erp POST /tickets` (the path as the customer's text, not
/// percent-encoded), and fields its JSON body must have (others may be there too).
public struct ExpectedCall: Sendable, Equatable, CustomStringConvertible {
    public var summary: String
    public var body: JSONValue?

    public init(summary: String, body: JSONValue? = nil) { self.summary = summary; self.body = body }

    public var description: String { body.map { "\(summary) \($0.json)" } ?? summary }

    /// Whether a made request is this one.
    public func matches(_ request: ServiceRequest) -> Bool {
        guard URLEncoding.decoded(request.summary) == summary else { return false }
        guard let body else { return true }
        guard let text = request.body, let actual = JSONValue.parse(Array(text.utf8)) else { return false }
        return Self.contains(actual, body)
    }

    /// `actual` has every field of `expected` with the same value (objects compared field by field, the rest exactly).
    static func contains(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
        switch (actual, expected) {
        case (.object(let a), .object(let e)): e.allSatisfy { key, value in a[key].map { contains($0, value) } ?? false }
        case (.number(let a), .string(let e)), (.string(let e), .number(let a)): JSONValue.number(a).slotText == e
        default: actual == expected
        }
    }
}

/// Every problem of a set of case files, each with its file:line:col.
public struct CorpusError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics.sorted() }
    public var description: String { diagnostics.map { $0.render() }.joined(separator: "\n") }
}
