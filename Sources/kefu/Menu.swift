import ArgumentParser
import Foundation
import KefuRules

/// `kefu menu …`: the account's custom menu, as `menu:` in the rule set writes it. Each
/// subcommand is a nested type here; `show` works offline, the ones that talk to WeChat
/// (diff, push, pull, delete) go on the API client.
struct MenuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "menu",
        abstract: "The Official Account's custom menu (自定义菜单), from the rule set's menu: section.",
        subcommands: [Show.self]
    )
}

extension MenuCommand {
    /// The rule set's menu, compiled (so that it is one lint accepts), or exit 1 with why not.
    static func menu(of rules: RuleSetArgument) throws -> MenuSpec {
        let compiled = try rules.compile()
        guard let menu = compiled.menu else {
            var stderr = StandardError()
            print("\(rules.directory) has no menu: section; see docs/rules.md, section 菜单 Menu", to: &stderr)
            throw ExitCode(1)
        }
        return menu
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the rule set's menu as a tree, or (--json) the exact body kefu menu push sends to /cgi-bin/menu/create.",
            discussion: """
                The rule set must lint without errors (the menu is checked against WeChat's limits and the rules).
                  kefu menu show Rules/shop
                  kefu menu show Rules/shop --json
                """
        )

        @OptionGroup var rules: RuleSetArgument
        @Flag(help: "Print the create body (WeChat's JSON) instead of the tree.") var json = false

        func run() throws {
            let menu = try MenuCommand.menu(of: rules)
            print(json ? menu.createBody : MenuCommand.tree(menu, title: "\(rules.directory) menu"))
        }
    }

    /// The menu as a tree: each button with what it does, sub-buttons under their button.
    ///
    ///     Rules/shop menu (3 buttons)
    ///     ├─ 我的订单
    ///     │  ├─ 订单状态    click MENU_ORDER_STATUS
    ///     │  └─ 全部订单    view https://shop.example.com/orders
    ///     └─ 联系客服      click MENU_CONTACT
    static func tree(_ menu: MenuSpec, title: String) -> String {
        var rows: [(prefix: String, name: String, what: String)] = []
        for (index, button) in menu.buttons.enumerated() {
            let last = index == menu.buttons.count - 1
            rows.append((last ? "└─ " : "├─ ", button.name, button.action?.summary ?? ""))
            for (subIndex, sub) in (button.subButtons ?? []).enumerated() {
                let subLast = subIndex == (button.subButtons?.count ?? 0) - 1
                rows.append(((last ? "   " : "│  ") + (subLast ? "└─ " : "├─ "), sub.name, sub.action?.summary ?? ""))
            }
        }
        let width = rows.map { displayWidth($0.prefix + $0.name) }.max() ?? 0
        var lines = ["\(title) (\(menu.buttons.count) button\(menu.buttons.count == 1 ? "" : "s"))"]
        for row in rows {
            let left = row.prefix + row.name
            lines.append(row.what.isEmpty ? left : left + String(repeating: " ", count: width - displayWidth(left) + 2) + row.what)
        }
        return lines.joined(separator: "\n")
    }

    /// Columns a terminal gives the text: 2 for CJK and other wide characters.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let v = scalar.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v) || (0x20000...0x3FFFD).contains(v)
            return width + (wide ? 2 : 1)
        }
    }
}
