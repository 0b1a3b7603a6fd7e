import Foundation

/// Where the PostgreSQL store is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require&pool=N]`.
///
/// The password comes from the URL or, better, from the file named by `KEFU_STORE_PASSWORD_FILE`
/// (the environment is read by the caller and passed in). It is never part of ``description``: logs,
/// /status and error messages show the location with the password left out.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool
    /// The most connections this process opens (each instance has its own pool).
    public var poolSize: Int

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `text`; `passwordFile` (KEFU_STORE_PASSWORD_FILE) wins over a password in the URL.
    public init(_ text: String, passwordFile: String? = nil) throws {
        let shown = Self.redacted(text)
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"), let url = URLComponents(string: text) else {
            throw Invalid(description: "--store \(shown): not a PostgreSQL URL; write postgres://USER@HOST:PORT/DATABASE (the password in KEFU_STORE_PASSWORD_FILE)")
        }
        guard let host = url.host, !host.isEmpty else { throw Invalid(description: "--store \(shown): the URL has no host (postgres://USER@HOST:PORT/DATABASE)") }
        guard let user = url.user, !user.isEmpty else { throw Invalid(description: "--store \(shown): the URL has no user name (postgres://USER@HOST:PORT/DATABASE)") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw Invalid(description: "--store \(shown): the URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        self.host = host
        port = url.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        // Secure by default: TLS (with the server's certificate checked) to any database off this machine;
        // `sslmode=disable` turns it off, `sslmode=require` turns it on for loopback too.
        requireTLS = !["127.0.0.1", "::1", "[::1]", "localhost"].contains(host)
        poolSize = 20
        for item in url.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): requireTLS = false
            case ("sslmode", "require"): requireTLS = true
            case ("pool", let n):
                guard let size = Int(n), (1...500).contains(size) else {
                    throw Invalid(description: "--store \(shown): pool=\(n) must be a number of connections from 1 to 500")
                }
                poolSize = size
            default:
                throw Invalid(description: "--store \(shown): unknown option \(item.name)=\(item.value ?? ""); known: sslmode=disable|require, pool=N")
            }
        }
        if let passwordFile {
            guard let contents = FileManager.default.contents(atPath: passwordFile) else {
                throw Invalid(description: "KEFU_STORE_PASSWORD_FILE=\(passwordFile): the file cannot be read")
            }
            password = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The location without its password: safe for logs, /status and errors.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// `text` with any password between `user:` and `@` replaced by `***`.
    public static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", range: scheme.upperBound..<text.endIndex) else { return text }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at.lowerBound...])
    }
}
