import Foundation
import Logging
import Synchronization

/// Who may sign in to the console: the accounts of the users file (`--console-users`), and the single
/// admin token (KEFU_ADMIN_TOKEN / KEFU_ADMIN_TOKEN_FILE), which signs in as an editor named ``tokenUserName``
/// with the name field left empty. Failed sign-ins are limited per client address and per name; a wrong
/// password and an unknown name get the same answer after the same work (one scrypt derivation).
public final class Authenticator: Sendable {
    /// The name shown for whoever signed in with the admin token.
    public static let tokenUserName = "admin-token"

    public enum Outcome: Sendable, Equatable {
        case signedIn(ConsoleUser)
        case refused
        /// Too many failures: try again after this many seconds.
        case limited(retryAfter: Int)
    }

    let usersPath: String?
    let token: String?
    let logger: Logger
    public let limiter: SignInLimiter
    private let users: Mutex<(file: UsersFile, stamp: String)>
    /// Checked for an unknown name, so that it costs what a known one does.
    private let decoy: PasswordHash
    /// One derivation at a time, off the concurrency pool (scrypt is tens of ms of CPU and 16 MiB each).
    private let queue = DispatchQueue(label: "kefu.console.scrypt")

    /// Loads the users file now: a bad one is an error at start (naming file:line).
    public init(usersPath: String?, token: String?, limiter: SignInLimiter = SignInLimiter(), logger: Logger) throws {
        self.usersPath = usersPath
        self.token = token
        self.limiter = limiter
        self.logger = logger
        let file = try usersPath.map { try UsersFile.load(path: $0) } ?? UsersFile()
        users = Mutex((file, usersPath.map(Self.stamp) ?? ""))
        decoy = PasswordHash.decoy()
    }

    /// Whether anyone can sign in at all (a users file with a line, or the token).
    public var hasCredentials: Bool { token != nil || !currentUsers().entries.isEmpty }
    public var userCount: Int { currentUsers().entries.count }
    public var hasToken: Bool { token != nil }

    /// `Authorization: Bearer <token>` carries the admin token (Prometheus' bearer_token_file).
    public func acceptsBearer(_ header: String?) -> Bool {
        guard let token, let header, header.lowercased().hasPrefix("bearer ") else { return false }
        let given = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return PasswordHash.constantTimeEqual(given, token)
    }

    public func signIn(name rawName: String, password: String, client: String) async -> Outcome {
        let name = rawName.trimmingCharacters(in: .whitespaces)
        let keys = ["address " + client, "name " + name.prefix(64)]
        let waits = keys.compactMap { limiter.retryAfter($0) }
        if let wait = waits.max() { return .limited(retryAfter: wait) }
        let entry = name.isEmpty ? nil : currentUsers().entry(named: name)
        let hash = entry?.hash ?? decoy
        let (matches, tokenMatches) = await withCheckedContinuation { (done: CheckedContinuation<(Bool, Bool), Never>) in
            queue.async { [token] in
                let matches = hash.verify(password)
                let tokenMatches = name.isEmpty && token.map { PasswordHash.constantTimeEqual(password, $0) } == true
                done.resume(returning: (matches, tokenMatches))
            }
        }
        if let entry, matches {
            limiter.clear(keys[1])
            return .signedIn(ConsoleUser(name: entry.name, role: entry.role))
        }
        if tokenMatches {
            limiter.clear(keys[1])
            return .signedIn(ConsoleUser(name: Self.tokenUserName, role: .editor))
        }
        for key in keys { limiter.fail(key) }
        return .refused
    }

    /// The users file as it is now: read again when it changed (`kefu console add-user` needs no restart);
    /// a file that became bad is logged and the accounts read before are kept.
    func currentUsers() -> UsersFile {
        guard let usersPath else { return users.withLock { $0.file } }
        let stamp = Self.stamp(usersPath)
        if let known = users.withLock({ $0.stamp == stamp ? $0.file : nil }) { return known }
        do {
            let file = try UsersFile.load(path: usersPath)
            users.withLock { $0 = (file, stamp) }
            logger.notice("console users file read again", metadata: ["file": .string(usersPath), "users": .string("\(file.entries.count)")])
            return file
        } catch {
            logger.error("the console users file changed but cannot be used; the accounts read before stay in force: \(error)")
            users.withLock { $0.stamp = stamp }
            return users.withLock { $0.file }
        }
    }

    static func stamp(_ path: String) -> String {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
        return "\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) \(a[.size] ?? 0) \(a[.systemFileNumber] ?? 0)"
    }
}

/// The admin token from the environment: KEFU_ADMIN_TOKEN, or the file KEFU_ADMIN_TOKEN_FILE names (the file wins).
public enum AdminToken {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static let minimumLength = 16

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        var token: String?
        var source = "KEFU_ADMIN_TOKEN"
        if let path = environment["KEFU_ADMIN_TOKEN_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Problem(description: "KEFU_ADMIN_TOKEN_FILE names \(path), which cannot be read; put the admin token in it (one line), or unset the variable.")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            source = "the file \(path) (KEFU_ADMIN_TOKEN_FILE)"
        } else if let value = environment["KEFU_ADMIN_TOKEN"], !value.isEmpty {
            token = value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let token else { return nil }
        guard token.count >= minimumLength, !token.contains(where: { $0.isWhitespace }) else {
            throw Problem(description: "the admin token from \(source) is too short or has spaces: use at least \(minimumLength) random characters without spaces, e.g. `openssl rand -base64 32`.")
        }
        return token
    }
}
