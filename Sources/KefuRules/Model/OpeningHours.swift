/// A named table of opening hours (`hours:` in a rule file): hours per weekday, dates with hours of
/// their own (a holiday closed, New Year's Eve open late), in the account's time zone.
///
/// A span may run past midnight (`18:00-02:00`); it then belongs to the day it starts on, so "open
/// at 01:00 on Saturday" looks at Friday's spans too.
public struct OpeningHours: Sendable, Equatable {
    /// Minutes since the day's midnight; `end` may pass 24:00 (at most 48:00), and is after `start`.
    public struct Span: Sendable, Equatable {
        public var start: Int
        public var end: Int
        public init(start: Int, end: Int) { self.start = start; self.end = end }

        /// "08:00-12:00" (an end past midnight as "02:00").
        public var description: String { "\(Self.clock(start))-\(Self.clock(end % 1440 == 0 && end > 0 ? 1440 : end % 1440))" }

        static func clock(_ minutes: Int) -> String {
            let h = minutes / 60, m = minutes % 60
            return "\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
        }
    }

    public var name: String
    /// Monday first (index 0) to Sunday (6); an empty list is a closed day.
    public var weekly: [[Span]]
    /// Calendar days (``CalendarDay/ordinal``) with hours of their own; an empty list is closed.
    public var dates: [Int: [Span]]
    public var location: SourceLocation

    public init(name: String, weekly: [[Span]] = Array(repeating: [], count: 7), dates: [Int: [Span]] = [:], location: SourceLocation) {
        self.name = name; self.weekly = weekly; self.dates = dates; self.location = location
    }

    /// The spans of `day` (its own date entry if it has one, else its weekday's).
    public func spans(on day: CalendarDay) -> [Span] {
        dates[day.ordinal] ?? weekly[day.weekday - 1]
    }

    /// Whether the day has any opening at all.
    public func isOpen(on day: CalendarDay) -> Bool { !spans(on: day).isEmpty }

    /// Whether `time` falls inside a span of its day, or inside a span of the day before that runs past midnight.
    public func isOpen(at time: LocalTime) -> Bool {
        let minute = time.secondOfDay / 60
        if spans(on: time.day).contains(where: { $0.start <= minute && minute < $0.end }) { return true }
        return spans(on: time.day.adding(days: -1)).contains { $0.end > 1440 && minute + 1440 < $0.end }
    }

    /// "08:00-12:00、13:30-17:30", or "休息" for a closed day: what a refusal tells the customer.
    public func describe(_ day: CalendarDay) -> String {
        let spans = spans(on: day)
        return spans.isEmpty ? "休息" : spans.map(\.description).joined(separator: "、")
    }

    /// The week in one line, consecutive days with the same hours joined: "周一至周五 08:00-17:30，周六 08:00-12:00，周日 休息".
    public var weekSummary: String {
        var parts: [String] = []
        var i = 0
        while i < 7 {
            var j = i
            while j + 1 < 7, weekly[j + 1] == weekly[i] { j += 1 }
            let days = i == 0 && j == 6 ? "每天" : i == j ? Self.weekdayNames[i] : "\(Self.weekdayNames[i])至\(Self.weekdayNames[j])"
            let hours = weekly[i].isEmpty ? "休息" : weekly[i].map(\.description).joined(separator: "、")
            parts.append("\(days) \(hours)")
            i = j + 1
        }
        return parts.joined(separator: "，")
    }

    public static let weekdayNames = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
}

/// `open:` / `after_hours:` beside a rule's condition: the rule answers only while the hours table
/// says open (or only while it says closed).
public struct HoursCondition: Sendable, Equatable {
    public var hours: Located<String>
    /// True for `after_hours:`.
    public var whenClosed: Bool
    public init(hours: Located<String>, whenClosed: Bool) { self.hours = hours; self.whenClosed = whenClosed }

    public var key: String { whenClosed ? "after_hours" : "open" }

    /// The same table and the same side of it, wherever written.
    public static func == (a: HoursCondition, b: HoursCondition) -> Bool {
        a.hours.value == b.hours.value && a.whenClosed == b.whenClosed
    }
}
