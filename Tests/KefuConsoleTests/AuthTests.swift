import Foundation
import KefuConsole
import Logging
import Testing

@Suite("Console sign-in parts: password hashes, the users file, sessions, the sign-in limit")
struct AuthTests {
    static let fast = PasswordHash.Parameters(cost: 1 << 10, blockSize: 8, parallelism: 1)

    @Test("an scrypt hash round-trips through its text form and checks only its password")
    func hashRoundTrip() throws {
        let hash = try PasswordHash.make(password: "correct horse 电池", parameters: Self.fast)
        let text = hash.description
        #expect(text.hasPrefix("scrypt$1024$8$1$"))
        #expect(text.split(separator: "$").count == 6)
        let read = try PasswordHash(parsing: Substring(text))
        #expect(read == hash)
        #expect(read.verify("correct horse 电池"))
        #expect(!read.verify("correct horse 电"))
        #expect(!read.verify(""))
        // A fresh salt each time: the same password gives another hash.
        #expect(try PasswordHash.make(password: "correct horse 电池", parameters: Self.fast) != hash)
    }

    @Test("the default parameters (N=2^14, r=8, p=1: 16 MiB) are within the limits a users file may ask for, and are what new hashes use")
    func defaultCost() throws {
        #expect(PasswordHash.defaultParameters.memoryBytes == 16 << 20)
        #expect(PasswordHash.withinLimits(PasswordHash.defaultParameters))
        let hash = try PasswordHash.make(password: "pw-default")
        #expect(hash.description.hasPrefix("scrypt$16384$8$1$") && hash.verify("pw-default"))
        #expect(!PasswordHash.decoy().verify(""), "the decoy matches no password")
    }

    @Test("hashes outside the cost limits, or not hashes at all, are refused without quoting them")
    func parseErrors() {
        #expect(throws: PasswordHash.ParseError.notScrypt) { try PasswordHash(parsing: "hunter2-plaintext") }
        #expect(throws: PasswordHash.ParseError.outOfLimits) { try PasswordHash(parsing: Substring("scrypt$1048576$8$1$c2FsdHNhbHQ=$" + String(repeating: "A", count: 44))) }
        #expect(throws: PasswordHash.ParseError.outOfLimits) { try PasswordHash(parsing: Substring("scrypt$30000$8$1$c2FsdHNhbHQ=$" + String(repeating: "A", count: 44))) }
        #expect(throws: PasswordHash.ParseError.self) { try PasswordHash(parsing: "scrypt$1024$8$1$!!$AAAA") }
        #expect(PasswordHash.constantTimeEqual("abc", "abc") && !PasswordHash.constantTimeEqual("abc", "abd") && !PasswordHash.constantTimeEqual("abc", "abcd"))
    }

    @Test("a users file: comments and blank lines skipped; a bad line named by file:line with what to do, never its hash field")
    func usersFile() throws {
        let hash = try PasswordHash.make(password: "password1", parameters: Self.fast)
        let good = "# team\n\nli.na:viewer:\(hash)\nzhang.wei:editor:\(hash)\n"
        let file = try UsersFile.parse(good, path: "users")
        #expect(file.entries.map(\.name) == ["li.na", "zhang.wei"])
        #expect(file.entry(named: "zhang.wei")?.role == .editor)
        func error(_ text: String) -> String {
            do { _ = try UsersFile.parse(text, path: "console-users"); return "no error" } catch { return "\(error)" }
        }
        let plaintext = error("li.na:viewer:\(hash)\nwang:editor:MySecretPassw0rd\n")
        #expect(plaintext.hasPrefix("console-users:2: the hash of 'wang': this is not an scrypt hash"), "\(plaintext)")
        #expect(!plaintext.contains("MySecretPassw0rd"))
        #expect(plaintext.contains("kefu console add-user"))
        #expect(error("wang:admin:\(hash)").hasPrefix("console-users:1: the role of 'wang' is 'admin'; it must be viewer or editor"))
        #expect(error("wang editor \(hash)").hasPrefix("console-users:1: expected three fields"))
        #expect(error("a:viewer:\(hash)\na:editor:\(hash)").hasPrefix("console-users:2: 'a' is listed twice"))
    }

    @Test("upsert replaces the user's line (keeping the others and the comments) or appends one; the file is 0600")
    func upsert() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-users-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("console-users").path
        let one = try PasswordHash.make(password: "first-pass", parameters: Self.fast)
        let two = try PasswordHash.make(password: "second-pass", parameters: Self.fast)
        try UsersFile.upsert(.init(name: "li.na", role: .viewer, hash: one), path: path)
        try UsersFile.upsert(.init(name: "zhang", role: .editor, hash: one), path: path)
        try UsersFile.upsert(.init(name: "li.na", role: .editor, hash: two), path: path)
        let file = try UsersFile.load(path: path)
        #expect(file.entries.map(\.name) == ["li.na", "zhang"])
        #expect(file.entry(named: "li.na")?.role == .editor && file.entry(named: "li.na")?.hash.verify("second-pass") == true)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("# Kefu console users"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["console-users"], "no temporary file left behind")
    }

    @Test("sessions: random 256-bit ids, idle and absolute expiry, sign-out")
    func sessions() {
        let store = SessionStore(idleTimeout: 60, absoluteTimeout: 300)
        let user = ConsoleUser(name: "li.na", role: .viewer)
        let a = store.create(for: user, now: 1000), b = store.create(for: user, now: 1000)
        #expect(a.id != b.id && a.csrfToken != b.csrfToken && a.id.count == 43)
        #expect(store.session(a.id, now: 1050)?.user == user)
        #expect(store.session(a.id, now: 1100) != nil, "each use restarts the idle clock")
        #expect(store.session(b.id, now: 1100) == nil, "idle for 100 s > 60 s")
        for t in stride(from: 1150.0, through: 1290, by: 50) { #expect(store.session(a.id, now: t) != nil) }
        #expect(store.session(a.id, now: 1301) == nil, "absolute expiry at 300 s even when in use")
        let c = store.create(for: user, now: 2000)
        store.end(c.id)
        #expect(store.session(c.id, now: 2001) == nil)
        #expect(store.session("made-up", now: 2001) == nil)
    }

    @Test("the sign-in limit: 5 failures in the window lock the key until the oldest leaves it")
    func limiter() {
        let limiter = SignInLimiter(limit: 5, window: 300)
        for t in 0..<5 { #expect(limiter.retryAfter("k", now: 1000 + Double(t)) == nil); limiter.fail("k", now: 1000 + Double(t)) }
        #expect(limiter.retryAfter("k", now: 1010) == 290)
        #expect(limiter.retryAfter("other", now: 1010) == nil)
        #expect(limiter.retryAfter("k", now: 1301) == nil, "the first failure left the window")
        limiter.clear("k")
        #expect(limiter.retryAfter("k", now: 1010) == nil)
    }

    @Test("the authenticator: users, the token with an empty name, the same refusal for a wrong password and an unknown name, then 429")
    func authenticator() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-auth-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("users").path
        try UsersFile.upsert(.init(name: "li.na", role: .viewer, hash: try PasswordHash.make(password: "viewer-pass", parameters: Self.fast)), path: path)
        let auth = try Authenticator(usersPath: path, token: "a-long-admin-token-123", logger: Logger(label: "test"))
        #expect(await auth.signIn(name: "li.na", password: "viewer-pass", client: "1") == .signedIn(ConsoleUser(name: "li.na", role: .viewer)))
        #expect(await auth.signIn(name: "", password: "a-long-admin-token-123", client: "1") == .signedIn(ConsoleUser(name: Authenticator.tokenUserName, role: .editor)))
        #expect(await auth.signIn(name: "li.na", password: "a-long-admin-token-123", client: "1") == .refused, "the token is not a user's password")
        #expect(await auth.signIn(name: "nobody", password: "x", client: "1") == .refused)
        #expect(auth.acceptsBearer("Bearer a-long-admin-token-123") && !auth.acceptsBearer("Bearer a-long-admin-token-12") && !auth.acceptsBearer(nil))
        // A user added while running is seen at the next sign-in.
        try UsersFile.upsert(.init(name: "zhang", role: .editor, hash: try PasswordHash.make(password: "editor-pass", parameters: Self.fast)), path: path)
        #expect(await auth.signIn(name: "zhang", password: "editor-pass", client: "2") == .signedIn(ConsoleUser(name: "zhang", role: .editor)))
        // Five failures from one address: the sixth attempt is limited, even with the right password.
        for _ in 0..<3 { #expect(await auth.signIn(name: "li.na", password: "wrong", client: "1") == .refused) }
        guard case .limited(let wait) = await auth.signIn(name: "zhang", password: "editor-pass", client: "1") else {
            Issue.record("not limited"); return
        }
        #expect(wait > 0 && wait <= 300)
        #expect(await auth.signIn(name: "zhang", password: "editor-pass", client: "3") == .signedIn(ConsoleUser(name: "zhang", role: .editor)))
    }

    @Test("the admin token from the environment: the file wins, a short one is refused without showing it")
    func adminToken() throws {
        #expect(try AdminToken.fromEnvironment([:]) == nil)
        #expect(try AdminToken.fromEnvironment(["KEFU_ADMIN_TOKEN": "0123456789abcdef-x"]) == "0123456789abcdef-x")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-token-\(UInt32.random(in: 0 ... .max))")
        try "from-the-file-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try AdminToken.fromEnvironment(["KEFU_ADMIN_TOKEN": "0123456789abcdef-x", "KEFU_ADMIN_TOKEN_FILE": file.path]) == "from-the-file-0123456789")
        do { _ = try AdminToken.fromEnvironment(["KEFU_ADMIN_TOKEN": "short-secret"]); Issue.record("accepted") } catch {
            #expect("\(error)".contains("too short") && !"\(error)".contains("short-secret"))
        }
    }
}
