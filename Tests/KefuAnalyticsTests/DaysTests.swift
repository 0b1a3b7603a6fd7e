import KefuAnalytics
import Testing

@Suite("local days")
struct DaysTests {
    @Test("days start at local midnight (+08:00): 2026-12-01T15:59:59Z is still Dec 1, 16:00Z is Dec 2")
    func boundaries() {
        let days = LocalDays(utcOffset: 8 * 3600)
        let dec1 = days.day(of: 1_796_140_799)  // 2026-12-01T15:59:59Z = 23:59:59 +08:00
        #expect(days.label(dec1) == "2026-12-01")
        #expect(days.label(days.day(of: 1_796_140_800)) == "2026-12-02")
        #expect(days.start(of: dec1 + 1) == 1_796_140_800)
        #expect(days.day(label: "2026-12-01") == dec1 && days.day(label: "2026-13-01") == nil && days.day(label: "soon") == nil)
        #expect(days.label(days.day(of: 0)) == "1970-01-01")
        #expect(LocalDays(utcOffset: -5 * 3600).label(LocalDays(utcOffset: -5 * 3600).day(of: 0)) == "1969-12-31")
    }
}
