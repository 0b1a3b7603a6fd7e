import Foundation
import Testing
@testable import KefuRules

/// The phrase tables in Corpora/phrases are the specification of what the date, time and number
/// readers understand (docs/rules.md, "日期、时间与数字：读得懂哪些写法"). Every row must pass.
@Suite("Phrase tables: dates, times, numbers")
struct PhraseTableTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Corpora/phrases")

    /// Rows of a TSV file after its header, each with its line number.
    static func rows(_ name: String) throws -> [(line: Int, fields: [String])] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().dropFirst()
            .filter { !$0.element.isEmpty }
            .map { (line: $0.offset + 1, fields: $0.element.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)) }
    }

    /// "2026-12-05 18:00", "2026-12-02 06:00 ~08:00 alt 18", "2026-12-01 晚上", or the refusal kind, or "nothing".
    static func render(_ reading: DateTimeReading) -> String {
        switch reading {
        case .understood(let when):
            when.description + (when.rangeEnd.map { " ~\($0)" } ?? "") + (when.alternativeHour.map { " alt \($0)" } ?? "")
        case .refused(let why): why.kind
        case .nothing: "nothing"
        }
    }

    @Test("date-time.tsv: every phrase reads as the table says, at its 'now'")
    func dateTimeTable() throws {
        let rows = try Self.rows("date-time.tsv")
        #expect(rows.count >= 300)
        var passed = 0
        for (line, f) in rows {
            try #require(f.count == 4, "date-time.tsv:\(line): expected 4 tab-separated columns (now, phrase, expected, consumed), found \(f.count)")
            let now = try #require(LocalTime(f[0]), "date-time.tsv:\(line): bad now '\(f[0])'")
            let reading = ChineseDateTime.read(f[1], now: now)
            var got = Self.render(reading)
            if !f[3].isEmpty, let when = reading.understood {
                let consumed = String(Array(f[1])[when.consumed])
                if consumed != f[3] { got += " (read from '\(consumed)', not '\(f[3])')" }
            }
            #expect(got == f[2], "date-time.tsv:\(line): '\(f[1])' at \(f[0])")
            if got == f[2] { passed += 1 }
        }
        print("date-time.tsv: \(passed)/\(rows.count) phrases read as the table says")
    }

    @Test("numbers.tsv: the first number that is not a date or time, its measure word, the whole-answer value")
    func numberTable() throws {
        let rows = try Self.rows("numbers.tsv")
        #expect(rows.count >= 60)
        var passed = 0
        for (line, f) in rows {
            try #require(f.count == 4, "numbers.tsv:\(line): expected 4 tab-separated columns (phrase, first, measure, whole), found \(f.count)")
            let first = ChineseNumber.first(in: f[0])
            let got = [first.map { String($0.value) } ?? "nothing", first?.measure ?? "-", ChineseNumber.value(of: f[0]).map(String.init) ?? "-"]
            #expect(got == Array(f[1...3]), "numbers.tsv:\(line): '\(f[0])'")
            if got == Array(f[1...3]) { passed += 1 }
        }
        print("numbers.tsv: \(passed)/\(rows.count) phrases read as the table says")
    }

    @Test("refusals say why, in Chinese")
    func refusalSentences() {
        let now = LocalTime("2026-12-01 10:00")!
        #expect(ChineseDateTime.read("11月20号", now: now).refusal?.chinese == "11月20日已经过去了")
        #expect(ChineseDateTime.read("2月30号", now: now).refusal?.chinese == "没有2月30日这一天")
        #expect(ChineseDateTime.read("25点", now: now).refusal?.chinese == "25点不是有效的时间")
        #expect(ChineseDateTime.read("今天上午9点", now: now).refusal?.chinese == "12月1日 09:00 已经过去了")
        #expect(ChineseDateTime.read("周六或者周日", now: now).refusal?.chinese == "一句话里有两个日期（周六、周日），请只说一个")
        #expect(ChineseDateTime.read("12月5号周五", now: now).refusal?.chinese == "12月5日是周六，不是周五，请再确认一下日期")
        #expect(ChineseDateTime.read("明天6点或者7点", now: now).refusal?.chinese == "一句话里有两个时间（6点、7点），请只说一个")
    }

    @Test("a number step: 一百 is 100 and does not pass 1–20; a time is not a party size")
    func numberStep() {
        let today = CalendarDay(year: 2026, month: 12, day: 1)
        let party = StepExpectation.number(1...20)
        #expect(party.value(for: .text("一百"), today: today) == nil)
        #expect(StepExpectation.number(1...1000).value(for: .text("一百"), today: today) == "100")
        #expect(party.value(for: .text("两百"), today: today) == nil)
        #expect(party.value(for: .text("明晚七点，4位"), today: today) == "4")
        #expect(party.value(for: .text("俩人"), today: today) == "2")
        #expect(party.value(for: .text("七点"), today: today) == nil)
    }

    @Test("a date step refuses the past and keeps a range's start")
    func dateStep() {
        let today = CalendarDay(year: 2026, month: 12, day: 1)
        let step = StepExpectation.date(requireTime: true)
        #expect(step.value(for: .text("明天下午6点到8点"), today: today, minuteOfDay: 600) == "2026-12-02 周三 18:00")
        #expect(step.value(for: .text("周六晚6点"), today: today, minuteOfDay: 600) == "2026-12-05 周六 18:00")
        #expect(step.value(for: .text("今天上午9点"), today: today, minuteOfDay: 600) == nil)
        #expect(step.value(for: .text("11月20号下午3点"), today: today, minuteOfDay: 600) == nil)
    }
}
