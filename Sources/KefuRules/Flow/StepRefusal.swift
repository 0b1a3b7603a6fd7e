/// Why an answer that was understood is still not accepted (a date in the past, a closed day, a
/// number over the limit), so the re-prompt can say so instead of "没有看懂".
///
/// Each kind has a built-in sentence; a step's `refuse:` replaces it with the business's own text,
/// which may use `{{said}}` (what was understood), `{{min}}`, `{{max}}`, `{{days}}` and `{{hours}}`.
public enum StepRefusal: Sendable, Equatable {
    /// The day, or the time today, is already past. `said` is the reading ("11月20日", "今天 09:00").
    case past(said: String)
    /// More than `days` days ahead.
    case tooFar(said: String, days: Int)
    /// Outside the hours table: closed that day, or not at that time. `hours` is that day's hours ("08:00-12:00、13:30-17:30" or "休息").
    case closed(said: String, hours: String)
    case tooSmall(said: String, min: Int)
    case tooLarge(said: String, max: Int)
    /// The reader understood the words but they name no real date (2月30号), or two different ones.
    case unclear(String)

    /// The keys of `refuse:`.
    public static let kinds = ["past", "too_far", "closed", "too_small", "too_large", "unclear"]

    public var kind: String {
        switch self {
        case .past: "past"
        case .tooFar: "too_far"
        case .closed: "closed"
        case .tooSmall: "too_small"
        case .tooLarge: "too_large"
        case .unclear: "unclear"
        }
    }

    /// The values a `refuse:` text can use.
    public var variables: [String: String] {
        switch self {
        case .past(let said): ["said": said]
        case .tooFar(let said, let days): ["said": said, "days": String(days)]
        case .closed(let said, let hours): ["said": said, "hours": hours]
        case .tooSmall(let said, let min): ["said": said, "min": String(min)]
        case .tooLarge(let said, let max): ["said": said, "max": String(max)]
        case .unclear(let reason): ["said": reason]
        }
    }

    /// The built-in sentence.
    public var sentence: String {
        switch self {
        case .past(let said): "\(said)已经过去了，请换一个还没到的时间。"
        case .tooFar(let said, let days): "\(said)太远了，只能约 \(days) 天以内的时间。"
        case .closed(let said, let hours): hours == "休息" ? "\(said)不营业（休息），请换一天。" : "\(said)不在营业时间内（当天 \(hours)），请换一个时间。"
        case .tooSmall(let said, let min): "“\(said)”太少了（最少 \(min)）。"
        case .tooLarge(let said, let max): "“\(said)”超出了上限（最多 \(max)）。"
        case .unclear(let reason): "\(reason)。"
        }
    }
}

/// What a date step accepts beyond "a date": how far ahead, and inside which hours table.
public struct DateLimits: Sendable, Equatable {
    /// At most this many days after today; nil = no limit.
    public var withinDays: Int?
    /// An `hours:` table name, or a fact reference naming one (`门店.营业时间`, per branch).
    public var hours: String?
    /// Accept a day or time already past (a date of birth, the day of a purchase). Default: refuse.
    public var allowPast = false

    public init(withinDays: Int? = nil, hours: String? = nil, allowPast: Bool = false) {
        self.withinDays = withinDays; self.hours = hours; self.allowPast = allowPast
    }
}

/// One step's answer: a value, a refusal with its reason, or nothing understood.
public enum StepAnswer: Sendable, Equatable {
    case value(String)
    case refused(StepRefusal)
    case nothing

    public var value: String? { if case .value(let v) = self { v } else { nil } }
}
