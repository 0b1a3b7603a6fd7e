/// What differs between two menus, in words a support lead reads: one line per difference, by
/// position (WeChat's menu is positional: button 2 is the middle one), from `old` (what WeChat has)
/// to `new` (what the rules say). Empty when the menus are equal.
///
///     button 2 “我的订单”, sub-button 1 “订单状态”: click key MENU_ORDER → MENU_ORDER_STATUS
///     button 3 “联系客服”: only in the new menu (click MENU_CONTACT)
public struct MenuDiff: Sendable, Equatable, CustomStringConvertible {
    public var lines: [String]
    public var isEmpty: Bool { lines.isEmpty }
    public var description: String { lines.joined(separator: "\n") }

    public init(from old: MenuSpec?, to new: MenuSpec?) {
        lines = []
        switch (old, new) {
        case (nil, nil): return
        case (nil, let new?): lines.append("no menu → a menu of \(Self.count(new.buttons.count, "button"))"); return
        case (_?, nil): lines.append("a menu → no menu"); return
        case (let old?, let new?): compare(old.buttons, new.buttons, label: { "button \($0 + 1)" })
        }
    }

    mutating func compare(_ old: [MenuButton], _ new: [MenuButton], label: (Int) -> String) {
        for index in 0..<max(old.count, new.count) {
            switch (old.indices.contains(index) ? old[index] : nil, new.indices.contains(index) ? new[index] : nil) {
            case (let a?, let b?): compare(a, b, label: label(index))
            case (let a?, nil): lines.append("\(label(index)) “\(a.name)”: only in the old menu (\(Self.what(a)))")
            case (nil, let b?): lines.append("\(label(index)) “\(b.name)”: only in the new menu (\(Self.what(b)))")
            default: break
            }
        }
    }

    mutating func compare(_ a: MenuButton, _ b: MenuButton, label: String) {
        let here = "\(label) “\(b.name)”"
        if a.name != b.name { lines.append("\(label): name “\(a.name)” → “\(b.name)”") }
        switch (a.action, b.action) {
        case (let x?, let y?) where x != y:
            if x.type == y.type {
                lines.append("\(here): \(Self.change(x, y))")
            } else {
                lines.append("\(here): \(x.summary) → \(y.summary)")
            }
        case (let x?, nil): lines.append("\(here): \(x.summary) → \(Self.count(b.subButtons?.count ?? 0, "sub-button"))")
        case (nil, let y?): lines.append("\(here): \(Self.count(a.subButtons?.count ?? 0, "sub-button")) → \(y.summary)")
        default: break
        }
        if a.action == nil, b.action == nil {
            compare(a.subButtons ?? [], b.subButtons ?? [], label: { "\(here), sub-button \($0 + 1)" })
        }
    }

    /// The fields that changed between two actions of one type.
    static func change(_ x: MenuAction, _ y: MenuAction) -> String {
        switch (x, y) {
        case (.miniprogram(let a1, let p1, let u1), .miniprogram(let a2, let p2, let u2)):
            return [a1 != a2 ? "appid \(a1) → \(a2)" : nil, p1 != p2 ? "pagepath \(p1) → \(p2)" : nil, u1 != u2 ? "url \(u1) → \(u2)" : nil]
                .compactMap { $0 }.joined(separator: "; ")
        case (.view(let u1), .view(let u2)): return "view url \(u1) → \(u2)"
        case (.articleID(let a), .articleID(let b)): return "article_id \(a) → \(b)"
        default:
            if let k1 = x.key, let k2 = y.key { return "\(x.type) key \(k1) → \(k2)" }
            return "\(x.summary) → \(y.summary)"
        }
    }

    static func what(_ button: MenuButton) -> String {
        if let action = button.action { return action.summary }
        let subs = button.subButtons ?? []
        return count(subs.count, "sub-button") + (subs.isEmpty ? "" : ": " + subs.map { "“\($0.name)”" }.joined(separator: ", "))
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
