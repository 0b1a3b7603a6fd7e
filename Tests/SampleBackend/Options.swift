import Foundation

/// The command line (docs/sample-backend.md) and the secrets from the environment.
struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 9100
    var signingKeyFile: String?
    var verify = true
    var controls = true
    var logRequests = false

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let usage = """
        usage: sample-backend [--host 127.0.0.1] [--port 9100] [--signing-key-file PATH] [--no-verify]
                              [--no-controls] [--log-requests]
          A FAKE company backend (shop orders and after-sales tickets, clinic appointments) for `make run`
          and the tests: not a real system. It verifies Kefu's request signatures (webhook-id,
          webhook-timestamp, webhook-signature) with the key from SAMPLE_BACKEND_SIGNING_KEY or
          --signing-key-file (whsec_<base64> or plain text); without a key it refuses to start unless
          --no-verify. SAMPLE_BACKEND_TOKEN (or SAMPLE_BACKEND_TOKEN_FILE), when set, is the bearer token
          it requires. --port 0 picks a free port. See docs/sample-backend.md.
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
            func flag() throws(Invalid) {
                if inline != nil { throw Invalid("\(name) takes no value") }
            }
            switch name {
            case "--host": host = try value()
            case "--port":
                let text = try value()
                guard let number = Int(text), (0...65535).contains(number) else {
                    throw Invalid("--port \(text): give a port number 0-65535 (0 picks a free one)")
                }
                port = number
            case "--signing-key-file": signingKeyFile = try value()
            case "--no-verify": try flag(); verify = false
            case "--no-controls": try flag(); controls = false
            case "--log-requests": try flag(); logRequests = true
            default:
                throw Invalid("unknown argument \(argument)")
            }
        }
    }

    /// The signing key: `--signing-key-file` (its text, trimmed) wins over SAMPLE_BACKEND_SIGNING_KEY.
    func signingKey(in env: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) -> SigningKey? {
        if let path = signingKeyFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Invalid("--signing-key-file names '\(path)', which cannot be read")
            }
            return try SigningKey(text.trimmingCharacters(in: .whitespacesAndNewlines), source: "--signing-key-file \(path)")
        }
        guard let text = env["SAMPLE_BACKEND_SIGNING_KEY"], !text.isEmpty else { return nil }
        return try SigningKey(text, source: "SAMPLE_BACKEND_SIGNING_KEY")
    }

    /// A secret from `NAME` or from the file `NAME_FILE` names (which wins), as the stand-in reads its own.
    static func secret(_ name: String, in env: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) -> String? {
        if let path = env[name + "_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Invalid("\(name)_FILE names '\(path)', which cannot be read") }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw Invalid("\(name)_FILE names '\(path)', which is empty") }
            return trimmed
        }
        return env[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
