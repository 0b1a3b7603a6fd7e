/// The account's custom menu (自定义菜单), as `menu:` in one file of the rule set writes it: 1–3
/// buttons across the bottom of the chat, each either one action or a list of 1–5 sub-buttons.
///
/// The rules answer what the buttons send (`when: {click: KEY}`); `kefu menu push` sends this menu
/// to WeChat (`/cgi-bin/menu/create`, see `MenuJSON.swift`). Equality compares what WeChat stores
/// (names, actions, sub-buttons), not where they were written.
public struct MenuSpec: Sendable, Equatable {
    public var buttons: [MenuButton]
    /// The `menu:` key, when read from a rule file.
    public var location: SourceLocation?

    public init(buttons: [MenuButton], location: SourceLocation? = nil) {
        self.buttons = buttons
        self.location = location
    }

    public static func == (a: MenuSpec, b: MenuSpec) -> Bool { a.buttons == b.buttons }

    /// Every button and sub-button, top-level ones first in their order, each followed by its sub-buttons.
    public var allButtons: [MenuButton] { buttons.flatMap { [$0] + ($0.subButtons ?? []) } }

    /// The keys the menu's buttons send (click, scancode_*, pic_*, location_select), in menu order.
    public var keys: [(key: String, button: MenuButton)] {
        allButtons.compactMap { button in button.action?.key.map { ($0, button) } }
    }
}

/// One button of the menu: a name and either an action or sub-buttons (WeChat: "与 sub_button 互斥").
public struct MenuButton: Sendable, Equatable {
    public var name: String
    public var action: MenuAction?
    /// `sub_buttons:` as written (nil when not written; an empty list is kept, for lint to report).
    public var subButtons: [MenuButton]?
    /// Where the button was written: the list item, its name and its action's value.
    public var location: SourceLocation?
    public var nameLocation: SourceLocation?
    public var actionLocation: SourceLocation?
    public var subButtonsLocation: SourceLocation?

    public init(name: String, action: MenuAction? = nil, subButtons: [MenuButton]? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.action = action
        self.subButtons = subButtons
        self.location = location
    }

    public static func == (a: MenuButton, b: MenuButton) -> Bool {
        a.name == b.name && a.action == b.action && (a.subButtons ?? []) == (b.subButtons ?? [])
    }
}

/// What a button does, by WeChat's button `type`.
public enum MenuAction: Sendable, Equatable {
    /// Pushes a CLICK event with this key; the rules answer it (`when: {click: KEY}`).
    case click(key: String)
    /// Opens this web page (pushes a VIEW event).
    case view(url: String)
    /// Opens a page of a mini program; clients too old for mini programs open `url`.
    case miniprogram(appid: String, pagepath: String, url: String)
    /// Opens the scanner; WeChat shows the result itself and pushes the event with the key.
    case scancodePush(key: String)
    /// Opens the scanner and waits for the bot's answer (shows 正在处理 until it comes).
    case scancodeWaitMsg(key: String)
    /// Photo pickers: the event with the key, then the photos arrive as image messages.
    case picSysPhoto(key: String)
    case picPhotoOrAlbum(key: String)
    case picWeixin(key: String)
    /// The location picker: the event with the key, then a location message.
    case locationSelect(key: String)
    /// Opens a published article (发布后的图文) by its article_id.
    case articleID(String)
    /// A type the rule language does not write (media_id, view_limited, article_view_limited,
    /// or a menu made on the website), as `menu/get` returned it, with its one value.
    case other(type: String, value: String?)

    /// The action keys a button may have in a rule file, which are also WeChat's type names.
    public static let keyTypes = ["click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select"]
    public static let yamlKeys = keyTypes + ["view", "miniprogram", "article_id"]

    /// WeChat's `type`.
    public var type: String {
        switch self {
        case .click: "click"
        case .view: "view"
        case .miniprogram: "miniprogram"
        case .scancodePush: "scancode_push"
        case .scancodeWaitMsg: "scancode_waitmsg"
        case .picSysPhoto: "pic_sysphoto"
        case .picPhotoOrAlbum: "pic_photo_or_album"
        case .picWeixin: "pic_weixin"
        case .locationSelect: "location_select"
        case .articleID: "article_id"
        case .other(let type, _): type
        }
    }

    /// The key an event of this button carries, for the kinds that push one.
    public var key: String? {
        switch self {
        case .click(let k), .scancodePush(let k), .scancodeWaitMsg(let k), .picSysPhoto(let k), .picPhotoOrAlbum(let k), .picWeixin(let k), .locationSelect(let k): k
        default: nil
        }
    }

    /// The web address it opens (view, or a mini program's fallback).
    public var url: String? {
        switch self {
        case .view(let url), .miniprogram(_, _, let url): url
        default: nil
        }
    }

    /// A button with a key, of a kind given by its type name.
    public static func keyed(_ type: String, _ key: String) -> MenuAction? {
        switch type {
        case "click": .click(key: key)
        case "scancode_push": .scancodePush(key: key)
        case "scancode_waitmsg": .scancodeWaitMsg(key: key)
        case "pic_sysphoto": .picSysPhoto(key: key)
        case "pic_photo_or_album": .picPhotoOrAlbum(key: key)
        case "pic_weixin": .picWeixin(key: key)
        case "location_select": .locationSelect(key: key)
        default: nil
        }
    }

    /// The action in words, as `kefu menu show` prints it: `click MENU_CONTACT`, `view https://…`.
    public var summary: String {
        switch self {
        case .miniprogram(let appid, let pagepath, let url): "miniprogram \(appid) \(pagepath) (else \(url))"
        case .view(let url): "view \(url)"
        case .articleID(let id): "article_id \(id)"
        case .other(let type, let value): value.map { "\(type) \($0)" } ?? type
        default: "\(type) \(key ?? "")"
        }
    }
}
