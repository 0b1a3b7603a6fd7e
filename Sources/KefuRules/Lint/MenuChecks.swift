/// `menu:` against WeChat's limits (../shared/spec/wechat-api.md §5) and against the rules.
///
/// Errors (reported at compile time, with the rest, so `kefu lint`, `kefu serve` and `kefu menu`
/// refuse the same menus WeChat would refuse): 1–3 buttons, 1–5 sub-buttons, names of at most
/// 16 bytes (top) and 60 bytes (sub), keys of at most 128 bytes, http(s) addresses of at most
/// 1024 bytes, a button with one action or sub-buttons (not both, not neither), and a click key no
/// rule answers.
///
/// Why a click no rule answers is an error: WeChat pushes the click and shows the customer only
/// what the bot answers, so the button does nothing at all — never what its author meant, and
/// easy to fix before the menu goes out. The same holds for `scancode_waitmsg` (the scanner waits
/// for the answer). The other keyed buttons (`scancode_push`, `pic_*`, `location_select`) do
/// something visible by themselves (WeChat shows the scan result; the photos or the location
/// arrive as messages, which `message:` rules answer), so a rule for their event is optional: a
/// warning. A click rule that no button sends is a warning too (a key can also come from an old
/// menu still cached on phones, or from a menu made elsewhere).
enum MenuChecks {
    static let topNameBytes = 16, subNameBytes = 60, keyBytes = 128, urlBytes = 1024
    static let maxButtons = 3, maxSubButtons = 5

    /// The errors of the rule set's menu, if it has one.
    static func errors(_ spec: RuleSetSpec) -> [Diagnostic] {
        guard let menu = spec.menu else { return [] }
        var found: [Diagnostic] = []
        let at = menu.location ?? SourceLocation(file: spec.sources.keys.sorted().first ?? "menu", line: 1, column: 1)
        if menu.buttons.isEmpty || menu.buttons.count > maxButtons {
            let where_ = menu.buttons.count > maxButtons ? menu.buttons[maxButtons].location ?? at : at
            found.append(Diagnostic(.error, "menu-button-count", at: where_,
                "the menu has \(menu.buttons.count) buttons; WeChat's menu has 1 to \(maxButtons)",
                hint: menu.buttons.isEmpty ? "add a button (- name: 联系客服, click: MENU_CONTACT), or remove menu:"
                                           : "keep 3 buttons and put the others under one of them as sub_buttons (up to 5 each)"))
        }
        for (index, button) in menu.buttons.enumerated() {
            let label = "button \(index + 1) “\(button.name)”"
            found += check(button, label: label, topLevel: true)
            guard let subs = button.subButtons else { continue }
            if subs.isEmpty || subs.count > maxSubButtons {
                let where_ = subs.count > maxSubButtons ? subs[maxSubButtons].location : button.subButtonsLocation
                found.append(Diagnostic(.error, "menu-sub-button-count", at: where_ ?? button.location ?? at,
                    "\(label) has \(subs.count) sub-buttons; WeChat allows 1 to \(maxSubButtons)",
                    hint: subs.isEmpty ? "add a sub-button, or remove sub_buttons: and give the button an action (click: KEY)"
                                       : "keep \(maxSubButtons), or move the others to another button"))
            }
            for (subIndex, sub) in subs.enumerated() {
                found += check(sub, label: "\(label), sub-button \(subIndex + 1) “\(sub.name)”", topLevel: false)
            }
        }
        found += unansweredClicks(menu, spec.rules)
        return found
    }

    static func check(_ button: MenuButton, label: String, topLevel: Bool) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let at = button.location ?? SourceLocation(file: "menu", line: 1, column: 1)
        let limit = topLevel ? topNameBytes : subNameBytes
        let bytes = button.name.utf8.count
        if bytes > limit {
            found.append(Diagnostic(.error, "menu-name-too-long", at: button.nameLocation ?? at,
                "the name of \(label) is \(bytes) bytes; WeChat allows \(limit) bytes for a \(topLevel ? "button" : "sub-button") (\(limit / 3) Chinese characters, or \(limit) letters and digits)",
                hint: "shorten it to \(limit / 3) Chinese characters or fewer (a Chinese character takes 3 bytes, a letter or digit 1)"))
        }
        if button.action != nil, button.subButtons != nil {
            found.append(Diagnostic(.error, "menu-action-and-sub-buttons", at: button.actionLocation ?? at,
                "\(label) has both an action (\(button.action!.type)) and sub_buttons; a button with sub-buttons only opens them",
                hint: "remove the action, or move it into a sub-button of its own"))
        }
        if button.action == nil, button.subButtons == nil {
            found.append(Diagnostic(.error, "menu-no-action", at: at,
                "\(label) does nothing: it has neither an action nor sub_buttons",
                hint: topLevel ? "give it an action (click: KEY, view: 'https://…', …) or sub_buttons" : "give it an action, e.g. click: MENU_KEY or view: 'https://…'"))
        }
        if let key = button.action?.key, key.utf8.count > keyBytes {
            found.append(Diagnostic(.error, "menu-key-too-long", at: button.actionLocation ?? at,
                "the key of \(label) is \(key.utf8.count) bytes; WeChat allows \(keyBytes)",
                hint: "use a shorter key, e.g. MENU_ORDER_STATUS (letters, digits and _ take 1 byte each)"))
        }
        if let url = button.action?.url {
            if url.utf8.count > urlBytes {
                found.append(Diagnostic(.error, "menu-url-too-long", at: button.actionLocation ?? at,
                    "the address of \(label) is \(url.utf8.count) bytes; WeChat allows \(urlBytes)",
                    hint: "link to a shorter address (a page that redirects, or fewer query parameters)"))
            }
            let lower = url.lowercased()
            let hasHost = (lower.hasPrefix("https://") && url.count > 8) || (lower.hasPrefix("http://") && url.count > 7)
            if !hasHost {
                found.append(Diagnostic(.error, "menu-url-scheme", at: button.actionLocation ?? at,
                    "the address of \(label) is '\(url.prefix(60))'; WeChat opens only http:// and https:// addresses",
                    hint: "write the whole address, starting with https://, e.g. view: 'https://shop.example.com/orders'"))
            }
        }
        return found
    }

    /// The rules that answer a key: rules and handoff interrupts with `click:` (a cancel interrupt
    /// answers only inside a flow).
    static func answers(_ key: String, _ rules: [RuleSpec]) -> Bool {
        rules.contains { rule in
            guard rule.interrupt != .cancel, case .click(let patterns) = rule.condition else { return false }
            return CompiledRules.matchKey(key, patterns) != nil
        }
    }

    static func unansweredClicks(_ menu: MenuSpec, _ rules: [RuleSpec]) -> [Diagnostic] {
        menu.keys.compactMap { entry in
            guard let action = entry.button.action, [.click(key: entry.key), .scancodeWaitMsg(key: entry.key)].contains(action),
                  !answers(entry.key, rules) else { return nil }
            let at = entry.button.actionLocation ?? entry.button.location ?? SourceLocation(file: "menu", line: 1, column: 1)
            return Diagnostic(.error, "menu-click-unanswered", at: at,
                "the button “\(entry.button.name)” sends \(action.type) key \(entry.key), but no rule answers it, so the button does nothing",
                hint: "add a rule with when: {click: \(entry.key)} (a pattern such as '\(pattern(for: entry.key))' also answers it), or change the key")
        }
    }

    /// A suggestion of a pattern for a key: its prefix up to the last `_`, then `*`.
    static func pattern(for key: String) -> String {
        guard let cut = key.lastIndex(of: "_"), cut > key.startIndex else { return key + "*" }
        return key[...cut] + "*"
    }
}

/// Two buttons that send the same key: the rules cannot tell them apart.
struct MenuDuplicateKeyCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        guard let menu = rules.spec.menu else { return [] }
        var seen: [String: MenuButton] = [:]
        var found: [Diagnostic] = []
        for (key, button) in menu.keys {
            if let first = seen[key] {
                found.append(Diagnostic(.warning, "menu-duplicate-key", at: button.actionLocation ?? button.location ?? SourceLocation(file: "menu", line: 1, column: 1),
                    "the buttons “\(first.name)” (\(first.actionLocation.map(String.init(describing:)) ?? "menu")) and “\(button.name)” both send key \(key); the rules answer them alike",
                    hint: "give each button its own key, or keep one of the two buttons"))
            } else {
                seen[key] = button
            }
        }
        return found
    }
}

/// scancode_push, pic_* and location_select buttons whose event no rule answers (see MenuChecks).
struct MenuEventUnansweredCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        guard let menu = rules.spec.menu else { return [] }
        return menu.keys.compactMap { entry in
            guard let action = entry.button.action, action != .click(key: entry.key), action != .scancodeWaitMsg(key: entry.key),
                  !MenuChecks.answers(entry.key, rules.rules) else { return nil }
            return Diagnostic(.warning, "menu-event-unanswered", at: entry.button.actionLocation ?? entry.button.location ?? SourceLocation(file: "menu", line: 1, column: 1),
                "the button “\(entry.button.name)” (\(action.type)) sends key \(entry.key), and no rule answers it: the customer sees only what WeChat does by itself",
                hint: "add a rule with when: {click: \(entry.key)} to say something (e.g. what happens next)")
        }
    }
}

/// A click rule whose key no button of the menu sends (only when the rule set has a menu).
struct ClickNotInMenuCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        guard let menu = rules.spec.menu else { return [] }
        let keys = menu.keys.map(\.key)
        var found: [Diagnostic] = []
        for rule in rules.rules {
            guard case .click(let patterns) = rule.condition else { continue }
            for pattern in patterns where !keys.contains(where: { CompiledRules.matchKey($0, [pattern]) != nil }) {
                found.append(Diagnostic(.warning, "click-not-in-menu", at: pattern.location,
                    "rule '\(rule.id)' answers click \(pattern.value), but no button of the menu (\(menu.location.map(String.init(describing:)) ?? "menu:")) sends it",
                    hint: keys.isEmpty ? "add a button with click: \(pattern.value) to the menu, or remove the rule"
                                       : "add a button with click: \(pattern.value.replacing("*", with: "…")) to the menu, or correct the key (the menu sends \(keys.joined(separator: ", ")))"))
            }
        }
        return found
    }
}
