import Foundation
import KefuTestSupport
import Testing

/// `kefu serve` as WeChat meets it: a real process on a real port, driven over HTTP by wechatpy.
@Suite("kefu serve over HTTP", .serialized)
struct ServeTests {
    static let root = TestSupport.root
    static let secrets = ["KEFU_TOKEN": "SwiftBotToken2024", "KEFU_APPID": "wx3f2a1b4c5d6e7f80",
                          "KEFU_AES_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"].merging(TestSupport.sampleServiceSecrets) { $1 }

    /// A running `kefu serve` on a free port, its admin listener on another (`--admin 127.0.0.1:0` unless `arguments`
    /// says otherwise); stopped with SIGTERM. `get` reads /status and /metrics from the admin port with the admin token.
    final class Server {
        let process = Process()
        let port: Int
        /// The admin listener's port (nil with `--admin off`).
        let adminPort: Int?
        let log: Pipe
        var url: String { "http://127.0.0.1:\(port)/wechat" }

        /// A fresh SQLite store in a temporary folder unless `arguments` names a store. `mode`: these tests
        /// speak all three wire modes to one server, so `compatible` unless told (nil: the server's default).
        init(rules: String, arguments: [String] = [], mode: String? = "compatible", secrets: [String: String] = ServeTests.secrets, port: Int = 0) throws {
            process.executableURL = TestSupport.kefu
            let store = arguments.contains("--store") ? [] : ["--store", "sqlite:" + FileManager.default.temporaryDirectory
                .appendingPathComponent("kefu-test-\(UInt32.random(in: 0...UInt32.max))/kefu.sqlite").path]
            let modeArguments = mode.map { ["--mode", $0] } ?? []
            let admin = arguments.contains("--admin") ? [] : TestSupport.adminArguments
            let adminOff = arguments.firstIndex(of: "--admin").map { arguments.indices.contains($0 + 1) && arguments[$0 + 1] == "off" } ?? false
            process.arguments = ["serve", "--rules", rules, "--port", String(port)] + store + modeArguments + admin + arguments
            process.environment = secrets.merging(["PATH": "/usr/bin:/bin", "KEFU_ADMIN_TOKEN": TestSupport.adminToken]) { $1 }
            log = Pipe()
            process.standardError = log
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Read the log until the server says where it listens.
            var seen = ""
            var found: Int?, foundAdmin: Int?
            let deadline = Date().addingTimeInterval(20)
            while found == nil || (foundAdmin == nil && !adminOff), Date() < deadline, process.isRunning {
                let chunk = log.fileHandleForReading.availableData
                seen += String(decoding: chunk, as: UTF8.self)
                found = TestSupport.webhookPort(in: seen)
                foundAdmin = TestSupport.adminPort(in: seen)
            }
            guard let found, foundAdmin != nil || adminOff else { throw ServerError(log: seen) }
            self.port = found
            self.adminPort = foundAdmin
            // Keep reading the log while the server runs: a pipe nobody reads fills up (64 KiB) and then
            // every log write blocks the server. What it says is kept for `remainingLog()`.
            collected.append(Data(seen.utf8))  // the start's lines too
            let (handle, collected, done) = (log.fileHandleForReading, self.collected, self.drained)
            Thread.detachNewThread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.append(chunk)
                }
                done.signal()
            }
        }

        private let collected = LogBuffer()
        private let drained = DispatchSemaphore(value: 0)

        final class LogBuffer: @unchecked Sendable {
            private let lock = NSLock()
            private var data = Data()
            func append(_ chunk: Data) { lock.lock(); data.append(chunk); lock.unlock() }
            var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
        }

        struct ServerError: Error, CustomStringConvertible {
            let log: String
            var description: String { "kefu serve did not start:\n\(log)" }
        }

        func get(_ path: String) throws -> String {
            let (url, bearer) = TestSupport.url(path, webhook: port, admin: adminPort)
            return try TestSupport.get(url, bearer: bearer)
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// SIGTERM; returns the exit status.
        func stop() -> Int32 {
            signal(SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }

        /// The rest of the server's log (after it stopped).
        func remainingLog() -> String {
            drained.wait()
            drained.signal()  // a second call returns at once
            return collected.text
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    /// Runs the wechatpy client; returns its exit status and output.
    static func client(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try TestSupport.run(try TestSupport.python(), [clientScript] + arguments, mergeErrors: true)
        return (r.status, r.out)
    }

    static let clientScript = TestSupport.root.appendingPathComponent("Tests/Interop/wechatpy_http_client.py").path

    static func metric(_ text: String, _ line: String) -> Int? {
        withoutAccount(text).split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Int($0.split(separator: " ").last!) }
    }

    /// The metrics text without the `account` label (single-account mode has one account; these tests name series without it).
    static func withoutAccount(_ text: String) -> String {
        text.replacingOccurrences(of: #"\{account="[^"]*"\}"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"account="[^"]*",?"#, with: "", options: .regularExpression)
    }

    @Test("wechatpy: URL verification and messages in plaintext, compatible and secure mode; silent pushes get success")
    func conversation() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path)
        let result = try Self.client([server.url, "conversation"])
        #expect(result.status == 0, "\(result.output)")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="secure",outcome="reply"}"#) == 10)
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="compatible",outcome="success"}"#) == 4)
        #expect(Self.metric(metrics, #"kefu_default_replies_total"#) == 3)
        #expect(server.stop() == 0, "graceful shutdown")
        let log = server.remainingLog()
        #expect(log.contains("answered") && log.contains("rule=shipping-fee"), "one log line per answered message")
        for secret in Self.secrets.values where secret.count > 20 {
            #expect(!log.contains(secret), "a secret reached the log")
        }
        #expect(!log.contains("SwiftBotToken2024"), "the token reached the log")
    }

    @Test("retries: same reply, one effect (each rule hit once per distinct message)")
    func retries() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path)
        let result = try Self.client([server.url, "retries"])
        #expect(result.status == 0, "\(result.output)")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{rule="shipping-fee"}"#) == 2)  // one message per mode, each sent twice
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{rule="invoice"}"#) == 2)       // one per mode, sent three times at once
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="plaintext",outcome="duplicate"}"#) == 3)
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="secure",outcome="duplicate"}"#) == 3)
        _ = server.stop()
    }

    @Test("bad input: 403, 400, 413 with a one-line reason, and nothing answered")
    func badInput() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path)
        let result = try Self.client([server.url, "bad-input"])
        #expect(result.status == 0, "\(result.output)")
        let metrics = try server.get("/metrics")
        #expect(!metrics.contains("kefu_rule_hits_total"), "a refused request must not reach the rules")
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="plaintext",outcome="rejected-403"}"#) == 1)
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="encrypted",outcome="rejected-403"}"#) == 1)
        _ = server.stop()
    }

    @Test("the budget: a slow answer is `success` in time; the retry gets the answer computed meanwhile")
    func deadline() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path,
                                arguments: ["--budget-ms", "300", "--test-delay-ms", "1000"])
        let result = try Self.client([server.url, "deadline"])
        #expect(result.status == 0, "\(result.output)")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="plaintext",outcome="deadline"}"#) == 1)
        #expect(Self.metric(metrics, #"kefu_rule_hits_total{rule="shipping-fee"}"#) == 1)
        _ = server.stop()
    }

    @Test("reload: SIGHUP swaps in a changed rule set; a broken one is refused and the old one keeps serving")
    func reload() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-reload-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Rules/shop"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(rules: dir.path)
        func say(_ text: String) throws -> String {
            let r = try Self.client([server.url, "say", text])
            return r.output
        }
        #expect(try say("运费多少").contains("全场满 99 元包邮"))
        let faq = dir.appendingPathComponent("faq.yaml")
        let original = try String(contentsOf: faq, encoding: .utf8)
        try original.replacingOccurrences(of: "全场满 99 元包邮，不满 99 元运费 8 元。", with: "本周全场包邮！")
            .write(to: faq, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        #expect(try say("运费多少").contains("本周全场包邮！"))
        try "rules:\n  - id: broken\n    when: {regex: '('}\n    reply: x\n".write(to: dir.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        #expect(try say("运费多少").contains("本周全场包邮！"), "the previous rule set keeps serving")
        let status = try server.get("/status")
        #expect(status.contains("regex does not compile"), "\(status)")
        #expect(status.contains("\"reloads\":1"), "\(status)")
        let metrics = try server.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_reloads_total{result="ok"}"#) == 1)
        #expect(Self.metric(metrics, #"kefu_reloads_total{result="failed"}"#) == 1)
        #expect(server.stop() == 0)
    }

    @Test("answered messages survive kill -9: a retry after the restart gets the same reply, and the rules do not run again")
    func restart() throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-restart-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: store) }
        let arguments = ["--store", "sqlite:\(store.path)/kefu.sqlite"]
        let rules = Self.root.appendingPathComponent("Rules/shop").path
        let createTime = String(Int(Date().timeIntervalSince1970))
        let first = try Server(rules: rules, arguments: arguments)
        let before = try Self.client([first.url, "say", "你好", "777000111", createTime, "secure"])
        #expect(before.status == 0 && before.output.contains("\"type\": \"text\""), "\(before.output)")
        first.signal(SIGKILL)
        first.process.waitUntilExit()
        let second = try Server(rules: rules, arguments: arguments)
        let after = try Self.client([second.url, "say", "你好", "777000111", createTime, "secure"])
        #expect(after.output == before.output, "the retry after the restart must get the same reply")
        let metrics = try second.get("/metrics")
        #expect(!metrics.contains("kefu_rule_hits_total"), "the rules must not run again")
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="secure",outcome="duplicate"}"#) == 1)
        _ = second.stop()
    }

    static let flowRules = """
        rules:
          - id: start-return
            when: {contains: [退货]}
            flow: after-sales
        flows:
          after-sales:
            steps:
              - slot: order
                ask: 请提供订单号
                expect: {regex: 'DD\\d{12}'}
              - slot: reason
                ask: 遇到了什么问题？
                expect: {choice: [质量问题, 发错货]}
              - slot: phone
                ask: 请留下手机号
                expect: mobile
            done: 已登记：{{order}}，{{reason}}，{{phone}}。
        """

    @Test("a flow survives kill -9: the restarted server resumes the user's step, and a retry does not advance it twice")
    func flowSurvivesKill() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-flow-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.flowRules.write(to: dir.appendingPathComponent("rules/flows.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["--store", "sqlite:\(dir.path)/kefu.sqlite"]
        let time = Int(Date().timeIntervalSince1970)
        func say(_ server: Server, _ text: String, _ id: Int, mode: String = "secure") throws -> String {
            let r = try Self.client([server.url, "say", text, String(id), String(time + id % 100), mode])
            #expect(r.status == 0, "\(r.output)")
            return r.output
        }
        let first = try Server(rules: dir.appendingPathComponent("rules").path, arguments: arguments)
        #expect(try say(first, "我要退货", 880001).contains("请提供订单号"))
        let answered = try say(first, "DD202406110001", 880002)
        #expect(answered.contains("遇到了什么问题？"))
        first.signal(SIGKILL)
        first.process.waitUntilExit()
        let second = try Server(rules: dir.appendingPathComponent("rules").path, arguments: arguments)
        #expect(try say(second, "DD202406110001", 880002) == answered, "WeChat's retry gets the same answer after the restart")
        #expect(try say(second, "2", 880003, mode: "plaintext").contains("请留下手机号"), "the flow resumed at the reason step")
        #expect(try say(second, "13812345678", 880004).contains("已登记：DD202406110001，发错货，13812345678。"))
        let metrics = try second.get("/metrics")
        #expect(Self.metric(metrics, #"kefu_requests_total{mode="secure",outcome="duplicate"}"#) == 1)
        #expect(Self.metric(metrics, #"kefu_flow_events_total{flow="after-sales",event="filled"}"#) == 1, "\(metrics)")
        #expect(Self.metric(metrics, #"kefu_flow_events_total{flow="after-sales",event="done"}"#) == 1)
        #expect(second.stop() == 0)
    }

    @Test("--gate: a rule set that fails its corpus is neither started nor swapped in on reload")
    func gate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-gate-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules/rules.yaml")
        try "rules:\n  - {id: fee, when: {contains: [运费]}, reply: 满 99 元包邮。}\n".write(to: rules, atomically: true, encoding: .utf8)
        let corpus = dir.appendingPathComponent("corpus.yaml")
        try "cases:\n  - name: 问运费\n    steps:\n      - say: 运费多少\n        reply: 满 99 元包邮。\n".write(to: corpus, atomically: true, encoding: .utf8)
        let server = try Server(rules: dir.appendingPathComponent("rules").path, arguments: ["--gate", corpus.path])
        try "rules:\n  - {id: fee, when: {contains: [运费]}, reply: 全场包邮！}\n".write(to: rules, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        let said = try Self.client([server.url, "say", "运费多少"])
        #expect(said.output.contains("满 99 元包邮。"), "the previous rule set keeps serving: \(said.output)")
        let status = try server.get("/status")
        #expect(status.contains("refused by the corpus gate: 1 of 1 corpus cases fail: “问运费”"), "\(status)")
        #expect(server.stop() == 0)
        // The same failing rule set does not start at all.
        let start = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", dir.appendingPathComponent("rules").path, "--port", "0",
                                                           "--store", "memory", "--gate", corpus.path], environment: ["KEFU_TOKEN": "t"])
        #expect(start.status == 1 && start.err.contains("fails its corpus (--gate)") && start.err.contains("Nothing was started"), "\(start.err)")
        #expect(!start.err.contains("USAGE"), "a failing gate is not a mistake in the command: no usage text, status 1 (not 64)")
    }

    @Test("SIGTERM finishes the request in flight before the process exits")
    func gracefulShutdown() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path, arguments: ["--test-delay-ms", "1500"])
        let client = Process()
        client.executableURL = try TestSupport.python()
        client.arguments = [Self.clientScript, server.url, "say", "运费多少"]
        let out = Pipe()
        client.standardOutput = out
        try client.run()
        // Wait until the request is being handled: its connection is open (the metrics request is on the admin port).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (ConnectionLimitTests.gauge(try server.get("/metrics"), "kefu_connections_open") ?? 0) < 1 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(server.stop() == 0)
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(output.contains("全场满 99 元包邮"), "the request in flight was answered: \(output)")
    }

    @Test("--log-format json: one JSON object a line; lines gathered for the batched write are not lost at SIGTERM")
    func jsonLogLines() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path, arguments: ["--log-format", "json"])
        let said = try Self.client([server.url, "say", "运费多少"])
        #expect(said.status == 0 && said.output.contains("全场满 99 元包邮"), "\(said.output)")
        // Stopped at once: the "answered" line may still be in the buffer the writer empties every 50 ms.
        #expect(server.stop() == 0)
        let lines = server.remainingLog().split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count && !lines.isEmpty, "every line is a JSON object: \(lines)")
        let answered = objects.filter { $0["message"] as? String == "answered" }
        #expect(answered.count == 1 && answered.first?["rule"] as? String == "shipping-fee", "\(lines)")
        let times = objects.compactMap { $0["time"] as? String }
        #expect(times == times.sorted(), "lines in the order they were logged")
    }

    @Test("startup errors are clear and start nothing")
    func startupErrors() throws {
        func serve(_ env: [String: String], _ arguments: [String] = []) throws -> (Int32, String) {
            let r = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", Self.root.appendingPathComponent("Rules/shop").path,
                                                           "--port", "0", "--store", "memory"] + arguments, environment: env)
            return (r.status, r.err)
        }
        let noToken = try serve([:])
        #expect(noToken.0 != 0 && noToken.1.contains("KEFU_TOKEN is not set"))
        let shortKey = try serve(["KEFU_TOKEN": "t", "KEFU_APPID": "wx1", "KEFU_AES_KEY": "short"])
        #expect(shortKey.0 != 0 && shortKey.1.contains("it has 5 characters; it must have exactly 43"), "\(shortKey.1)")
        let noAppID = try serve(["KEFU_TOKEN": "t", "KEFU_AES_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"])
        #expect(noAppID.0 != 0 && noAppID.1.contains("KEFU_APPID is not set"))
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-config-\(UInt32.random(in: 0...UInt32.max)).yaml")
        try "port: 0\ntoken: hunter2\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let secretInFile = try serve(["KEFU_TOKEN": "t"], ["--config", config.path])
        #expect(secretInFile.0 != 0 && secretInFile.1.contains("'token' is a secret"))
        let badStore = try serve(["KEFU_TOKEN": "t"], ["--store", "redis://x"])
        #expect(badStore.0 != 0 && badStore.1.contains("store"))
    }

    @Test("health and readiness")
    func health() throws {
        let server = try Server(rules: Self.root.appendingPathComponent("Rules/shop").path)
        #expect(try server.get("/healthz") == "ok\n")
        #expect(try server.get("/readyz").hasPrefix("ready: 19 rules"))
        _ = server.stop()
    }
}
