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
        let (y, m, d) = Self.civil(fromDays: day)
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
