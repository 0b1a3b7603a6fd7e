/// A multi-step flow as written under `flows:`: steps that fill slots, then a done reply.
///
/// A flow is data; the dialogue engine walks it. The step to ask is always the first step whose
/// `if` holds and whose slot is still empty (or, for a confirm step, not yet confirmed), so filled
/// steps are skipped, branches follow slot values, and changing a slot at the confirm step simply
/// empties it (and the slots that branch on it) and lets the walk find it again.
public struct FlowSpec: Sendable {
    public var name: String
    /// What the flow is, in the customer's words (default: the name).
    public var title: String
    /// Idle seconds after which the flow is dropped.
    public var expires: Int64
    public var onExpire: Template?
    /// Said before the first question.
    public var start: Template?
    /// Said when the flow is cancelled without an interrupt reply of its own.
    public var cancelled: Template?
    public var steps: [StepSpec]
    public var done: Located<RuleReply>
    public var location: SourceLocation

    public static let defaultExpiry: Int64 = 30 * 60
    public static let defaultCancelled = "好的，已取消。"

    /// Every slot the flow's steps fill, in step order, without repeats.
    public var slots: [String] {
        var seen: Set<String> = []
        return steps.compactMap { step in
            guard let slot = step.slot, seen.insert(slot).inserted else { return nil }
            return slot
        }
    }
}

public struct StepSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Asks for a value and keeps it as this slot.
        case slot(String)
        /// Shows what was collected and asks 是/否; 否 offers to change a slot.
        case confirm
    }

    /// What happens after `maxAttempts` wrong answers in a row.
    public enum Failure: Sendable, Equatable {
        case cancel
        case handoff
        /// Say this and keep waiting for the same step (the count starts over).
        case reply(Template)
    }

    public var kind: Kind
    /// The slot as the customer knows it (the change menu of a confirm step).
    public var label: String
    public var ask: Located<Template>
    public var expectation: StepExpectation
    public var retry: [Template]
    public var maxAttempts: Int
    public var onFail: Failure
    /// `if:` slot → the values for which the step is asked; empty = always.
    public var condition: [String: [Located<String>]]
    /// Confirm steps: the question before the numbered list of labels.
    public var change: Template?
    public var location: SourceLocation

    public static let defaultMaxAttempts = 3
    public static let defaultChange = "请问要修改哪一项？"

    public var slot: String? {
        if case .slot(let name) = kind { name } else { nil }
    }

    /// Whether the step applies, given the slots filled so far.
    public func applies(to slots: [String: String]) -> Bool {
        condition.allSatisfy { slot, values in
            guard let value = slots[slot] else { return false }
            return values.contains { $0.value == value }
        }
    }

    /// Every template of the step, with where it was written (for variable checks).
    public var templates: [Template] {
        [ask.value] + retry + (change.map { [$0] } ?? []) + { if case .reply(let t) = onFail { [t] } else { [] } }()
    }
}

/// What an interrupt does when its condition matches (checked before any flow step).
public enum InterruptAction: String, Sendable, Equatable, CaseIterable {
    /// Ends the current flow. Outside a flow it does not answer.
    case cancel
    /// Transfers to a human agent and pauses the bot for this user.
    case handoff
}
