import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// Hours tables, facts, if: comparisons, date limits with their reasons, strict confirms and the
/// business's own confirm words, prefill from the first message, follow and unfollow inside a flow.
@Suite("What a business needs to say")
struct BusinessTests {
    static let rules = """
    default: 抱歉
    settings:
      confirm_words: [妥了]
    hours:
      店:
        每天: 11:00-14:00, 17:00-02:00
        周一: 休息
        closed: [2026-12-24]
        2026-12-31: 10:00-23:00
    facts:
      热线: 400-1
      门店:
        甲店: {地址: 一号路, 包间: 有, 时间: 店}
        乙店: {地址: 二号路, 包间: 没有, 时间: 店}
    rules:
      - id: open
        when: {contains: [营业吗], open: 店}
        reply: 营业中，{{门店[甲店].地址}}
      - id: closed
        when: {contains: [营业吗], after_hours: 店}
        reply: 打烊了。营业时间：{{店}}
      - id: book
        when: {contains: [订座]}
        flow: book
      - id: quit
        when: {contains: [退订]}
        flow: quit
    flows:
      book:
        steps:
          - {slot: 门店, ask: 哪家？, expect: {choice: [甲店, 乙店]}}
          - slot: when
            ask: 哪天几点？
            expect: {datetime: {within: 7d, hours: 门店.时间}}
            max_attempts: 9
          - {slot: n, ask: 几位？, expect: {number: {min: 1, max: 20}}}
          - {slot: room, if: {n: 超过 10, 门店.包间: 有}, ask: 要包间吗？, expect: {choice: [要, 不要]}}
          - {slot: note, if: {n: "<= 2"}, ask: 二人桌靠窗吗？, expect: {choice: [靠窗, 随便]}}
          - confirm: '{{门店}} {{when}} {{n}}位，对吗？'
        done: 好的，{{门店.地址}} 见。热线 {{热线}}
      quit:
        steps:
          - {slot: phone, ask: 手机号？, expect: mobile}
          - confirm: 确定取消 {{phone}}？
            strict: true
        done: 已取消
    events:
      subscribe: 欢迎！
    """

    @Test("an hours table: weekdays, a span past midnight belongs to the day it starts, a closed date, a date with its own hours")
    func hours() throws {
        let spec = try RuleSetLoader.parse(files: [(path: "rules.yaml", text: Self.rules)])
        let table = try #require(spec.hours.first)
        func open(_ text: String) -> Bool { table.isOpen(at: LocalTime(text)!) }
        #expect(open("2026-12-01 12:00") && !open("2026-12-01 15:00") && open("2026-12-01 23:30"), "Tuesday")
        #expect(open("2026-12-02 01:30") && !open("2026-12-02 02:00"), "Tuesday's 17:00-02:00 runs into Wednesday")
        #expect(!open("2026-11-30 12:00") && !open("2026-11-30 23:00"), "Monday is closed")
        #expect(open("2026-11-30 01:00") && !open("2026-12-01 01:00"), "Sunday's night runs into Monday; closed Monday gives Tuesday's small hours nothing")
        #expect(!open("2026-12-24 12:00") && open("2026-12-31 10:30") && !open("2026-12-31 23:30"))
        #expect(table.weekSummary == "周一 休息，周二至周日 11:00-14:00、17:00-02:00")
    }

    @Test("open: / after_hours: pick the rule by the time of the message; {{店}} is the week in words; facts by row")
    func openNow() async throws {
        let chat = try Chat(Self.rules, clock: VirtualClock(Chat.start + 2 * 3600))  // Wednesday 12:00
        #expect(try await chat.say("现在营业吗") == "营业中，一号路")
        chat.clock.advance(by: 3 * 3600)  // 15:00
        #expect(try await chat.say("还营业吗") == "打烊了。营业时间：周一 休息，周二至周日 11:00-14:00、17:00-02:00")
    }

    @Test("date limits: past, too far, closed day and closed hour each refused with its reason; 6点 read as 18:00 when only that is open")
    func dateLimits() async throws {
        let chat = try Chat(Self.rules)  // Wednesday 2026-11-25 10:00
        try await chat.say("订座")
        try await chat.say("甲店")
        #expect(try await chat.say("昨天晚上7点").hasPrefix("11月24日（周二）19:00已经过去了"))
        #expect(try await chat.say("12月10号晚上7点").hasPrefix("12月10日（周四）19:00太远了，只能约 7 天以内的时间。"))
        #expect(try await chat.say("下周一晚上7点").hasPrefix("11月30日（周一）不营业（休息），请换一天。"))
        #expect(try await chat.say("明天下午3点").hasPrefix("明天（周四）15:00不在营业时间内（当天 11:00-14:00、17:00-02:00）"))
        #expect(try await chat.say("明天6点") == "几位？")
        #expect(await chat.slots()["when"] == "2026-11-26 周四 18:00")
    }

    @Test("if: comparisons on numbers and a fact of the chosen row; the business's confirm word; done with facts")
    func comparisons() async throws {
        let big = try Chat(Self.rules, user: "big")
        _ = try await big.say("订座"); _ = try await big.say("甲店"); _ = try await big.say("明天晚上7点")
        #expect(try await big.say("12位").hasPrefix("要包间吗？"), "12 > 10 and 甲店 has rooms")
        #expect(try await big.say("要") == "甲店 2026-11-26 周四 19:00 12位，对吗？")
        #expect(try await big.say("妥了") == "好的，一号路 见。热线 400-1")
        let other = try Chat(Self.rules, user: "other")
        _ = try await other.say("订座"); _ = try await other.say("乙店"); _ = try await other.say("明天晚上7点")
        #expect(try await other.say("12位").hasPrefix("乙店"), "乙店 has no rooms: the room step is skipped")
        let two = try Chat(Self.rules, user: "two")
        _ = try await two.say("订座"); _ = try await two.say("乙店"); _ = try await two.say("明天晚上7点")
        #expect(try await two.say("2位").hasPrefix("二人桌靠窗吗？"), "<= 2")
    }

    @Test("prefill: the first message gives the branch, the time and the party (a measure word), not a number read out of the time")
    func prefill() async throws {
        let chat = try Chat(Self.rules)
        #expect(try await chat.say("订座，甲店，明晚七点，4位") == "甲店 2026-11-26 周四 19:00 4位，对吗？")
        let bare = try Chat(Self.rules, user: "bare")
        #expect(try await bare.say("订座 甲店 明晚七点") == "几位？", "七 of 七点 is not the party size")
    }

    @Test("a strict confirm (cancelling) is not confirmed by a bare 嗯; an ordinary one is; the business's words count at both")
    func strict() async throws {
        let chat = try Chat(Self.rules)
        _ = try await chat.say("退订")
        #expect(try await chat.say("13812345678") == "确定取消 13812345678？")
        #expect(try await chat.say("嗯").hasPrefix("抱歉，没有看懂"))
        #expect(try await chat.say("妥了") == "已取消")
        let soft = try Chat(Self.rules, user: "soft")
        _ = try await soft.say("订座，甲店，明晚七点，4位")
        #expect(try await soft.say("嗯呢").hasPrefix("好的，一号路 见"))
    }

    @Test("a follow inside a flow is welcomed and the step asked again; an unfollow ends the flow and the whole session")
    func followAndUnfollow() async throws {
        let chat = try Chat(Self.rules)
        _ = try await chat.say("订座")
        let welcome = try await chat.send(.event(.subscribe(scene: nil, ticket: nil)))
        #expect(Chat.text(welcome) == "欢迎！\n\n哪家？\n1 甲店\n2 乙店")
        #expect(await chat.session()?.flow?.name == "book")
        let gone = try await chat.send(.event(.unsubscribe))
        if case .noReply(let reason) = gone.source { #expect(reason.contains("flow 'book' and the session are ended")) } else { Issue.record("\(gone.source)") }
        #expect(await chat.session() == nil)
    }

    static let sideQuestions = """
    default: 抱歉
    intents:
      parking:
        examples: [停车方便吗, 有停车场吗, 能停车吗, 停车位多吗, 附近有地方停车吗, 开车去好停车吗, 停车收费吗, 停车场在哪, 车停哪里, 可以停车吗, 停车要钱吗, 有没有车位]
      wifi:
        examples: [有无线网吗, wifi密码多少, 能上网吗, 有wifi吗, 无线网密码, 网络密码是什么, 店里有网吗, 可以连wifi吗, wifi怎么连, 有没有网络, 上网密码, 无线密码多少]
    rules:
      - {id: p, when: {intent: parking}, reply: 地下车库免费停 2 小时。}
      - {id: w, when: {intent: wifi}, reply: WiFi 密码 88888888。}
      - {id: b, when: {contains: [订座]}, flow: f}
    flows:
      f:
        steps:
          - {slot: n, ask: 几位？, expect: {number: {min: 1, max: 20}}}
          - {slot: note, ask: 有什么要求？, expect: text}
        done: 好的，{{n}} 位：{{note}}
    """

    @Test("a confident intent answers a side question inside a flow, then the step again; at a free-text step only a question digresses")
    func intentSideQuestions() async throws {
        let chat = try Chat(Self.sideQuestions)
        _ = try await chat.say("订座")
        #expect(try await chat.say("请问附近能停车吗") == "地下车库免费停 2 小时。\n\n几位？")
        #expect(chat.lastOutcome?.source == .flow(name: "f", event: .digression(rule: "p")))
        #expect(try await chat.say("4位") == "有什么要求？")
        #expect(try await chat.say("有wifi吗？") == "WiFi 密码 88888888。\n\n有什么要求？", "a question at a free-text step")
        #expect(try await chat.say("靠窗，方便停车") == "好的，4 位：靠窗，方便停车", "not a question: it is the answer")
    }
}
