import KefuDialogue

/// The rollups a running server's console reads, kept in memory: a closed day's never changes
/// (kept once read), and today's is counted incrementally — only the lines after the last one
/// counted are read — and from scratch every few minutes (a line committed late with a lower id
/// is then counted too).
public actor RollupCache {
    public nonisolated let analyst: LogAnalyst
    private var closed: [Int: DayRollup] = [:]
    private var today: (day: Int, rollup: DayRollup, users: Set<String>, lastID: Int64, countedAt: Int64)?
    /// Today is counted from scratch at least this often (seconds).
    public static let recount: Int64 = 300

    public init(analyst: LogAnalyst) { self.analyst = analyst }

    public var days: LocalDays { analyst.days }

    /// The rollups of `first...last`, oldest first.
    public func rollups(from first: Int, through last: Int, now: Int64) async throws -> [DayRollup] {
        guard first <= last else { return [] }
        let current = analyst.days.day(of: now)
        var result: [DayRollup] = []
        for day in first...last {
            if day > current { result.append(DayRollup(day: day)); continue }
            if let kept = closed[day] { result.append(kept); continue }
            if analyst.days.start(of: day + 1) + LogAnalyst.settle <= now {
                let rollup = try await analyst.rollup(day, now: now)
                closed[day] = rollup
                result.append(rollup)
            } else {
                result.append(try await live(day, now: now))
            }
        }
        return result
    }

    /// A day not closed yet (today, or yesterday within the settle hour), counted incrementally.
    func live(_ day: Int, now: Int64) async throws -> DayRollup {
        if var t = today, t.day == day, now - t.countedAt < Self.recount {
            let (start, end) = (analyst.days.start(of: day), analyst.days.start(of: day + 1))
            while true {
                let lines = try await analyst.log.logFacts(from: start, until: end, afterID: t.lastID, limit: LogAnalyst.page)
                for line in lines {
                    t.rollup.add(line.turn)
                    if line.turn.isCustomerMessage { t.users.insert(line.turn.user) }
                    t.lastID = max(t.lastID, line.id)
                }
                if lines.count < LogAnalyst.page { break }
            }
            t.rollup.users = t.users.count
            today = t
            return t.rollup
        }
        // From scratch.
        let (start, end) = (analyst.days.start(of: day), analyst.days.start(of: day + 1))
        var rollup = DayRollup(day: day), users = Set<String>(), lastID: Int64 = 0
        while true {
            let lines = try await analyst.log.logFacts(from: start, until: end, afterID: lastID, limit: LogAnalyst.page)
            for line in lines {
                rollup.add(line.turn)
                if line.turn.isCustomerMessage { users.insert(line.turn.user) }
                lastID = max(lastID, line.id)
            }
            if lines.count < LogAnalyst.page { break }
        }
        rollup.users = users.count
        if day == analyst.days.day(of: now) { today = (day, rollup, users, lastID, now) }
        return rollup
    }

    /// Forgets what is kept (after the log was purged by retention, the closed days still hold).
    public func forgetToday() { today = nil }
}
