import Crypto
import Foundation
import KefuTestSupport
import Testing

/// `kefu serve --accounts`: several Official Accounts in one real process on loopback, each with its
/// own token, rule set, store, sessions, metrics and reloads; pushes signed here as WeChat signs them.
@Suite("kefu serve: several accounts", .serialized)
struct AccountsServeTests {
    static let root = TestSupport.root
    /// Rules/shop's account: the identity of the project's vectors, so wechatpy's client speaks secure mode to it.
    static let shop = "wx3f2a1b4c5d6e7f80", clinic = "wx0000c11c0000c11c"
    static let shopToken = "SwiftBotToken2024", clinicToken = "ClinicToken9"
    static let secrets = [
        "KEFU_SECRET_SHOP_WECHAT_TOKEN": shopToken,
        "KEFU_SECRET_SHOP_AES_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "KEFU_SECRET_CLINIC_WECHAT_TOKEN": clinicToken,
    ].merging(TestSupport.sampleServiceSecrets) { $1 }

    static func temporary(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-\(name)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// An accounts file for shop (compatible mode: plaintext and encrypted) and clinic (plaintext) in `dir`.
    static func accountsFile(in dir: URL, shopRules: String, clinicRules: String) throws -> String {
        let file = dir.appendingPathComponent("accounts.yaml")
        try """
            accounts:
              - appid: \(shop)
                name: 示例商城
                rules: \(shopRules)
                token: shop-wechat-token
                aes_key: shop-aes-key
                mode: compatible
              - appid: \(clinic)
                name: 康宁诊所
                rules: \(clinicRules)
                token: clinic-wechat-token
                path: /wechat/clinic

            """.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// A running `kefu serve --accounts` on a free port; stopped with SIGTERM.
    final class Server {
        let process = Process()
        let port: Int
        let adminPort: Int
        let log: Pipe
        let store: URL

        /// `accounts` nil: the file comes from the environment (KEFU_ACCOUNTS).
        /// `database`: a postgres:// URL for the store (default: SQLite files in a temporary folder).
        init(accounts: String?, arguments: [String] = [], environment: [String: String] = AccountsServeTests.secrets,
             workingDirectory: URL? = nil, database: String? = nil) throws {
            store = try AccountsServeTests.temporary("accounts-store")
            process.executableURL = TestSupport.kefu
            process.arguments = ["serve"] + (accounts.map { ["--accounts", $0] } ?? [])
                + ["--port", "0", "--store", database ?? "sqlite:" + store.appendingPathComponent("kefu.sqlite").path] + TestSupport.adminArguments + arguments
            process.environment = environment.merging(["PATH": "/usr/bin:/bin", "KEFU_ADMIN_TOKEN": TestSupport.adminToken]) { $1 }
            if let workingDirectory { process.currentDirectoryURL = workingDirectory }
            log = Pipe()
            process.standardError = log
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            var seen = "", found: Int?, foundAdmin: Int?
            let deadline = Date().addingTimeInterval(30)
            while found == nil || foundAdmin == nil, Date() < deadline, process.isRunning {
                seen += String(decoding: log.fileHandleForReading.availableData, as: UTF8.self)
                found = TestSupport.webhookPort(in: seen)
                foundAdmin = TestSupport.adminPort(in: seen)
            }
            guard let found, let foundAdmin else { throw ServeTests.Server.ServerError(log: seen) }
            port = found
            adminPort = foundAdmin
        }

        func get(_ path: String) throws -> String {
            let (url, bearer) = TestSupport.url(path, webhook: port, admin: adminPort)
            return try TestSupport.get(url, bearer: bearer)
        }
        func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
        func signal(_ number: Int32) { kill(process.processIdentifier, number) }
        func stop() -> Int32 { signal(SIGTERM); process.waitUntilExit(); return process.terminationStatus }
        func status() throws -> [String: Any] {
            let text = try get("/status")
            return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        }
        func account(_ id: String) throws -> [String: Any] {
            try #require((try status()["accounts"] as? [String: Any])?[id] as? [String: Any], "no account \(id) in /status")
        }
        deinit { if process.isRunning { process.terminate() } }
    }

    /// WeChat's plaintext signature: SHA-1 of token, timestamp and nonce, sorted and joined.
    static func signature(_ token: String, _ timestamp: String, _ nonce: String) -> String {
        Insecure.SHA1.hash(data: Data([token, timestamp, nonce].sorted().joined().utf8)).map { String(format: "%02x", $0) }.joined()
    }

    nonisolated(unsafe) static var nextMessage = Int64(Date().timeIntervalSince1970) * 1000

    /// A plaintext text push signed with `token`, POSTed to `path`: (HTTP status, body).
    static func push(_ server: Server, _ path: String, token: String, user: String, _ text: String) throws -> (status: Int, body: String) {
        let timestamp = String(Int(Date().timeIntervalSince1970)), nonce = String(UInt32.random(in: 1...UInt32.max))
        nextMessage += 1
        let xml = """
            <xml><ToUserName><![CDATA[gh_5d2b8e4c1a7f]]></ToUserName><FromUserName><![CDATA[\(user)]]></FromUserName>\
            <CreateTime>\(timestamp)</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[\(text)]]></Content>\
            <MsgId>\(nextMessage)</MsgId></xml>
            """
        let query = "signature=\(signature(token, timestamp, nonce))&timestamp=\(timestamp)&nonce=\(nonce)&openid=\(user)"
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"),
                                    ["-sS", "--max-time", "10", "-H", "Content-Type: text/xml", "--data-binary", "@-", "-w", "\n%{http_code}",
                                     server.url(path) + "?" + query], input: Data(xml.utf8))
        var lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// GET URL verification with `token`: (status, body).
    static func verify(_ server: Server, _ path: String, token: String) throws -> (status: Int, body: String) {
        let timestamp = String(Int(Date().timeIntervalSince1970)), nonce = "42"
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10", "-w", "\n%{http_code}",
            server.url(path) + "?signature=\(signature(token, timestamp, nonce))&timestamp=\(timestamp)&nonce=\(nonce)&echostr=echo-\(nonce)"])
        var lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    static func metric(_ text: String, _ line: String) -> Int? {
        text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Int($0.split(separator: " ").last!) }
    }

    /// Polls `probe` every 50 ms until it gives a value, for at most `seconds`.
    static func waitFor<T>(_ seconds: Double, _ probe: () throws -> T?) rethrows -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = try probe() { return value }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        return nil
    }

    @Test("two accounts, one process: each its own token, rules, sessions, store and metrics; A's signature on B's path is refused")
    func isolation() throws {
        let dir = try Self.temporary("accounts")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.accountsFile(in: dir, shopRules: Self.root.appendingPathComponent("Rules/shop").path,
                                         clinicRules: Self.root.appendingPathComponent("Rules/clinic").path)
        let server = try Server(accounts: file)
        defer { try? FileManager.default.removeItem(at: server.store) }
        let shopPath = "/wechat/\(Self.shop)", clinicPath = "/wechat/clinic"

        // URL verification: each path with its own token only.
        #expect(try Self.verify(server, shopPath, token: Self.shopToken) == (200, "echo-42"))
        #expect(try Self.verify(server, clinicPath, token: Self.clinicToken) == (200, "echo-42"))
        #expect(try Self.verify(server, clinicPath, token: Self.shopToken).status == 403)

        // Each answers by its own rules.
        let fee = try Self.push(server, shopPath, token: Self.shopToken, user: "oSolo", "运费多少")
        #expect(fee.status == 200 && fee.body.contains("全场满 99 元包邮"), "\(fee)")
        let hours = try Self.push(server, clinicPath, token: Self.clinicToken, user: "oSolo", "门诊时间是几点")
        #expect(hours.status == 200 && hours.body.contains("周一至周六 8:00–12:00"), "\(hours)")
        let notShop = try Self.push(server, shopPath, token: Self.shopToken, user: "oSolo", "门诊时间是几点")
        #expect(notShop.status == 200 && !notShop.body.contains("周一至周六"), "the shop must not answer by the clinic's rules: \(notShop)")

        // A message signed with the shop's token, posted to the clinic's path: 403, and nothing answered.
        let crossed = try Self.push(server, clinicPath, token: Self.shopToken, user: "oSolo", "运费多少")
        #expect(crossed.status == 403 && crossed.body.contains("signature"), "\(crossed)")

        // One user id in both accounts: two sessions. The shop waits for an order number, the clinic for a department.
        let user = "oSharedUser"
        let refund = try Self.push(server, shopPath, token: Self.shopToken, user: user, "我要退货")
        #expect(refund.body.contains("请回复需要售后的订单号"), "\(refund)")
        let book = try Self.push(server, clinicPath, token: Self.clinicToken, user: user, "我想预约")
        #expect(book.body.contains("请问您要挂哪个科室"), "the clinic starts its own flow, not the shop's retry: \(book)")
        let wrongPlace = try Self.push(server, shopPath, token: Self.shopToken, user: user, "内科")
        #expect(wrongPlace.body.contains("没有识别到订单号"), "the shop's flow still waits for its order number: \(wrongPlace)")
        let department = try Self.push(server, clinicPath, token: Self.clinicToken, user: user, "内科")
        #expect(department.body.contains("请选择内科医生"), "the clinic's flow moved on with its own slot: \(department)")

        // Metrics, each account's labelled with its appid; the refusal counted by the account whose path it reached.
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{account="\#(Self.shop)",rule="shipping-fee"}"#) == 1, "\(metrics)")
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{account="\#(Self.clinic)",rule="opening-hours"}"#) == 1, "\(metrics)")
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{account="\#(Self.clinic)",rule="shipping-fee"}"#) == nil)
        #expect(Self.metric(metrics, #"kefu_requests_total{account="\#(Self.clinic)",mode="plaintext",outcome="rejected-403"}"#) == 1, "\(metrics)")
        #expect(Self.metric(metrics, #"kefu_requests_total{account="\#(Self.shop)",mode="verify",outcome="reply"}"#) == 1, "\(metrics)")
        let unlabelled = metrics.split(separator: "\n").filter {
            $0.hasPrefix("kefu_") && !$0.contains("account=\"") && !$0.hasPrefix("kefu_connection") && !$0.hasPrefix("kefu_admin_connection")
        }
        #expect(unlabelled.isEmpty, "every account metric carries its account: \(unlabelled)")

        // /status: both accounts, ready, with their names and paths; one SQLite file each beside the configured one.
        let shopStatus = try server.account(Self.shop), clinicStatus = try server.account(Self.clinic)
        #expect(shopStatus["ready"] as? Bool == true && shopStatus["name"] as? String == "示例商城" && shopStatus["path"] as? String == shopPath)
        #expect(clinicStatus["ready"] as? Bool == true && clinicStatus["path"] as? String == clinicPath && (clinicStatus["ruleCount"] as? Int ?? 0) > 0)
        #expect(clinicStatus["lastReloadError"] is NSNull)
        for id in [Self.shop, Self.clinic] {
            #expect(FileManager.default.fileExists(atPath: server.store.appendingPathComponent("\(id).sqlite").path), "\(id)'s own store")
        }
        #expect(!FileManager.default.fileExists(atPath: server.store.appendingPathComponent("kefu.sqlite").path))
        #expect(try server.get("/readyz").contains("\(Self.clinic): ready"))
        #expect(server.stop() == 0, "graceful shutdown")
        let log = server.remainingLog()
        #expect(log.contains("account=\(Self.clinic)") && log.contains("rule=opening-hours"), "log lines carry the account")
        for secret in [Self.shopToken, Self.clinicToken, Self.secrets["KEFU_SECRET_SHOP_AES_KEY"]!] {
            #expect(!log.contains(secret), "a secret reached the log")
        }
    }

    @Test("two accounts on one PostgreSQL, two instances: each account's rows carry it, one user's flows stay apart across instances")
    func accountsOnPostgres() throws {
        let dir = try Self.temporary("accounts-pg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.accountsFile(in: dir, shopRules: Self.root.appendingPathComponent("Rules/shop").path,
                                         clinicRules: Self.root.appendingPathComponent("Rules/clinic").path)
        let url = try PostgresCluster.shared.makeDatabase("accounts")
        let database = String(url.split(separator: "/").last!)
        let a = try Server(accounts: file, database: url), b = try Server(accounts: file, database: url)
        let shopPath = "/wechat/\(Self.shop)", clinicPath = "/wechat/clinic", user = "oSharedPG"
        #expect(try Self.push(a, shopPath, token: Self.shopToken, user: user, "我要退货").body.contains("请回复需要售后的订单号"))
        #expect(try Self.push(b, clinicPath, token: Self.clinicToken, user: user, "我想预约").body.contains("请问您要挂哪个科室"))
        let wrongPlace = try Self.push(b, shopPath, token: Self.shopToken, user: user, "内科")
        #expect(wrongPlace.body.contains("没有识别到订单号"), "the shop's flow (started on the other instance) still waits for its order number: \(wrongPlace)")
        let department = try Self.push(a, clinicPath, token: Self.clinicToken, user: user, "内科")
        #expect(department.body.contains("请选择内科医生"), "\(department)")
        #expect(try Self.push(a, clinicPath, token: Self.shopToken, user: user, "运费多少").status == 403)
        let sessions = try PostgresCluster.shared.query("SELECT account || ':' || (state IS NOT NULL) FROM kefu_session WHERE user_id = '\(user)' ORDER BY account",
                                                        database: database)
        #expect(sessions.split(separator: "\n").sorted() == ["\(Self.clinic):true", "\(Self.shop):true"].sorted(), "\(sessions)")
        let logged = try PostgresCluster.shared.query("SELECT account, count(*) FROM kefu_conversation GROUP BY account ORDER BY account", database: database)
        #expect(logged.split(separator: "\n").sorted() == ["\(Self.clinic)|2", "\(Self.shop)|2"].sorted(), "\(logged)")
        #expect(a.stop() == 0 && b.stop() == 0)
    }

    @Test("wechatpy in secure mode to one account of two (its own AES key and appid)")
    func secureModeAccount() throws {
        let dir = try Self.temporary("accounts-secure")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.accountsFile(in: dir, shopRules: Self.root.appendingPathComponent("Rules/shop").path,
                                         clinicRules: Self.root.appendingPathComponent("Rules/clinic").path)
        let server = try Server(accounts: file)
        let secure = try ServeTests.client([server.url("/wechat/\(Self.shop)"), "say", "运费多少", "9100001", String(Int(Date().timeIntervalSince1970)), "secure"])
        #expect(secure.status == 0 && secure.output.contains("全场满 99 元包邮"), "\(secure.output)")
        // The clinic has no AES key: an encrypted push to it is refused.
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let query = "signature=\(Self.signature(Self.clinicToken, timestamp, "5"))&timestamp=\(timestamp)&nonce=5&encrypt_type=aes&msg_signature=0"
        let refused = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10", "-w", "\n%{http_code}", "--data-binary",
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>", server.url("/wechat/clinic") + "?" + query])
        #expect(refused.out.hasSuffix("\n400") || refused.out.hasSuffix("\n403"), "\(refused.out)")
        #expect(server.stop() == 0)
    }

    @Test("an account whose rule set does not compile: 503 with the reason, the other serves; a fixed rule set goes live on SIGHUP")
    func brokenAccount() throws {
        let dir = try Self.temporary("accounts-broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clinicRules = dir.appendingPathComponent("clinic")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Rules/clinic"), to: clinicRules)
        let broken = clinicRules.appendingPathComponent("broken.yaml")
        try "rules:\n  - id: broken\n    when: {regex: '('}\n    reply: x\n".write(to: broken, atomically: true, encoding: .utf8)
        let file = try Self.accountsFile(in: dir, shopRules: Self.root.appendingPathComponent("Rules/shop").path, clinicRules: "clinic")
        let server = try Server(accounts: file)

        let down = try Self.push(server, "/wechat/clinic", token: Self.clinicToken, user: "oU", "门诊时间")
        #expect(down.status == 503, "\(down)")
        #expect(down.body.contains("account 康宁诊所 (\(Self.clinic)) is not served") && down.body.contains("does not compile")
                && down.body.contains("broken.yaml:3"), "\(down)")
        #expect(down.body.split(separator: "\n").count == 1, "one line: \(down.body)")
        #expect(try Self.verify(server, "/wechat/clinic", token: Self.clinicToken).status == 503)
        let fee = try Self.push(server, "/wechat/\(Self.shop)", token: Self.shopToken, user: "oU", "运费多少")
        #expect(fee.status == 200 && fee.body.contains("全场满 99 元包邮"), "the good account serves: \(fee)")
        let ready = try server.get("/readyz")
        #expect(ready.contains("\(Self.shop): ready") && ready.contains("\(Self.clinic): not ready") && ready.contains("does not compile"), "\(ready)")
        let status = try server.account(Self.clinic)
        #expect(status["ready"] as? Bool == false && (status["lastReloadError"] as? String ?? "").contains("regex"), "\(status)")

        // Fixed and reloaded: the clinic is served now.
        try FileManager.default.removeItem(at: broken)
        server.signal(SIGHUP)
        let up = try Self.waitFor(15) { try server.account(Self.clinic)["ready"] as? Bool == true ? true : nil }
        #expect(up == true, "the clinic went live after the fix")
        let hours = try Self.push(server, "/wechat/clinic", token: Self.clinicToken, user: "oU", "门诊时间")
        #expect(hours.status == 200 && hours.body.contains("周一至周六"), "\(hours)")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_requests_total{account="\#(Self.clinic)",mode="-",outcome="unavailable-503"}"#) == 2, "\(metrics)")
        #expect(server.stop() == 0)
    }

    @Test("a reload that breaks one account: that one keeps its previous rule set, the other reloads")
    func reloadBreaksOne() throws {
        let dir = try Self.temporary("accounts-reload")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["shop", "clinic"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Rules/\(name)"), to: dir.appendingPathComponent(name))
        }
        let file = try Self.accountsFile(in: dir, shopRules: "shop", clinicRules: "clinic")
        let server = try Server(accounts: file)
        let faq = dir.appendingPathComponent("shop/faq.yaml")
        try String(contentsOf: faq, encoding: .utf8).replacingOccurrences(of: "全场满 99 元包邮，不满 99 元运费 8 元。", with: "本周全场包邮！")
            .write(to: faq, atomically: true, encoding: .utf8)
        try "rules:\n  - id: broken\n    when: {regex: '('}\n    reply: x\n".write(to: dir.appendingPathComponent("clinic/broken.yaml"), atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        let both = try Self.waitFor(15) { () -> String? in
            let m = try server.get("/metrics")
            return Self.metric(m, #"kefu_reloads_total{account="\#(Self.shop)",result="ok"}"#) == 1
                && Self.metric(m, #"kefu_reloads_total{account="\#(Self.clinic)",result="failed"}"#) == 1 ? m : nil
        }
        let afterReload = try server.get("/metrics")
        #expect(both != nil, "each account reloaded on its own: \(afterReload)")
        let fee = try Self.push(server, "/wechat/\(Self.shop)", token: Self.shopToken, user: "oR", "运费多少")
        #expect(fee.body.contains("本周全场包邮！"), "the shop serves its new rule set: \(fee)")
        let hours = try Self.push(server, "/wechat/clinic", token: Self.clinicToken, user: "oR", "门诊时间")
        #expect(hours.status == 200 && hours.body.contains("周一至周六"), "the clinic keeps its previous rule set: \(hours)")
        let clinic = try server.account(Self.clinic), shop = try server.account(Self.shop)
        #expect((clinic["lastReloadError"] as? String ?? "").contains("regex does not compile"), "\(clinic)")
        #expect(clinic["ready"] as? Bool == true && shop["reloads"] as? Int == 1 && shop["lastReloadError"] is NSNull, "\(shop)")
        #expect(server.stop() == 0)
    }

    @Test("--watch: a change to one account's files reloads that account only")
    func watchOne() throws {
        let dir = try Self.temporary("accounts-watch")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["shop", "clinic"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Rules/\(name)"), to: dir.appendingPathComponent(name))
        }
        let server = try Server(accounts: try Self.accountsFile(in: dir, shopRules: "shop", clinicRules: "clinic"), arguments: ["--watch"])
        let faq = dir.appendingPathComponent("clinic/faq.yaml")
        let original = try String(contentsOf: faq, encoding: .utf8)
        #expect(original.contains("急症请直接拨打 120"))
        try original.replacingOccurrences(of: "急症请直接拨打 120", with: "急症请拨打 120（已更新）").write(to: faq, atomically: true, encoding: .utf8)
        let reloaded = try Self.waitFor(15) { try server.account(Self.clinic)["reloads"] as? Int == 1 ? true : nil }
        #expect(reloaded == true, "the clinic reloaded")
        let hours = try Self.push(server, "/wechat/clinic", token: Self.clinicToken, user: "oW", "门诊时间")
        #expect(hours.body.contains("（已更新）"), "\(hours)")
        #expect(try server.account(Self.shop)["reloads"] as? Int == 0, "the shop's files did not change")
        #expect(Self.metric(try server.get("/metrics"), #"kefu_reloads_total{account="\#(Self.shop)",result="ok"}"#) == nil)
        #expect(server.stop() == 0)
    }

    @Test("accounts file errors: every one at once, with file:line:col, never a secret's value")
    func fileErrors() throws {
        let dir = try Self.temporary("accounts-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("accounts.yaml")
        let literalKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        try """
            accounts:
              - appid: \(Self.shop)
                rules: \(Self.root.appendingPathComponent("Rules/shop").path)
                token: shop-wechat-token
              - appid: \(Self.shop)
                rules: \(Self.root.appendingPathComponent("Rules/clinic").path)
                token: clinic-wechat-token
              - appid: wx1111222233334444
                rules: \(Self.root.appendingPathComponent("Rules/shop").path)
                token: SwiftBotToken2024
                aes_key: \(literalKey)
              - appid: wx5555666677778888
                rules: no-such-folder
                token: nowhere-token
              - appid: shop
                rules: \(Self.root.appendingPathComponent("Rules/shop").path)
                token: shop-wechat-token
                appsecret: nowhere-appsecret

            """.write(to: file, atomically: true, encoding: .utf8)
        let r = try TestSupport.run(TestSupport.kefu, ["serve", "--accounts", file.path, "--port", "0", "--store", "memory"],
                                    environment: Self.secrets)
        #expect(r.status == 1, "\(r.err)")
        let path = file.path
        let expected = [
            "\(path):5:12: error: the appid \(Self.shop) is already used by the account on line 2",
            "\(path):10:12: error: token holds what looks like the secret itself",
            "\(path):11:14: error: aes_key holds what looks like the secret itself",
            "\(path):13:12: error: the rule-set folder no-such-folder does not exist",
            "\(path):14:12: error: KEFU_SECRET_NOWHERE_TOKEN is not set",
            "\(path):15:12: error: 'shop' is not an AppID",
            "\(path):18:16: error: KEFU_SECRET_NOWHERE_APPSECRET is not set",
        ]
        for line in expected { #expect(r.err.contains(line), "missing: \(line)\n\(r.err)") }
        #expect(r.err.contains("has 7 errors; nothing was started"), "\(r.err)")
        #expect(!r.err.contains("SwiftBotToken2024") && !r.err.contains(literalKey), "a secret was repeated: \(r.err)")
        #expect(r.err.contains("hint:"), "each error says what to do")
    }

    @Test("deploy/accounts.sample.yaml, given as KEFU_ACCOUNTS, starts as documented (docs/serve.md)")
    func sampleFile() throws {
        let sample = Self.root.appendingPathComponent("deploy/accounts.sample.yaml").path
        let environment = [
            "KEFU_SECRET_SHOP_WECHAT_TOKEN": "sample-shop-token", "KEFU_SECRET_SHOP_AES_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "KEFU_SECRET_CLINIC_WECHAT_TOKEN": "sample-clinic-token",
            "KEFU_ACCOUNTS": sample,
        ].merging(TestSupport.sampleServiceSecrets) { $1 }
        let server = try Server(accounts: nil, environment: environment)
        let accounts = try #require(try server.status()["accounts"] as? [String: [String: Any]])
        #expect(accounts.count == 2)
        #expect(accounts.values.allSatisfy { $0["ready"] as? Bool == true }, "\(accounts)")
        let clinic = try #require(accounts.first { $0.value["name"] as? String == "康宁诊所" })
        let hours = try Self.push(server, clinic.value["path"] as? String ?? "", token: "sample-clinic-token", user: "oS", "门诊时间")
        #expect(hours.status == 200 && hours.body.contains("周一至周六"), "\(hours)")
        #expect(server.stop() == 0)
    }

    @Test("single-account mode: the account label is KEFU_APPID (else default), and /status has one entry under accounts")
    func singleAccountLabels() throws {
        let server = try ServeTests.Server(rules: Self.root.appendingPathComponent("Rules/shop").path, mode: nil,
                                           secrets: ["KEFU_TOKEN": Self.shopToken].merging(TestSupport.sampleServiceSecrets) { $1 })
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10",
            server.url + "?signature=\(Self.signature(Self.shopToken, timestamp, "7"))&timestamp=\(timestamp)&nonce=7&echostr=hi"])
        #expect(r.out == "hi")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_requests_total{account="default",mode="verify",outcome="reply"}"#) == 1, "\(metrics)")
        let status = try #require(try JSONSerialization.jsonObject(with: Data(try server.get("/status").utf8)) as? [String: Any])
        #expect(status["ruleCount"] as? Int == (status["accounts"] as? [String: [String: Any]])?["default"]?["ruleCount"] as? Int)
        #expect(server.stop() == 0)
    }
}

extension AccountsServeTests.Server {
    func remainingLog() -> String { String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
}
