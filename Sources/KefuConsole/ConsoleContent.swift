/// The seam between the console's web side (the admin listener: sign-in, sessions, CSRF, the layout,
/// static files) and its pages (what the conversation log says). The web side has checked who is
/// signed in and, for a POST, the CSRF token, before a page sees the request.

/// Who is signed in: a viewer sees the pages with openids and phone numbers masked; an editor may
/// also act (hand a user back to the bot, reveal a masked field, which is logged).
public struct ConsoleUser: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable { case viewer, editor }
    public var name: String
    public var role: Role
    public init(name: String, role: Role) { self.name = name; self.role = role }
    public var isEditor: Bool { role == .editor }
}

/// One request to a page (GET) or an action (POST), sign-in and CSRF already checked.
public struct ConsoleRequest: Sendable {
    public var user: ConsoleUser
    /// The page's name: the path after `/console/` (`overview`, `sessions`, `sessions/transcript` …).
    public var page: String
    public var query: [String: String]
    /// The decoded form of a POST (`application/x-www-form-urlencoded`), empty for a GET.
    public var form: [String: String]
    /// Every form a page renders carries it as the hidden field `csrf` (``HTML/csrfField(_:)``).
    public var csrfToken: String
    public init(user: ConsoleUser, page: String, query: [String: String] = [:], form: [String: String] = [:], csrfToken: String) {
        self.user = user; self.page = page; self.query = query; self.form = form; self.csrfToken = csrfToken
    }
}

/// A page's part of the HTML: the web side wraps it in the layout (navigation, the signed-in user,
/// the stylesheet, Chart.js when `usesCharts`).
public struct ConsolePage: Sendable {
    /// Chinese, for `<title>` and the heading.
    public var title: String
    /// An HTML fragment; every value in it already escaped (``HTML/escape(_:)``).
    public var body: String
    public var status: Int
    /// The page draws charts: the layout loads `/console/static/chart.js` before `script`.
    public var usesCharts: Bool
    /// JavaScript run at the end of the page (drawing its charts from data it embeds as JSON).
    public var script: String?
    public init(title: String, body: String, status: Int = 200, usesCharts: Bool = false, script: String? = nil) {
        self.title = title; self.body = body; self.status = status; self.usesCharts = usesCharts; self.script = script
    }
}

public enum ConsoleAnswer: Sendable {
    case page(ConsolePage)
    /// 303 See Other to a path under /console (after a POST).
    case redirect(String)
    /// A JSON answer to the page's own script (`试一试`'s turns), already encoded.
    case json(String)
}

/// The pages. The web side calls `get` for `GET /console/<page>` and `post` for `POST /console/<page>`;
/// nil is 404.
public protocol ConsoleContent: Sendable {
    /// The navigation, in order: the page's name and its Chinese title (概览, 未解决 …).
    var navigation: [(page: String, title: String)] { get }
    func get(_ request: ConsoleRequest) async -> ConsoleAnswer?
    func post(_ request: ConsoleRequest) async -> ConsoleAnswer?
}

/// Small pieces of HTML every page needs.
public enum HTML {
    /// Text as HTML: `&`, `<`, `>`, `"` and `'` escaped (safe in element content and quoted attributes).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The hidden CSRF field of a form.
    public static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(token))\">"
    }

    /// A value for a query string or form (percent-encoded UTF-8, unreserved characters kept).
    public static func urlEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}
