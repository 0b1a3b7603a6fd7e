/// Reads the dates and times customers type when booking (明天下午三点, 下周三, 后天上午, 3月5号,
/// 周五 15:30, 三点半), relative to a given moment, without any natural-language dependency.
///
/// The result keeps what was said and nothing more: a date always, an hour and minute only if a
/// time was given, and the part of the day (上午, 下午 …) if one was named, so that a flow can ask
/// for what is missing instead of guessing. Dates are calendar dates in the account's time zone;
/// the caller supplies "today" (a virtual clock in tests).
public struct ChineseDateTime: Sendable, Equatable, CustomStringConvertible {
    public enum Period: String, Sendable, Equatable {
        case earlyMorning = "凌晨", morning = "上午", noon = "中午", afternoon = "下午", evening = "晚上"
    }

    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int?
    public var minute: Int?
    public var period: Period?

    public init(year: Int, month: Int, day: Int, hour: Int? = nil, minute: Int? = nil, period: Period? = nil) {
        self.year = year; self.month = month; self.day = day; self.hour = hour; self.minute = minute; self.period = period
    }

    public var description: String {
        var text = "\(year)-\(Self.two(month))-\(Self.two(day))"
        if let hour { text += " \(Self.two(hour)):\(Self.two(minute ?? 0))" } else if let period { text += " \(period.rawValue)" }
        return text
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// A calendar day, with the arithmetic booking needs (days since 1970-01-01, weekday).
public struct CalendarDay: Sendable, Equatable {
    public var year: Int, month: Int, day: Int

    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }

    /// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
    public var ordinal: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(ordinal z0: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// 1 = Monday … 7 = Sunday (周一 … 周日).
    public var weekday: Int { ((ordinal % 7) + 7 + 3) % 7 + 1 }

    public func adding(days: Int) -> CalendarDay { CalendarDay(ordinal: ordinal + days) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A local date and time of the account ("2026-11-25 10:00"), and its conversion to and from
/// Unix time at a UTC offset: what `kefu chat --time`, case files' `start:` and the engine's
/// "today" share.
public struct LocalTime: Sendable, Equatable {
    public var day: CalendarDay
    /// Seconds since local midnight.
    public var secondOfDay: Int

    public static let `default` = LocalTime(day: CalendarDay(year: 2026, month: 11, day: 25), secondOfDay: 10 * 3600)

    public init(day: CalendarDay, secondOfDay: Int) { self.day = day; self.secondOfDay = secondOfDay }

    /// "2026-11-25 10:00" (or "…T10:00", or with seconds "10:00:30").
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        let time = parts[1].split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, (2...3).contains(time.count), (1...12).contains(date[1]), (1...31).contains(date[2]),
              (0...23).contains(time[0]), (0...59).contains(time[1]), time.count == 2 || (0...59).contains(time[2]) else { return nil }
        self.init(day: CalendarDay(year: date[0], month: date[1], day: date[2]),
                  secondOfDay: time[0] * 3600 + time[1] * 60 + (time.count == 3 ? time[2] : 0))
    }

    /// The local time of a Unix time at `utcOffset` seconds east of UTC.
    public init(unixTime: Int64, utcOffset: Int64) {
        let local = unixTime + utcOffset
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        self.init(day: CalendarDay(ordinal: Int(days)), secondOfDay: Int(local - days * 86_400))
    }

    public func unixTime(utcOffset: Int64) -> Int64 {
        Int64(day.ordinal) * 86_400 + Int64(secondOfDay) - utcOffset
    }

    /// "2026-11-25 10:00".
    public var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day.year)-\(two(day.month))-\(two(day.day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60))"
    }
}

extension ChineseDateTime {
    /// Parses `text` relative to `today`. Nil when it names no date or time at all. A time
    /// without a date means today; a date in the past of this year (3月5号 said in June) means
    /// next year; a bare day of the month already past means next month.
    public static func parse(_ text: String, today: CalendarDay) -> ChineseDateTime? {
        var scanner = DateTimeScanner(Array(text.replacingOccurrences(of: "：", with: ":")))
        return scanner.parse(today: today)
    }
}

struct DateTimeScanner {
    let chars: [Character]
    init(_ chars: [Character]) { self.chars = chars }

    static let digits: [Character: Int] = ["零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                                           "六": 6, "七": 7, "八": 8, "九": 9]

    /// A number written in digits or Chinese (十, 十二, 二十三, 三十一) starting at `i`.
    func number(at i: Int) -> (value: Int, end: Int)? {
        var j = i
        var value = 0
        while j < chars.count, let d = chars[j].wholeNumberValue, chars[j].isASCII { value = value * 10 + d; j += 1 }
        if j > i { return (value, j) }
        // Chinese: [tens]十[units] | units
        var tens = 0, units = 0, sawTen = false
        if j < chars.count, let d = Self.digits[chars[j]] { units = d; j += 1 }
        if j < chars.count, chars[j] == "十" {
            sawTen = true
            tens = j > i ? units : 1
            units = 0
            j += 1
            if j < chars.count, let d = Self.digits[chars[j]] { units = d; j += 1 }
        }
        guard j > i else { return nil }
        value = sawTen ? tens * 10 + units : units
        return (value, j)
    }

    func has(_ word: String, at i: Int) -> Bool {
        let w = Array(word)
        guard i + w.count <= chars.count else { return false }
        return Array(chars[i..<(i + w.count)]) == w
    }

    static let weekdayNames: [Character: Int] = ["一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7]

    mutating func parse(today: CalendarDay) -> ChineseDateTime? {
        var date: CalendarDay?
        var hour: Int?, minute: Int?
        var period: ChineseDateTime.Period?
        var i = 0
        while i < chars.count {
            // Relative days.
            let relative: [(String, Int)] = [("大后天", 3), ("后天", 2), ("明天", 1), ("明日", 1), ("明早", 1), ("明晚", 1), ("今天", 0), ("今日", 0),
                                             ("今早", 0), ("今晚", 0), ("昨天", -1), ("昨晚", -1), ("前天", -2)]
            if let (word, offset) = relative.first(where: { has($0.0, at: i) }) {
                date = today.adding(days: offset)
                if word.hasSuffix("晚") { period = .evening }
                if word.hasSuffix("早") { period = .morning }
                i += word.count
                continue
            }
            // Weekdays: (这|本|下|下下)?(周|星期|礼拜)X
            var weeksAhead = 0
            var j = i
            if has("下下", at: j) { weeksAhead = 2; j += 2 } else if has("下个", at: j) { weeksAhead = 1; j += 2 }
            else if has("下", at: j) { weeksAhead = 1; j += 1 } else if has("这", at: j) || has("本", at: j) { j += 1 }
            let prefixes = ["星期", "礼拜", "周"]
            if let p = prefixes.first(where: { has($0, at: j) }), j + p.count < chars.count,
               let weekday = Self.weekdayNames[chars[j + p.count]] {
                let monday = today.adding(days: -(today.weekday - 1))
                var target = monday.adding(days: weeksAhead * 7 + weekday - 1)
                if weeksAhead == 0, target.ordinal < today.ordinal { target = target.adding(days: 7) }  // 周一 said on a Wednesday: the next one
                date = target
                i = j + p.count + 1
                continue
            }
            // Absolute dates: [YYYY年]M月D[日号] or D[日号]
            if let first = number(at: i) {
                var k = first.end
                if k < chars.count, chars[k] == "年", let m = number(at: k + 1), m.end < chars.count, chars[m.end] == "月",
                   let d = number(at: m.end + 1) {
                    date = CalendarDay(year: first.value, month: m.value, day: d.value)
                    k = d.end
                    if k < chars.count, chars[k] == "日" || chars[k] == "号" { k += 1 }
                    i = k
                    continue
                }
                if k < chars.count, chars[k] == "月", let d = number(at: k + 1), (1...12).contains(first.value),
                   (1...CalendarDay.daysIn(month: first.value, year: today.year)).contains(d.value) {
                    var candidate = CalendarDay(year: today.year, month: first.value, day: d.value)
                    if candidate.ordinal < today.ordinal { candidate.year += 1 }
                    date = candidate
                    k = d.end
                    if k < chars.count, chars[k] == "日" || chars[k] == "号" { k += 1 }
                    i = k
                    continue
                }
                if k < chars.count, chars[k] == "号" || (chars[k] == "日" && !has("日", at: k + 1)), (1...31).contains(first.value) {
                    var candidate = CalendarDay(year: today.year, month: today.month, day: first.value)
                    if candidate.ordinal < today.ordinal {
                        let next = today.month == 12 ? (today.year + 1, 1) : (today.year, today.month + 1)
                        candidate = CalendarDay(year: next.0, month: next.1, day: first.value)
                    }
                    date = candidate
                    i = k + 1
                    continue
                }
                // Times: H点[半|一刻|三刻|M分], H:MM
                if k < chars.count, chars[k] == ":" , let m = number(at: k + 1), (0...23).contains(first.value), (0...59).contains(m.value) {
                    hour = first.value; minute = m.value
                    i = m.end
                    continue
                }
                if k < chars.count, chars[k] == "点" || chars[k] == "時" || chars[k] == "时", (0...24).contains(first.value) {
                    hour = first.value
                    minute = 0
                    k += 1
                    if has("半", at: k) { minute = 30; k += 1 }
                    else if has("一刻", at: k) { minute = 15; k += 2 }
                    else if has("三刻", at: k) { minute = 45; k += 2 }
                    else if let m = number(at: k), (0...59).contains(m.value) {
                        minute = m.value
                        k = m.end
                        if k < chars.count, chars[k] == "分" { k += 1 }
                    }
                    i = k
                    continue
                }
            }
            // Parts of the day.
            let periods: [(String, ChineseDateTime.Period)] = [("凌晨", .earlyMorning), ("早上", .morning), ("早晨", .morning),
                ("上午", .morning), ("中午", .noon), ("下午", .afternoon), ("傍晚", .evening), ("晚上", .evening)]
            if let (word, p) = periods.first(where: { has($0.0, at: i) }) {
                period = p
                i += word.count
                continue
            }
            i += 1
        }
        guard date != nil || hour != nil || period != nil else { return nil }
        // 下午三点 → 15:00; 晚上八点 → 20:00; 中午一点 → 13:00.
        if var h = hour, let period {
            switch period {
            case .afternoon, .evening: if h < 12 { h += 12 }
            case .noon: if h < 6 { h += 12 }
            case .earlyMorning, .morning: if h == 12 { h = 0 }
            }
            hour = h == 24 ? 0 : h
        }
        let day = date ?? today
        return ChineseDateTime(year: day.year, month: day.month, day: day.day, hour: hour, minute: hour == nil ? nil : minute, period: period)
    }
}
