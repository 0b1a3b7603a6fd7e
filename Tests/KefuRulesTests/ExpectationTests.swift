import Testing
@testable import KefuRules

@Suite("Flow step expectations")
struct ExpectationTests {
    static let today = CalendarDay(year: 2026, month: 11, day: 25)

    func value(_ e: StepExpectation, _ text: String) -> String? { e.value(for: .text(text), today: Self.today) }

    @Test("choice by number or by words; two named is not a choice")
    func choice() {
        let reasons = StepExpectation.choice([.init(value: "质量问题", words: ["坏了", "破损"]), .init(value: "发错货"), .init(value: "不想要了", words: ["不要了"])])
        #expect(value(reasons, "1") == "质量问题")
        #expect(value(reasons, "２") == "发错货")
        #expect(value(reasons, "第三个") == "不想要了")
        #expect(value(reasons, "收到就坏了") == "质量问题")
        #expect(value(reasons, "不想要了") == "不想要了")
        #expect(value(reasons, "发错货了而且坏了") == nil)
        #expect(value(reasons, "5") == nil)
        #expect(value(reasons, "随便") == nil)
    }

    @Test("number with a range, in digits or Chinese")
    func number() {
        let people = StepExpectation.number(1...10)
        #expect(value(people, "3个人") == "3")
        #expect(value(people, "三位") == "3")
        #expect(value(people, "十") == "10")
        #expect(value(people, "12") == nil)
        #expect(value(people, "几个") == nil)
    }

    @Test("Chinese mobile numbers")
    func mobile() {
        #expect(value(.mobile, "138 1234 5678") == "13812345678")
        #expect(value(.mobile, "+86-139-0000-1111") == "13900001111")
        #expect(value(.mobile, "我的电话是１５８１２３４５６７８") == "15812345678")
        #expect(value(.mobile, "12812345678") == nil)
        #expect(value(.mobile, "1381234567") == nil)
    }

    @Test("dates, with or without a required time")
    func dates() {
        #expect(value(.date(requireTime: false), "下周三") == "2026-12-02 周三")
        #expect(value(.date(requireTime: true), "下周三") == nil)
        #expect(value(.date(requireTime: true), "明天下午三点") == "2026-11-26 周四 15:00")
    }

    @Test("regex slot, free text bounds, media")
    func others() {
        #expect(value(.regex(try! PatternRegex("(?<slot>DD\\d{12})", caseless: true)), "订单是dd202406110001") == "dd202406110001")
        #expect(value(.regex(try! PatternRegex("DD\\d{12}", caseless: true)), "DD202406110001 到了吗") == "DD202406110001")
        #expect(value(.regex(try! PatternRegex("DD\\d{12}", caseless: true)), "没有单号") == nil)
        #expect(value(.text(2...20), "  张三  ") == "张三")
        #expect(value(.text(2...4), "张") == nil)
        #expect(StepExpectation.media([.image]).value(for: .media(.image), today: Self.today) == "image")
        #expect(StepExpectation.media([.image]).value(for: .media(.voice), today: Self.today) == nil)
        #expect(value(.media([.image]), "这是照片") == nil)
        #expect(StepExpectation.mobile.value(for: .media(.image), today: Self.today) == nil)
    }
}
