import Foundation
import KefuTestSupport
import Testing
@testable import KefuRules

/// Every error and warning a rule set can produce, each with its location and what it says.
@Suite("Loader, compiler and lint diagnostics")
struct DiagnosticsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let code: String
        let yaml: String
        let line: Int
        let column: Int
        let says: String
        var severity: Diagnostic.Severity = .error
        /// A second file, b.yaml, for problems across files.
        var other: String? = nil
        /// Media files are looked for in ``MediaFixture/folder``.
        var media = false
        var testDescription: String { code }
    }

    static let ok = "default: 抱歉\n"

    static let cases: [Case] = [
        Case(code: "yaml-syntax", yaml: "rules:\n  - id: a\n    when: {contains: [退货, 退款}\n", line: 3, column: 29, says: "YAML syntax"),
        Case(code: "unknown-key", yaml: ok + "rules:\n  - id: a\n    when: {contains: [退货]}\n    repy: 好的\n", line: 5, column: 5, says: "unknown key 'repy' in a rule"),
        Case(code: "duplicate-key", yaml: ok + "rules:\n  - id: a\n    id: b\n    when: {contains: [x]}\n    reply: y\n", line: 3, column: 5, says: "'id' appears twice in the same mapping"),
        Case(code: "wrong-type", yaml: ok + "rules:\n  id: a\n", line: 3, column: 3, says: "rules must be a list"),
        Case(code: "empty-list", yaml: ok + "rules:\n  - id: a\n    when: {contains: []}\n    reply: y\n", line: 4, column: 22, says: "contains is an empty list"),
        Case(code: "unknown-value", yaml: ok + "rules:\n  - id: a\n    when: {message: pdf}\n    reply: y\n", line: 4, column: 21, says: "message cannot be 'pdf'"),
        Case(code: "duplicate-id", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: y\n  - id: a\n    when: {contains: [z]}\n    reply: y\n",
             line: 6, column: 5, says: "rule id 'a' is already used at rules.yaml:3:5"),
        Case(code: "duplicate-intent", yaml: ok + "intents:\n  a: [x]\n", line: 2, column: 3, says: "intent 'a' is already defined at rules.yaml:3:3",
             other: "intents:\n  a: [y]\n"),
        Case(code: "bad-id", yaml: ok + "rules:\n  - id: a b\n    when: {contains: [x]}\n    reply: y\n", line: 3, column: 9, says: "must be one word"),
        Case(code: "missing-key", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n", line: 3, column: 5, says: "needs 'reply'"),
        Case(code: "several-conditions", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x], exact: [y]}\n    reply: y\n", line: 4, column: 11, says: "a rule has one"),
        Case(code: "several-replies", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {text: a, image: b}\n", line: 5, column: 12, says: "a reply has one form"),
        Case(code: "media-url", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {image: 'https://x/y.jpg'}\n", line: 5, column: 21, says: "needs a media_id, not a URL"),
        Case(code: "duplicate-reply", yaml: ok, line: 1, column: 1, says: "the default reply is already given in rules.yaml:1:1", other: "default: again\n"),
        Case(code: "empty-keyword", yaml: ok + "rules:\n  - id: a\n    when: {contains: ['！！']}\n    reply: y\n", line: 4, column: 24, says: "empty after normalization"),
        Case(code: "bad-regex", yaml: ok + "rules:\n  - id: a\n    when: {regex: '(?<order>DD\\d{12}'}\n    reply: y\n", line: 4, column: 37,
             says: "regex does not compile: missing closing parenthesis"),
        Case(code: "unknown-intent", yaml: ok + "intents:\n  refund: [我要退货]\nrules:\n  - id: a\n    when: {intent: refnd}\n    reply: y\n", line: 6, column: 20,
             says: "no intent is named 'refnd'"),
        Case(code: "intent-none-in-rule", yaml: ok + "intents:\n  none: [你好]\n  refund: [我要退货]\nrules:\n  - id: a\n    when: {intent: none}\n    reply: y\n", line: 7, column: 20,
             says: "'none' is not an intent a rule can answer"),
        Case(code: "intent-not-conflict", yaml: ok + "intents:\n  refund: {examples: [我要退货], not: [好的, 我要退货]}\n", line: 3, column: 40,
             says: "“我要退货” is both an example and a 'not' example of intent 'refund'"),
        Case(code: "unknown-variable", yaml: ok + "rules:\n  - id: a\n    when: {regex: '(?<order>DD\\d{12})'}\n    reply: 订单 {{ordr}}\n", line: 5, column: 5,
             says: "uses {{ordr}}, which its condition does not capture"),
        // Flows
        Case(code: "unknown-flow", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    flow: after-sale\nflows:\n  after-sales: {steps: [{slot: a, ask: q}], done: ok}\n",
             line: 5, column: 11, says: "starts flow 'after-sale', which does not exist"),
        Case(code: "bad-duration", yaml: ok + FlowCase.enter + "flows:\n  f:\n    expires: 30 minutes\n    steps: [{slot: a, ask: q}]\n    done: ok\n",
             line: 8, column: 14, says: "expires must be a duration such as 90s, 30m"),
        Case(code: "bad-expectation", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: n, ask: 几位？, expect: {number: {min: 9, max: 2}}}\n    done: ok\n",
             line: 9, column: 46, says: "can never be met: min 9 is more than max 2"),
        Case(code: "duplicate-flow", yaml: ok + FlowCase.enter + "flows:\n  f: {steps: [{slot: a, ask: q}], done: ok}\n", line: 2, column: 3,
             says: "flow 'f' is already defined at rules.yaml:7:3", other: "flows:\n  f: {steps: [{slot: b, ask: q}], done: ok}\n"),
        Case(code: "empty-flow", yaml: ok + FlowCase.enter + "flows:\n  f: {steps: [], done: ok}\n", line: 7, column: 14, says: "flow 'f' has no steps"),
        // Warnings
        Case(code: "flow-not-entered", yaml: ok + "flows:\n  f: {steps: [{slot: a, ask: q}], done: ok}\n", line: 3, column: 3,
             says: "no rule starts flow 'f'", severity: .warning),
        Case(code: "unreachable-step", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: photo, if: {reason: 质量问题}, ask: 照片, expect: {media: image}}\n"
             + "      - {slot: reason, ask: 原因, expect: {choice: [质量问题, 发错货]}}\n    done: ok\n",
             line: 9, column: 9, says: "its if needs slot 'reason', which only a later step fills", severity: .warning),
        Case(code: "maybe-empty-slot", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: reason, ask: 原因, expect: {choice: [质量问题, 发错货]}}\n"
             + "      - {slot: photo, if: {reason: 质量问题}, ask: 照片, expect: {media: image}}\n    done: 照片 {{photo}}\n",
             line: 11, column: 5, says: "{{photo}} may be empty here", severity: .warning),
        Case(code: "prefill-not-a-slot", yaml: ok + "rules:\n  - id: go\n    when: {regex: '(?<orderid>DD\\d{12})'}\n    flow: f\nflows:\n  f: {steps: [{slot: order, ask: q}], done: ok}\n",
             line: 3, column: 5, says: "captures 'orderid', but flow 'f' has no slot of that name", severity: .warning),
        Case(code: "ambiguous-choice", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: r, ask: 原因, expect: {choice: {质量问题: [坏了], 发错货: [坏了]}}}\n    done: ok\n",
             line: 9, column: 9, says: "“坏了” names both '质量问题' and '发错货'", severity: .warning),
        // Warnings
        Case(code: "shadowed-rule", yaml: ok + "rules:\n  - id: a\n    when: {contains: [退货]}\n    reply: y\n    priority: 5\n  - id: b\n    when: {contains: [退货]}\n    reply: z\n",
             line: 7, column: 5, says: "rule 'b' can never win: 'a' answers first (witness: message “退货”; lower priority (0 < 5))", severity: .warning),
        Case(code: "duplicate-keyword", yaml: ok + "rules:\n  - id: a\n    when: {contains: [退货, 退款]}\n    reply: y\n  - id: b\n    when: {contains: [退款, 换货]}\n    reply: z\n",
             line: 7, column: 23, says: "keyword '退款' is also a keyword of 'a' (rules.yaml:4:27)", severity: .warning),
        Case(code: "regex-matches-empty", yaml: ok + "rules:\n  - id: a\n    when: {regex: 'x*'}\n    reply: y\n", line: 4, column: 20, says: "matches the empty message", severity: .warning),
        Case(code: "regex-without-literal", yaml: ok + "rules:\n  - id: a\n    when: {regex: '(?x)\\d{11}'}\n    reply: y\n", line: 4, column: 20, says: "because it uses the (?x) option (spaces and # comments in the pattern); it has no text every match must contain, so it is tried on every message", severity: .warning),
        Case(code: "regex-not-combined", yaml: ok + "rules:\n  - id: a\n    when: {regex: '订单(\\d+)-\\g<1>'}\n    reply: y\n", line: 4, column: 20, says: "outside the combined scan of all regexes, because it uses a subroutine call such as \\g<1>; it is tried on every message that contains '订单'", severity: .warning),
        Case(code: "regex-unnormalized", yaml: ok + "rules:\n  - id: a\n    when: {regex: '退貨'}\n    reply: y\n", line: 4, column: 20, says: "contains '貨'", severity: .warning),
        Case(code: "intent-collision", yaml: ok + "intents:\n  a: [我要退货, 退钱]\n  b: [我要退货!]\nrules:\n  - id: x\n    when: {intent: a}\n    reply: y\n  - id: z\n    when: {intent: b}\n    reply: y\n",
             line: 4, column: 7, says: "is also an example of 'a'", severity: .warning),
        Case(code: "unused-intent", yaml: ok + "intents:\n  a: [我要退货]\n", line: 3, column: 3, says: "no rule answers intent 'a'", severity: .warning),
        Case(code: "reply-too-long", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: '" + String(repeating: "长", count: 700) + "'\n",
             line: 5, column: 5, says: "2100 bytes", severity: .warning),
        Case(code: "news-articles", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {news: [{title: a}, {title: b}]}\n", line: 5, column: 5,
             says: "in answer to a message WeChat shows only 1", severity: .warning),
        Case(code: "transfer-on-event", yaml: ok + "rules:\n  - id: a\n    when: {click: K}\n    reply: {transfer: true}\n", line: 5, column: 5,
             says: "WeChat hands only user messages to agents", severity: .warning),
        // Typing mistakes (TypingMistakes.swift) and slot order (SlotOrderCheck.swift)
        Case(code: "full-width-colon", yaml: ok + "rules:\n  - id: a\n    when：{contains: [x]}\n    reply: y\n", line: 4, column: 9,
             says: "'：' at line 4, column 9 is a full-width (Chinese) colon, so YAML does not see 'when' as a key"),
        Case(code: "full-width-space", yaml: ok + "rules:\n  - id: a\n　　when: {contains: [x]}\n    reply: y\n", line: 4, column: 1,
             says: "'　' at line 4, column 1 is a full-width (Chinese) space"),
        Case(code: "full-width-comma", yaml: ok + "rules:\n  - id: a\n    when: {contains: [订座，订位，订桌]}\n    reply: y\n", line: 4, column: 25,
             says: "so '订座，订位，订桌' is one entry of contains, not 3"),
        Case(code: "double-quoted-regex", yaml: ok + "rules:\n  - id: a\n    when: {regex: \"订单\\d+\"}\n    reply: y\n", line: 4, column: 22,
             says: "'\\d' at line 4, column 22 is inside double quotes"),
        Case(code: "slot-before-asked", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: shop, ask: 哪家店？}\n"
             + "      - {slot: time, ask: '想订{{shop}}哪天几点？{{party}}位？'}\n      - {slot: party, ask: 几位？, expect: number}\n    done: ok\n",
             line: 10, column: 22, says: "uses {{party}}, but 'party' is asked only later (step 3)"),
        Case(code: "unknown-slot", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: reason, ask: 原因, expect: {choice: [质量问题, 发错货]}}\n"
             + "      - {slot: photo, if: {reasn: 质量问题}, ask: 照片, expect: {media: image}}\n    done: ok\n",
             line: 10, column: 28, says: "needs slot 'reasn', which no step of the flow fills"),
        Case(code: "regex-double-backslash", yaml: ok + "rules:\n  - id: a\n    when: {regex: '订单\\\\d+'}\n    reply: y\n", line: 4, column: 20,
             says: "two backslashes match a backslash", severity: .warning),
        Case(code: "no-default", yaml: "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: y\n", line: 1, column: 1, says: "has no default reply", severity: .warning),
        // Hours, facts, comparisons
        Case(code: "bad-condition", yaml: ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: n, ask: 几位？, expect: number}\n"
             + "      - {slot: room, if: {n: 超过 很多}, ask: 包间？}\n    done: ok\n", line: 10, column: 30, says: "'很多' is not a number, a date (2026-12-20) or a time"),
        Case(code: "unknown-hours", yaml: ok + "hours:\n  门诊: {周一至周五: 08:00-17:00}\nrules:\n  - id: a\n    when: {contains: [人工], open: 门珍}\n    reply: y\n",
             line: 6, column: 34, says: "rule 'a' says open: 门珍, but no hours table has that name"),
        Case(code: "unknown-fact", yaml: ok + "hours:\n  h: {每天: 09:00-18:00}\nfacts:\n  门店: {甲: {电话: 1}}\n" + FlowCase.enter
             + "flows:\n  f:\n    steps:\n      - {slot: 门店, ask: 哪家, expect: {choice: [甲, 乙]}}\n      - {slot: t, ask: 几点, expect: {datetime: {hours: 门店.营业时间}}}\n    done: ok\n",
             line: 14, column: 9, says: "row '甲' of facts '门店' has no '营业时间'"),
        Case(code: "duplicate-hours", yaml: ok + "hours:\n  h: {每天: 09:00-18:00}\n", line: 2, column: 3, says: "hours 'h' is already defined at rules.yaml:3:3",
             other: "hours:\n  h: {每天: 10:00-18:00}\n"),
        Case(code: "bad-hours", yaml: ok + "hours:\n  h: {每天: 9点-18点}\n", line: 3, column: 11, says: "'9点-18点' is not a time span"),
        Case(code: "duplicate-fact", yaml: ok + "facts:\n  热线: 1\n", line: 2, column: 3, says: "fact '热线' is already defined at rules.yaml:3:3", other: "facts:\n  热线: 2\n"),
        Case(code: "soft-cancel-confirm", yaml: ok + "rules:\n  - id: go\n    when: {contains: [退订]}\n    flow: f\nflows:\n  f:\n    title: 取消订座\n    steps:\n"
             + "      - {slot: p, ask: 手机号, expect: mobile}\n      - {confirm: 确定？}\n    done: ok\n", line: 11, column: 9,
             says: "is not strict, so a bare 嗯 or 好吧 confirms the cancellation", severity: .warning),
        Case(code: "unused-hours", yaml: ok + "hours:\n  h: {每天: 09:00-18:00}\n", line: 3, column: 3, says: "nothing uses hours 'h'", severity: .warning),
        Case(code: "bad-date", yaml: ok + "hours:\n  h: {每天: 09:00-18:00, closed: [12月25日]}\n", line: 3, column: 33, says: "'12月25日' is not a date"),
        Case(code: "too-many-messages", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {messages: [a, b, c, d, e, f]}\n", line: 5, column: 23,
             says: "messages has 6 replies; WeChat allows 5 customer-service messages"),
        Case(code: "transfer-in-messages", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {messages: [先说一句, {transfer: true}]}\n", line: 5, column: 30,
             says: "a transfer cannot be one of several messages"),
        Case(code: "bad-schedule", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {before: 2h, after: 1h, of: t, text: x}\n",
             line: 13, column: 9, says: "has one time, 'before:' or 'after:', not both"),
        Case(code: "bad-template", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {after: 1h, template: {id: 'T 1', data: {a: b}}}\n",
             line: 13, column: 37, says: "template.id must be the template's ID"),
        Case(code: "duplicate-schedule", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {id: r, before: 2h, of: t, text: x}\n      - {id: r, before: 1h, of: t, text: y}\n",
             line: 14, column: 9, says: "schedules two messages named 'r'"),
        Case(code: "schedule-not-datetime", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {before: 2h, of: p, text: x}\n",
             line: 13, column: 9, says: "counts back from slot 'p', but its step does not expect a date"),
        Case(code: "schedule-date-only", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {before: 2h, of: d, text: x}\n",
             line: 13, column: 9, says: "a date without a time: it counts from midnight", severity: .warning),
        Case(code: "template-value-too-long", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {after: 1h, template: {id: T1, data: {thing1: 您预约的门诊就要开始了请提前十五分钟到一楼导诊台报到}}}\n",
             line: 13, column: 9, says: "has 26 characters before any slot is filled", severity: .warning),
        Case(code: "schedule-outside-window", yaml: FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: t, ask: 几点, expect: datetime}\n      - {slot: d, ask: 哪天, expect: date}\n      - {slot: p, ask: 手机号, expect: mobile}\n    done: ok\n    schedule:\n" + "      - {after: 3d, text: 回访}\n",
             line: 13, column: 9, says: "past WeChat's 48-hour window for customer-service messages", severity: .warning),
        // Menu (MenuReader.swift, MenuChecks.swift): a click rule on lines 2–5, menu: on line 6, buttons from line 7
        Case(code: "duplicate-menu", yaml: MenuCase.menu + "  - {name: a, click: K1}\n", line: 1, column: 1, says: "the menu is already given in rules.yaml:6:1",
             other: "menu:\n  - {name: b, click: K2}\n"),
        Case(code: "menu-unknown-action", yaml: MenuCase.menu + "  - {name: a, CLICK: K1}\n", line: 7, column: 15, says: "WeChat's button types are lowercase"),
        Case(code: "menu-several-actions", yaml: MenuCase.menu + "  - {name: a, click: K1, view: x}\n", line: 7, column: 5, says: "has 2 actions (click, view)"),
        Case(code: "menu-too-deep", yaml: MenuCase.menu + "  - name: a\n    sub_buttons:\n      - name: b\n        sub_buttons: []\n", line: 10, column: 9,
             says: "a sub-button cannot have sub-buttons"),
        Case(code: "menu-button-count", yaml: MenuCase.menu + String(repeating: "  - {name: a, click: K1}\n", count: 4), line: 10, column: 5,
             says: "the menu has 4 buttons; WeChat's menu has 1 to 3"),
        Case(code: "menu-sub-button-count", yaml: MenuCase.menu + "  - name: a\n    sub_buttons: []\n", line: 8, column: 5, says: "has 0 sub-buttons; WeChat allows 1 to 5"),
        Case(code: "menu-name-too-long", yaml: MenuCase.menu + "  - {name: 我的订单查询, click: K1}\n", line: 7, column: 12,
             says: "is 18 bytes; WeChat allows 16 bytes for a button (5 Chinese characters"),
        Case(code: "menu-key-too-long", yaml: MenuCase.menu + "  - {name: a, click: K\(String(repeating: "x", count: 128))}\n", line: 7, column: 22,
             says: "is 129 bytes; WeChat allows 128"),
        Case(code: "menu-url-too-long", yaml: MenuCase.menu + "  - name: a\n    view: https://shop.example.com/\(String(repeating: "a", count: 1000))\n", line: 8, column: 11,
             says: "is 1025 bytes; WeChat allows 1024"),
        Case(code: "menu-url-scheme", yaml: MenuCase.menu + "  - name: a\n    view: www.example.com\n", line: 8, column: 11, says: "WeChat opens only http:// and https:// addresses"),
        Case(code: "menu-action-and-sub-buttons", yaml: MenuCase.menu + "  - name: a\n    click: K1\n    sub_buttons:\n      - {name: b, click: K2}\n", line: 8, column: 12,
             says: "has both an action (click) and sub_buttons"),
        Case(code: "menu-no-action", yaml: MenuCase.menu + "  - {name: a}\n", line: 7, column: 5, says: "button 1 “a” does nothing"),
        Case(code: "menu-click-unanswered", yaml: MenuCase.menu + "  - {name: 联系我们, click: MENU_CONTACT}\n", line: 7, column: 25,
             says: "the button “联系我们” sends click key MENU_CONTACT, but no rule answers it"),
        Case(code: "menu-duplicate-key", yaml: MenuCase.menu + "  - {name: a, click: K1}\n  - {name: b, click: K1}\n", line: 8, column: 22,
             says: "both send key K1", severity: .warning),
        Case(code: "menu-event-unanswered", yaml: MenuCase.menu + "  - {name: 扫一扫, scancode_push: SCAN_1}\n  - {name: a, click: K1}\n", line: 7, column: 32,
             says: "sends key SCAN_1, and no rule answers it", severity: .warning),
        Case(code: "click-not-in-menu", yaml: MenuCase.menu + "  - {name: a, article_id: A1}\n", line: 4, column: 20,
             says: "rule 'c' answers click K*, but no button of the menu (rules.yaml:6:1) sends it", severity: .warning),
        // Media files in replies (MediaFileChecks.swift), in MediaFixture.folder
        Case(code: "media-file-outside", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {image: {file: ../x.png}}\n", line: 5, column: 27,
             says: "the image file '../x.png' is outside the rule-set folder"),
        Case(code: "media-file-missing", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {image: {file: media/none.png}}\n", line: 5, column: 27,
             says: "the image file 'media/none.png' is not in the rule-set folder", media: true),
        Case(code: "media-file-format", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {voice: {file: media/chart.png}}\n", line: 5, column: 27,
             says: "the voice file 'media/chart.png' is a PNG file; WeChat takes voice as AMR or MP3", media: true),
        Case(code: "media-file-too-large", yaml: ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply: {image: {file: media/big.jpg}}\n", line: 5, column: 27,
             says: "is 2.0 MB (2097153 bytes); WeChat takes images of at most 2 MB", media: true),
    ]

    enum MenuCase {
        static let menu = "default: 抱歉\nrules:\n  - id: c\n    when: {click: 'K*'}\n    reply: 好\nmenu:\n"
    }

    enum FlowCase {
        static let enter = "rules:\n  - id: go\n    when: {contains: [退货]}\n    flow: f\n"
    }

    @Test("each diagnostic: code, file:line:col, message", arguments: cases)
    func diagnostic(c: Case) {
        let found = diagnostics(c.yaml, other: c.other, directory: c.media ? MediaFixture.folder : nil)
        let match = found.first { $0.code == c.code }
        #expect(match != nil, "no \(c.code) among \(found.map { "\($0.code) \($0.location) \($0.message)" })")
        guard let match else { return }
        #expect(match.severity == c.severity)
        #expect(match.location == SourceLocation(file: c.other == nil ? "rules.yaml" : "b.yaml", line: c.line, column: c.column), "\(match.render())")
        #expect(match.message.contains(c.says), "\(match.message)")
        #expect(match.hint != nil, "every diagnostic should say what to do: \(c.code)")
    }

    @Test("a slot filled in every branch of a choice is not 'maybe empty'; missing one branch is")
    func branchesCoverChoice() {
        func warnings(_ branches: [String]) -> [String] {
            let steps = branches.map { "      - {slot: doctor, if: {dept: \($0)}, ask: 医生, expect: {choice: [甲, 乙]}}\n" }.joined()
            return diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: dept, ask: 科室, expect: {choice: [内科, 外科]}}\n"
                               + steps + "    done: '{{doctor}}'\n").map(\.code)
        }
        #expect(!warnings(["内科", "外科"]).contains("maybe-empty-slot"))
        #expect(!warnings(["[内科, 外科]"]).contains("maybe-empty-slot"))
        #expect(warnings(["内科"]).contains("maybe-empty-slot"))
    }

    @Test("subscribe:/scan: scenes without a live QR code are warned about, at the scene; wildcards and live ones are not")
    func sceneWithoutCode() throws {
        let compiled = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "rules.yaml", text: Self.ok + """
            rules:
              - {id: a, when: {subscribe: [store_a, store_b]}, reply: 欢迎}
              - {id: b, when: {scan: 'store_*'}, reply: 欢迎光临}
              - {id: c, when: {scan: true}, reply: 您好}
            """)]))
        let found = SceneCheck.run(compiled, liveScenes: ["store_a"])
        #expect(found.map(\.code) == ["scene-without-qr-code"])
        #expect(found.first?.message.contains("scene 'store_b'") == true)
        #expect(found.first?.location.line == 3)
        #expect(found.first?.severity == .warning)
        #expect(SceneCheck.run(compiled, liveScenes: ["store_a", "store_b"]).isEmpty)
    }

    @Test("every code the tools can produce is covered by a case")
    func allCodesCovered() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources/KefuRules")
        var codes: Set<String> = []
        let enumerator = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        let pattern = try Regex(#"(?:Diagnostic\(\.(?:error|warning), |reader\.error\(|error\()"([a-z0-9-]+)""#)
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "swift", let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for m in text.matches(of: pattern) { codes.insert(String(m.output[1].substring!)) }
        }
        // Codes about the file system are exercised by the loader tests below (unfinished-file by UnfinishedFileTests).
        let fileSystem: Set<String> = ["no-rule-set", "no-rule-files", "unreadable-file", "not-utf8", "duplicate-settings", "empty-value", "unfinished-file"]
        // scene-without-qr-code needs the store's QR codes: sceneWithoutCode below and the kefu qr CLI test.
        // Services and calls: CallLoaderTests.
        let covered = Set(Self.cases.map(\.code)).union(fileSystem).union(["scene-without-qr-code"]).union(CallLoaderTests.coveredCodes)
        #expect(codes.subtracting(covered).isEmpty, "untested codes: \(codes.subtracting(covered).sorted())")
        #expect(codes.count > 25)
    }

    @Test("a broken file never yields a partial rule set: one bad rule rejects the whole set, naming every error")
    func allOrNothing() {
        let files = [("a.yaml", "default: 好\nrules:\n  - id: good\n    when: {contains: [发票]}\n    reply: 好的\n"),
                     ("b.yaml", "rules:\n  - id: bad\n    when: {regex: '('}\n    reply: y\n  - id: worse\n    when: {contans: [x]}\n    reply: y\n")]
        do {
            _ = try compileRules(files)
            Issue.record("a rule set with errors compiled")
        } catch {
            // The form error (the misspelt condition) and the compile error (the bad regex) come in one run.
            #expect(error.diagnostics.map(\.code) == ["bad-regex", "unknown-key"])
            #expect(error.diagnostics.map(\.location) == [SourceLocation(file: "b.yaml", line: 3, column: 21), SourceLocation(file: "b.yaml", line: 6, column: 12)])
            #expect(error.diagnostics[1].hint == "did you mean 'contains'?")
        }
        let onlyRegex = [files[0], ("b.yaml", "rules:\n  - id: bad\n    when: {regex: '('}\n    reply: y\n")]
        #expect(throws: RuleSetError.self) { try compileRules(onlyRegex) }
    }

    static let brokenExpected: [(code: String, file: String, line: Int, column: Int)] = [
        ("full-width-comma", "a.yaml", 4, 25), ("full-width-colon", "a.yaml", 7, 9), ("double-quoted-regex", "a.yaml", 10, 22),
        ("bad-regex", "a.yaml", 13, 28), ("duplicate-keyword", "a.yaml", 16, 23), ("full-width-space", "a.yaml", 18, 1),
        ("slot-before-asked", "b.yaml", 5, 22), ("unknown-slot", "b.yaml", 7, 27), ("bad-duration", "b.yaml", 10, 14),
    ]

    @Test("one run finds every mistake of a broken folder: typing, form, compile, slot order and lint, across files")
    func everyMistakeAtOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-all-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in BrokenRuleFiles.files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let report = Linter.lint(directory: dir.path)
        let found = report.diagnostics.map { ($0.code, URL(fileURLWithPath: $0.location.file).lastPathComponent, $0.location.line, $0.location.column) }
        let described = report.diagnostics.map { $0.render() }.joined(separator: "\n")
        #expect(found.map { "\($0.0) \($0.1):\($0.2):\($0.3)" } == Self.brokenExpected.map { "\($0.code) \($0.file):\($0.line):\($0.column)" }, "\(described)")
        #expect(report.compiled == nil)
        #expect(report.diagnostics.allSatisfy { $0.hint != nil })
        // The loader (serve, test) names the same errors in its one RuleSetError.
        do {
            _ = try RuleSetLoader.load(directory: dir.path)
            Issue.record("a broken rule set loaded")
        } catch {
            #expect(error.diagnostics.map(\.code) == Self.brokenExpected.map(\.code).filter { $0 != "duplicate-keyword" })
        }
    }

    @Test("typing mistakes: each named with its line:col, and the file read on after it")
    func typingMistakes() {
        // A Chinese key with '：' is found where YAML stops, and the rest of the file is still read.
        let choice = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - slot: dept\n        ask: 科室\n        expect:\n"
                                 + "          choice:\n            内科：[感冒]\n            外科: [外伤]\n    done: ok\n    titel: x\n")
        #expect(choice.map(\.code) == ["full-width-colon", "unknown-key"], "\(choice.map { $0.render() })")
        #expect(choice.first?.location == SourceLocation(file: "rules.yaml", line: 13, column: 15))
        // '，' between { } entries, where YAML expects ','.
        let comma = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: a，ask: q}\n    done: ok\n")
        #expect(comma.map(\.code) == ["full-width-comma"], "\(comma.map { $0.render() })")
        #expect(comma.first?.location == SourceLocation(file: "rules.yaml", line: 9, column: 17))
        // A silent one: without the check, 'reply：好的' would become part of the id.
        let silent = diagnostics(Self.ok + "rules:\n  - id: a\n    when: {contains: [x]}\n    reply：好的\n")
        #expect(silent.map(\.code) == ["full-width-colon"])
        // Columns after a repair on the same line are those of the file as written.
        let shifted = diagnostics(Self.ok + "rules:\n  - id: a\n    when：{contans: [x]}\n    reply: y\n")
        #expect(shifted.map(\.code) == ["full-width-colon", "unknown-key"])
        #expect(shifted.last?.location == SourceLocation(file: "rules.yaml", line: 4, column: 11))
        // '：' in text and '，' in sentences and quoted entries are fine.
        let fine = diagnostics(Self.ok + "rules:\n  - id: a\n    when: {exact: ['好的，谢谢', 谢谢]}\n    reply: 营业时间：10:00，欢迎\n"
                               + "  - id: b\n    when: {contains: [x]}\n    reply: |\n      注意：\n      　　全角空格缩进的段落\n")
        #expect(!fine.contains { $0.severity == .error }, "\(fine.map { $0.render() })")
        let text = diagnostics(Self.ok + "rules:\n  - id: a\n    when: {contains: [x, VIP：优先]}\n    reply: y\n" + FlowCase.enter.dropFirst(7)
                               + "flows:\n  f:\n    steps:\n      - slot: a\n        ask: q\n        retry:\n          - VIP：请回复序号\n    done: ok\n")
        #expect(!text.contains { $0.severity == .error }, "\(text.map { $0.render() })")
        #expect(diagnostics(Self.ok + "rules:\n  - id：a\n    when: {contains: [x]}\n    reply: y\n").map(\.code) == ["full-width-colon"])
        // The split entries are the keywords meant: no 'needs two options' on top of the comma.
        let options = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: a, ask: q, expect: {choice: [是，否]}}\n    done: ok\n")
        #expect(options.map(\.code) == ["full-width-comma"])
    }

    @Test("a slot is known before its step only when every starting rule captures it in every match")
    func prefilledSlots() {
        func codes(_ regexes: [String]) -> [String] {
            let rules = regexes.enumerated().map { "  - id: go\($0.offset)\n    when: {regex: '\($0.element)'}\n    flow: f\n" }.joined()
            return diagnostics(Self.ok + "rules:\n" + rules + "flows:\n  f:\n    start: 好的，{{order}}\n    steps:\n      - {slot: phone, ask: '订单 {{order}} 的手机号？'}\n"
                               + "      - {slot: order, ask: 订单号？}\n    done: ok\n").filter { $0.severity == .error }.map(\.code)
        }
        #expect(codes(["订单(?<order>DD\\d{12})"]).isEmpty)
        #expect(codes(["订单(?<order>DD\\d{12})", "(?:查|问)(?<order>DD\\d+)"]).isEmpty)
        #expect(codes(["订单(?<order>DD\\d{12})?"]) == ["slot-before-asked", "slot-before-asked"])
        #expect(codes(["订单(?:(?<order>DD\\d{12})|没有)"]) == ["slot-before-asked", "slot-before-asked"])
        #expect(codes(["订单(?<order>DD\\d{12})", "查订单"]) == ["slot-before-asked", "slot-before-asked"])
        #expect(RegexGroups.requiredNames("(?<a>x)(?:(?<b>y)|(?<b>z))(?<c>w)*(?=(?<d>q))[(?<e>]") == ["a", "b"])
    }

    @Test("a slot in its own question, in retry/on_fail, and in cancelled: texts")
    func slotTexts() {
        let own = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - slot: phone\n        ask: 手机号？\n        retry: ['{{phone}} 不对']\n    done: ok\n")
        #expect(own.map(\.code) == ["slot-before-asked"])
        #expect(own.first?.location == SourceLocation(file: "rules.yaml", line: 11, column: 9))
        #expect(own.first?.message.contains("the slot this step asks for") == true)
        let cancelled = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    cancelled: 已取消 {{order}}\n    steps: [{slot: order, ask: q}]\n    done: ok\n")
        #expect(cancelled.map(\.code) == ["maybe-empty-slot"])
        #expect(cancelled.first?.location == SourceLocation(file: "rules.yaml", line: 8, column: 5))
        // Facts ({{table.field}}) are not slots.
        let facts = diagnostics(Self.ok + FlowCase.enter + "flows:\n  f:\n    steps:\n      - {slot: a, ask: '{{shop.address}} {{shops[a].phone}}'}\n    done: ok\n")
        #expect(!facts.contains { $0.code == "slot-before-asked" })
    }

    @Test("rendering quotes the line, points at the column, and gives the hint")
    func rendering() {
        let yaml = Self.ok + "rules:\n  - id: a\n    when: {contains: [退货]}\n    repy: 好的\n"
        let d = diagnostics(yaml).first { $0.code == "unknown-key" }!
        #expect(d.render(source: yaml) == """
            rules.yaml:5:5: error: unknown key 'repy' in a rule [unknown-key]
                    repy: 好的
                    ^
                hint: did you mean 'reply'?
            """)
    }

    @Test("the loader reads a folder: files by name, subfolders included, and reports file-system problems")
    func folder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-rules-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: RuleSetError.self) { try RuleSetLoader.load(directory: dir.path) }  // no-rule-files
        #expect(throws: RuleSetError.self) { try RuleSetLoader.load(directory: dir.appendingPathComponent("missing").path) }
        try "rules:\n  - id: b\n    when: {contains: [b]}\n    reply: b\n".write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try "rules:\n  - id: a\n    when: {contains: [a]}\n    reply: a\n".write(to: dir.appendingPathComponent("sub/a.yml"), atomically: true, encoding: .utf8)
        try "settings: {}\n".write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        let spec = try RuleSetLoader.load(directory: dir.path)
        #expect(spec.rules.map(\.id) == ["b", "a"])  // a.yaml, b.yaml, sub/a.yml
        try Data([0xFF, 0xFE, 0x00]).write(to: dir.appendingPathComponent("c.yaml"))
        do {
            _ = try RuleSetLoader.load(directory: dir.path)
            Issue.record("a non-UTF-8 file was accepted")
        } catch {
            #expect(error.diagnostics.map(\.code) == ["not-utf8"])
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("c.yaml"))
        try "settings: {}\n".write(to: dir.appendingPathComponent("d.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try RuleSetLoader.load(directory: dir.path)
            Issue.record("two settings blocks were accepted")
        } catch {
            #expect(error.diagnostics.map(\.code) == ["duplicate-settings"])
        }
    }
}
