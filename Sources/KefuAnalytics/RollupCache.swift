import KefuDialogue

/// The rollups a running server's console reads, kept in memory: a closed day's never changes
/// (kept once read), and today's is counted incrementally — only the lines after the last one
/// counted are read — and from scratch every few minutes (a line committed late with a lower id
/// is then counted too).
public actor RollupCache {
    public nonisolated let analyst: LogAnalyst
    private var closed: [Int: DayRollup] = [:]
    /// Today so far, and when it was last counted from scratch.
    private var today: (tally: LogAnalyst.Tally, countedAt: Int64)?
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
        if let t = today, t.tally.rollup.day == day, now - t.countedAt < Self.recount {
            let next = try await analyst.tally(t.tally)
            today = (next, t.countedAt)
            return next.rollup
        }
        let counted = try await analyst.tally(LogAnalyst.Tally(day: day))  // from scratch
        if day == analyst.days.day(of: now) { today = (counted, now) }
        return counted.rollup
    }

    /// Forgets what is kept (after the log was purged by retention, the closed days still hold).
    public func forgetToday() { today = nil }
}
