import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// Every flow construct, driven message by message through the same path as `kefu serve`
/// (Responder + store), with a virtual clock.
@Suite("Flows")
struct FlowTests {
    static let rules = """
        settings:
          handoff_pause: 30m
        rules:
          - id: hours
            when: {contains: [营业时间]}
            reply: 营业时间 9:00–21:00。
          - id: hello
            when: {exact: [你好]}
            reply: 您好！
          - id: start-return
            when: {contains: [退货]}
            flow: after-sales
          - id: order-number
            when: {regex: '(?<order>DD\\d{12})'}
            reply: 收到订单号 {{order}}。
            flow: after-sales
          - id: book
            when: {contains: [预约]}
            flow: booking
          - id: menu
            when: {click: MENU_INFO}
            reply: 这是菜单。
          - id: complain
            when: {contains: [投诉]}
            reply: {transfer: true}
        flows:
          after-sales:
            expires: 30m
            on_expire: 刚才的售后登记已超时，如需继续请回复“退货”。
            cancelled: 好的，售后登记已取消。
            steps:
              - slot: order
                label: 订单号
                ask: 请提供订单号（DD 开头 12 位数字）
                expect: {regex: '(?<slot>DD\\d{12})'}
                retry: [订单号格式不对，请再试一次, 订单号在“我的订单”页面可以找到]
                max_attempts: 3
                on_fail: handoff
              - slot: reason
                label: 原因
                ask: 遇到了什么问题？
                expect: {choice: {质量问题: [坏了, 破损], 发错货: [发错], 不想要了: [不要了]}}
              - slot: photo
                if: {reason: 质量问题}
                ask: 请拍一张破损处的照片
                expect: {media: image}
                max_attempts: 2
                on_fail: {reply: 没有照片也可以稍后补充。请先发一张照片，或回复“取消”。}
              - slot: phone
                label: 手机号
                ask: 请留下手机号
                expect: mobile
              - confirm: 请确认：订单 {{order}}，原因 {{reason}}，手机 {{phone}}。回复“是”提交，回复“否”修改。
            done: 已登记售后，订单 {{order}}，原因：{{reason}}，手机 {{phone}}。
          booking:
            expires: 10m
            steps:
              - slot: when
                ask: 想约什么时间？
                expect: datetime
              - slot: people
                ask: 几位？
                expect: {number: {min: 1, max: 8}}
                max_attempts: 2
              - slot: name
                ask: 您贵姓？
                expect: {text: {min: 1, max: 10}}
            done: 已为{{name}}预约 {{when}}，{{people}} 位。
        interrupts:
          - id: cancel
            when: {exact: [取消, 算了, 不办了]}
            action: cancel
          - id: human
            when: {contains: [人工, 转客服]}
            action: handoff
        default: 抱歉，没有理解。
        """

    static let order = "DD202406110001"

    @Test("a rule starts the flow; each answer fills its slot; choice by words; branch; media; confirm; done")
    func happyPath() async throws {
        let chat = try Chat(Self.rules)
        #expect(try await chat.say("我要退货") == "请提供订单号（DD 开头 12 位数字）")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .started(rule: "start-return")))
        #expect(chat.lastOutcome?.flow == "after-sales" && chat.lastOutcome?.step == "order")
        #expect(try await chat.say("单号是 dd202406110001") == "遇到了什么问题？\n1 质量问题\n2 发错货\n3 不想要了")
        #expect(await chat.slots() == ["order": "dd202406110001"])
        #expect(try await chat.say("收到就坏了") == "请拍一张破损处的照片")
        #expect(await chat.slots()["reason"] == "质量问题")
        let photo = try await chat.send(.image(.init(picURL: "http://mmbiz/p.jpg", mediaId: "MEDIA_1")))
        #expect(Chat.text(photo) == "请留下手机号")
        #expect(await chat.slots()["photo"] == "MEDIA_1")
        #expect(try await chat.say("+86 138-1234-5678") == "请确认：订单 dd202406110001，原因 质量问题，手机 13812345678。回复“是”提交，回复“否”修改。")
        #expect(try await chat.say("是的") == "已登记售后，订单 dd202406110001，原因：质量问题，手机 13812345678。")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .done))
        #expect(await chat.session() == nil, "a finished flow leaves nothing behind")
        let log = await chat.store.turns
        #expect(log.map(\.step) == ["order", "reason", "photo", "phone", "confirm", nil])
        #expect(log.allSatisfy { $0.rule == "flow:after-sales" })
    }

    @Test("captured slots are filled by the starting rule and their steps skipped; a branch not taken is skipped")
    func prefillAndBranch() async throws {
        let chat = try Chat(Self.rules)
        let reply = try await chat.say("\(Self.order) 要退货")
        #expect(reply == "收到订单号 \(Self.order)。\n\n遇到了什么问题？\n1 质量问题\n2 发错货\n3 不想要了")
        #expect(await chat.slots() == ["order": Self.order])
        #expect(try await chat.say("2") == "请留下手机号", "发错货 does not ask for a photo")
        #expect(await chat.session()?.flow?.slots["photo"] == nil)
    }

    @Test("escalating re-prompts, then on_fail: handoff transfers and pauses the bot")
    func retriesThenHandoff() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        #expect(try await chat.say("不知道") == "订单号格式不对，请再试一次")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .reasked(step: "order", attempt: 1)))
        #expect(try await chat.say("找不到") == "订单号在“我的订单”页面可以找到")
        let third = try await chat.send(.text(.init(content: "还是没有")))
        #expect(Chat.isTransfer(third))
        #expect(third.source == .flow(name: "after-sales", event: .handedOff(by: "on_fail")))
        let session = try #require(await chat.session())
        #expect(session.flow == nil && session.pausedUntil == Chat.start + 30 * 60)
    }

    @Test("on_fail: reply says it and waits again; a wrong kind of message is re-asked with a hint")
    func onFailReply() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("\(Self.order) 退货")
        try await chat.say("质量问题")
        #expect(try await chat.say("照片等会发") == "抱歉，没有看懂。请发送图片。\n请拍一张破损处的照片")
        #expect(try await chat.say("没拍") == "没有照片也可以稍后补充。请先发一张照片，或回复“取消”。")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .failed(step: "photo")))
        let flow = await chat.session()?.flow
        #expect(flow?.attempts == 0 && flow?.step == 2)
    }

    @Test("confirm: 否 shows what can change; changing a slot empties the slots that branch on it; naming a slot changes it directly")
    func confirmAndChange() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("\(Self.order) 退货")
        try await chat.say("坏了")
        _ = try await chat.send(.image(.init(picURL: "p", mediaId: "M1")))
        try await chat.say("13812345678")
        #expect(try await chat.say("不对") == "请问要修改哪一项？\n1 订单号\n2 原因\n3 photo\n4 手机号")
        #expect(try await chat.say("2") == "遇到了什么问题？\n1 质量问题\n2 发错货\n3 不想要了")
        #expect(await chat.slots()["photo"] == nil, "photo depended on reason")
        #expect(try await chat.say("发错货了") == "请确认：订单 \(Self.order)，原因 发错货，手机 13812345678。回复“是”提交，回复“否”修改。")
        #expect(try await chat.say("手机号错了，应该是 139 0000 1111") == "请确认：订单 \(Self.order)，原因 发错货，手机 13900001111。回复“是”提交，回复“否”修改。")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .changing(slot: "phone")))
        #expect(try await chat.say("嗯嗯").hasPrefix("抱歉") == false)
        #expect(await chat.session() == nil)
    }

    @Test("cancel interrupt mid-flow ends it; outside a flow the same words go to the rules")
    func cancel() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        #expect(try await chat.say("算了") == "好的，售后登记已取消。")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .cancelled(by: "cancel")))
        #expect(await chat.session() == nil)
        #expect(try await chat.say("算了") == "抱歉，没有理解。")
        #expect(chat.lastOutcome?.source == .defaultReply)
    }

    @Test("handoff mid-flow: transfer, messages keep going to the agent, events are answered not transferred, the pause ends")
    func handoff() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        let transfer = try await chat.send(.text(.init(content: "转人工")))
        #expect(Chat.isTransfer(transfer))
        #expect(transfer.source == .flow(name: "after-sales", event: .handedOff(by: "human")))
        chat.wait(minutes: 10)
        let during = try await chat.send(.text(.init(content: "你好")))
        #expect(Chat.isTransfer(during) && during.source == .handedOff)
        let click = try await chat.send(.event(.click(key: "MENU_INFO")))
        #expect(Chat.text(click) == "这是菜单。", "events are never transferred")
        #expect(await chat.session()?.pausedUntil == Chat.start + 40 * 60, "each transferred message extends the pause")
        chat.wait(minutes: 31)
        #expect(try await chat.say("你好") == "您好！", "the bot answers again after the pause")
        // A rule whose reply is a transfer pauses too; the agent closing the session ends the pause.
        #expect(Chat.isTransfer(try await chat.send(.text(.init(content: "我要投诉")))))
        #expect(await chat.session()?.pausedUntil != nil)
        let closed = try await chat.send(.event(.kfCloseSession(kfAccount: "kf1@gh")))
        #expect(closed.response == .success)
        #expect(try await chat.say("你好") == "您好！")
    }

    @Test("digression: another rule answers mid-flow, then the question again; no attempt is counted")
    func digression() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        try await chat.say("错的")
        #expect(try await chat.say("营业时间是几点？") == "营业时间 9:00–21:00。\n\n请提供订单号（DD 开头 12 位数字）")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .digression(rule: "hours")))
        #expect(await chat.session()?.flow?.attempts == 1)
        let click = try await chat.send(.event(.click(key: "MENU_INFO")))
        #expect(Chat.text(click) == "这是菜单。\n\n请提供订单号（DD 开头 12 位数字）")
        // At a free-text step a plain answer is the answer, a question is a digression.
        try await chat.say("预约")
        try await chat.say("明天下午三点")
        try await chat.say("两位")
        #expect(try await chat.say("营业时间呢？") == "营业时间 9:00–21:00。\n\n您贵姓？")
        #expect(try await chat.say("王") == "已为王预约 2026-11-26 周四 15:00，2 位。")
    }

    @Test("a rule that starts another flow switches to it; one that starts the same flow asks the step again")
    func switchFlows() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        #expect(try await chat.say("还是退货吧") == "请提供订单号（DD 开头 12 位数字）")
        #expect(chat.lastOutcome?.source == .flow(name: "after-sales", event: .digression(rule: "start-return")))
        #expect(try await chat.say("我先预约一下") == "想约什么时间？")
        #expect(chat.lastOutcome?.source == .flow(name: "booking", event: .started(rule: "book")))
        #expect(await chat.session()?.flow?.name == "booking")
    }

    @Test("dates relative to the virtual clock; a date without a time is asked again; number range and on_fail cancel")
    func datesAndNumbers() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        #expect(try await chat.say("明天").hasPrefix("抱歉，没有看懂。请告诉我日期和时间"))
        #expect(try await chat.say("下周三上午十点半") == "几位？")
        #expect(await chat.slots()["when"] == "2026-12-02 周三 10:30")
        #expect(try await chat.say("20位") == "“20”超出了上限（最多 8）。\n\n几位？", "a number out of range is told why")
        #expect(try await chat.say("很多") == "好的，已取消。")
        #expect(chat.lastOutcome?.source == .flow(name: "booking", event: .cancelled(by: "on_fail")))
    }

    @Test("expiry: a flow idle past `expires` is dropped and on_expire is said with the next answer")
    func expiry() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        try await chat.say(Self.order)
        chat.wait(minutes: 29)
        #expect(try await chat.say("营业时间") == "营业时间 9:00–21:00。\n\n遇到了什么问题？\n1 质量问题\n2 发错货\n3 不想要了",
                "activity keeps the flow alive")
        chat.wait(minutes: 31)
        #expect(try await chat.say("你好") == "刚才的售后登记已超时，如需继续请回复“退货”。\n\n您好！")
        #expect(await chat.session() == nil)
    }

    @Test("clean-up turns an expired flow into its notice (forgetting the slots) and drops ended pauses")
    func tidy() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        try await chat.say(Self.order)
        chat.wait(minutes: 45)
        #expect(try await chat.responder.tidy(engine: chat.engine, now: chat.clock.now()) == 1)
        let tidied = try #require(await chat.session())
        #expect(tidied.flow == nil && tidied.notice == "刚才的售后登记已超时，如需继续请回复“退货”。")
        chat.wait(minutes: 60 * 24)
        #expect(try await chat.say("你好") == "刚才的售后登记已超时，如需继续请回复“退货”。\n\n您好！")
        // A pause that ended is removed by clean-up; nothing is left.
        _ = try await chat.send(.text(.init(content: "转人工")))
        chat.wait(minutes: 31)
        #expect(try await chat.responder.tidy(engine: chat.engine, now: chat.clock.now()) == 1)
        #expect(await chat.store.sessionCount == 0)
    }

    @Test("WeChat's retry of the same message gets the same answer and never advances the flow twice")
    func retriesDoNotAdvance() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        let first = try await chat.send(.text(.init(content: Self.order)))
        let before = await chat.session()
        let again = try await chat.resend()
        #expect(again.source == .remembered && again.response == first.response)
        #expect(await chat.session() == before)
        #expect(await chat.store.turns.count == 2, "the retry is not a new turn")
    }

    @Test("full-width answers: a regex step and a prefill read ＤＤ… as DD…, keeping the letters' case")
    func fullWidth() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("退货")
        #expect(try await chat.say("单号ＤＤ２０２４０６１１０００１").hasPrefix("遇到了什么问题"))
        #expect(await chat.slots()["order"] == Self.order)
        let other = try Chat(Self.rules, user: "o_2")
        #expect(try await other.say("ＤＤ２０２４０６１１０００１退货").contains("遇到了什么问题"))
        #expect(await other.slots()["order"] == Self.order)
        #expect(other.lastOutcome?.trigger == "order-number", "the rule that started the flow is reported")
    }

    @Test("dates in the past are asked again: yesterday, or a time already gone today; 明晚 and 明早 are tomorrow")
    func pastDates() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        #expect(try await chat.say("昨天下午三点").hasPrefix("11月24日（周二）15:00已经过去了"))
        #expect(try await chat.say("今天早上8点").hasPrefix("今天（周三）08:00已经过去了"), "10:00 now")
        #expect(try await chat.say("明晚8点") == "几位？")
        #expect(await chat.slots()["when"] == "2026-11-26 周四 20:00")
    }

    @Test("at the change menu the new value itself picks the slot; with one thing to change, 否 asks it at once")
    func changeByValue() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("\(Self.order) 退货")
        try await chat.say("发错了")
        try await chat.say("13812345678")
        #expect(try await chat.say("不对").hasPrefix("请问要修改哪一项？"))
        #expect(try await chat.say("13900001111").contains("手机 13900001111"))
        #expect(try await chat.session()?.flow?.step == 4)  // the confirm step again
        let single = try Chat("""
            rules: [{id: go, when: {contains: [取消预约]}, flow: c}]
            flows:
              c:
                steps:
                  - {slot: phone, ask: 手机号？, expect: mobile}
                  - {confirm: '确定取消 {{phone}}？'}
                done: 已取消 {{phone}}。
            """)
        try await single.say("取消预约")
        try await single.say("13812345678")
        #expect(try await single.say("否") == "手机号？")
    }

    @Test("at a free-text step, a message that is mostly another flow's keyword switches flows; a word inside an answer does not")
    func freeTextSwitch() async throws {
        let chat = try Chat(Self.rules)
        try await chat.say("预约")
        try await chat.say("明天下午三点")
        try await chat.say("两位")
        #expect(try await chat.say("我要退货") == "请提供订单号（DD 开头 12 位数字）")
        #expect(try await chat.session()?.flow?.name == "after-sales")
        let other = try Chat(Self.rules, user: "o_3")
        try await other.say("预约")
        try await other.say("明天下午三点")
        try await other.say("两位")
        #expect(try await other.say("退货的那位王先生").hasPrefix("已为退货的那位王先生预约"))
    }
}
