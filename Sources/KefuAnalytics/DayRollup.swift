import KefuDialogue

/// One day of the conversation log, counted: the figures every page and `kefu report` add up.
/// A closed day's rollup is computed once and kept by the store; today's is counted from the log
/// each time (its lines are few next to the whole log, and found by the time index).
public struct DayRollup: Codable, Sendable, Equatable {
    public var day: Int
    /// Messages of customers (not call results or clean-up lines).
    public var messages = 0
    /// Distinct users who sent a message that day.
    public var users = 0
    /// Messages by ``AnswerKind`` (raw value).
    public var byKind: [String: Int] = [:]
    /// Default replies where the intent classifier declined.
    public var declined = 0
    /// Answer times: ``LatencyHistogram`` buckets → messages.
    public var latency: [Int: Int] = [:]
    /// The rule column of answered messages → hits (rules, intents, events; a rule answering inside a flow counts too).
    public var rules: [String: Int] = [:]
    /// Flow name → what its customers did that day.
    public var flows: [String: FlowDay] = [:]

    public init(day: Int) { self.day = day }

    public func count(_ kind: AnswerKind) -> Int { byKind[kind.rawValue] ?? 0 }

    /// Adds one line of the log (lines of the day, any order; `users` is set by ``finish(users:)``).
    public mutating func add(_ turn: ConversationTurn) {
        let kind = turn.answerKind
        if turn.isCustomerMessage {
            messages += 1
            byKind[kind.rawValue, default: 0] += 1
            if kind == .defaultReply, turn.declined != nil { declined += 1 }
            latency[LatencyHistogram.bucket(microseconds: turn.latencyMicroseconds), default: 0] += 1
            if [.rule, .intent, .event].contains(kind), !turn.rule.isEmpty { rules[turn.rule, default: 0] += 1 }
        }
        if let mark = turn.flowMark { flows[mark.flow, default: FlowDay()].add(mark, next: turn.flow == mark.flow ? turn.step : nil) }
    }

    /// Adds another rollup's counts (days of a period; `users` adds up as user-days).
    public mutating func merge(_ other: DayRollup) {
        messages += other.messages
        users += other.users
        declined += other.declined
        for (k, n) in other.byKind { byKind[k, default: 0] += n }
        for (k, n) in other.latency { latency[k, default: 0] += n }
        for (k, n) in other.rules { rules[k, default: 0] += n }
        for (k, f) in other.flows { flows[k, default: FlowDay()].merge(f) }
    }

    /// Counts one day from its lines.
    public static func of(day: Int, lines: some Sequence<ConversationTurn>) -> DayRollup {
        var rollup = DayRollup(day: day)
        var users = Set<String>()
        for turn in lines {
            rollup.add(turn)
            if turn.isCustomerMessage { users.insert(turn.user) }
        }
        rollup.users = users.count
        return rollup
    }
}

/// One flow's day: starts, ends, and per step how many reached it and how often it was asked again.
public struct FlowDay: Codable, Sendable, Equatable {
    public var started = 0
    public var done = 0
    public var cancelled = 0
    public var expired = 0
    public var handedOff = 0
    /// Call results that were `failed` or `error`.
    public var failedCalls = 0
    /// Step → times a customer got to it (asked it for the first time in a run).
    public var reached: [String: Int] = [:]
    /// Step → times it was asked again (a wrong or refused answer, an `on_fail` reply).
    public var reasked: [String: Int] = [:]
    /// Step → flows that ended there unfinished (cancelled, expired, handed off).
    public var endedAt: [String: Int] = [:]
    /// Step → failed calls there.
    public var failedAt: [String: Int] = [:]

    public init() {}

    /// Adds a turn's mark; `next` is the step the flow asks after the turn (a step reached when the
    /// flow starts, a slot is filled or a call's result moves it on).
    public mutating func add(_ mark: FlowMark, next: String?) {
        let step = mark.step ?? "?"
        let action = mark.action
        if mark.isStart { started += 1 }
        // A step is reached when the flow asks it after starting, a filled slot or a call's result; a call step when it is called.
        if let next, mark.isStart || action == "filled" || action.hasPrefix("called.") { reached[next, default: 0] += 1 }
        if action == "calling" || (action.hasPrefix("called.") && mark.isStart) { reached[step, default: 0] += 1 }
        switch action {
        case "started", "filled", "changing", "digression", "calling", "waiting": break
        case "reasked", "refused", "failed": reasked[step, default: 0] += 1
        case "done": done += 1
        case "cancelled": cancelled += 1; endedAt[step, default: 0] += 1
        case "expired": expired += 1; endedAt[step, default: 0] += 1
        case "handoff": handedOff += 1; endedAt[step, default: 0] += 1
        default:
            if action == "called.failed" || action == "called.error" {
                failedCalls += 1; failedAt[step, default: 0] += 1
            }
        }
    }

    public mutating func merge(_ other: FlowDay) {
        started += other.started; done += other.done; cancelled += other.cancelled; expired += other.expired
        handedOff += other.handedOff; failedCalls += other.failedCalls
        for (k, n) in other.reached { reached[k, default: 0] += n }
        for (k, n) in other.reasked { reasked[k, default: 0] += n }
        for (k, n) in other.endedAt { endedAt[k, default: 0] += n }
        for (k, n) in other.failedAt { failedAt[k, default: 0] += n }
    }

    public var ended: Int { done + cancelled + expired + handedOff }
}

extension ConversationTurn {
    /// A message of the customer, not a line the server wrote (a call's result, an expired flow).
    public var isCustomerMessage: Bool { msgType != "call" && msgType != "expired" && answerKind != .call }
}

/// Answer times in buckets a quarter of a power of two wide (±10 %), 1 µs to about 70 s.
public enum LatencyHistogram {
    public static func bucket(microseconds: Int64) -> Int {
        let us = max(1, microseconds)
        let log2 = 63 - us.leadingZeroBitCount  // floor(log2)
        let base = Int64(1) << log2
        let quarter = Int((us - base) * 4 / base)  // 0…3
        return min(log2 * 4 + quarter, 26 * 4)
    }

    /// The upper edge of a bucket, in microseconds.
    public static func upperEdge(_ bucket: Int) -> Double {
        let log2 = bucket / 4, quarter = bucket % 4
        return Double(Int64(1) << log2) * (1 + Double(quarter + 1) / 4)
    }

    /// The latency under which `fraction` of the answers came (the bucket's upper edge), in milliseconds.
    public static func percentile(_ histogram: [Int: Int], _ fraction: Double) -> Double? {
        let total = histogram.values.reduce(0, +)
        guard total > 0 else { return nil }
        let target = Int((Double(total) * fraction).rounded(.up))
        var seen = 0
        for bucket in histogram.keys.sorted() {
            seen += histogram[bucket]!
            if seen >= max(1, target) { return upperEdge(bucket) / 1000 }
        }
        return nil
    }
}
