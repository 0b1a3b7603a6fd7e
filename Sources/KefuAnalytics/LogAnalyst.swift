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

    /// The rollups of the days `from...through`, oldest first (days without lines have empty rollups). Closed days
    /// not kept yet are counted side by side (one per core) and kept.
    public func rollups(from first: Int, through last: Int, now: Int64) async throws -> [DayRollup] {
        guard first <= last else { return [] }
        // Days before the first line need no reading.
        let oldest = try await log.oldestLogTime().map(days.day(of:)) ?? Int.max
        var found: [Int: DayRollup] = [:]
        var missing: [Int] = []
        for day in first...last {
            if day < oldest, day < days.day(of: now) { found[day] = DayRollup(day: day); continue }
            if isClosed(day, now: now), let kept = try await kept(day) { found[day] = kept } else { missing.append(day) }
        }
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        try await withThrowingTaskGroup(of: DayRollup.self) { group in
            var next = missing.makeIterator()
            func start() -> Bool {
                guard let day = next.next() else { return false }
                group.addTask { try await self.count(day) }
                return true
            }
            for _ in 0..<width where !start() { break }
            while let counted = try await group.next() {
                found[counted.day] = counted
                if isClosed(counted.day, now: now) { try await keep(counted) }
                _ = start()
            }
        }
        return (first...last).map { found[$0] ?? DayRollup(day: $0) }
    }

    func isClosed(_ day: Int, now: Int64) -> Bool { days.start(of: day + 1) + Self.settle <= now }

    func kept(_ day: Int) async throws -> DayRollup? {
        guard let data = try await log.rollup(day: day, zone: zone) else { return nil }
        return try? JSONDecoder().decode(DayRollup.self, from: Data(data))
    }

    func keep(_ rollup: DayRollup) async throws {
        try await log.saveRollup(Array(try JSONEncoder().encode(rollup)), day: rollup.day, zone: zone)
    }

    /// One day's rollup: the kept one for a closed day (computed and kept the first time), else counted now.
    public func rollup(_ day: Int, now: Int64) async throws -> DayRollup {
        let closed = isClosed(day, now: now)
        if closed, let kept = try await kept(day) { return kept }
        let counted = try await count(day)
        if closed { try await keep(counted) }
        return counted
    }

    /// A day counted up to a line: what ``tally(_:)`` carries on from.
    public struct Tally: Sendable {
        public var rollup: DayRollup
        public var users: Set<String> = []
        /// The last line counted.
        public var lastID: Int64 = 0
        public init(day: Int) { rollup = DayRollup(day: day) }
    }

    /// Counts a day from its lines.
    func count(_ day: Int) async throws -> DayRollup { try await tally(Tally(day: day)).rollup }

    /// Adds the day's lines after `tally.lastID` (all of them for a new tally).
    public func tally(_ tally: Tally) async throws -> Tally {
        var t = tally
        let day = t.rollup.day
        let (start, end) = (days.start(of: day), days.start(of: day + 1))
        while true {
            let lines = try await log.logFacts(from: start, until: end, afterID: t.lastID, limit: Self.page)
            for line in lines {
                t.rollup.add(line.turn)
                if line.turn.isCustomerMessage { t.users.insert(line.turn.user) }
                t.lastID = max(t.lastID, line.id)
            }
            if lines.count < Self.page { break }
        }
        t.rollup.users = t.users.count
        return t
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
