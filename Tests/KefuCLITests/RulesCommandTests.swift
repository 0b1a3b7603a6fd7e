import Foundation
import KefuTestSupport
import Testing

/// `kefu lint`, `kefu explain` and `kefu match` on the sample rule sets and on broken ones.
@Suite("kefu lint / explain / match")
struct RulesCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shop = root.appendingPathComponent("Rules/shop").path

    static func temporaryRuleSet(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-cli-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test("every sample rule set in Rules/ lints clean, strictly")
    func samplesAreClean() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Rules").path)
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }
        #expect(!folders.isEmpty)
        for folder in folders {
            let result = try kefu(["lint", "Rules/\(folder)", "--strict"], workingDirectory: Self.root)
            #expect(result.status == 0, "Rules/\(folder):\n\(result.out)\(result.err)")
            #expect(result.out.contains("0 warnings"))
        }
    }

    @Test("lint of a broken rule set: file:line:col, the source line, the hint, exit 1; JSON for editors")
    func broken() throws {
        let dir = try Self.temporaryRuleSet(["faq.yaml": "default: 好\nrules:\n  - id: a\n    when: {contains: [退货]}\n    repy: 好的\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try kefu(["lint", dir.path])
        #expect(text.status == 1)
        #expect(text.out.contains("faq.yaml:5:5: error: unknown key 'repy' in a rule [unknown-key]"))
        #expect(text.out.contains("    repy: 好的"))
        #expect(text.out.contains("hint: did you mean 'reply'?"))
        #expect(text.out.contains("1 error, 0 warnings; nothing was compiled"))
        let json = try kefu(["lint", dir.path, "--format", "json"])
        #expect(json.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(object?["errors"] as? Int == 1)
        let first = (object?["diagnostics"] as? [[String: Any]])?.first
        #expect(first?["code"] as? String == "unknown-key")
        #expect(first?["line"] as? Int == 5)
        #expect(first?["column"] as? Int == 5)
    }

    @Test("warnings pass by default and fail with --strict")
    func strict() throws {
        let dir = try Self.temporaryRuleSet(["faq.yaml": "rules:\n  - id: a\n    when: {contains: [退货]}\n    reply: 好的\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let lenient = try kefu(["lint", dir.path])
        #expect(lenient.status == 0)
        #expect(lenient.out.contains("[no-default]"))
        #expect(try kefu(["lint", dir.path, "--strict"]).status == 1)
    }

    @Test("explain on the shop sample")
    func explain() throws {
        let result = try kefu(["explain", Self.shop, "我要退貨！！運費誰出？"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("繁→简 (chinese): → “我要退货!!运费谁出?”"))
        #expect(result.out.contains("1. return-shipping-fee"))
        #expect(result.out.contains("✗ lost: shorter keyword (2 < 4 characters)"))
        let click = try kefu(["explain", Self.shop, "--click", "MENU_ORDER_HISTORY"])
        #expect(click.out.contains("1. menu-orders"))
        #expect(click.out.contains("流程 flow: starts 'order-status' (订单查询)"))
        let order = try kefu(["explain", Self.shop, "DD202406110001 到哪了"])
        #expect(order.out.contains("流程 flow: starts 'order-status' (订单查询), slots from the message: order=“DD202406110001”"), "\(order.out)")
        let human = try kefu(["explain", Self.shop, "取消"])
        #expect(human.out.contains("(interrupt: cancel)  (cancels a flow; outside a flow it does not answer)"), "\(human.out)")
    }

    @Test("match: one JSON line per input line, with captures and the reply")
    func match() throws {
        let result = try kefu(["match", Self.shop], input: "订单 DD202406110001 到哪了\n你好\n转人工\n")
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 3)
        #expect(lines[0]?["rule"] as? String == "order-number")
        #expect(lines[0]?["kind"] as? String == "regex")
        #expect((lines[0]?["captures"] as? [String: String])?["order"] == "DD202406110001")
        #expect(lines[0]?["reply"] == nil && lines[0]?["flow"] as? String == "order-status", "the rule starts a flow")
        #expect(lines[1]?["rule"] as? String == "greeting")
        #expect(lines[2]?["rule"] as? String == "human", "the handoff interrupt")
    }

    @Test("a rule set that does not compile: explain and match print the errors and exit 1")
    func brokenForMatch() throws {
        let dir = try Self.temporaryRuleSet(["faq.yaml": "rules:\n  - id: a\n    when: {regex: '('}\n    reply: 好的\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try kefu(["match", dir.path], input: "x\n")
        #expect(result.status == 1)
        #expect(result.err.contains("faq.yaml:3:21: error: regex does not compile: missing closing parenthesis"))
        #expect(result.out.isEmpty)
    }

    @Test("one lint run reports every mistake of a broken folder, each at its file:line:col with the character or the fix named")
    func everyMistakeAtOnce() throws {
        let dir = try Self.temporaryRuleSet(Dictionary(uniqueKeysWithValues: BrokenRuleFiles.files.map { ($0.name, $0.text) }))
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try kefu(["lint", dir.path])
        #expect(text.status == 1)
        let a = dir.appendingPathComponent("a.yaml").path, b = dir.appendingPathComponent("b.yaml").path
        for expected in [
            "\(a):4:25: error: '，' at line 4, column 25 is a full-width (Chinese) comma, so '订座，订位，订桌' is one entry of contains, not 3",
            "hint: use ASCII commas ',' in [ ] lists, or one item per line: [订座, 订位, 订桌]",
            "\(a):7:9: error: '：' at line 7, column 9 is a full-width (Chinese) colon",
            "hint: type the ASCII colon ':' followed by a space: 'when: …'",
            "\(a):10:22: error: '\\d' at line 10, column 22 is inside double quotes",
            "hint: write regexes in single quotes: '\\d+'",
            "\(a):13:28: error: regex does not compile: missing closing parenthesis",
            "\(a):16:23: warning: keyword '营业时间' is also a keyword of 'hours'",
            "\(a):18:1: error: '　' at line 18, column 1 is a full-width (Chinese) space",
            "\(b):5:22: error: the ask text of step 'time' of flow 'booking' uses {{party}}, but 'party' is asked only later (step 3)",
            "\(b):7:27: error: the if: of step 'room' of flow 'booking' needs slot 'partys', which no step of the flow fills",
            "hint: did you mean 'party'?",
            "\(b):10:14: error: expires must be a duration such as 90s, 30m, 2h or 1d, not '30 minutes'",
            ": 8 errors, 1 warning; nothing was compiled",
        ] {
            #expect(text.out.contains(expected), "missing: \(expected)\n\(text.out)")
        }
        let json = try kefu(["lint", dir.path, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        let codes = (object?["diagnostics"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
        #expect(codes == ["full-width-comma", "full-width-colon", "double-quoted-regex", "bad-regex", "duplicate-keyword", "full-width-space",
                          "slot-before-asked", "unknown-slot", "bad-duration"])
        // kefu match (like serve and test) refuses the set naming the same errors.
        let match = try kefu(["match", dir.path], input: "x\n")
        #expect(match.status == 1)
        #expect(match.err.contains("\(b):7:27: error:") && match.err.contains("\(a):13:28: error:"))
    }
}

/// `kefu menu show`: the sample shop's menu as a tree and as WeChat's create body; a rule set
/// without a menu, or with a broken one, exits 1 saying why.
@Suite("kefu menu")
struct MenuCommandTests {
    @Test("show: the tree, and --json the exact create body with raw UTF-8")
    func show() throws {
        let tree = try kefu(["menu", "show", "Rules/shop"], workingDirectory: RulesCommandTests.root)
        #expect(tree.status == 0, "\(tree.err)")
        #expect(tree.out == """
            Rules/shop menu (3 buttons)
            ├─ 我的订单
            │  ├─ 订单状态  click MENU_ORDER_STATUS
            │  ├─ 物流进度  click MENU_ORDER_TRACKING
            │  └─ 全部订单  view https://shop.example.com/orders
            ├─ 尺码表       click MENU_SIZE_CHART
            └─ 联系客服
               ├─ 联系我们  click MENU_CONTACT
               └─ 逛逛商城  view https://shop.example.com

            """)
        let json = try kefu(["menu", "show", "Rules/shop", "--json"], workingDirectory: RulesCommandTests.root)
        #expect(json.status == 0)
        #expect(json.out.hasPrefix(#"{"button":[{"name":"我的订单","sub_button":[{"type":"click","name":"订单状态","key":"MENU_ORDER_STATUS"},"#))
        #expect(!json.out.contains("\\u") && !json.out.contains("\\/"))
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect((object?["button"] as? [Any])?.count == 3)
    }

    @Test("show: no menu, or a menu lint refuses, exits 1 with the reason")
    func refused() throws {
        let none = try kefu(["menu", "show", "Rules/clinic"], workingDirectory: RulesCommandTests.root)
        #expect(none.status == 1)
        #expect(none.err.contains("Rules/clinic has no menu: section"))
        let dir = try RulesCommandTests.temporaryRuleSet(["menu.yaml": "default: 好\nmenu:\n  - {name: 联系我们, click: MENU_CONTACT}\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = try kefu(["menu", "show", dir.path])
        #expect(broken.status == 1)
        #expect(broken.err.contains("menu.yaml:3:25: error: the button “联系我们” sends click key MENU_CONTACT, but no rule answers it"), "\(broken.err)")
        #expect(broken.out.isEmpty)
    }
}
