import Foundation

/// The menu in WeChat's JSON (../shared/spec/wechat-api.md §5): the body of `/cgi-bin/menu/create`
/// and the answer of `/cgi-bin/menu/get`.
///
/// The body is written here, not by JSONEncoder, so that it is exactly what WeChat's examples show:
/// fields in a fixed order (`type`, `name`, then the action's fields, then `sub_button`), types in
/// lowercase, and Chinese as raw UTF-8 — never `\u` escapes, which some WeChat endpoints have
/// refused (40033) — and `/` unescaped.
extension MenuSpec {
    /// `{"button":[…]}`, the body of `/cgi-bin/menu/create`.
    public var createBody: String {
        var out = "{\"button\":["
        out += buttons.map(MenuJSON.button).joined(separator: ",")
        return out + "]}"
    }

    /// Reads `/cgi-bin/menu/get`'s answer: the default menu, its menuid and the conditional menus.
    public static func parseGetAnswer(_ data: Data) throws(MenuJSON.ParseError) -> MenuJSON.PulledMenu {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch { throw .init("the answer is not JSON: \(error.localizedDescription)") }
        guard let object = root as? [String: Any] else { throw .init("the answer is not a JSON object") }
        if let code = MenuJSON.integer(object["errcode"]), code != 0 {
            throw .init("WeChat answered errcode \(code)\((object["errmsg"] as? String).map { " (\($0))" } ?? "")", errcode: code)
        }
        guard let menu = object["menu"] as? [String: Any] else { throw .init("the answer has no \"menu\" object") }
        var pulled = MenuJSON.PulledMenu(menu: try MenuJSON.menu(menu, at: "menu"), menuID: MenuJSON.text(menu["menuid"]))
        if let conditional = object["conditionalmenu"] {
            guard let list = conditional as? [Any] else { throw .init("\"conditionalmenu\" is not a list") }
            for (index, item) in list.enumerated() {
                guard let entry = item as? [String: Any] else { throw .init("conditionalmenu[\(index)] is not an object") }
                var rule: [String: String] = [:]
                for (key, value) in entry["matchrule"] as? [String: Any] ?? [:] {
                    if let text = MenuJSON.text(value), !text.isEmpty { rule[key] = text }
                }
                pulled.conditional.append(.init(menu: try MenuJSON.menu(entry, at: "conditionalmenu[\(index)]"), menuID: MenuJSON.text(entry["menuid"]), matchRule: rule))
            }
        }
        return pulled
    }

    /// Reads a `{"button":[…]}` object: a create body, or the `menu` of a get answer.
    public static func parseButtons(_ data: Data) throws(MenuJSON.ParseError) -> MenuSpec {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch { throw .init("not JSON: \(error.localizedDescription)") }
        guard let object = root as? [String: Any] else { throw .init("not a JSON object") }
        return try MenuJSON.menu(object, at: "menu")
    }
}

public enum MenuJSON {
    /// What `menu/get` holds: the default menu and the conditional (个性化) menus, which Kefu's rule
    /// files do not write (`kefu menu push` replaces the default menu; `menu/delete` removes both).
    public struct PulledMenu: Sendable, Equatable {
        public var menu: MenuSpec
        public var menuID: String?
        public var conditional: [ConditionalMenu] = []
    }

    public struct ConditionalMenu: Sendable, Equatable {
        public var menu: MenuSpec
        public var menuID: String?
        /// `matchrule` as WeChat returned it (tag_id comes back as group_id), empty fields left out.
        public var matchRule: [String: String]
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// WeChat's errcode, when the answer was an error (46003: the account has no menu).
        public var errcode: Int?
        init(_ message: String, errcode: Int? = nil) {
            self.message = message
            self.errcode = errcode
        }
        public var description: String { "cannot read the menu: \(message)" }
        /// The account has no menu (46003, "menu no exist").
        public var isNoMenu: Bool { errcode == 46003 }
    }

    static func button(_ button: MenuButton) -> String {
        var fields: [(String, String)] = []
        if let action = button.action {
            fields.append(("type", action.type))
            fields.append(("name", button.name))
            switch action {
            case .view(let url): fields.append(("url", url))
            case .miniprogram(let appid, let pagepath, let url): fields += [("url", url), ("appid", appid), ("pagepath", pagepath)]
            case .articleID(let id): fields.append(("article_id", id))
            case .other(let type, let value):
                if let value { fields.append((type.hasPrefix("article") ? "article_id" : type == "view_limited" || type == "media_id" ? "media_id" : "key", value)) }
            default: fields.append(("key", action.key ?? ""))
            }
        } else {
            fields.append(("name", button.name))
        }
        var out = "{" + fields.map { "\(string($0.0)):\(string($0.1))" }.joined(separator: ",")
        if let subs = button.subButtons {
            out += ",\"sub_button\":[" + subs.map(Self.button).joined(separator: ",") + "]"
        }
        return out + "}"
    }

    /// A JSON string: quotes, backslashes and control characters escaped; everything else as is.
    static func string(_ text: String) -> String {
        var out = ""
        JSONValue.quote(text, into: &out)
        return out
    }

    static func menu(_ object: [String: Any], at path: String) throws(ParseError) -> MenuSpec {
        guard let list = object["button"] as? [Any] else { throw .init("\(path) has no \"button\" list") }
        var buttons: [MenuButton] = []
        for (index, item) in list.enumerated() {
            buttons.append(try button(item, at: "\(path).button[\(index)]", topLevel: true))
        }
        return MenuSpec(buttons: buttons)
    }

    static func button(_ item: Any, at path: String, topLevel: Bool) throws(ParseError) -> MenuButton {
        guard let object = item as? [String: Any] else { throw .init("\(path) is not an object") }
        guard let name = object["name"] as? String else { throw .init("\(path) has no name") }
        var button = MenuButton(name: name)
        // menu/get gives "sub_button":[…]; get_current_selfmenu_info gives "sub_button":{"list":[…]}.
        var subs: [Any]?
        if let list = object["sub_button"] as? [Any] { subs = list }
        else if let wrapped = object["sub_button"] as? [String: Any], let list = wrapped["list"] as? [Any] { subs = list }
        if let subs, !subs.isEmpty {
            guard topLevel else { throw .init("\(path) has sub-buttons below the second level") }
            var read: [MenuButton] = []
            for (index, sub) in subs.enumerated() { read.append(try self.button(sub, at: "\(path).sub_button[\(index)]", topLevel: false)) }
            button.subButtons = read
        }
        if let type = object["type"] as? String {
            button.action = try action(type, object, at: path)
        } else if button.subButtons == nil {
            throw .init("\(path) (“\(name)”) has neither a type nor sub-buttons")
        }
        return button
    }

    static func action(_ type: String, _ object: [String: Any], at path: String) throws(ParseError) -> MenuAction {
        func field(_ name: String) throws(ParseError) -> String {
            guard let value = text(object[name]) else { throw .init("\(path) (\(type)) has no \(name)") }
            return value
        }
        switch type {
        case "view": return .view(url: try field("url"))
        case "miniprogram": return .miniprogram(appid: try field("appid"), pagepath: try field("pagepath"), url: try field("url"))
        case "article_id": return .articleID(try field("article_id"))
        case let keyed where MenuAction.keyTypes.contains(keyed): return MenuAction.keyed(keyed, try field("key"))!
        case "media_id", "view_limited": return .other(type: type, value: text(object["media_id"]))
        case "article_view_limited": return .other(type: type, value: text(object["article_id"]))
        default: return .other(type: type, value: text(object["key"]) ?? text(object["url"]) ?? text(object["value"]))
        }
    }

    /// A string, or a number written as text (menuid, group_id come as numbers).
    static func text(_ value: Any?) -> String? {
        switch value {
        case let s as String: s
        case let n as NSNumber: n.stringValue
        default: nil
        }
    }

    static func integer(_ value: Any?) -> Int? {
        switch value {
        case let n as NSNumber: n.intValue
        case let s as String: Int(s)
        default: nil
        }
    }
}
