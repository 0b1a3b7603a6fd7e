/// What a step needs besides the answer: now (in the account's time zone), the normalizer for
/// choices, and the hours tables and facts that date limits name.
public struct StepContext: Sendable {
    public var now: LocalTime
    public var normalizer: Normalizer
    /// False when only the day is known (then a time earlier today is not refused as past).
    public var knowsTimeOfDay: Bool
    public var hours: [String: OpeningHours]
    public var facts: Facts?
    /// The flow's slots so far (a per-branch hours table is named by the branch slot's row).
    public var slots: [String: String]

    public init(now: LocalTime, normalizer: Normalizer = Normalizer(), knowsTimeOfDay: Bool = true, hours: [String: OpeningHours] = [:],
                facts: Facts? = nil, slots: [String: String] = [:]) {
        self.now = now; self.normalizer = normalizer; self.knowsTimeOfDay = knowsTimeOfDay
        self.hours = hours; self.facts = facts; self.slots = slots
    }

    /// The hours table `name` stands for: a table's own name, or a fact (`门店.营业时间`) whose value names one.
    public func hoursTable(_ name: String) -> OpeningHours? {
        if let table = hours[name] { return table }
        return facts?.rawValue(name, slots: slots).flatMap { hours[$0] }
    }
}

extension StepExpectation {
    /// A date the reader understood (so not in the past, unless the limits allow it and the past
    /// reading was taken), against the other limits: not too far ahead, inside the hours table. A time
    /// said without 上午/下午 (“6点”) is the first of its readings (06:00, then the reader's
    /// `alternativeHour` 18:00) that the table has open.
    static func checkDate(_ reading: ChineseDateTime, _ limits: DateLimits, _ context: StepContext) -> StepAnswer {
        var when = reading
        let today = context.now.day
        let day = when.calendarDay
        if let within = limits.withinDays, day.ordinal - today.ordinal > within { return .refused(.tooFar(said: when.spoken(today: today), days: within)) }
        guard let table = limits.hours.flatMap(context.hoursTable) else { return .value(when.slotValue) }
        guard table.isOpen(on: day) else { return .refused(.closed(said: when.spoken(today: today, withTime: false), hours: "休息")) }
        if let hour = when.hour {
            let minute = when.minute ?? 0
            let readings = [hour] + (when.alternativeHour.map { [$0] } ?? [])
            guard let open = readings.first(where: { table.isOpen(at: LocalTime(day: day, secondOfDay: $0 * 3600 + minute * 60)) }) else {
                return .refused(.closed(said: when.spoken(today: today), hours: table.describe(day)))
            }
            when.hour = open
        }
        return .value(when.slotValue)
    }
}

extension ChineseDateTime {
    /// The reading in the customer's words, for refusals: "今天 09:00", "明天", "12月5日（周六）18:00".
    public func spoken(today: CalendarDay, withTime: Bool = true) -> String {
        let day = CalendarDay(year: year, month: month, day: day)
        let weekday = OpeningHours.weekdayNames[day.weekday - 1]
        var text: String
        switch day.ordinal - today.ordinal {
        case 0: text = "今天（\(weekday)）"
        case 1: text = "明天（\(weekday)）"
        case 2: text = "后天（\(weekday)）"
        default: text = (day.year == today.year ? "" : "\(day.year)年") + "\(month)月\(self.day)日（\(weekday)）"
        }
        if withTime, let hour { text += "\(Self.two(hour)):\(Self.two(minute ?? 0))" } else if withTime, let period { text += period.rawValue }
        return text
    }
}

extension StepExpectation {
    /// The first number said with a measure word (4位, 两个人, 3件) and not part of a date or time, for
    /// filling a number step from a longer message.
    public static func countedNumber(in text: String) -> Int? {
        ChineseNumber.all(in: text).first { $0.measure != nil && !$0.partOfDateOrTime }?.value
    }

    /// A mainland mobile number written inside a longer message: 11 digits starting 13–19, not part of a longer run.
    public static func mobileInside(_ text: String) -> String? {
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            guard chars[i].isASCII, chars[i].isNumber else { i += 1; continue }
            var j = i
            while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == " " || chars[j] == "-" { j += 1 }
            if let found = mobile(in: String(chars[i..<j])) { return found }
            i = j
        }
        return nil
    }
}
