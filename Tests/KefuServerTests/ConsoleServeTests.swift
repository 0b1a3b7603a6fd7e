import Foundation
import KefuTestSupport
import Testing

/// The console on the admin listener of a real `kefu serve`: users made by `kefu console add-user`, then driven
/// in Debian's chromium (Tests/Browser/console.py) and over plain HTTP (curl) where a browser adds nothing.
@Suite("kefu serve: the console on the admin listener", .serialized)
struct ConsoleServeTests {
    static let shop = TestSupport.root.appendingPathComponent("Rules/shop").path
    static let viewer = ("li.na", "viewer-pass-8c1f")
    static let editor = ("zhang.wei", "editor-pass-3b7e")

    /// A users file with a viewer and an editor, written by the CLI from passwords on standard input.
    static func usersFile() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-console-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("console-users").path
        for (user, role) in [(viewer, "viewer"), (editor, "editor")] {
            let r = try TestSupport.run(TestSupport.kefu, ["console", "add-user", user.0, "--role", role, "--users", path],
                                        environment: [:], input: Data((user.1 + "\n").utf8))
            #expect(r.status == 0 && r.out.contains("\(user.0) (\(role)) is set in \(path)"), "\(r.out)\(r.err)")
        }
        return path
    }

    static func curl(_ arguments: [String]) throws -> (status: Int, headers: String, body: String) {
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10", "-D", "-", "-o", "-"] + arguments)
        let parts = r.out.components(separatedBy: "\r\n\r\n")
        let status = Int(parts[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test("in chromium: sign-in, a wrong password refused, no session refused, CSRF refused and nothing changed, roles, /status and /metrics only there and signed in, the sign-in limit")
    func browser() throws {
        let users = try Self.usersFile()
        let server = try ServeTests.Server(rules: Self.shop, arguments: ["--console-users", users])
        let admin = "http://127.0.0.1:\(try #require(server.adminPort))"
        var arguments = [TestSupport.root.appendingPathComponent("Tests/Browser/console.py").path, admin, "http://127.0.0.1:\(server.port)"]
        // KEFU_CONSOLE_SCREENSHOTS=$PWD/docs/console keeps the screenshots for docs/console.md; else a temporary folder.
        let shots = ProcessInfo.processInfo.environment["KEFU_CONSOLE_SCREENSHOTS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("kefu-console-shots-\(UInt32.random(in: 0 ... .max))").path
        arguments += ["--screenshots", shots]
        let r = try TestSupport.run(try TestSupport.python(), arguments, environment: [
            "KEFU_ADMIN_TOKEN": TestSupport.adminToken, "HOME": FileManager.default.temporaryDirectory.path,
            "CONSOLE_VIEWER": "\(Self.viewer.0):\(Self.viewer.1)", "CONSOLE_EDITOR": "\(Self.editor.0):\(Self.editor.1)",
        ], mergeErrors: true)
        #expect(r.status == 0 && r.out.contains("all console browser checks passed"), "\(r.out)")
        for shot in ["login.png", "overview-empty.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shots + "/" + shot)[.size] as? Int) ?? 0
            #expect(size > 5_000, "screenshot \(shot): \(size) bytes")
        }
        #expect(server.stop() == 0)
        let log = server.remainingLog()
        #expect(log.contains("admin listening on 127.0.0.1:"))
        #expect(log.contains("console sign-in") && log.contains("console sign-in refused") && log.contains("console sign-in limited"))
        for secret in [Self.viewer.1, Self.editor.1, TestSupport.adminToken, "whatever-password"] {
            #expect(!log.contains(secret), "a password or the token reached the log")
        }
        #expect(!log.contains("nobody-here"), "a name that is no account (maybe a password typed in the wrong field) is not logged")
        let file = try String(contentsOfFile: users, encoding: .utf8)
        #expect(!file.contains(Self.viewer.1) && !file.contains(Self.editor.1) && file.contains("li.na:viewer:scrypt$16384$8$1$"))
    }

    @Test("over HTTP: the webhook port has no /status or /metrics; the admin port wants sign-in or the bearer token; headers; --admin off")
    func http() throws {
        let users = try Self.usersFile()
        let server = try ServeTests.Server(rules: Self.shop, arguments: ["--console-users", users])
        let admin = "http://127.0.0.1:\(try #require(server.adminPort))"
        let webhook = "http://127.0.0.1:\(server.port)"
        for path in ["/status", "/metrics"] {
            #expect(try Self.curl([webhook + path]).status == 404, "\(path) is gone from the webhook port")
            let anonymous = try Self.curl([admin + path])
            #expect(anonymous.status == 401 && anonymous.headers.contains("WWW-Authenticate: Bearer"), "\(anonymous.headers)")
            #expect(try Self.curl(["-H", "Authorization: Bearer wrong-token-0123456789", admin + path]).status == 401)
            #expect(try Self.curl(["-H", "Authorization: Bearer \(TestSupport.adminToken)", admin + path]).status == 200)
        }
        #expect(try Self.curl([webhook + "/healthz"]).body == "ok\n")
        #expect(try Self.curl([webhook + "/console/login"]).status == 404, "the console is not on the webhook port")
        // / goes to the first page, which without a session goes to the sign-in form.
        let root = try Self.curl([admin + "/"])
        #expect(root.status == 303 && root.headers.contains("Location: /console/overview"), "\(root.headers)")
        let page = try Self.curl([admin + "/console/overview"])
        #expect(page.status == 303 && page.headers.contains("Location: /console/login"), "\(page.headers)")
        let form = try Self.curl([admin + "/console/login"])
        #expect(form.status == 200 && form.body.contains("登录") && form.headers.contains("X-Frame-Options: DENY"))
        #expect(form.headers.contains("Set-Cookie: kefu_signin=") && form.headers.contains("HttpOnly; SameSite=Strict; Secure"), "\(form.headers)")
        #expect(form.headers.contains("Content-Security-Policy: default-src 'none'; script-src 'self' 'nonce-"))
        #expect(try Self.curl([admin + "/console/no-such-page"]).status == 303, "unknown pages need a session first")
        // A sign-in without the form's token: 403, nobody signed in.
        let forged = try Self.curl(["-d", "name=\(Self.viewer.0)&password=\(Self.viewer.1)", admin + "/console/login"])
        #expect(forged.status == 403 && !forged.headers.contains("kefu_session="), "\(forged.headers)")
        // With the token (double-submit cookie): signed in; a wrong password and an unknown name cost a derivation each and read alike.
        let jar = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-jar-\(UInt32.random(in: 0 ... .max))").path
        func signIn(_ name: String, _ password: String) throws -> (status: Int, headers: String, body: String, seconds: Double) {
            let page = try Self.curl(["-c", jar, "-b", jar, admin + "/console/login"])
            let csrf = try #require(page.body.range(of: #"name="csrf" value="([^"]+)""#, options: .regularExpression).map {
                String(page.body[$0].dropFirst(#"name="csrf" value=""#.count).dropLast()) })
            let start = Date()
            let r = try Self.curl(["-c", jar, "-b", jar, "--data-urlencode", "csrf=\(csrf)", "--data-urlencode", "name=\(name)",
                                   "--data-urlencode", "password=\(password)", admin + "/console/login"])
            return (r.status, r.headers, r.body, Date().timeIntervalSince(start))
        }
        let wrong = try signIn(Self.viewer.0, "not-it"), unknown = try signIn("no-such-user", "not-it")
        #expect(wrong.status == 401 && unknown.status == 401)
        let message = "用户名或密码不正确。"
        #expect(wrong.body.contains(message) && unknown.body.contains(message))
        #expect(wrong.seconds > 0.01 && unknown.seconds > 0.01, "both ran scrypt: \(wrong.seconds) s, \(unknown.seconds) s")
        let good = try signIn(Self.editor.0, Self.editor.1)
        #expect(good.status == 303 && good.headers.contains("Set-Cookie: kefu_session="), "\(good.headers)")
        #expect(good.headers.contains("Path=/console; HttpOnly; SameSite=Strict; Secure"))
        let signedIn = try Self.curl(["-b", jar, admin + "/console/status"])
        #expect(signedIn.status == 200 && signedIn.body.contains("\"accounts\""), "/console/status with the session cookie")
        #expect(try Self.curl(["-b", jar, admin + "/console/metrics"]).body.contains("kefu_"))
        let overview = try Self.curl(["-b", jar, admin + "/console/overview"])
        #expect(overview.status == 200 && overview.body.contains("编辑者") && overview.headers.contains("Cache-Control: no-store"))
        #expect(overview.body.contains("谁回答了客户") && overview.body.contains("id=\"total-messages\""), "the 概览 page, on an empty log")
        #expect(try Self.curl(["-b", jar, "-d", "x=1", admin + "/console/overview"]).status == 403, "a POST without the CSRF token")
        #expect(server.stop() == 0)

        // --admin off: no admin listener at all.
        let off = try ServeTests.Server(rules: Self.shop, arguments: ["--admin", "off"])
        #expect(off.adminPort == nil)
        #expect(try Self.curl(["http://127.0.0.1:\(off.port)/status"]).status == 404)
        #expect(off.stop() == 0)
        #expect(!off.remainingLog().contains("admin listening"))
    }

    @Test("a bad users file stops the start naming file:line and what to do; a bad --admin is a usage error; add-user never takes the password from argv")
    func startErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-console-bad-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bad = dir.appendingPathComponent("users").path
        try "# users\nwang:editor:plain-text-password\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let env = ["KEFU_TOKEN": "t"].merging(TestSupport.sampleServiceSecrets) { $1 }
        let r = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", Self.shop, "--port", "0", "--store", "memory",
                                                       "--admin", "127.0.0.1:0", "--console-users", bad], environment: env)
        #expect(r.status == 1 && r.err.contains("\(bad):2: the hash of 'wang': this is not an scrypt hash") && r.err.contains("kefu console add-user"), "\(r.err)")
        #expect(!r.err.contains("plain-text-password"))
        let address = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", Self.shop, "--port", "0", "--store", "memory", "--admin", "8081"], environment: env)
        #expect(address.status == 64 && address.err.contains("--admin 8081: give HOST:PORT"), "\(address.err)")
        let short = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", Self.shop, "--port", "0", "--store", "memory", "--admin", "127.0.0.1:0"],
                                        environment: env.merging(["KEFU_ADMIN_TOKEN": "tiny-token"]) { $1 })
        #expect(short.status == 1 && short.err.contains("too short") && !short.err.contains("tiny-token"), "\(short.err)")
        let argv = try TestSupport.run(TestSupport.kefu, ["console", "add-user", "a", "--role", "editor", "--users", bad, "--password", "x"], environment: [:])
        #expect(argv.status == 64)
        let weak = try TestSupport.run(TestSupport.kefu, ["console", "add-user", "a", "--role", "editor", "--users", dir.appendingPathComponent("new").path],
                                       environment: [:], input: Data("short\n".utf8))
        #expect(weak.status == 64 && weak.err.contains("use at least 8"), "\(weak.err)")
    }
}
