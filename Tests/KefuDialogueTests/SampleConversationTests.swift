import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// The sample rule sets as their customers would meet them. The clock starts on Wednesday
/// 2026-11-25 10:00 (+08:00).
@Suite("Sample conversations")
struct SampleConversationTests {
    @Test("clinic: 预约挂号 from “我想挂儿科” — department prefilled, doctor, time, name, phone, confirm, change the time, done")
    func clinicBooking() async throws {
        let chat = try Chat(sample: "clinic")
        let first = try await chat.say("我想挂儿科")
        #expect(first.contains("请选择儿科医生") && first.contains("1 李敏（主任医师）"), "\(first)")
        #expect(await chat.slots() == ["department": "儿科"])
        #expect(try await chat.say("都可以").contains("哪天几点"))
        #expect(try await chat.say("停车方便吗？").contains("哪天几点"), "a digression, then the question again")
        #expect(chat.lastOutcome?.source == .flow(name: "booking", event: .digression(rule: "parking")))
        #expect(try await chat.say("明天上午九点半").contains("姓名"))
        #expect(await chat.slots()["time"] == "2026-11-26 周四 09:30")
        #expect(try await chat.say("张小明").contains("手机号"))
        let confirm = try await chat.say("13812345678")
        #expect(confirm.contains("医生：任意医生") && confirm.contains("时间：2026-11-26 周四 09:30") && confirm.contains("就诊人：张小明"), "\(confirm)")
        #expect(try await chat.say("时间要改一下，改到下周一下午两点").contains("时间：2026-11-30 周一 14:00"))
        let done = try await chat.say("是")
        #expect(done.contains("预约成功：儿科 任意医生，2026-11-30 周一 14:00，就诊人 张小明，预约号 A1001"), "\(done)")
        #expect(await chat.session() == nil)
    }

    @Test("clinic: the menu starts booking; symptoms choose the department; 取消 ends it; 取消预约 is its own flow; 人工 hands off")
    func clinicMenuAndCancel() async throws {
        let chat = try Chat(sample: "clinic")
        let menu = try await chat.send(.event(.click(key: "MENU_BOOK")))
        #expect(Chat.text(menu).contains("请问您要挂哪个科室"))
        #expect(try await chat.say("牙疼好几天了").contains("口腔科医生"))
        #expect(try await chat.say("取消").contains("本次预约已取消"))
        #expect(try await chat.say("我要取消预约").contains("手机号"))
        #expect(chat.lastOutcome?.source == .flow(name: "cancel-appointment", event: .started(rule: "start-cancel-appointment")))
        #expect(try await chat.say("138 1234 5678").contains("确定要取消手机号 13812345678 名下的预约吗"))
        #expect(try await chat.say("确认").contains("已为手机号 13812345678 提交取消申请"))
        #expect(chat.simulator.mocks?.takeMade().last?.request.summary == "his DELETE /appointments?phone=13812345678")
        #expect(Chat.isTransfer(try await chat.send(.text(.init(content: "转人工")))))
    }

    @Test("clinic: 改约 — phone, new time (a date alone is asked again), confirm; expiry after 20 minutes")
    func clinicReschedule() async throws {
        let chat = try Chat(sample: "clinic")
        #expect(try await chat.say("我想改约").contains("手机号"))
        #expect(try await chat.say("13900001111").contains("想改到哪天几点"))
        #expect(try await chat.say("周五").contains("请告诉我日期和具体几点"))
        #expect(try await chat.say("周五下午三点").contains("改到 2026-11-27 周五 15:00"))
        chat.wait(minutes: 21)
        let late = try await chat.say("你好")
        #expect(late.hasPrefix("刚才的改约超过 20 分钟没有完成"), "\(late)")
    }

    @Test("shop: order status from a bare order number; after-sales with reason, photo, phone, confirm")
    func shop() async throws {
        let chat = try Chat(sample: "shop")
        #expect(try await chat.say("DD202406110001 到哪了").hasPrefix("订单 DD202406110001 已发货：顺丰速运，运单号 SF1234567890。"))
        let start = try await chat.say("我要退货")
        #expect(start.contains("登记售后") && start.contains("订单号"), "\(start)")
        #expect(try await chat.say("DD202406110002").contains("1 质量问题"))
        #expect(try await chat.say("收到就坏了").contains("照片"))
        let photo = try await chat.send(.image(.init(picURL: "http://mmbiz/x.jpg", mediaId: "MEDIA_9")))
        #expect(Chat.text(photo).contains("手机号"))
        #expect(await chat.slots()["photo"] == "MEDIA_9")
        #expect(try await chat.say("13812345678").contains("原因：质量问题"))
        #expect(try await chat.say("是").hasPrefix("已为您登记售后，工单号 SH-000101：订单 DD202406110002，原因：质量问题"))
        // Menu keys and handoff still work outside flows.
        #expect(Chat.text(try await chat.send(.event(.click(key: "MENU_ORDER_RECENT")))).contains("订单号"))
        #expect(Chat.isTransfer(try await chat.send(.text(.init(content: "转人工")))))
        #expect(await chat.session()?.pausedUntil == Chat.start + 30 * 60)
    }
}
