import KefuDialogue
import KefuRules

/// What the console's pages and `kefu report` show for a period: totals and days, answers by kind,
/// answer times, rules, flows, unanswered groups. Built from day rollups (``LogAnalyst``), the rule
/// set, and the unanswered lines of the period. `Codable` is `kefu report --format json`.
public struct Report: Sendable, Encodable {
    public struct Day: Sendable, Encodable, Equatable {
        public var date: String
        public var messages: Int
        public var users: Int
        /// AnswerKind raw value → messages.
        public var byKind: [String: Int]
        public var unanswered: Int
        public var declined: Int
        public var medianMs: Double?
        public var p99Ms: Double?
    }

    public struct Rule: Sendable, Encodable, Equatable {
        public var id: String
        public var location: String
        public var hits: Int
        /// Hits per day of the period, oldest first.
        public var daily: [Int]
        /// Hits in the last 30 days (to today).
        public var hitsIn30Days: Int
    }

    public struct Step: Sendable, Encodable, Equatable {
        public var name: String
        public var reached: Int
        public var reasked: Int
        /// Flows that ended unfinished at this step (cancelled, expired, handed off).
        public var endedHere: Int
        public var failedCalls: Int
    }

    public struct Flow: Sendable, Encodable, Equatable {
        public var name: String
        public var title: String
        public var started: Int
        public var steps: [Step]
        public var done: Int
        public var cancelled: Int
        public var expired: Int
        public var handedOff: Int
        public var failedCalls: Int
        /// The step where most unfinished flows ended (nil: none did).
        public var giveUpStep: String?
        public var completion: Double? { started > 0 ? Double(done) / Double(started) : nil }
    }

    public struct Group: Sendable, Encodable, Equatable {
        public var count: Int
        public var users: Int
        public var examples: [String]
        public var keywords: [String]
        public var declined: Int
        public var firstSeen: Int64
        public var lastSeen: Int64
        public var ruleSuggestion: String
        public var intentSuggestion: String
    }

    public var from: String
    public var through: String
    public var generatedAt: Int64
    public var messages: Int
    /// Users counted once per day they wrote (distinct users over a period would need every line).
    public var userDays: Int
    public var busiestDayUsers: Int
    public var byKind: [String: Int]
    public var unanswered: Int
    public var declined: Int
    public var medianMs: Double?
    public var p99Ms: Double?
    public var days: [Day]
    public var rules: [Rule]
    /// Rules (and intents) with no hit in the last 30 days.
    public var neverHit: [String]
    public var flows: [Flow]
    /// The period's unanswered messages grouped by similarity (the most recent ones, up to a bound).
    public var unansweredGroups: [Group]
    /// How many unanswered messages the groups were made from.
    public var unansweredSampled: Int

    public var unansweredRate: Double? { messages > 0 ? Double(unanswered) / Double(messages) : nil }

    public func share(_ kind: AnswerKind) -> Double? {
        messages > 0 ? Double(byKind[kind.rawValue] ?? 0) / Double(messages) : nil
    }

    /// Builds the report of `period` (days, oldest first) with the 30 days to today for `neverHit`.
    public static func make(period: [DayRollup], last30: [DayRollup], rules: CompiledRules?, unanswered: [LoggedTurn],
                            days: LocalDays, now: Int64, groupLimit: Int = 50, groups precomputed: ([Group], Int)? = nil) -> Report {
        var total = DayRollup(day: period.first?.day ?? 0)
        for day in period { total.merge(day) }
        let dayRows = period.map { d in
            Day(date: days.label(d.day), messages: d.messages, users: d.users, byKind: d.byKind, unanswered: d.count(.defaultReply),
                declined: d.declined, medianMs: LatencyHistogram.percentile(d.latency, 0.5), p99Ms: LatencyHistogram.percentile(d.latency, 0.99))
        }
        var recent: [String: Int] = [:]
        for day in last30 { for (k, n) in day.rules { recent[k, default: 0] += n } }
        // Every rule of the rule set (with its place in the files), then what the log names that the rule set no longer has.
        var ruleRows: [Rule] = []
        var known = Set<String>()
        for rule in rules?.rules ?? [] where rule.interrupt == nil {
            known.insert(rule.id)
            ruleRows.append(Rule(id: rule.id, location: "\(Self.shortFile(rule.location.file)):\(rule.location.line)", hits: total.rules[rule.id] ?? 0,
                                 daily: period.map { $0.rules[rule.id] ?? 0 }, hitsIn30Days: recent[rule.id] ?? 0))
        }
        for (id, hits) in total.rules where !known.contains(id) {
            ruleRows.append(Rule(id: id, location: "（已不在规则集中）", hits: hits, daily: period.map { $0.rules[id] ?? 0 }, hitsIn30Days: recent[id] ?? 0))
        }
        ruleRows.sort { ($0.hits, $1.id) > ($1.hits, $0.id) }
        let neverHit = (rules?.rules ?? []).filter { $0.interrupt == nil && (recent[$0.id] ?? 0) == 0 }.map(\.id)

        var flowRows: [Flow] = []
        var named = Set<String>()
        for spec in rules?.flows ?? [] {
            named.insert(spec.name)
            flowRows.append(flow(spec.name, title: spec.title, steps: spec.steps.map(\.name), total.flows[spec.name] ?? FlowDay()))
        }
        for (name, day) in total.flows where !named.contains(name) {
            flowRows.append(flow(name, title: name, steps: day.reached.keys.sorted(), day))
        }

        let (groups, sampled) = precomputed ?? Self.groups(unanswered, limit: groupLimit)
        return Report(from: days.label(period.first?.day ?? 0), through: days.label(period.last?.day ?? 0), generatedAt: now,
                      messages: total.messages, userDays: total.users, busiestDayUsers: period.map(\.users).max() ?? 0,
                      byKind: total.byKind, unanswered: total.count(.defaultReply), declined: total.declined,
                      medianMs: LatencyHistogram.percentile(total.latency, 0.5), p99Ms: LatencyHistogram.percentile(total.latency, 0.99),
                      days: dayRows, rules: ruleRows, neverHit: neverHit, flows: flowRows, unansweredGroups: groups,
                      unansweredSampled: sampled)
    }

    /// The unanswered lines grouped by similarity, and how many lines they were made from.
    public static func groups(_ unanswered: [LoggedTurn], limit: Int) -> ([Group], Int) {
        let messages = unanswered.map { line in
            UnansweredMessage(text: line.turn.message, normalized: line.turn.normalized ?? line.turn.message, user: line.turn.user,
                              time: line.turn.time, reason: line.turn.declined.map { .declinedIntent($0) } ?? .defaultReply)
        }
        let groups = UnansweredGrouping.groups(messages, limit: limit).map { g in
            Group(count: g.count, users: g.users, examples: g.examples, keywords: g.keywords, declined: g.declined,
                  firstSeen: g.firstSeen, lastSeen: g.lastSeen, ruleSuggestion: g.ruleSuggestion, intentSuggestion: g.intentSuggestion)
        }
        return (groups, messages.count)
    }

    static func flow(_ name: String, title: String, steps: [String], _ day: FlowDay) -> Flow {
        let stepRows = steps.map { s in
            Step(name: s, reached: day.reached[s] ?? 0, reasked: day.reasked[s] ?? 0, endedHere: day.endedAt[s] ?? 0, failedCalls: day.failedAt[s] ?? 0)
        }
        let giveUp = day.endedAt.filter { $0.value > 0 }.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        return Flow(name: name, title: title, started: day.started, steps: stepRows, done: day.done, cancelled: day.cancelled,
                    expired: day.expired, handedOff: day.handedOff, failedCalls: day.failedCalls, giveUpStep: giveUp)
    }

    public static func shortFile(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
