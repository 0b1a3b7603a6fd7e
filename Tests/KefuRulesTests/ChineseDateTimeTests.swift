import Testing
@testable import KefuRules

@Suite("Chinese dates and times")
struct ChineseDateTimeTests {
    /// Wednesday, 2026-11-25.
    static let today = CalendarDay(year: 2026, month: 11, day: 25)

    @Test("calendar arithmetic")
    func calendar() {
        #expect(CalendarDay(year: 1970, month: 1, day: 1).ordinal == 0)
        #expect(Self.today.weekday == 3)  // Wednesday
        #expect(CalendarDay(ordinal: Self.today.ordinal) == Self.today)
        #expect(Self.today.adding(days: 37) == CalendarDay(year: 2027, month: 1, day: 1))
        #expect(CalendarDay(year: 2028, month: 2, day: 28).adding(days: 1) == CalendarDay(year: 2028, month: 2, day: 29))
        #expect(CalendarDay.daysIn(month: 2, year: 2100) == 28)
    }

    @Test("what customers type", arguments: [
        ("明天下午三点", "2026-11-26 15:00"),
        ("下周三", "2026-12-02"),
        ("后天上午", "2026-11-27 上午"),
        ("3月5号", "2027-03-05"),          // already past this year
        ("12月5日上午十点半", "2026-12-05 10:30"),
        ("周五 15:30", "2026-11-27 15:30"),
        ("星期一", "2026-11-30"),          // the coming Monday
        ("这周三", "2026-11-25"),
        ("下下周日", "2026-12-13"),
        ("大后天晚上八点", "2026-11-28 20:00"),
        ("今晚七点一刻", "2026-11-25 19:15"),
        ("三点半", "2026-11-25 03:30"),    // no part of the day: as said; the flow may ask
        ("下午两点", "2026-11-25 14:00"),
        ("中午十二点", "2026-11-25 12:00"),
        ("30号", "2026-11-30"),
        ("20号下午", "2026-12-20 下午"),   // the 20th has passed this month
        ("2027年1月8日 9:05", "2027-01-08 09:05"),
        ("礼拜六早上九点", "2026-11-28 09:00"),
        ("明天下午3点15分可以吗", "2026-11-26 15:15"),
    ])
    func phrases(text: String, expected: String) {
        #expect(ChineseDateTime.parse(text, today: Self.today)?.description == expected, "\(text)")
    }

    @Test("read: what was read from where, and the other 12-hour reading")
    func reading() {
        let now = LocalTime(day: Self.today, secondOfDay: 10 * 3600)
        let booking = ChineseDateTime.read("我想订明晚七点的位子，4位", now: now).understood
        #expect(booking?.description == "2026-11-26 19:00")
        #expect(booking?.consumed == 3..<7)
        let bare = ChineseDateTime.read("明天6点", now: now).understood
        #expect(bare?.hour == 6 && bare?.alternativeHour == 18)
        #expect(ChineseDateTime.read("明天下午6点到8点", now: now).understood?.rangeEnd == .init(hour: 20, minute: 0))
        #expect(ChineseDateTime.read("好的", now: now) == .nothing)
    }

    @Test("text without a date or time", arguments: ["我要退货", "好的", "三个人", "第三天"])
    func nothing(text: String) {
        #expect(ChineseDateTime.parse(text, today: Self.today) == nil, "\(text)")
    }
}
