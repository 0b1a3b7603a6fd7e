import ArgumentParser
import Foundation
import KefuRules
import KefuWeChatAPI

/// `kefu menu …`: the account's custom menu, as `menu:` in the rule set writes it. Each
/// subcommand is a nested type here; `show` works offline, the ones that talk to WeChat
/// (diff, push, pull, delete) go on the API client.
struct MenuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "menu",
        abstract: "The Official Account's custom menu (自定义菜单), from the rule set's menu: section.",
        subcommands: [Show.self, Diff.self, Push.self, Pull.self, Delete.self]
    )
}

extension MenuCommand {
    /// The menu WeChat has now (nil: none), through the API.
    static func live(_ client: WeChatAPIClient) async throws -> MenuJSON.PulledMenu? {
        do {
            guard let bytes = try await client.menu() else { return nil }
            return try MenuSpec.parseGetAnswer(Data(bytes))
        } catch let error as WeChatAPIError {
            throw APIOptions.failure(error)
        } catch let error as MenuJSON.ParseError {
            throw APIFailure("WeChat's menu could not be read: \(error)")
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What kefu menu push would change: the menu WeChat has now against the rule set's (exit 1 when they differ).",
            discussion: "  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu menu diff Rules/shop"
        )
        @OptionGroup var rules: RuleSetArgument
        @OptionGroup var api: APIOptions

        func run() async throws {
            let menu = try MenuCommand.menu(of: rules)
            let (client, _) = try await api.client()
            let live = try await MenuCommand.live(client)
            let diff = MenuDiff(from: live?.menu, to: menu)
            if diff.isEmpty {
                print("no difference: WeChat's menu is the one in \(rules.directory)")
                return
            }
            print(live == nil ? "WeChat has no menu; kefu menu push would create this one:" : "WeChat's menu → \(rules.directory):")
            print(diff.description)
            if let live, !live.conditional.isEmpty {
                print("(and \(live.conditional.count) conditional menu\(live.conditional.count == 1 ? "" : "s"), which kefu menu push deletes with the default menu)")
            }
            throw ExitCode(1)
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the account's menu to the rule set's (menu/create). Once a server URL is enabled, this is the only way the account gets a menu.",
            discussion: """
                WeChat's clients pick up a new menu when the customer next opens the chat (after at most 5 minutes).
                  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu menu push Rules/shop
                """
        )
        @OptionGroup var rules: RuleSetArgument
        @OptionGroup var api: APIOptions

        func run() async throws {
            let menu = try MenuCommand.menu(of: rules)
            let (client, _) = try await api.client()
            do {
                try await client.createMenu(Array(menu.createBody.utf8))
            } catch let error as WeChatAPIError {
                throw APIOptions.failure(error)
            }
            print("pushed the menu of \(rules.directory) (\(menu.buttons.count) button\(menu.buttons.count == 1 ? "" : "s")); kefu menu diff shows what WeChat has")
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the menu WeChat has now, as a menu: section to paste into a rule file.",
            discussion: "  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu menu pull > Rules/shop/menu-buttons.yaml"
        )
        @OptionGroup var api: APIOptions

        func run() async throws {
            let (client, _) = try await api.client()
            guard let live = try await MenuCommand.live(client) else {
                print("# WeChat has no menu for this account (46003)")
                return
            }
            print(MenuCommand.yaml(live.menu))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the account's menu (the default and every conditional menu).",
            discussion: "  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu menu delete"
        )
        @OptionGroup var api: APIOptions

        func run() async throws {
            let (client, _) = try await api.client()
            do { try await client.deleteMenu() } catch let error as WeChatAPIError { throw APIOptions.failure(error) }
            print("deleted the account's menu")
        }
    }

    /// A menu as the `menu:` section of a rule file.
    static func yaml(_ menu: MenuSpec) -> String {
        func quoted(_ text: String) -> String {
            let plain = !text.isEmpty && text.allSatisfy { !":#{}[],&*?|<>=!%@`'\"".contains($0) } && !text.hasPrefix("-") && !text.hasPrefix(" ")
            return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
        func action(_ action: MenuAction?) -> String {
            switch action {
            case nil: ""
            case .click(let key): ", click: \(quoted(key))"
            case .view(let url): ", view: \(quoted(url))"
            case .miniprogram(let appid, let path, let url): ", miniprogram: {appid: \(quoted(appid)), pagepath: \(quoted(path)), url: \(quoted(url))}"
            case .scancodePush(let key): ", scancode_push: \(quoted(key))"
            case .scancodeWaitMsg(let key): ", scancode_waitmsg: \(quoted(key))"
            case .picSysPhoto(let key): ", pic_sysphoto: \(quoted(key))"
            case .picPhotoOrAlbum(let key): ", pic_photo_or_album: \(quoted(key))"
            case .picWeixin(let key): ", pic_weixin: \(quoted(key))"
            case .locationSelect(let key): ", location_select: \(quoted(key))"
            case .articleID(let id): ", article_id: \(quoted(id))"
            case .other: ""
            }
        }
        func note(_ action: MenuAction?) -> String {
            if case .other(let type, let value)? = action { return "  # WeChat has a \(type) button here (\(value ?? "")), which rule files do not write" }
            return ""
        }
        var lines = ["menu:"]
        for button in menu.buttons {
            if let subs = button.subButtons, !subs.isEmpty {
                lines.append("  - name: \(quoted(button.name))")
                lines.append("    sub_buttons:")
                for sub in subs { lines.append("      - {name: \(quoted(sub.name))\(action(sub.action))}" + note(sub.action)) }
            } else {
                lines.append("  - {name: \(quoted(button.name))\(action(button.action))}" + note(button.action))
            }
        }
        return lines.joined(separator: "\n")
    }
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
