import Foundation
import KefuDialogue

/// Day rollups over a period, from a store's log: a closed day's rollup is computed once and kept
/// in the store (days end at local midnight; a day counts as closed an hour after it ended, so a
/// late line still lands in it); today's is counted afresh from its lines each time.
public struct LogAnalyst: Sendable {
    public let log: any ConversationLog
    public let days: LocalDays
    /// A day's rollup changes only until this long after it ended (late lines, clocks apart).
    public static let settle: Int64 = 3600
    /// Lines read per round trip when counting a day.
    public static let page = 20_000
    /// The rollups' format: a change makes the stored ones be computed again.
    public static let format = 1

    public init(log: any ConversationLog, utcOffset: Int) {
        self.log = log
        self.days = LocalDays(utcOffset: utcOffset)
    }

    /// The zone key rollups are stored under (the offset in minutes, and the format).
    var zone: Int { Int(days.utcOffset / 60) * 10 + Self.format }

    /// The rollups of the days `from...through`, oldest first (days without lines have empty rollups).
    public func rollups(from first: Int, through last: Int, now: Int64) async throws -> [DayRollup] {
        guard first <= last else { return [] }
        // Days before the first line need no reading.
        let oldest = try await log.oldestLogTime().map(days.day(of:)) ?? Int.max
        var result: [DayRollup] = []
        for day in first...last {
            if day < oldest, day < days.day(of: now) { result.append(DayRollup(day: day)); continue }
            result.append(try await rollup(day, now: now))
        }
        return result
    }

    /// One day's rollup: the kept one for a closed day (computed and kept the first time), else counted now.
    public func rollup(_ day: Int, now: Int64) async throws -> DayRollup {
        let closed = days.start(of: day + 1) + Self.settle <= now
        if closed, let data = try await log.rollup(day: day, zone: zone), let kept = try? JSONDecoder().decode(DayRollup.self, from: Data(data)) {
            return kept
        }
        let counted = try await count(day)
        if closed { try await log.saveRollup(Array(try JSONEncoder().encode(counted)), day: day, zone: zone) }
        return counted
    }

    /// Counts a day from its lines.
    func count(_ day: Int) async throws -> DayRollup {
        let (start, end) = (days.start(of: day), days.start(of: day + 1))
        var rollup = DayRollup(day: day)
        var users = Set<String>()
        var after: Int64 = 0
        while true {
            let lines = try await log.logFacts(from: start, until: end, afterID: after, limit: Self.page)
            for line in lines {
                rollup.add(line.turn)
                if line.turn.isCustomerMessage { users.insert(line.turn.user) }
            }
            guard lines.count == Self.page, let last = lines.last else { break }
            after = last.id
        }
        rollup.users = users.count
        return rollup
    }

    /// Computes and keeps the rollups of closed days not kept yet, from `first` (clean-up does this
    /// in the background so that the pages find them ready). Returns how many it computed.
    @discardableResult
    public func prepare(from first: Int, now: Int64, limit: Int = .max) async throws -> Int {
        let today = days.day(of: now)
        let oldest = try await log.oldestLogTime().map(days.day(of:)) ?? today
        var computed = 0
        for day in max(first, oldest)..<max(today, max(first, oldest)) where days.start(of: day + 1) + Self.settle <= now {
            if computed >= limit { break }
            if try await log.rollup(day: day, zone: zone) == nil {
                _ = try await rollup(day, now: now)
                computed += 1
            }
        }
        return computed
    }
}
