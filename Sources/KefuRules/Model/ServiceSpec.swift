/// A company system the rule set may call (`services:`), declared once and named by `call:` steps.
///
///     services:
///       erp:
///         title: ERP 订单系统
///         base: https://erp.example.com/api      # calls go only to this host, under this path
///         auth: {bearer: ERP_TOKEN}               # the secret's NAME: KEFU_SECRET_ERP_TOKEN or …_FILE
///         signing: ERP_SIGNING                    # the signing key's name (default SIGNING_KEY)
///         timeout: 3s
///         sample: samples/erp-order.json          # lint checks save: paths against it
///
/// A rule file never holds a secret: `auth:` and `signing:` name secrets, whose values come from
/// the environment (`KEFU_SECRET_<NAME>`, or a file named by `KEFU_SECRET_<NAME>_FILE`) when the
/// server starts. Every request is signed (see docs/signing.md).
public struct ServiceSpec: Sendable {
    public var name: String
    /// What the service is, for people (default: the name).
    public var title: String
    /// `https://host[:port][/base/path]`, as written.
    public var base: ServiceBase
    public var auth: ServiceAuth?
    /// The name of the signing secret; the previous key (during a rotation) is `<NAME>_PREVIOUS`.
    public var signing: String
    /// Milliseconds one request may take.
    public var timeoutMs: Int64
    /// `sample:` a response the service gives (as written, relative to the rule-set folder), read at load.
    public var sample: Located<String>?
    public var sampleBody: JSONValue?
    /// `retry:` how many times a write that failed in a retryable way (network, timeout, 408, 429, 5xx) is tried in all.
    public var attempts: Int
    public var location: SourceLocation

    public static let defaultTimeoutMs: Int64 = 3000
    public static let defaultSigning = "SIGNING_KEY"
    public static let defaultAttempts = 8
    /// The longest a request may take: WeChat's retries stop after three 5-second tries.
    public static let maxTimeoutMs: Int64 = 15_000

    public init(name: String, title: String? = nil, base: ServiceBase, auth: ServiceAuth? = nil, signing: String = ServiceSpec.defaultSigning,
                timeoutMs: Int64 = ServiceSpec.defaultTimeoutMs, attempts: Int = ServiceSpec.defaultAttempts, location: SourceLocation) {
        self.name = name; self.title = title ?? name; self.base = base; self.auth = auth; self.signing = signing
        self.timeoutMs = timeoutMs; self.attempts = attempts; self.location = location
    }

    /// The secret names the service needs (auth, then signing).
    public var secretNames: [String] {
        var names: [String] = []
        switch auth {
        case .bearer(let s)?, .header(_, let s)?, .basic(_, let s)?: names.append(s)
        case nil: break
        }
        names.append(signing)
        return names
    }
}

/// A service's base URL, split: calls may only add a path below `path` and a query.
public struct ServiceBase: Sendable, Equatable, Codable {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// Without a trailing slash ("" for the root).
    public var path: String

    public init(scheme: String, host: String, port: Int? = nil, path: String) {
        self.scheme = scheme; self.host = host; self.port = port; self.path = path
    }

    /// Reads `http(s)://host[:port][/path]`; nil with the reason when it is not such a URL.
    public static func parse(_ text: String) -> Result<ServiceBase, BaseError> {
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return .failure(.scheme) }
        var rest = Substring(text.dropFirst(scheme.count + 3))
        if rest.contains("?") || rest.contains("#") { return .failure(.query) }
        if rest.contains("@") { return .failure(.credentials) }
        if rest.contains("{{") { return .failure(.template) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        rest = authority
        var host = String(rest), port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.hasPrefix("[") || rest[..<colon].hasSuffix("]") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return .failure(.port) }
            host = String(rest[..<colon]); port = p
        }
        if host.isEmpty || host.contains(where: { $0 == " " || $0 == "\t" }) { return .failure(.host) }
        return .success(ServiceBase(scheme: scheme, host: host.lowercased(), port: port, path: path))
    }

    public enum BaseError: Error, Sendable, Equatable {
        case scheme, query, credentials, template, port, host

        public var sentence: String {
            switch self {
            case .scheme: "must start with https:// (or http:// for a service on this machine)"
            case .query: "cannot carry a query or a fragment; put parameters in each call's query:"
            case .credentials: "cannot carry a user name or password; use auth: with a secret's name"
            case .template: "cannot contain {{…}}: slot values never change where a call goes"
            case .port: "has a port that is not a number from 1 to 65535"
            case .host: "has no host name"
            }
        }
    }

    /// `https://erp.example.com:8443/api` (no trailing slash).
    public var description: String { "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(path)" }
}

/// How a service knows the caller is Kefu, by the secret's name.
public enum ServiceAuth: Sendable, Equatable {
    /// `Authorization: Bearer <secret>`.
    case bearer(secret: String)
    /// `<header>: <secret>` (e.g. X-Api-Key).
    case header(name: String, secret: String)
    /// `Authorization: Basic base64(user:secret)`.
    case basic(user: String, secret: String)
}
