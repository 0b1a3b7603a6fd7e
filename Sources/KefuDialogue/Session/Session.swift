import KefuRules

/// What the bot remembers about one user between messages: where they are in a flow, whether a
/// human agent has them, and a notice owed to them (a flow that expired while they were away).
///
/// A session is a value. The engine takes the stored one and returns the next; the store keeps it
/// in the same transaction as the answer, so a crash leaves either the old session and no answer,
/// or the new session and its answer.
public struct Session: Sendable, Codable, Equatable {
    public var user: String
    public var flow: FlowProgress?
    /// Handoff: until then every message from the user is transferred to the agent (events are not).
    public var pausedUntil: Int64?
    /// Said with the answer to the user's next message (a flow's `on_expire`).
    public var notice: String?
    /// A notice older than this is dropped unsaid.
    public var noticeUntil: Int64?
    public var updatedAt: Int64

    public init(user: String, flow: FlowProgress? = nil, pausedUntil: Int64? = nil, notice: String? = nil,
                noticeUntil: Int64? = nil, updatedAt: Int64) {
        self.user = user; self.flow = flow; self.pausedUntil = pausedUntil; self.notice = notice
        self.noticeUntil = noticeUntil; self.updatedAt = updatedAt
    }

    /// How long an expiry notice waits for the user's next message.
    public static let noticeRetention: Int64 = 7 * 86_400

    /// Nothing to remember: the store deletes it.
    public var isEmpty: Bool { flow == nil && pausedUntil == nil && notice == nil }

    /// When something happens to the session without a message (a flow expires, a pause ends, a
    /// notice is dropped): the store's clean-up looks at it again then.
    public var due: Int64? {
        [flow?.expiresAt, pausedUntil, notice == nil ? nil : noticeUntil].compactMap { $0 }.min()
    }
}

/// One user's place in one flow.
public struct FlowProgress: Sendable, Codable, Equatable {
    public var name: String
    /// Slot → value, as the steps filled them.
    public var slots: [String: String]
    /// The step being asked (index into the flow's steps).
    public var step: Int
    /// Wrong answers in a row to this step.
    public var attempts: Int
    /// Confirm steps already answered 是 (indices); emptied when a slot changes.
    public var confirmed: [Int]
    /// At a confirm step, the customer said 否 and was shown the numbered list of what to change.
    public var choosingChange: Bool
    public var startedAt: Int64
    public var lastActivity: Int64
    public var expiresAt: Int64
    /// The flow instance: the de-duplication key of the message that started it (part of every
    /// call's idempotency key, so a retry of that message starts the same instance).
    public var instance: String?
    /// Call steps done in this pass (indices); emptied when a slot changes, so the calls run again.
    public var calledSteps: [Int]?
    /// Call step id → how many times it ran in this instance (a new run gets a new idempotency key).
    public var callRuns: [String: Int]?
    /// A call whose result the flow waits for.
    public var pending: PendingCall?

    public init(name: String, slots: [String: String] = [:], step: Int = 0, attempts: Int = 0, confirmed: [Int] = [],
                choosingChange: Bool = false, startedAt: Int64, lastActivity: Int64, expiresAt: Int64) {
        self.name = name; self.slots = slots; self.step = step; self.attempts = attempts; self.confirmed = confirmed
        self.choosingChange = choosingChange; self.startedAt = startedAt; self.lastActivity = lastActivity; self.expiresAt = expiresAt
    }

    var called: [Int] {
        get { calledSteps ?? [] }
        set { calledSteps = newValue.isEmpty ? nil : newValue }
    }
}

/// A call the flow waits for: which step, by which key, since when, and until when the result may come.
public struct PendingCall: Sendable, Codable, Equatable {
    public var step: Int
    public var request: ServiceRequest
    public var since: Int64
    /// After this the result is not waited for any more (the service's timeout for a read, its
    /// retries for a write, plus a margin): the next message finds the flow free again.
    public var until: Int64

    public init(step: Int, request: ServiceRequest, since: Int64, until: Int64) {
        self.step = step; self.request = request; self.since = since; self.until = until
    }
}
