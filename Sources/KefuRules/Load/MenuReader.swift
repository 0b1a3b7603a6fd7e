import Yams

/// Reading `menu:`: a list of buttons, each a `name` and either one action or `sub_buttons`.
///
/// ```yaml
/// menu:
///   - name: 我的订单
///     sub_buttons:
///       - {name: 订单状态, click: MENU_ORDER_STATUS}
///       - {name: 全部订单, view: 'https://shop.example.com/orders'}
///   - name: 联系客服
///     click: MENU_CONTACT
/// ```
///
/// Here only the form is checked (known keys, one action, texts where texts belong); WeChat's
/// limits and the agreement with the rules are MenuChecks.swift's, at compile time, so that they
/// are reported with the rest.
extension RuleFileReader {
    static let menuButtonKeys = ["name", "sub_buttons"] + MenuAction.yamlKeys
    /// WeChat's JSON field names, which a rule file writes differently.
    static let menuJSONFields = ["type", "key", "url", "appid", "pagepath", "media_id"]

    mutating func readMenu(_ node: Node, at keyNode: Node) -> MenuSpec? {
        let before = reader.diagnostics.count
        guard case .sequence(let items) = node else {
            reader.error("wrong-type", node, "menu must be a list of buttons (each starts with '- name:'), not \(YAMLReader.describe(node))",
                         hint: "write each button as an item: '  - name: 联系客服' and on the next line its action, e.g. '    click: MENU_CONTACT'")
            return nil
        }
        var buttons: [MenuButton] = []
        for item in items {
            if let button = readMenuButton(item, topLevel: true) { buttons.append(button) }
        }
        guard reader.diagnostics.count == before else { return nil }
        return MenuSpec(buttons: buttons, location: reader.location(keyNode))
    }

    mutating func readMenuButton(_ node: Node, topLevel: Bool) -> MenuButton? {
        let before = reader.diagnostics.count
        let what = topLevel ? "a menu button" : "a sub-button"
        guard case .mapping(let mapping) = node else {
            reader.error("wrong-type", node, "\(what) must be a mapping (name: …, and its action), not \(YAMLReader.describe(node))",
                         hint: "e.g. - {name: 联系客服, click: MENU_CONTACT}")
            return nil
        }
        var name: String?
        var button = MenuButton(name: "", location: reader.location(node))
        var actions: [(key: String, node: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                reader.error("wrong-type", keyNode, "keys of \(what) must be plain words", hint: "write key: value")
                continue
            }
            switch key {
            case "name":
                guard let text = reader.string(value, "the button's name") else { continue }
                if text.trimmingSpaces().isEmpty {
                    reader.error("empty-value", value, "the button's name is empty", hint: "write what the button says, e.g. name: 联系客服")
                    continue
                }
                name = text
                button.nameLocation = reader.location(value)
            case "sub_buttons":
                guard topLevel else {
                    reader.error("menu-too-deep", keyNode, "a sub-button cannot have sub-buttons: WeChat's menu has two levels",
                                 hint: "give this sub-button one action (click: KEY, view: URL, …), or make it a button of its own")
                    continue
                }
                guard case .sequence(let list) = value else {
                    reader.error("wrong-type", value, "sub_buttons must be a list of buttons, not \(YAMLReader.describe(value))",
                                 hint: "write each sub-button as an item: '      - {name: 订单状态, click: MENU_ORDER_STATUS}'")
                    continue
                }
                button.subButtons = list.compactMap { readMenuButton($0, topLevel: false) }
                button.subButtonsLocation = reader.location(keyNode)
            case let key where MenuAction.yamlKeys.contains(key):
                actions.append((key, value))
            default:
                reportUnknownButtonKey(key, keyNode)
            }
        }
        if actions.count > 1 {
            reader.error("menu-several-actions", node, "\(what) '\(name ?? "?")' has \(actions.count) actions (\(actions.map(\.key).joined(separator: ", "))); a button does one thing",
                         hint: "keep one of them, or make a button with sub_buttons, one for each")
        } else if let (key, value) = actions.first {
            button.action = readMenuAction(key, value)
            button.actionLocation = reader.location(value)
        }
        if name == nil, !mapping.contains(where: { $0.key.scalar?.string == "name" }) {
            reader.error("missing-key", node, "\(what) needs a name (what the button says)", hint: "add name: …, e.g. name: 联系客服")
        }
        guard reader.diagnostics.count == before, let name else { return nil }
        button.name = name
        return button
    }

    /// A key that is not a button's: a type written in capitals (CLICK), WeChat's JSON fields
    /// (type: click, key: …), a misspelt name or sub_buttons, or an action WeChat does not have.
    mutating func reportUnknownButtonKey(_ key: String, _ keyNode: Node) {
        let lower = key.lowercased()
        if lower != key, MenuAction.yamlKeys.contains(lower) {
            reader.error("menu-unknown-action", keyNode, "unknown button action '\(key)': WeChat's button types are lowercase",
                         hint: "write \(lower): (WeChat refuses \(key) with errcode 65318)")
        } else if Self.menuJSONFields.contains(lower) {
            reader.error("menu-unknown-action", keyNode, "'\(key)' is a field of WeChat's JSON; a rule file writes the action as its own key",
                         hint: "write click: MENU_KEY, view: 'https://…' or miniprogram: {appid: …, pagepath: …, url: …} instead of type: and key:/url:")
        } else if let close = Suggestions.closest(to: key, in: ["name", "sub_buttons"]) {
            reader.error("unknown-key", keyNode, "unknown key '\(key)' in a menu button", hint: "did you mean '\(close)'?")
        } else {
            reader.error("menu-unknown-action", keyNode, "unknown button action '\(key)'",
                         hint: Suggestions.closest(to: key, in: MenuAction.yamlKeys).map { "did you mean '\($0)'?" }
                            ?? "a button has a name and either sub_buttons or one action: " + MenuAction.yamlKeys.joined(separator: ", "))
        }
    }

    mutating func readMenuAction(_ key: String, _ value: Node) -> MenuAction? {
        switch key {
        case "view":
            return menuText(value, "the view address").map { .view(url: $0) }
        case "article_id":
            return menuText(value, "the article_id").map { .articleID($0) }
        case "miniprogram":
            guard let fields = reader.mapping(value, "miniprogram", allowed: ["appid", "pagepath", "url"]) else { return nil }
            var found: [String: String] = [:]
            for (field, _, fieldValue) in fields {
                if let text = menuText(fieldValue, "miniprogram \(field)") { found[field] = text }
            }
            let missing = ["appid", "pagepath", "url"].filter { field in !fields.contains { $0.key == field } }
            if !missing.isEmpty {
                reader.error("missing-key", value, "miniprogram needs \(missing.joined(separator: " and "))",
                             hint: "write {appid: wx…, pagepath: pages/index/index, url: 'https://…'} (url opens on WeChat versions without mini programs)")
                return nil
            }
            guard let appid = found["appid"], let pagepath = found["pagepath"], let url = found["url"] else { return nil }
            return .miniprogram(appid: appid, pagepath: pagepath, url: url)
        default:
            return menuText(value, "the \(key) key").flatMap { MenuAction.keyed(key, $0) }
        }
    }

    /// A non-empty text (a number is taken as written: click: 1001).
    mutating func menuText(_ node: Node, _ what: String) -> String? {
        guard let text = reader.string(node, what) else { return nil }
        if text.trimmingSpaces().isEmpty || YAMLReader.isNull(node) {
            reader.error("empty-value", node, "\(what) is empty", hint: "write it after the colon, e.g. click: MENU_CONTACT")
            return nil
        }
        return text
    }
}
