import Foundation

/// The command line (docs/standin.md) and the secrets from the environment.
struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 0
    var appID = "wxSTANDIN0000000001"
    var webhook: String?
    var allowedIPs: [String] = []
    var dailyQuotas: [String: Int] = [:]
    var minuteQuotas: [String: Int] = [:]
    var now: Int64?

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let usage = """
        usage: wechat-standin [--host 127.0.0.1] [--port 0] [--appid wxSTANDIN0000000001]
                              [--webhook URL] [--allow-ip IP ...] [--quota PATH=N/day ...]
                              [--minute-quota PATH=N ...] [--now UNIX]
          Secrets from the environment, never flags: KEFU_APPSECRET (or KEFU_APPSECRET_FILE), the AppSecret it accepts;
          KEFU_TOKEN (or KEFU_TOKEN_FILE), to sign pushes to --webhook; KEFU_AES_KEY (optional), to encrypt them.
          A stand-in for tests and demos: it is NOT WeChat. See docs/standin.md.
        """

    init(arguments: [String]) throws(Invalid) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            var name = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            func value() throws(Invalid) -> String {
                if let inline { return inline }
                guard let next = rest.popFirst() else { throw Invalid("\(name) needs a value") }
                return next
            }
            switch name {
            case "--host": host = try value()
            case "--port":
                let text = try value()
                guard let number = Int(text), (0...65535).contains(number) else { throw Invalid("--port \(text): give a port number 0-65535 (0 picks a free one)") }
                port = number
            case "--appid": appID = try value()
            case "--webhook":
                let text = try value()
                guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                    throw Invalid("--webhook \(text): give an http(s) URL, e.g. http://127.0.0.1:8080/wechat")
                }
                webhook = text
            case "--allow-ip": allowedIPs.append(try value())
            case "--quota":
                let text = try value()
                let (path, count) = try Self.quota(text, flag: "--quota", suffix: "/day")
                dailyQuotas[path] = count
            case "--minute-quota":
                let (path, count) = try Self.quota(try value(), flag: "--minute-quota", suffix: nil)
                minuteQuotas[path] = count
            case "--now":
                let text = try value()
                guard let seconds = Int64(text), seconds >= 0 else { throw Invalid("--now \(text): give Unix seconds, e.g. 1767225600") }
                now = seconds
            default:
                throw Invalid("unknown argument \(argument)")
            }
        }
    }

    /// `PATH=N/day` (daily) or `PATH=N` (per minute); PATH like /cgi-bin/token.
    static func quota(_ text: String, flag: String, suffix: String?) throws(Invalid) -> (String, Int) {
        let hint = suffix == nil ? "\(flag) /cgi-bin/token=10" : "\(flag) /cgi-bin/token=100/day"
        guard let equals = text.lastIndex(of: "=") else { throw Invalid("\(flag) \(text): write PATH=N, e.g. \(hint)") }
        let path = String(text[..<equals])
        var count = String(text[text.index(after: equals)...])
        if let suffix {
            guard count.hasSuffix(suffix) else { throw Invalid("\(flag) \(text): the count ends in \(suffix), e.g. \(hint)") }
            count.removeLast(suffix.count)
        }
        guard path.hasPrefix("/cgi-bin/") else { throw Invalid("\(flag) \(text): the path starts with /cgi-bin/, e.g. \(hint)") }
        guard let number = Int(count), number >= 0 else { throw Invalid("\(flag) \(text): the count must be a whole number, e.g. \(hint)") }
        return (path, number)
    }

    /// A secret from `NAME` or from the file `NAME_FILE` names (which wins).
    static func secret(_ name: String, in env: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) -> String? {
        if let path = env[name + "_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Invalid("\(name)_FILE names '\(path)', which cannot be read") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return env[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
