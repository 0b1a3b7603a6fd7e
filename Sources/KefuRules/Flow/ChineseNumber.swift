/// Whole numbers as customers type them: digits (12, １２), Chinese numerals from 零 to 亿 (三, 十二,
/// 一百二十, 两千, 一千零五, 十万, 三亿), mixed forms (1万, 3千, 2.5万, 1万2), the spoken shortening
/// after a unit (一百二 = 120, 三千五 = 3500, 一万二 = 12000, 两百五 = 250), 俩 = 2, 仨 = 3, 一打 = 12,
/// 半打 = 6, 两打 = 24, and financial numerals (壹贰叁 … 拾佰仟). Optionally followed by a measure
/// word (位, 个, 人, 件, 份, 张, 台, 位客人 …), which is reported.
///
/// Not numbers: decimals that are not whole ("1.5", "2.35万"), two neighbouring digits meaning
/// "about" ("三四个人": 3 or 4), 一 in everyday words (一下, 一起, 一些, 一样, 一直, 一般, 一定, 万一 …),
/// and "a little" (一点, 一点儿, 早一点). Numbers that belong to a date or a time (七点, 5号, 12月,
/// 周三, 18:30, 6点30分, 2026年) are found but marked `partOfDateOrTime`; `first(in:)` skips them,
/// so "明晚七点，4位" gives 4. Ranges are character offsets (`Array(text)[range]`), as in
/// ``ChineseDateTime/consumed``.
public enum ChineseNumber {
    public struct Found: Sendable, Equatable {
        public var value: Int
        /// The number and its measure word, in characters of the text.
        public var range: Range<Int>
        public var measure: String?
        /// Part of a date or time ("七点", "5号", "周三"): not a count.
        public var partOfDateOrTime: Bool
    }

    /// Longest first.
    public static let measureWords: [String] = [
        "位客人", "位朋友", "个客人", "个朋友", "位顾客", "个小时", "口人", "个人", "公斤", "小时", "分钟",
        "位", "个", "人", "件", "份", "张", "台", "桌", "只", "条", "瓶", "盒", "箱", "袋", "本", "次", "天", "晚", "间",
        "套", "双", "支", "杯", "碗", "楼", "层", "岁", "元", "块", "斤", "米", "名", "辆", "把", "部", "对", "颗", "粒",
        "包", "罐", "床", "周", "年",
    ]

    /// The first number in `text` that is not part of a date or time.
    public static func first(in text: String) -> (value: Int, range: Range<Int>, measure: String?)? {
        guard let f = all(in: text).first(where: { !$0.partOfDateOrTime }) else { return nil }
        return (f.value, f.range, f.measure)
    }

    /// The number when the whole answer is one ("12", "三位", "一百二十个人", "俩人吧"): a number and an
    /// optional measure word, with at most 共/一共/总共/大概/大约/我们/就 before and 吧/啊/呀/的/了/哈/呢/左右 and
    /// punctuation after. Nil otherwise.
    public static func value(of text: String) -> Int? {
        let chars = Array(text.map(DateTimeScanner.halfWidth))
        let found = all(in: text)
        guard found.count == 1, let f = found.first, !f.partOfDateOrTime else { return nil }
        let before = String(chars[..<f.range.lowerBound]).trimmingWhitespace
        let after = String(chars[f.range.upperBound...]).trimmingWhitespace
        let prefixes: Set<String> = ["", "共", "一共", "总共", "大概", "大约", "我们", "我们一共", "就", "有"]
        guard prefixes.contains(before) else { return nil }
        let tail = after.drop { "吧啊呀的了哈呢嗯哦~。！!，,.？?".contains($0) }
        guard tail.isEmpty || tail == "左右" else { return nil }
        return f.value
    }

    static let digit: [Character: Int] = ["零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                                          "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9]
    static let unit: [Character: Int] = ["十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10_000, "亿": 100_000_000]
    /// 一 that is no number: 一下, 一起 …; and 万一, 统一, 唯一.
    static let wordsAfterOne: Set<Character> = ["下", "起", "些", "样", "直", "般", "定", "切", "边", "旦", "会", "致", "律", "向", "再", "共", "同", "味", "路", "齐", "早", "并"]
    static let wordsBeforeOne: Set<Character> = ["万", "统", "唯", "逐", "单", "同", "专", "之"]
    static let dateOrTimeAfter: Set<Character> = ["点", "时", "号", "日", "月", "分", "刻", ":"]
    static let dateOrTimeBefore: Set<Character> = ["周", "期", "拜", "月", "点", ":", "年"]

    /// Every number in `text`, left to right.
    public static func all(in text: String) -> [Found] {
        let chars = text.map(DateTimeScanner.halfWidth)
        func at(_ n: Int) -> Character? { n >= 0 && n < chars.count ? chars[n] : nil }
        func isASCIIDigit(_ c: Character?) -> Bool { DateTimeScanner.isASCIIDigit(c) }
        var found: [Found] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            // 半打, 俩, 仨
            if c == "半", at(i + 1) == "打" { found.append(measured(6, i, i + 2)); i += 2; continue }
            let starts = isASCIIDigit(c) || digit[c] != nil || c == "十" || c == "拾" || c == "俩" || c == "仨"
            guard starts else { i += 1; continue }
            // The run: ASCII digits with at most one decimal point, Chinese digits and units.
            var j = i + 1
            if c != "俩", c != "仨" {
                while let d = at(j), isASCIIDigit(d) || digit[d] != nil || unit[d] != nil
                    || (d == "." && isASCIIDigit(at(j - 1)) && isASCIIDigit(at(j + 1))) { j += 1 }
            }
            let run = Array(chars[i..<j])
            defer { i = max(j, i + 1) }
            // 一 in everyday words, 一点 meaning "a little".
            if run == ["一"] {
                if let n = at(j), wordsAfterOne.contains(n) { continue }
                if let p = at(i - 1), wordsBeforeOne.contains(p) { continue }
                if at(j) == "点", at(j + 1) == "点" || at(j + 1) == "儿" || (at(i - 1).map { DateTimeScanner.adjectives.contains($0) } ?? false) { continue }
            }
            guard var value = c == "俩" ? 2 : c == "仨" ? 3 : evaluate(run) else { continue }
            var end = j
            var measure: String?
            if at(end) == "打" { value *= 12; end += 1; measure = "打" }
            else if let m = measureWords.first(where: { word in word.enumerated().allSatisfy { at(end + $0.offset) == $0.element } }) {
                measure = m; end += m.count
            }
            var dateOrTime = false
            if measure == nil {
                if let n = at(j), dateOrTimeAfter.contains(n) { dateOrTime = true }
                if let n = at(j), "/-.".contains(n), isASCIIDigit(at(j + 1)) { dateOrTime = true }
                if let n = at(j), "到至~-".contains(n), case .ok = DateTimeScanner(String(chars[(j + 1)...])).time(at: 0) { dateOrTime = true }
            }
            // 周六晚 (not "six nights"), 星期三, 礼拜天; 12月5, 6点30 unless a measure word follows (6点两位).
            if let p = at(i - 1), p == "周" || p == "期" || p == "拜" { dateOrTime = true }
            if measure == nil, let p = at(i - 1), dateOrTimeBefore.contains(p) { dateOrTime = true }
            if measure == nil, let p = at(i - 1), "/-".contains(p), isASCIIDigit(at(i - 2)) { dateOrTime = true }
            found.append(Found(value: value, range: i..<end, measure: measure, partOfDateOrTime: dateOrTime))
            j = end
        }
        return found
    }

    static func measured(_ value: Int, _ start: Int, _ end: Int) -> Found {
        Found(value: value, range: start..<end, measure: nil, partOfDateOrTime: false)
    }

    /// The value of a run of digits and units, nil when it is not a whole number.
    static func evaluate(_ run: [Character]) -> Int? {
        let chineseDigitsOnly = run.allSatisfy { digit[$0] != nil }
        if chineseDigitsOnly, run.count > 1 {
            // 二零二六: digit by digit; 三四: "three or four", no number.
            guard run.count >= 3 || run.contains("零") || run.contains("〇") else { return nil }
            return run.reduce(0) { $0 * 10 + digit[$1]! }
        }
        var total = 0.0, wan = 0.0, section = 0.0
        var pending: Double?
        var lastUnit = 1
        var pendingFollowsUnit = false
        var k = 0
        while k < run.count {
            let c = run[k]
            if c.isASCII, c.isNumber {
                guard pending == nil else { return nil }
                var e = k
                while e < run.count, run[e].isASCII, run[e].isNumber || run[e] == "." { e += 1 }
                guard let v = Double(String(run[k..<e])) else { return nil }
                pending = v
                pendingFollowsUnit = k > 0 && unit[run[k - 1]] != nil
                k = e
                continue
            }
            if let d = digit[c] {
                if d == 0 { pendingFollowsUnit = false; lastUnit = 1; k += 1; continue }
                guard pending == nil else { return nil }
                pending = Double(d)
                pendingFollowsUnit = k > 0 && unit[run[k - 1]] != nil
                k += 1
                continue
            }
            guard let u = unit[c] else { return nil }
            switch u {
            case 10, 100, 1000:
                let n = pending ?? (u == 10 ? 1 : -1)
                guard n >= 0 else { return nil }
                section += n * Double(u)
            case 10_000:
                let n = section + (pending ?? 0)
                guard n > 0 else { return nil }
                wan = n * 10_000
                section = 0
            default:
                let n = wan + section + (pending ?? 0)
                guard n > 0 else { return nil }
                total += n * 100_000_000
                wan = 0; section = 0
            }
            pending = nil
            lastUnit = u
            k += 1
        }
        var tail = pending ?? 0
        if let p = pending, pendingFollowsUnit, lastUnit >= 100, p == Double(Int(p)), p < 10 { tail = p * Double(lastUnit / 10) }
        let value = total + wan + section + tail
        guard value < 1e15, value == Double(Int(value)) else { return nil }
        return Int(value)
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
