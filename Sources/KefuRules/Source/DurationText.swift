/// Durations as rule files, case files and `kefu chat` write them: a whole number and a unit,
/// `90s`, `30m`, `2h`, `1d`.
public enum DurationText {
    /// The longest duration accepted: 100 years. Longer ones are mistakes, and bounding them keeps the
    /// arithmetic done with them (`now + expires`, a case's clock) far from overflowing.
    public static let maxSeconds: Int64 = 100 * 365 * 86400

    /// Seconds, or nil when `text` is not such a duration (negative numbers are not, nor any over ``maxSeconds``).
    public static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last, let factor = units[unit], let n = Int64(text.dropLast()), n >= 0 else { return nil }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow, seconds <= maxSeconds else { return nil }
        return seconds
    }

    /// The shortest way to write `seconds`: `1d`, `2h`, `30m`, `90s`.
    public static func describe(_ seconds: Int64) -> String {
        if seconds > 0, seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds > 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
