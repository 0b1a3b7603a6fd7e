/// What a flow step waits for, and how a reply fills its slot. Each case checks one message and
/// either gives the slot's value or says nothing matched (then the flow re-asks).
///
/// Flow steps declare these in rule files (`expect:`); the loader builds them and compiles regexes
/// once, so checking an answer never compiles anything.
public enum StepExpectation: Sendable, Equatable {
    /// A PCRE2 pattern; the slot is the named group `slot` if the pattern has it, else the whole match.
    case regex(PatternRegex)
    /// One of several options, by number ("1") or by any of its words ("质量问题", "坏了").
    case choice([Choice])
    /// A number within bounds (digits or Chinese numerals: 三, 十二).
    case number(ClosedRange<Int>)
    /// A mainland China mobile number: 11 digits starting 13–19, spaces, dashes and +86 allowed.
    case mobile
    /// A date, optionally with a time (see ``ChineseDateTime``), never in the past unless the limits allow it.
    case date(requireTime: Bool, limits: DateLimits = DateLimits())
    /// Free text within length bounds (in characters, after trimming).
    case text(ClosedRange<Int>)
    /// A non-text message of one of these kinds (e.g. a photo of the damage).
    case media([MessageKind])

    public struct Choice: Sendable, Equatable {
        public var value: String
        public var words: [String]
        public init(value: String, words: [String] = []) { self.value = value; self.words = words }
    }

    /// What a message offers to an expectation.
    public enum Input: Sendable, Equatable {
        case text(String)
        case media(MessageKind)
    }

    /// The slot value `input` provides, or nil if it does not meet the expectation.
    /// `minuteOfDay` (now, in the account's time zone) makes a date step refuse a time already past today.
    public func value(for input: Input, today: CalendarDay, minuteOfDay: Int? = nil, normalizer: Normalizer = Normalizer()) -> String? {
        let context = StepContext(now: LocalTime(day: today, secondOfDay: (minuteOfDay ?? 0) * 60), normalizer: normalizer,
                                  knowsTimeOfDay: minuteOfDay != nil)
        return answer(for: input, context).value
    }

    /// The slot value `input` provides, the reason it is refused, or nothing understood.
    public func answer(for input: Input, _ context: StepContext) -> StepAnswer {
        switch (self, input) {
        case (.media(let kinds), .media(let kind)):
            return kinds.contains(kind) ? .value(kind.rawValue) : .nothing
        case (.media, .text), (_, .media):
            return .nothing
        case (.regex(let regex), .text(let text)):
            return Self.regexValue(regex, text).map(StepAnswer.value) ?? .nothing
        case (.choice(let choices), .text(let text)):
            return Self.choose(choices, text, context.normalizer).map(StepAnswer.value) ?? .nothing
        case (.number(let range), .text(let text)):
            guard let n = Self.number(in: text) else { return .nothing }
            if n < range.lowerBound { return .refused(.tooSmall(said: String(n), min: range.lowerBound)) }
            if n > range.upperBound { return .refused(.tooLarge(said: String(n), max: range.upperBound)) }
            return .value(String(n))
        case (.mobile, .text(let text)):
            return Self.mobile(in: text).map(StepAnswer.value) ?? .nothing
        case (.date(let requireTime, let limits), .text(let text)):
            // The reader refuses a day or time already gone (compared to the minute when it is known).
            let now = context.knowsTimeOfDay ? context.now : LocalTime(day: context.now.day, secondOfDay: 0)
            let when: ChineseDateTime
            switch ChineseDateTime.read(text, now: now) {
            case .nothing: return .nothing
            case .understood(let reading): when = reading
            case .refused(.past(let reading)):
                guard limits.allowPast else {
                    if requireTime, reading.hour == nil { return .nothing }
                    return .refused(.past(said: reading.spoken(today: context.now.day)))
                }
                when = reading
            case .refused(let other): return .refused(.unclear(other.chinese))
            }
            guard !requireTime || when.hour != nil else { return .nothing }
            return Self.checkDate(when, limits, context)
        case (.text(let bounds), .text(let text)):
            let trimmed = String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
            return bounds.contains(trimmed.count) ? .value(trimmed) : .nothing
        }
    }

    static func regexValue(_ regex: PatternRegex, _ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let m = regex.firstMatch(in: bytes) else { return nil }
        let range: Range<Int> = m.captures["slot"] ?? m.range
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// A choice by its number ("2", "第二个", "二") or by one of its words, compared after normalization.
    static func choose(_ choices: [Choice], _ text: String, _ normalizer: Normalizer) -> String? {
        let said = normalizer.normalize(text).string
        if let n = number(in: said.replacingOccurrences(of: "第", with: "").replacingOccurrences(of: "个", with: "")),
           said.count <= 4, (1...choices.count).contains(n) {
            return choices[n - 1].value
        }
        let matching = choices.filter { choice in
            ([choice.value] + choice.words).contains { word in
                let w = normalizer.normalize(word).string
                return !w.isEmpty && said.contains(w)
            }
        }
        return matching.count == 1 ? matching[0].value : nil  // two choices named: ask again
    }

    /// The first whole number in the text that is not part of a date or time (see ``ChineseNumber``).
    static func number(in text: String) -> Int? {
        ChineseNumber.first(in: text)?.value
    }

    static func mobile(in text: String) -> String? {
        var digits = text.unicodeScalars.compactMap { scalar -> Character? in
            let v = Normalizer.halfWidth(scalar)
            return ("0"..."9").contains(v) ? Character(v) : nil
        }
        if digits.count == 13, digits.starts(with: ["8", "6"]) { digits.removeFirst(2) }
        guard digits.count == 11, digits[0] == "1", ("3"..."9").contains(digits[1]) else { return nil }
        return String(digits)
    }
}

extension PatternRegex: Equatable {
    public static func == (a: PatternRegex, b: PatternRegex) -> Bool { a === b || a.pattern == b.pattern }
}

extension StepExpectation {
    /// What a customer is told when an answer does not fit (the default re-prompt, before the question again).
    public var hint: String {
        switch self {
        case .regex: "格式好像不对。"
        case .choice(let choices): "请回复序号或名称：\(Self.numbered(choices.map(\.value), separator: "  "))。"
        case .number(let range):
            range == Int.min...Int.max ? "请回复一个数字。" : "请回复 \(range.lowerBound) 到 \(range.upperBound) 之间的数字。"
        case .mobile: "请回复 11 位手机号，例如 13812345678。"
        case .date(let requireTime, _): requireTime ? "请告诉我日期和时间，例如“明天下午三点”或“周五 15:30”。" : "请告诉我日期，例如“明天”“下周三”或“3月5号”。"
        case .text(let bounds): "请用 \(bounds.lowerBound) 到 \(bounds.upperBound) 个字回复。"
        case .media(let kinds):
            kinds.count == 1 ? "请发送\(kinds[0].chineseName)。"
                : "请发送\(kinds.dropLast().map(\.chineseName).joined(separator: "、"))或\(kinds.last!.chineseName)。"
        }
    }

    /// "1 内科  2 外科  3 儿科".
    public static func numbered(_ values: [String], separator: String = "\n") -> String {
        values.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: separator)
    }
}

extension MessageKind {
    /// The kind in the words a customer uses.
    public var chineseName: String {
        switch self {
        case .image: "图片"
        case .voice: "语音"
        case .video: "视频"
        case .shortvideo: "小视频"
        case .link: "链接"
        case .file: "文件"
        case .location: "位置"
        }
    }
}

extension ChineseDateTime {
    static let weekdayNames = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

    /// The value a date slot holds: `2026-11-26 周四 15:00`, or `2026-11-26 周四 下午` when only the part
    /// of the day was said, or the date alone.
    public var slotValue: String {
        let weekday = Self.weekdayNames[CalendarDay(year: year, month: month, day: day).weekday - 1]
        var text = "\(year)-\(Self.two(month))-\(Self.two(day)) \(weekday)"
        if let hour { text += " \(Self.two(hour)):\(Self.two(minute ?? 0))" } else if let period { text += " \(period.rawValue)" }
        return text
    }
}
