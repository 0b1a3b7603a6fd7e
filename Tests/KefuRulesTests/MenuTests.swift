import Foundation
import Testing
@testable import KefuRules

/// `menu:`: what the reader makes of it, WeChat's JSON both ways, the difference in words, and
/// the limits at their edges.
@Suite("Menu")
struct MenuTests {
    static let yaml = """
        default: 好
        rules:
          - {id: orders, when: {click: 'MENU_ORDER_*'}, reply: 请回复订单号}
          - {id: contact, when: {click: MENU_CONTACT}, reply: 客服在线 9:00–21:00}
          - {id: scan, when: {click: SCAN_GOODS}, reply: 扫到了}
        menu:
          - name: 我的订单
            sub_buttons:
              - {name: 订单状态, click: MENU_ORDER_STATUS}
              - {name: 全部订单, view: 'https://shop.example.com/orders?from=menu'}
              - name: 小程序
                miniprogram: {appid: wx286b93c14bbf93aa, pagepath: pages/lunar/index, url: 'http://mp.weixin.qq.com'}
          - name: 联系客服
            click: MENU_CONTACT
          - name: 更多
            sub_buttons:
              - {name: 扫码查商品, scancode_waitmsg: SCAN_GOODS}
              - {name: "说\\"你好\\"", article_id: ARTICLE_1}

        """

    static func menu(_ text: String = yaml) throws -> MenuSpec {
        try #require(compileRules(text).menu)
    }

    @Test("the create body is WeChat's JSON exactly: lowercase types, sub_button, raw UTF-8, fixed field order")
    func createBody() throws {
        let body = try Self.menu().createBody
        #expect(body == #"{"button":[{"name":"我的订单","sub_button":[{"type":"click","name":"订单状态","key":"MENU_ORDER_STATUS"},"#
            + #"{"type":"view","name":"全部订单","url":"https://shop.example.com/orders?from=menu"},"#
            + #"{"type":"miniprogram","name":"小程序","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index"}]},"#
            + #"{"type":"click","name":"联系客服","key":"MENU_CONTACT"},"#
            + #"{"name":"更多","sub_button":[{"type":"scancode_waitmsg","name":"扫码查商品","key":"SCAN_GOODS"},"#
            + #"{"type":"article_id","name":"说\"你好\"","article_id":"ARTICLE_1"}]}]}"#)
        #expect(!body.contains("\\u"))
        // It is JSON, and it reads back as the same menu.
        #expect(try JSONSerialization.jsonObject(with: Data(body.utf8)) is [String: Any])
        #expect(try MenuSpec.parseButtons(Data(body.utf8)) == Self.menu())
    }

    @Test("menu/get's answer reads back: menuid, sub_button: [] on leaves, numbers as text, conditional menus")
    func getAnswer() throws {
        let answer = #"""
            {"menu":{"button":[{"name":"我的订单","sub_button":[{"type":"click","name":"订单状态","key":"MENU_ORDER_STATUS","sub_button":[]},
            {"type":"view","name":"全部订单","url":"https://shop.example.com/orders?from=menu","sub_button":[]},
            {"type":"miniprogram","name":"小程序","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index","sub_button":[]}]},
            {"type":"click","name":"联系客服","key":"MENU_CONTACT","sub_button":[]},
            {"name":"更多","sub_button":[{"type":"scancode_waitmsg","name":"扫码查商品","key":"SCAN_GOODS","sub_button":[]},
            {"type":"article_id","name":"说\"你好\"","article_id":"ARTICLE_1","sub_button":[]}]}],"menuid":208396938},
            "conditionalmenu":[{"button":[{"type":"media_id","name":"图片","media_id":"MEDIA_1","sub_button":[]}],
            "matchrule":{"group_id":2,"sex":"","client_platform_type":"2"},"menuid":208396993}]}
            """#
        let pulled = try MenuSpec.parseGetAnswer(Data(answer.utf8))
        #expect(pulled.menu == (try Self.menu()))
        #expect(MenuDiff(from: pulled.menu, to: try Self.menu()).isEmpty)
        #expect(pulled.menuID == "208396938")
        #expect(pulled.conditional.count == 1)
        #expect(pulled.conditional.first?.matchRule == ["group_id": "2", "client_platform_type": "2"])
        #expect(pulled.conditional.first?.menu.buttons.first?.action == .other(type: "media_id", value: "MEDIA_1"))
        // A menu made on the website and read from get_current_selfmenu_info: sub_button is {"list": […]}.
        let wrapped = try MenuSpec.parseButtons(Data(#"{"button":[{"name":"a","sub_button":{"list":[{"type":"click","name":"b","key":"K"}]}}]}"#.utf8))
        #expect(wrapped.buttons.first?.subButtons?.first?.action == .click(key: "K"))
    }

    @Test("a get answer that is not a menu is an error that says why (46003: no menu)")
    func badAnswers() {
        func problem(_ text: String) -> MenuJSON.ParseError? {
            do { _ = try MenuSpec.parseGetAnswer(Data(text.utf8)); return nil } catch { return error }
        }
        #expect(problem(#"{"errcode":46003,"errmsg":"menu no exist"}"#)?.isNoMenu == true)
        #expect(problem("not json")?.message.contains("not JSON") == true)
        #expect(problem(#"{"menu":{"button":[{"name":"a"}]}}"#)?.message == "menu.button[0] (“a”) has neither a type nor sub-buttons")
        #expect(problem(#"{"menu":{"button":[{"type":"click","name":"a"}]}}"#)?.message == "menu.button[0] (click) has no key")
        #expect(problem(#"{"menu":{}}"#)?.message == "menu has no \"button\" list")
    }

    @Test("MenuDiff: one line per difference, by position, in words; empty when equal")
    func diff() throws {
        let rules = try Self.menu()
        #expect(MenuDiff(from: rules, to: rules).isEmpty)
        var old = rules
        old.buttons[0].name = "订单"
        old.buttons[0].subButtons![0].action = .click(key: "MENU_ORDER")
        old.buttons[0].subButtons![1].action = .view(url: "https://shop.example.com/orders")
        old.buttons[1].action = .view(url: "https://shop.example.com/contact")
        old.buttons[2].subButtons!.removeLast()
        #expect(MenuDiff(from: old, to: rules).lines == [
            "button 1: name “订单” → “我的订单”",
            "button 1 “我的订单”, sub-button 1 “订单状态”: click key MENU_ORDER → MENU_ORDER_STATUS",
            "button 1 “我的订单”, sub-button 2 “全部订单”: view url https://shop.example.com/orders → https://shop.example.com/orders?from=menu",
            "button 2 “联系客服”: view https://shop.example.com/contact → click MENU_CONTACT",
            "button 3 “更多”, sub-button 2 “说\"你好\"”: only in the new menu (article_id ARTICLE_1)",
        ])
        var shorter = rules
        shorter.buttons.removeLast()
        shorter.buttons[1].action = nil
        shorter.buttons[1].subButtons = [MenuButton(name: "联系我们", action: .click(key: "MENU_CONTACT"))]
        #expect(MenuDiff(from: rules, to: shorter).lines == [
            "button 2 “联系客服”: click MENU_CONTACT → 1 sub-button",
            "button 3 “更多”: only in the old menu (2 sub-buttons: “扫码查商品”, “说\"你好\"”)",
        ])
        #expect(MenuDiff(from: nil, to: rules).lines == ["no menu → a menu of 3 buttons"])
        #expect(MenuDiff(from: nil, to: nil).isEmpty)
    }

    @Test("names are counted in UTF-8 bytes: 5 Chinese characters or 16 letters on a button, 20 or 60 on a sub-button")
    func nameLimits() {
        func codes(top: String, sub: String) -> [String] {
            diagnostics("default: 好\nrules:\n  - {id: c, when: {click: 'K*'}, reply: 好}\nmenu:\n  - name: \(top)\n    sub_buttons:\n      - {name: \(sub), click: K1}\n")
                .map(\.code)
        }
        #expect(codes(top: "五个汉字呀", sub: String(repeating: "字", count: 20)).isEmpty)
        #expect(codes(top: String(repeating: "a", count: 16), sub: String(repeating: "a", count: 60)).isEmpty)
        #expect(codes(top: "六个汉字呀呀", sub: "好") == ["menu-name-too-long"])
        #expect(codes(top: "好", sub: String(repeating: "字", count: 21)) == ["menu-name-too-long"])
        #expect(codes(top: String(repeating: "a", count: 17), sub: String(repeating: "a", count: 61)) == ["menu-name-too-long", "menu-name-too-long"])
    }

    @Test("every limit of a broken menu is reported in one run, each with its place")
    func allAtOnce() {
        let found = diagnostics("""
            default: 好
            rules:
              - {id: c, when: {click: 'K*'}, reply: 好}
            menu:
              - name: 这个名字太长了吧
                click: K1
                sub_buttons:
                  - {name: a, click: K2}
              - name: b
                sub_buttons: [{name: 1, click: K3}, {name: 2, click: K4}, {name: 3, click: K5}, {name: 4, click: K6}, {name: 5, click: K7}, {name: 6, click: K8}]
              - {name: c, view: 'ftp://example.com'}
              - {name: d, click: NOBODY}

            """)
        #expect(found.map { "\($0.code) \($0.location.line):\($0.location.column)" } == [
            "menu-name-too-long 5:11", "menu-action-and-sub-buttons 6:12", "menu-sub-button-count 10:129", "menu-url-scheme 11:22",
            "menu-button-count 12:5", "menu-click-unanswered 12:22",
        ], "\(found.map { $0.render() })")
        #expect(found.allSatisfy { $0.hint != nil && $0.severity == .error })
    }

    @Test("a click pattern answers every key it matches; a cancel interrupt answers none")
    func patterns() {
        func codes(_ rule: String, _ key: String) -> [String] {
            diagnostics("default: 好\n\(rule)\nmenu:\n  - {name: a, click: \(key)}\n").map(\.code)
        }
        #expect(codes("rules:\n  - {id: c, when: {click: 'MENU_*'}, reply: 好}", "MENU_ORDER_1").isEmpty)
        #expect(codes("rules:\n  - {id: c, when: {click: [A, 'MENU_*_1']}, reply: 好}", "MENU_ORDER_1") == ["click-not-in-menu"])
        #expect(codes("rules:\n  - {id: c, when: {click: 'MENU_*'}, reply: 好}", "OTHER") == ["menu-click-unanswered"])
        #expect(codes("interrupts:\n  - {when: {click: STOP}, action: cancel}", "STOP") == ["menu-click-unanswered"])
        #expect(codes("interrupts:\n  - {when: {click: HUMAN}, action: handoff}", "HUMAN").isEmpty)
        // Without a menu, click rules are not checked against one.
        #expect(diagnostics("default: 好\nrules:\n  - {id: c, when: {click: K}, reply: 好}\n").isEmpty)
    }

    @Test("WeChat's JSON fields and capitals in a rule file get a hint that says how to write it")
    func unknownActions() {
        func first(_ button: String) -> Diagnostic? {
            diagnostics("default: 好\nrules:\n  - {id: c, when: {click: K}, reply: 好}\nmenu:\n  - \(button)\n").first
        }
        #expect(first("{name: a, type: click, key: K}")?.hint?.contains("write click: MENU_KEY") == true)
        #expect(first("{name: a, CLICK: K}")?.hint == "write click: (WeChat refuses CLICK with errcode 65318)")
        #expect(first("{name: a, clik: K}")?.hint == "did you mean 'click'?")
        #expect(diagnostics("default: 好\nmenu:\n  - {nme: a, click: K}\n").contains { $0.code == "unknown-key" && $0.hint == "did you mean 'name'?" })
        #expect(first("{name: a, sub_button: [{name: b, click: K}]}")?.hint == "did you mean 'sub_buttons'?")
        #expect(first("{name: a, miniprogram: {appid: wx1}}")?.message == "miniprogram needs pagepath and url")
        #expect(first("{name: a, menu_id: K}")?.hint?.hasPrefix("a button has a name and either sub_buttons or one action: click, ") == true)
        #expect(first("{click: K}")?.message == "a menu button needs a name (what the button says)")
    }
}
