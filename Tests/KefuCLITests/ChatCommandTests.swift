import Foundation
import KefuTestSupport
import Testing

/// `kefu chat`: a terminal conversation with a rule set, driven through stdin.
@Suite("kefu chat")
struct ChatCommandTests {
    static let rules = """
        default: 抱歉，没有理解。
        events: {subscribe: 欢迎关注！回复“预约”试试。}
        rules:
          - {id: menu, when: {click: MENU_INFO}, reply: 这是菜单。}
          - {id: book, when: {contains: [预约]}, flow: booking}
        interrupts:
          - {when: {exact: [取消]}, action: cancel}
          - {id: human, when: {contains: [人工]}, action: handoff}
        flows:
          booking:
            expires: 30m
            on_expire: 预约已超时，请重新回复“预约”。
            steps:
              - {slot: when, ask: 想约什么时间？, expect: datetime}
              - {slot: phone, label: 手机号, ask: 请留下手机号, expect: mobile}
            done: 已预约 {{when}}，手机 {{phone}}。
        """

    static func chat(_ lines: [String], _ extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
        let dir = try RulesCommandTests.temporaryRuleSet(["rules.yaml": rules])
        defer { try? FileManager.default.removeItem(at: dir) }
        return try kefu(["chat", dir.path, "--time", "2026-11-25 10:00"] + extra, input: lines.joined(separator: "\n") + "\n")
    }

    @Test("messages, events and the session after each reply; the clock moves with /wait")
    func conversation() throws {
        let r = try Self.chat(["/subscribe", "我想预约", "/click MENU_INFO", "明天下午三点", "/session", "/wait 31m", "你好"])
        #expect(r.status == 0, "\(r.err)")
        let out = r.out
        #expect(out.contains("你 > /subscribe\n客服 < 欢迎关注！回复“预约”试试。"), "\(out)")
        #expect(out.contains("客服 < 想约什么时间？"))
        #expect(out.contains("[会话 session] flow booking · step when · slots {} · expires 2026-11-25 10:30"))
        #expect(out.contains("客服 < 这是菜单。\n       \n       想约什么时间？"), "a menu click mid-flow is answered, then the question again")
        #expect(out.contains("客服 < 请留下手机号"))
        #expect(out.contains("slots {when=2026-11-26 周四 15:00}"))
        #expect(out.contains("⏱ 2026-11-25 10:31"))
        #expect(out.contains("客服 < 预约已超时，请重新回复“预约”。\n       \n       抱歉，没有理解。"), "\(out)")
    }

    @Test("/resend is WeChat's retry: the same answer, the flow does not move; /user switches users; handoff shows the pause")
    func resendAndUsers() throws {
        let r = try Self.chat(["预约", "后天上午九点", "/resend", "/user o_other", "人工", "你好", "/kf-close", "取消", "/bogus"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.components(separatedBy: "客服 < 请留下手机号").count == 3, "the retry gets the same reply\n\(r.out)")
        #expect(r.out.contains("(the stored answer (a retry))"))
        #expect(r.out.contains("now talking as o_other"))
        #expect(r.out.contains("客服 < [转人工 transfer_customer_service]\n       (by interrupt:human)\n  [会话 session] handed to a human until 2026-11-25 10:30"))
        #expect(r.out.contains("(by handoff)"), "messages during the pause go to the agent")
        #expect(r.out.contains("(the agent closed the session; the bot answers this user again)"))
        #expect(r.out.contains("客服 < 抱歉，没有理解。"), "取消 outside a flow is not an interrupt")
        #expect(r.out.contains("unknown command /bogus"))
    }

    @Test("a broken rule set or a bad --time is refused with the reason")
    func errors() throws {
        let dir = try RulesCommandTests.temporaryRuleSet(["rules.yaml": "rules:\n  - {id: a, when: {contains: [x]}, flow: nope}\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = try kefu(["chat", dir.path], input: "你好\n")
        #expect(broken.status == 1 && broken.err.contains("rules.yaml:2:42") && broken.err.contains("unknown-flow"), "\(broken.err)")
        let time = try Self.chat([], ["--time", "tomorrow"])
        #expect(time.status != 0 && time.err.contains("--time must look like"))
    }

    @Test("calls: --mock answers them from case files, --service makes them for real against the sample backend; each call is shown")
    func calls() throws {
        let shop = TestSupport.root.appendingPathComponent("Rules/shop").path
        let mocked = try kefu(["chat", shop, "--time", "2026-11-25 10:00", "--mock", TestSupport.root.appendingPathComponent("Corpora/shop/order-status.yaml").path],
                              input: "订单 DD202406110001 到哪了\n")
        #expect(mocked.status == 0, "\(mocked.err)")
        #expect(mocked.out.contains("订单 DD202406110001 已发货：顺丰速运，运单号 SF1234567890。"), "\(mocked.out)")
        #expect(mocked.out.contains("接口 ⇄ erp GET /orders/DD202406110001 → 200"), "\(mocked.out)")

        let none = try kefu(["chat", shop, "--time", "2026-11-25 10:00"], input: "订单 DD202406110001 到哪了\n")
        #expect(none.out.contains("订单系统暂时无法查询") && none.out.contains("no mock answers erp GET /orders/DD202406110001"), "\(none.out)")

        let backend = try SampleBackendServer()
        let environment = ["KEFU_SECRET_SHOP_TOKEN": "chat-test-token", "KEFU_SECRET_SHOP_SIGNING": SampleBackendServer.signingKey]
        let real = try TestSupport.run(TestSupport.kefu, ["chat", shop, "--time", "2026-11-25 10:00", "--service", "erp=\(backend.base)/shop"],
                                       environment: environment, input: Data("订单 DD202406110004 到哪了\n".utf8))
        #expect(real.status == 0, "\(real.err)")
        #expect(real.out.contains("订单 DD202406110004 当前状态：已取消。"), "\(real.out)")
        #expect(try backend.requests().first?["signature_ok"] as? Bool == true)
        let unknown = try TestSupport.run(TestSupport.kefu, ["chat", shop, "--service", "crm=http://127.0.0.1:1/x"], environment: environment, input: Data())
        #expect(unknown.status != 0 && unknown.err.contains("--service crm: the rule set has no such service (it has: erp)"), "\(unknown.err)")
    }
}
