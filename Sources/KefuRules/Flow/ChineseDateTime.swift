/// Reads the dates and times customers type when booking (明天下午三点, 下周六晚6点, 12月5号晚七点,
/// 2026-12-05 18:30, 12/5, 周五 15:30, 三点半, 6点到8点), relative to a given moment, without any
/// natural-language dependency. Which forms are understood, and every decision below, is listed in
/// docs/rules.md, section "日期、时间与数字：读得懂哪些写法"; Corpora/phrases/date-time.tsv is
/// the specification (every row must pass).
///
/// The result keeps what was said and nothing more: a date always, an hour and minute only if a
/// time was given, and the part of the day (上午, 下午 …) if one was named, so that a flow can ask
/// for what is missing instead of guessing. Dates are calendar dates in the account's time zone;
/// the caller supplies "now" (a virtual clock in tests).
public struct ChineseDateTime: Sendable, Equatable, CustomStringConvertible {
    /// The part of the day a customer named. 早上/早晨/早/明早 read as `morning`, 傍晚/晚/今晚 as
    /// `evening`, 夜里/夜间/半夜/深夜 as `night`.
    public enum Period: String, Sendable, Equatable {
        case earlyMorning = "凌晨", morning = "上午", noon = "中午", afternoon = "下午", evening = "晚上", night = "夜里"
    }

    /// A time of day, 00:00–23:59.
    public struct ClockTime: Sendable, Equatable, CustomStringConvertible {
        public var hour: Int
        public var minute: Int
        public init(hour: Int, minute: Int) { self.hour = hour; self.minute = minute }
        public var description: String { "\(ChineseDateTime.two(hour)):\(ChineseDateTime.two(minute))" }
    }

    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int?
    public var minute: Int?
    public var period: Period?
    /// Set when a range was said ("6点到8点", "6-8点", "18:00~20:00"): the end of it. `hour` and
    /// `minute` hold the start, which is what a booking keeps.
    public var rangeEnd: ClockTime?
    /// For an hour 1–11 said with no part of the day ("6点", "6:30"; not "06:30"), the other
    /// reading, hour + 12 (6点 → 18), so that a caller that knows opening hours can pick the one
    /// inside them. Nil when a part of the day was named, the hour is 0 or 12–24, or the other
    /// reading is already past (then `hour` itself may be the afternoon one: "6点" at 10:00 → 18:00).
    public var alternativeHour: Int?
    /// The characters the date and time were read from, as offsets in `Character`s (extended
    /// grapheme clusters) of the text given to `read`: `Array(text)[consumed]`. From the first to
    /// the last piece read, so "我想订明晚七点的位子，4位" → 3..<7 ("明晚七点"); what lies outside
    /// (the "4位") is free for other slots. Empty (0..<0) for values built by hand.
    public var consumed: Range<Int>

    public init(year: Int, month: Int, day: Int, hour: Int? = nil, minute: Int? = nil, period: Period? = nil,
                rangeEnd: ClockTime? = nil, alternativeHour: Int? = nil, consumed: Range<Int> = 0..<0) {
        self.year = year; self.month = month; self.day = day; self.hour = hour; self.minute = minute; self.period = period
        self.rangeEnd = rangeEnd; self.alternativeHour = alternativeHour; self.consumed = consumed
    }

    public var calendarDay: CalendarDay { CalendarDay(year: year, month: month, day: day) }

    public var description: String {
        var text = "\(year)-\(Self.two(month))-\(Self.two(day))"
        if let hour { text += " \(Self.two(hour)):\(Self.two(minute ?? 0))" } else if let period { text += " \(period.rawValue)" }
        return text
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// What reading a message for a date and time gave.
public enum DateTimeReading: Sendable, Equatable {
    /// A date (and maybe a time) that can be booked: today or later, and not earlier today.
    case understood(ChineseDateTime)
    /// A date or time was said, but it cannot be used; `chinese` says why, for the retry text.
    case refused(DateTimeRefusal)
    /// No date or time at all.
    case nothing

    public var understood: ChineseDateTime? { if case .understood(let when) = self { when } else { nil } }
    public var refusal: DateTimeRefusal? { if case .refused(let why) = self { why } else { nil } }
}

/// Why a date or time that was said cannot be used.
public enum DateTimeRefusal: Sendable, Equatable {
    /// A day already gone (昨天, 这周一 said on a Wednesday, 11月20号 said on 12月1日), or a time earlier
    /// today (or today's 上午 said in the afternoon). The value is what was read.
    case past(ChineseDateTime)
    /// A day that does not exist: "2月30日", "11月31日", "2027年2月29日".
    case invalidDate(String)
    /// A time that does not exist: "25点", "6点70分".
    case invalidTime(String)
    /// Two different dates or times in one message ("明天或者后天", "6点还是7点"), or a weekday that
    /// does not fit the date ("12月5号周五" when 12月5日 is a Saturday). The value is the sentence to show.
    case ambiguous(String)

    /// A short sentence for the customer: "11月20日已经过去了".
    public var chinese: String {
        switch self {
        case .past(let when):
            var what = "\(when.month)月\(when.day)日"
            if let hour = when.hour { what += " \(ChineseDateTime.two(hour)):\(ChineseDateTime.two(when.minute ?? 0)) " }
            else if let period = when.period { what += period.rawValue }
            return "\(what)已经过去了"
        case .invalidDate(let day): return "没有\(day)这一天"
        case .invalidTime(let time): return "\(time)不是有效的时间"
        case .ambiguous(let sentence): return sentence
        }
    }

    /// "past", "invalidDate", "invalidTime" or "ambiguous".
    public var kind: String {
        switch self {
        case .past: "past"
        case .invalidDate: "invalidDate"
        case .invalidTime: "invalidTime"
        case .ambiguous: "ambiguous"
        }
    }
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
    /// Reads the date and time in `text` as said at `now` (the account's local time).
    ///
    /// - A time without a date means today; a date without a time has `hour == nil`.
    /// - A month and day without a year ("12月5号", "12/5", "12-05", "12.5", "十二月五日") is this year's
    ///   when it is today or later. When it is already past this year: within the last 60 days it is
    ///   refused as `past` ("11月20号" said on 12月1日 — a slip, not a booking 11 months ahead), earlier
    ///   than that it is next year's ("1月5号" said on 12月1日 → 2027-01-05). With a year, a past date is `past`.
    /// - A bare day of the month ("5号", "5日") already past this month is next month's; "下个月5号" is
    ///   next month's. A day the month does not have ("31号" in November, "2月30号") is `invalidDate`.
    /// - 周X/星期X/礼拜X (X = 一…六, 日, 天, 1–7) is the coming one: this week's, or next week's when this
    ///   week's is gone (周二 said on a Tuesday is today). 这周X/本周X is this week's (Monday to Sunday)
    ///   and `past` if gone; 下周X is next week's, 下下周X the week after, 上周X `past`.
    /// - A time of day with a part of the day: 下午/晚上 add 12 to 1–11 (晚上 and 傍晚 to 5–11);
    ///   中午 adds 12 to 1–4 (中午12点 = 12:00); 上午12点 = 12:00; 凌晨12点 = 00:00. 晚上十二点, 今晚12点,
    ///   夜里/半夜12点 and 24点 are 24:00, read honestly as 00:00 of the **next** day; 晚上/夜里 1–4点
    ///   (夜里 1–5点) are also the next day's early hours (今晚1点 → tomorrow 01:00). 凌晨N点 with no day
    ///   named, already past today, is tomorrow's.
    /// - With no part of the day, 1–11点 keeps the hour as said and sets `alternativeHour` (hour + 12);
    ///   when the hour as said is already past today but the afternoon one is not, the afternoon one is
    ///   taken ("6点" at 10:00 → 18:00). "06:30" (two digits) and 13–23 are 24-hour and have no alternative.
    /// - A range ("6点到8点", "6-8点", "下午6点到晚上8点", "18:00~20:00") gives its start; `rangeEnd` records
    ///   the end.
    /// - Refused: a day or a time already gone (`past`, compared to the minute), a day or time that does
    ///   not exist, two different days or times in one message, or a weekday that does not fit the date.
    public static func read(_ text: String, now: LocalTime) -> DateTimeReading {
        var scanner = DateTimeScanner(text)
        return scanner.read(now: now)
    }

    /// The date and time in `text` relative to `today`, when it can be booked (no time of day is
    /// treated as past); nil when nothing was said or it is refused. See ``read(_:now:)``.
    public static func parse(_ text: String, today: CalendarDay) -> ChineseDateTime? {
        read(text, now: LocalTime(day: today, secondOfDay: 0)).understood
    }
}

struct DateTimeScanner {
    typealias Period = ChineseDateTime.Period

    let chars: [Character]

    init(_ text: String) { chars = text.map(Self.halfWidth) }

    /// Full-width ASCII (１２：３０, ～, ／), the ideographic space and dashes, made half-width one
    /// character for one, so that offsets stay those of the text as given.
    static func halfWidth(_ c: Character) -> Character {
        guard c.unicodeScalars.count == 1, let s = c.unicodeScalars.first else { return c }
        switch s.value {
        case 0xFF01...0xFF5E: return Character(Unicode.Scalar(s.value - 0xFEE0)!)
        case 0x3000: return " "
        case 0x301C: return "~"
        case 0x2013, 0x2014, 0x2015, 0x2212: return "-"
        default: return c
        }
    }

    enum DateResult: Equatable { case day(CalendarDay), invalid(String) }
    struct DateToken { var result: DateResult; var weekday: Int?; var range: Range<Int> }
    struct TimeToken {
        var hour: Int, minute: Int
        /// 1–11 written as 点 or H:MM with one digit: the afternoon reading is possible.
        var twelveHour: Bool
        var end: (hour: Int, minute: Int, period: Period?)?
        var range: Range<Int>
    }
    struct PeriodToken { var period: Period; var range: Range<Int> }

    var dates: [DateToken] = []
    var times: [TimeToken] = []
    var periods: [PeriodToken] = []
    var refusals: [DateTimeRefusal] = []

    func at(_ n: Int) -> Character? { n >= 0 && n < chars.count ? chars[n] : nil }

    func has(_ word: String, at i: Int) -> Bool {
        guard i >= 0 else { return false }
        var j = i
        for c in word {
            guard j < chars.count, chars[j] == c else { return false }
            j += 1
        }
        return true
    }

    func skipSpaces(_ i: Int) -> Int {
        var j = i
        while let c = at(j), c == " " || c == "\t" { j += 1 }
        return j
    }

    static let chineseDigits: [Character: Int] = ["零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                                                  "六": 6, "七": 7, "八": 8, "九": 9]

    static func isASCIIDigit(_ c: Character?) -> Bool { c.map { $0.isASCII && $0.isNumber } ?? false }

    /// A small number at `i`: ASCII digits (`asciiDigits` says how many), Chinese 十-numbers up to 99
    /// (十, 十二, 二十三), or four Chinese digits before 年 (二〇二六年).
    func number(at i: Int) -> (value: Int, end: Int, asciiDigits: Int)? {
        var j = i
        var value = 0
        while j < chars.count, Self.isASCIIDigit(chars[j]) {
            value = min(value * 10 + chars[j].wholeNumberValue!, 1_000_000_000)
            j += 1
        }
        if j > i { return (value, j, j - i) }
        var digits: [Int] = []
        var k = i
        while k < chars.count, chars[k] != "两", let d = Self.chineseDigits[chars[k]] { digits.append(d); k += 1 }
        if digits.count == 4, at(k) == "年" { return (digits.reduce(0) { $0 * 10 + $1 }, k, 0) }
        var tens = 0, units = 0, sawTen = false
        if let c = at(j), let d = Self.chineseDigits[c] { units = d; j += 1 }
        if at(j) == "十" {
            sawTen = true
            tens = j > i ? units : 1
            units = 0
            j += 1
            if let c = at(j), let d = Self.chineseDigits[c], d != 0 { units = d; j += 1 }
        }
        guard j > i else { return nil }
        return (sawTen ? tens * 10 + units : units, j, 0)
    }

    // MARK: Scanning

    mutating func scan(today: CalendarDay) {
        var i = 0
        while i < chars.count {
            if let n = relativeDay(at: i, today: today) ?? weekday(at: i, today: today) ?? numeric(at: i, today: today)
                ?? periodToken(at: i) {
                i = n
            } else {
                i += 1
            }
        }
    }

    static let relativeWords: [(String, Int, Period?)] = [
        ("大后天", 3, nil), ("大前天", -3, nil), ("后天", 2, nil), ("后日", 2, nil), ("明天", 1, nil), ("明日", 1, nil), ("明儿", 1, nil),
        ("明早", 1, .morning), ("明晨", 1, .morning), ("明晚", 1, .evening), ("明夜", 1, .night),
        ("今天", 0, nil), ("今日", 0, nil), ("今儿", 0, nil), ("今早", 0, .morning), ("今晨", 0, .morning), ("今晚", 0, .evening),
        ("今夜", 0, .night), ("昨天", -1, nil), ("昨日", -1, nil), ("昨晚", -1, .evening), ("前天", -2, nil),
    ]

    mutating func relativeDay(at i: Int, today: CalendarDay) -> Int? {
        guard let (word, offset, period) = Self.relativeWords.first(where: { has($0.0, at: i) }) else { return nil }
        let end = i + word.count
        dates.append(DateToken(result: .day(today.adding(days: offset)), weekday: nil, range: i..<end))
        if let period { periods.append(PeriodToken(period: period, range: i..<end)) }
        return end
    }

    static let weekdayNames: [Character: Int] = ["一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7,
                                                 "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7]
    static let weekdayChinese = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

    /// (这|本|下|下下|上)(个)?(周|星期|礼拜)X.
    mutating func weekday(at i: Int, today: CalendarDay) -> Int? {
        var j = i
        var weeks: Int?
        for (word, w) in [("下下个", 2), ("下下", 2), ("下个", 1), ("下", 1), ("这个", 0), ("这", 0), ("本", 0), ("上个", -1), ("上", -1)]
        where has(word, at: j) {
            weeks = w; j += word.count
            break
        }
        guard let p = ["星期", "礼拜", "周"].first(where: { has($0, at: j) }) else { return nil }
        let k = j + p.count
        guard let c = at(k), let wd = Self.weekdayNames[c], !(c.isASCII && Self.isASCIIDigit(at(k + 1))) else { return nil }
        let monday = today.adding(days: -(today.weekday - 1))
        var target = monday.adding(days: (weeks ?? 0) * 7 + wd - 1)
        if weeks == nil, target.ordinal < today.ordinal { target = target.adding(days: 7) }
        dates.append(DateToken(result: .day(target), weekday: wd, range: i..<(k + 1)))
        return k + 1
    }

    static let periodWords: [(String, Period)] = [
        ("凌晨", .earlyMorning), ("清晨", .morning), ("早上", .morning), ("早晨", .morning), ("上午", .morning), ("中午", .noon),
        ("下午", .afternoon), ("午后", .afternoon), ("傍晚", .evening), ("晚上", .evening), ("晚间", .evening),
        ("夜里", .night), ("夜间", .night), ("夜晚", .night), ("半夜", .night), ("深夜", .night), ("午夜", .night),
    ]

    func periodWord(at i: Int) -> (Period, Int)? {
        guard let (word, p) = Self.periodWords.first(where: { has($0.0, at: i) }) else { return nil }
        return (p, i + word.count)
    }

    /// A part of the day, or a lone 晚/早 right after a day ("周六晚") or right before a time ("晚6点", "早8点").
    mutating func periodToken(at i: Int) -> Int? {
        if let (p, end) = periodWord(at: i) {
            periods.append(PeriodToken(period: p, range: i..<end))
            return end
        }
        guard let c = at(i), c == "晚" || c == "早" else { return nil }
        let afterDay = dates.last?.range.upperBound == i
        let beforeTime: Bool
        if case .ok = time(at: skipSpaces(i + 1)) { beforeTime = true } else { beforeTime = false }
        guard afterDay || beforeTime else { return nil }
        periods.append(PeriodToken(period: c == "晚" ? .evening : .morning, range: i..<(i + 1)))
        return i + 1
    }

    enum TimeParse {
        case ok(hour: Int, minute: Int, twelveHour: Bool, end: Int)
        case invalid(String, end: Int)
        case none
    }

    static let adjectives: Set<Character> = ["早", "晚", "快", "慢", "大", "小", "多", "少", "好", "有", "近", "远", "贵", "高", "低", "轻", "重", "差", "便", "宜", "长", "短"]
    static let measureAfterMinute: Set<Character> = ["位", "个", "人", "件", "份", "张", "台", "桌", "只", "条", "天", "次", "号"]

    /// H:MM or H点[钟][半|一刻|三刻|整|M分|MM] (also 时 for 点) at `i`.
    func time(at i: Int) -> TimeParse {
        guard let h = number(at: i) else { return .none }
        let k = h.end
        if at(k) == ":", let m = number(at: k + 1), m.asciiDigits == 2, (1...2).contains(h.asciiDigits) {
            var end = m.end
            if at(end) == ":", let s = number(at: end + 1), s.asciiDigits == 2 { end = s.end }
            if h.value > 24 || m.value > 59 || (h.value == 24 && m.value > 0) {
                return .invalid(String(chars[i..<m.end]), end: end)
            }
            return .ok(hour: h.value, minute: m.value, twelveHour: h.asciiDigits == 1 && (1...11).contains(h.value), end: end)
        }
        guard let c = at(k), c == "点" || c == "时" else { return .none }
        // 一点 meaning "a little" (早一点, 快一点, 一点点, 一点儿) is no time.
        if h.asciiDigits == 0, h.value == 1, h.end == i + 1, c == "点",
           at(k + 1) == "点" || at(k + 1) == "儿" || (at(i - 1).map { Self.adjectives.contains($0) } ?? false) && !periodEnds(at: i) {
            return .none
        }
        var end = k + 1
        if at(end) == "钟" { end += 1 }
        var minute = 0
        if at(end) == "半" { minute = 30; end += 1 }
        else if has("一刻", at: end) { minute = 15; end += 2 }
        else if has("三刻", at: end) { minute = 45; end += 2 }
        else if at(end) == "整" { end += 1 }
        else {
            var j = end
            if at(j) == "过" { j += 1 }
            var zero = false
            if at(j) == "零" || at(j) == "〇" { zero = true; j += 1 }
            if let m = number(at: j) {
                let withFen = at(m.end) == "分"
                let measured = at(m.end).map { Self.measureAfterMinute.contains($0) } ?? false
                let looksLikeMinutes = withFen || (!measured && (zero || m.asciiDigits == 2 || (m.asciiDigits == 0 && m.value >= 10)))
                if looksLikeMinutes {
                    let mEnd = withFen ? m.end + 1 : m.end
                    if m.value > 59 { return .invalid(String(chars[i..<mEnd]), end: mEnd) }
                    minute = m.value
                    end = mEnd
                    if at(end) == "钟" { end += 1 }
                }
            }
        }
        if h.value > 24 || (h.value == 24 && minute > 0) {
            return h.value > 99 ? .none : .invalid(String(chars[i..<end]), end: end)
        }
        return .ok(hour: h.value, minute: minute, twelveHour: (1...11).contains(h.value), end: end)
    }

    func periodEnds(at i: Int) -> Bool {
        periods.contains { $0.range.upperBound == i } || dates.contains { $0.range.upperBound == i }
    }

    func connector(at i: Int) -> Int? {
        guard let c = at(i) else { return nil }
        return "到至-~".contains(c) ? i + 1 : nil
    }

    /// After a time ending at `e`: (到|至|-|~) [part of the day] time.
    func rangeEnd(after e: Int) -> (hour: Int, minute: Int, period: Period?, end: Int)? {
        guard let j0 = connector(at: skipSpaces(e)) else { return nil }
        var j = skipSpaces(j0)
        var period: Period?
        if let (p, n) = periodWord(at: j) { period = p; j = n }
        guard case .ok(let h, let m, _, let end) = time(at: j) else { return nil }
        return (h, m, period, end)
    }

    static let notAfterNumericDate: Set<Character> = ["点", "时", ":", "人", "位", "个", "岁", "元", "块", "万", "千", "百", "%", "倍", "号", "折", "斤", "米", "楼", "层"]
    static let notAfterHao: Set<Character> = ["楼", "线", "房", "门", "窗", "床", "桌", "机", "码", "店", "馆", "厅", "台"]

    /// A date or a time starting with a number at `i`; the end of the number when it is neither.
    mutating func numeric(at i: Int, today: CalendarDay) -> Int? {
        guard let a = number(at: i) else { return nil }
        let k = a.end
        // Y年M月D日, Y-M-D, Y/M/D, Y.M.D
        if a.asciiDigits == 4 || (a.asciiDigits == 0 && a.value >= 1000), let sep = at(k), "年-/.".contains(sep),
           let m = number(at: k + 1), sep == "年" ? at(m.end) == "月" : at(m.end) == sep, let d = number(at: m.end + 1),
           sep == "年" || (m.asciiDigits > 0 && d.asciiDigits > 0) {
            var end = d.end
            if at(end) == "日" || at(end) == "号" { end += 1 }
            dates.append(DateToken(result: Self.exact(year: a.value, month: m.value, day: d.value), weekday: nil, range: i..<end))
            return end
        }
        // A time, maybe a range: 18:30, 6点半, 6点到8点, 18:00~20:00
        switch time(at: i) {
        case .ok(let h, let m, let twelve, let end):
            var token = TimeToken(hour: h, minute: m, twelveHour: twelve, end: nil, range: i..<end)
            if let r = rangeEnd(after: end) { token.end = (r.hour, r.minute, r.period); token.range = i..<r.end }
            times.append(token)
            return token.range.upperBound
        case .invalid(let text, let end):
            refusals.append(.invalidTime(text))
            return end
        case .none: break
        }
        // A range whose start has no 点: 6-8点, 6到8点, 六至八点
        if a.value <= 24, let r = rangeEnd(after: k) {
            times.append(TimeToken(hour: a.value, minute: 0, twelveHour: (1...11).contains(a.value), end: (r.hour, r.minute, r.period), range: i..<r.end))
            return r.end
        }
        // M月D日/号, 十二月五日
        if at(k) == "月" {
            guard let d = number(at: k + 1) else { return k + 1 }
            var end = d.end
            if at(end) == "日" || at(end) == "号" { end += 1 }
            dates.append(DateToken(result: Self.monthDay(month: a.value, day: d.value, today: today), weekday: nil, range: i..<end))
            return end
        }
        // 12/5, 12-05, 12.5
        if (1...2).contains(a.asciiDigits), !Self.isASCIIDigit(at(i - 1)), at(i - 1) != ".", let sep = at(k), "/-.".contains(sep),
           let d = number(at: k + 1), (1...2).contains(d.asciiDigits), (1...12).contains(a.value) {
            let after = at(d.end)
            let blocked = Self.isASCIIDigit(after) || (after.map { Self.notAfterNumericDate.contains($0) } ?? false)
                || (after.map { "/-.".contains($0) } ?? false) && Self.isASCIIDigit(at(d.end + 1))
            if !blocked {
                dates.append(DateToken(result: Self.monthDay(month: a.value, day: d.value, today: today), weekday: nil, range: i..<d.end))
                return d.end
            }
        }
        // N号, N日
        if let c = at(k), c == "号" || c == "日", !(c == "号" && (at(k + 1).map { Self.notAfterHao.contains($0) } ?? false)),
           (1...31).contains(a.value) {
            var start = i
            var result: DateResult
            if has("下个月", at: i - 3) || has("下月", at: i - 2) {
                start = has("下个月", at: i - 3) ? i - 3 : i - 2
                let next = today.month == 12 ? (today.year + 1, 1) : (today.year, today.month + 1)
                result = Self.exact(year: next.0, month: next.1, day: a.value, named: "\(next.1)月\(a.value)日")
            } else if has("这个月", at: i - 3) || has("本月", at: i - 2) {
                start = has("这个月", at: i - 3) ? i - 3 : i - 2
                result = Self.exact(year: today.year, month: today.month, day: a.value, named: "\(today.month)月\(a.value)日")
            } else {
                result = Self.dayOfMonth(a.value, today: today)
            }
            dates.append(DateToken(result: result, weekday: nil, range: start..<(k + 1)))
            return k + 1
        }
        return k
    }

    // MARK: Calendar rules

    static func exact(year: Int, month: Int, day: Int, named: String? = nil) -> DateResult {
        guard (1...12).contains(month), day >= 1, day <= CalendarDay.daysIn(month: month, year: year) else {
            return .invalid(named ?? "\(year)年\(month)月\(day)日")
        }
        return .day(CalendarDay(year: year, month: month, day: day))
    }

    /// This year's if today or later; within the last 60 days it stays (and is refused as past);
    /// otherwise next year's.
    static func monthDay(month: Int, day: Int, today: CalendarDay) -> DateResult {
        guard (1...12).contains(month), (1...31).contains(day), day <= CalendarDay.daysIn(month: month, year: 2028) else {
            return .invalid("\(month)月\(day)日")
        }
        var year = today.year
        if day <= CalendarDay.daysIn(month: month, year: year) {
            let candidate = CalendarDay(year: year, month: month, day: day)
            if candidate.ordinal >= today.ordinal - 60 { return .day(candidate) }
        } else if CalendarDay(year: year, month: month, day: 28).ordinal >= today.ordinal {
            return .invalid("\(year)年\(month)月\(day)日")
        }
        year += 1
        return exact(year: year, month: month, day: day)
    }

    /// This month's if today or later, else next month's.
    static func dayOfMonth(_ day: Int, today: CalendarDay) -> DateResult {
        if day >= today.day { return exact(year: today.year, month: today.month, day: day, named: "\(today.month)月\(day)日") }
        let next = today.month == 12 ? (today.year + 1, 1) : (today.year, today.month + 1)
        return exact(year: next.0, month: next.1, day: day, named: "\(next.1)月\(day)日")
    }

    /// 24-hour reading of an hour said with a part of the day, and whether it falls on the next day.
    static func convert(_ h: Int, _ p: Period?) -> (hour: Int, nextDay: Bool) {
        if h == 24 { return (0, true) }
        guard let p else { return (h, false) }
        switch p {
        case .earlyMorning: return (h == 12 ? 0 : h, false)
        case .morning: return (h, false)
        case .noon: return ((1...4).contains(h) ? h + 12 : h, false)
        case .afternoon: return ((1...11).contains(h) ? h + 12 : h, false)
        case .evening:
            if (5...11).contains(h) { return (h + 12, false) }
            if h == 12 || h == 0 { return (0, true) }
            if (1...4).contains(h) { return (h, true) }
            return (h, false)
        case .night:
            if (6...11).contains(h) { return (h + 12, false) }
            if h == 12 || h == 0 { return (0, true) }
            if (1...5).contains(h) { return (h, true) }
            return (h, false)
        }
    }

    /// The hour after which a part of the day said for today is gone.
    static func periodEnd(_ p: Period) -> Int? {
        switch p {
        case .earlyMorning: 6
        case .morning: 12
        case .noon: 14
        case .afternoon: 18
        case .evening, .night: nil
        }
    }

    func text(_ r: Range<Int>) -> String { String(chars[r]) }

    // MARK: Reading

    mutating func read(now: LocalTime) -> DateTimeReading {
        let today = now.day
        scan(today: today)
        if let bad = refusals.first { return .refused(bad) }
        guard !dates.isEmpty || !times.isEmpty || !periods.isEmpty else { return .nothing }
        for d in dates { if case .invalid(let s) = d.result { return .refused(.invalidDate(s)) } }
        func day(_ t: DateToken) -> CalendarDay { if case .day(let d) = t.result { d } else { today } }

        // The day: named days must agree; a weekday said with a named day must be that day's.
        var chosen: CalendarDay?
        let named = dates.filter { $0.weekday == nil }
        let weekdays = dates.filter { $0.weekday != nil }
        var namedDays: [CalendarDay] = []
        for t in named where !namedDays.contains(day(t)) { namedDays.append(day(t)) }
        if namedDays.count > 1 {
            let said = named.map { text($0.range) }
            return .refused(.ambiguous("一句话里有两个日期（\(said.joined(separator: "、"))），请只说一个"))
        }
        if let d = namedDays.first {
            if let w = weekdays.first(where: { $0.weekday != d.weekday }) {
                return .refused(.ambiguous("\(d.month)月\(d.day)日是\(Self.weekdayChinese[d.weekday - 1])，不是\(Self.weekdayChinese[w.weekday! - 1])，请再确认一下日期"))
            }
            chosen = d
        } else if let first = weekdays.first {
            if let other = weekdays.first(where: { day($0) != day(first) }) {
                return .refused(.ambiguous("一句话里有两个日期（\(text(first.range))、\(text(other.range))），请只说一个"))
            }
            chosen = day(first)
        }

        // The time, and the part of the day that goes with it.
        if let first = times.first, let other = times.first(where: { $0.hour != first.hour || $0.minute != first.minute }) {
            return .refused(.ambiguous("一句话里有两个时间（\(text(first.range))、\(text(other.range))），请只说一个"))
        }
        let time = times.first
        var period: Period?
        if let time {
            period = periods.last(where: { $0.range.upperBound <= time.range.lowerBound })?.period
                ?? periods.first(where: { $0.range.lowerBound >= time.range.upperBound })?.period
        } else {
            var said: [PeriodToken] = []
            for p in periods where !said.contains(where: { $0.period == p.period }) { said.append(p) }
            if said.count > 1 {
                return .refused(.ambiguous("一句话里有两个时段（\(said.map { text($0.range) }.joined(separator: "、"))），请只说一个"))
            }
            period = said.first?.period
        }

        var result = ChineseDateTime(year: 0, month: 0, day: 0, period: period)
        var theDay = chosen ?? today
        if let time {
            let (h, nextDay) = Self.convert(time.hour, period)
            result.hour = h
            result.minute = time.minute
            if nextDay { theDay = theDay.adding(days: 1) }
            if period == nil, time.twelveHour { result.alternativeHour = time.hour + 12 }
            if let end = time.end {
                result.rangeEnd = .init(hour: Self.convert(end.hour, end.period ?? period).hour, minute: end.minute)
            }
            let nowMinute = now.secondOfDay / 60
            if chosen == nil, period == .earlyMorning, h * 60 + time.minute < nowMinute { theDay = theDay.adding(days: 1) }
            if theDay == today, h * 60 + time.minute < nowMinute {
                if let alt = result.alternativeHour, alt * 60 + time.minute >= nowMinute {
                    result.hour = alt
                    result.alternativeHour = nil
                    if let end = result.rangeEnd, (1...11).contains(end.hour) { result.rangeEnd?.hour = end.hour + 12 }
                } else {
                    result.set(theDay)
                    result.consumed = consumed()
                    return .refused(.past(result))
                }
            }
        }
        result.set(theDay)
        result.consumed = consumed()
        if theDay.ordinal < today.ordinal { return .refused(.past(result)) }
        if theDay == today, result.hour == nil, let p = period, let end = Self.periodEnd(p), now.secondOfDay >= end * 3600 {
            return .refused(.past(result))
        }
        return .understood(result)
    }

    func consumed() -> Range<Int> {
        let ranges = dates.map(\.range) + times.map(\.range) + periods.map(\.range)
        guard let lower = ranges.map(\.lowerBound).min(), let upper = ranges.map(\.upperBound).max() else { return 0..<0 }
        return lower..<upper
    }
}

extension ChineseDateTime {
    mutating func set(_ day: CalendarDay) { year = day.year; month = day.month; self.day = day.day }
}
