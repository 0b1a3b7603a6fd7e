/// A `call:` step of a flow (or a rule's `call:`, which is a one-step flow of its own): one HTTP
/// request to a declared service, what to keep from its answer, and what to do on each outcome.
///
///     - call: erp
///       id: lookup-order
///       get: /orders/{{order}}
///       wait: 3s
///       save: {status: $.status, carrier: $.shipment.carrier}
///       map: {status: {SHIPPED: 已发货, CREATED: 待发货}}
///       on:
///         ok: 订单 {{order}}：{{status}}
///         404: {reply: 没有查到订单 {{order}}, goto: order}
///         error: {handoff: 系统忙，已为您转人工。}
///         slow: 正在查询，结果稍后发给您。
///
/// Reads (GET) are made while the customer waits. Writes (POST, PUT, PATCH, DELETE) are written to
/// the outbox with the turn, carry an idempotency key, and are retried on network errors,
/// timeouts, 408, 429 and 5xx until the service's `retry:` runs out (then `failed`).
public struct CallSpec: Sendable {
    public enum Method: String, Sendable, CaseIterable, Codable {
        case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"
        /// The key a step writes it as (`get:`, `post:` …).
        public var key: String { rawValue.lowercased() }
        public var isWrite: Bool { self != .get }
    }

    /// Unique within the flow (`<service>-<method>` unless written as `id:`); part of the idempotency key.
    public var id: String
    public var service: Located<String>
    public var method: Method
    /// Below the service's base path; `{{slot}}` values are URL-encoded (a value can never add a `/` or a `?`).
    public var path: Located<Template>
    /// In the order written; values URL-encoded.
    public var query: [(name: String, value: Template)] = []
    /// The JSON body (writes); string values are templates.
    public var body: JSONTemplate?
    /// How long the customer's answer waits for the result (ms); nil: as long as the budget allows.
    public var waitMs: Int64?
    /// Slot → where in the response it is (`$.shipment.carrier`).
    public var save: [(slot: String, path: JSONPath, location: SourceLocation)] = []
    /// Slot → code → the word the customer sees.
    public var map: [String: [String: String]] = [:]
    /// What each outcome does. Missing `error` on a read is a load error; a write without `failed` uses `error`.
    public var branches: [CallOutcome: Located<[CallBranch]>] = [:]
    /// `slow:` the passive reply when the result is not there within `wait` (nil: `success`, nothing said).
    public var slow: Template?
    public var location: SourceLocation

    public init(id: String, service: Located<String>, method: Method, path: Located<Template>, location: SourceLocation) {
        self.id = id; self.service = service; self.method = method; self.path = path; self.location = location
    }

    /// Every template of the step (for variable checks): path, query, body, branch replies, slow.
    public var templates: [Template] {
        [path.value] + query.map(\.value) + (body?.templates ?? []) + (slow.map { [$0] } ?? [])
            + branches.sorted { $0.key < $1.key }.flatMap { $0.value.value.flatMap { $0.reply?.templates ?? [] } }
    }

    /// The branch list for a result: its exact status, else `ok` for 2xx, else `failed` (writes whose retries ran
    /// out, falling back to `error`), else `error` (falling back to `failed`: a write that names only `failed:` must
    /// not go on as if it had worked when the system refused it).
    public func branches(for outcome: CallOutcome) -> (outcome: CallOutcome, branches: [CallBranch])? {
        if let exact = branches[outcome] { return (outcome, exact.value) }
        if outcome == .failed, let error = branches[.error] { return (.error, error.value) }
        if outcome == .error, let failed = branches[.failed] { return (.failed, failed.value) }
        return nil
    }
}

/// What came of a call, as a branch name of `on:`.
public enum CallOutcome: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 2xx (unless a branch names that exact status).
    case ok
    /// A status with a branch of its own (404, 409 …).
    case status(Int)
    /// Anything else: a network error, a timeout, an unexpected status, a body that is not JSON.
    case error
    /// Writes: the retries ran out.
    case failed

    public init?(key: String) {
        switch key {
        case "ok": self = .ok
        case "error": self = .error
        case "failed": self = .failed
        default:
            guard let code = Int(key), (100...599).contains(code) else { return nil }
            self = .status(code)
        }
    }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .status(let code): String(code)
        case .error: "error"
        case .failed: "failed"
        }
    }

    public static func < (a: CallOutcome, b: CallOutcome) -> Bool { a.description < b.description }
}

/// One entry of an outcome: an optional `if:` on slots (the first entry whose `if` holds is taken),
/// what to say, and where the flow goes.
public struct CallBranch: Sendable {
    public enum Then: Sendable, Equatable {
        /// On to the next step (after a `goto`, that step).
        case next
        /// Back to a slot step: the slot is emptied and asked again (and the call made again after it).
        case goto(String)
        /// End the flow (the reply, or the flow's `cancelled` text).
        case cancel
        /// Transfer to a human (the reply is said first when the answer goes out later).
        case handoff
    }

    public var condition: [String: [Located<String>]] = [:]
    public var comparisons: [String: SlotComparison] = [:]
    public var reply: RuleReply?
    public var then: Then = .next
    public var location: SourceLocation

    public init(reply: RuleReply? = nil, then: Then = .next, location: SourceLocation) {
        self.reply = reply; self.then = then; self.location = location
    }

    /// Whether the entry's `if:` holds for these slots (an entry without `if:` always does).
    public func applies(to slots: [String: String], facts: Facts? = nil) -> Bool {
        condition.allSatisfy { slot, values in
            guard let value = StepSpec.value(of: slot, slots, facts) else { return false }
            return values.contains { $0.value == value }
        } && comparisons.allSatisfy { slot, test in test.holds(for: StepSpec.value(of: slot, slots, facts)) }
    }
}
