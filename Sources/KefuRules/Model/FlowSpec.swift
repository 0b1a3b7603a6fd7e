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
    /// Messages sent later when the flow is done (reminders, follow-ups).
    public var schedule: [ScheduleSpec] = []
    /// Flows whose scheduled messages for this customer are cancelled when this flow is done
    /// (cancelling or rescheduling a booking).
    public var cancelSchedule: [Located<String>] = []
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
        /// Calls a service (`- call: erp`) and goes on by the outcome's branch.
        case call(CallSpec)

        public static func == (a: Kind, b: Kind) -> Bool {
            switch (a, b) {
            case (.slot(let x), .slot(let y)): x == y
            case (.confirm, .confirm): true
            case (.call(let x), .call(let y)): x.id == y.id
            default: false
            }
        }
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
    /// `if:` entries that compare (`party: "> 10"`, `time: ">= 2026-12-20"`, `branch: "not 望京店"`);
    /// a key with a dot (`门店.包间`) reads a fact of the row named by that slot.
    public var comparisons: [String: SlotComparison] = [:]
    /// Refusal kind (`past`, `too_far`, `closed`, `too_small`, `too_large`) → what to say instead of the built-in sentence.
    public var refusals: [String: Template] = [:]
    /// Confirm steps: only firm words confirm (是, 确认, 对 …), not a bare 嗯 or 好吧 — for cancellations.
    public var strict = false
    /// Confirm steps: the question before the numbered list of labels.
    public var change: Template?
    public var location: SourceLocation

    public static let defaultMaxAttempts = 3
    public static let defaultChange = "请问要修改哪一项？"

    public var slot: String? {
        if case .slot(let name) = kind { name } else { nil }
    }

    /// A call step's call.
    public var call: CallSpec? {
        if case .call(let spec) = kind { spec } else { nil }
    }

    public var isConfirm: Bool {
        if case .confirm = kind { true } else { false }
    }

    /// How logs, coverage and `kefu chat` name the step: its slot, `confirm`, or `call:<id>`.
    public var name: String {
        switch kind {
        case .slot(let slot): slot
        case .confirm: "confirm"
        case .call(let spec): "call:\(spec.id)"
        }
    }

    /// Whether the step applies, given the slots filled so far (and the facts, for `if:` on `table.field`).
    public func applies(to slots: [String: String], facts: Facts? = nil) -> Bool {
        condition.allSatisfy { slot, values in
            guard let value = Self.value(of: slot, slots, facts) else { return false }
            return values.contains { $0.value == value }
        } && comparisons.allSatisfy { slot, test in test.holds(for: Self.value(of: slot, slots, facts)) }
    }

    static func value(of name: String, _ slots: [String: String], _ facts: Facts?) -> String? {
        slots[name] ?? facts?.resolve(name, slots: slots)
    }

    /// Every template of the step, with where it was written (for variable checks).
    public var templates: [Template] {
        if let call { return call.templates }
        return [ask.value] + retry + (change.map { [$0] } ?? []) + { if case .reply(let t) = onFail { [t] } else { [] } }()
            + refusals.sorted { $0.key < $1.key }.map(\.value)
    }
}

/// An `if:` comparison on a slot value: numbers compare as numbers, dates (`2026-12-05`) and times
/// (`18:00`) with the date or time of a date slot, anything else as text.
public struct SlotComparison: Sendable, Equatable {
    public enum Operator: String, Sendable, CaseIterable {
        case greaterOrEqual = ">=", lessOrEqual = "<=", greater = ">", less = "<", not = "not"
    }

    public var op: Operator
    /// For `not`, any of these; for the others, one operand.
    public var operands: [String]
    public var location: SourceLocation

    public init(op: Operator, operands: [String], location: SourceLocation) {
        self.op = op; self.operands = operands; self.location = location
    }

    /// A missing value never satisfies a comparison (the step waits until the slot is filled), except `not`.
    public func holds(for value: String?) -> Bool {
        guard let value else { return false }
        if op == .not { return !operands.contains(value) }
        guard let operand = operands.first, let order = Self.compare(value, operand) else { return false }
        switch op {
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .not: return false
        }
    }

    /// The sign of value − operand, or nil when they cannot be compared (a number against a word).
    static func compare(_ value: String, _ operand: String) -> Int? {
        if let a = Double(value), let b = Double(operand) { return a < b ? -1 : a > b ? 1 : 0 }
        // A date slot holds "2026-12-05 周六 18:00"; compare its date with a date and its time with a time.
        let parts = value.split(separator: " ")
        if Self.isDate(operand), let date = parts.first, Self.isDate(String(date)) { return date < operand ? -1 : date > operand ? 1 : 0 }
        if Self.isTime(operand), let time = parts.last(where: { Self.isTime(String($0)) }) {
            let a = Self.pad(String(time)), b = Self.pad(operand)
            return a < b ? -1 : a > b ? 1 : 0
        }
        return nil
    }

    static func isDate(_ s: String) -> Bool {
        let p = s.split(separator: "-")
        return p.count == 3 && p.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil }
    }

    static func isTime(_ s: String) -> Bool {
        let p = s.split(separator: ":")
        return p.count == 2 && p.allSatisfy { Int($0) != nil }
    }

    static func pad(_ time: String) -> String { time.count == 4 ? "0" + time : time }
}

/// What an interrupt does when its condition matches (checked before any flow step).
public enum InterruptAction: String, Sendable, Equatable, CaseIterable {
    /// Ends the current flow. Outside a flow it does not answer.
    case cancel
    /// Transfers to a human agent and pauses the bot for this user.
    case handoff
}
