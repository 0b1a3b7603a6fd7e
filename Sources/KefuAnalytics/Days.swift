import KefuRules

/// Days as the support lead counts them: calendar days in the rule set's time zone (`settings.utc_offset`,
/// China's +08:00 unless told), numbered from 1970-01-01 in that zone.
public struct LocalDays: Sendable, Equatable {
    public let utcOffset: Int64
    public init(utcOffset: Int) { self.utcOffset = Int64(utcOffset) }

    /// The day a Unix time falls on.
    public func day(of time: Int64) -> Int {
        let local = time + utcOffset
        return Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }

    /// The first second of a day, as Unix time.
    public func start(of day: Int) -> Int64 { Int64(day) * 86_400 - utcOffset }

    /// `2026-12-01`.
    public func label(_ day: Int) -> String {
        let c = CalendarDay(ordinal: day)
        return "\(c.year)-\(c.month < 10 ? "0" : "")\(c.month)-\(c.day < 10 ? "0" : "")\(c.day)"
    }

    /// The day of a `2026-12-01` label (nil if it is not one).
    public func day(label text: String) -> Int? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        return CalendarDay(year: parts[0], month: parts[1], day: parts[2]).ordinal
    }
}
