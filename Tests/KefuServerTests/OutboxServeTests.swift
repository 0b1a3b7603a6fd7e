import Foundation
import KefuDialogue
import KefuStore
import KefuTestSupport
import Testing

/// `kefu serve` with WeChat's API, against the stand-in over real HTTP on loopback: late answers,
/// scheduled messages, rule-set images, the outbox across kill -9, and the shared access token.
/// Pushes come from the stand-in (`/standin/push`), signed and encrypted as WeChat sends them, so
/// its customer-service windows are the ones Kefu tracks.
@Suite("kefu serve and WeChat's API", .serialized)
struct OutboxServeTests {
    static let aesKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    static let secrets = ["KEFU_TOKEN": "OutboxTestToken2026", "KEFU_APPID": StandInServer.appID, "KEFU_AES_KEY": aesKey,
                          "KEFU_APPSECRET": StandInServer.secret]

    static let rules = """
    default: 抱歉
    rules:
      - {id: hi, when: {exact: [你好]}, reply: 您好，请问有什么可以帮您？}
      - {id: chart, when: {exact: [尺码表]}, reply: {image: {file: media/chart.png}}}
      - {id: book, when: {exact: [预约]}, flow: book}
      - {id: quit, when: {exact: [取消预约]}, flow: quit}
    flows:
      book:
        steps:
          - {slot: name, ask: 贵姓？, expect: text}
        done: 好的，{{name}}
        schedule:
          - {id: follow-up, after: 3s, text: '回访：{{name}}，还满意吗？'}
          - {id: note, after: 3s, template: {id: TM_FOLLOW, data: {thing1: '{{name}}'}}}
      quit:
        steps:
          - {confirm: 确定取消吗？}
        done: 已取消
        cancel_schedule: [book]
    """

    /// A 1×1 PNG.
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1,
                               8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0, 1, 0, 0,
                               5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]

    /// The rule set, a store, a stand-in and a kefu serve that know each other's addresses.
    final class Pair {
        let folder: URL
        let storePath: String
        let standIn: StandInServer
        var server: ServeTests.Server
        let port: Int
        let arguments: [String]

        /// `prepare`: what to tell the stand-in before the server starts (a fault).
        init(arguments: [String] = [], standInArguments: [String] = [], prepare: (StandInServer) throws -> Void = { _ in }) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-outbox-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("rules/media"), withIntermediateDirectories: true)
            try OutboxServeTests.rules.write(to: folder.appendingPathComponent("rules/rules.yaml"), atomically: true, encoding: .utf8)
            try Data(OutboxServeTests.png).write(to: folder.appendingPathComponent("rules/media/chart.png"))
            storePath = folder.appendingPathComponent("kefu.sqlite").path
            port = try TestSupport.freePort()
            standIn = try StandInServer(["--webhook", "http://127.0.0.1:\(port)/wechat"] + standInArguments,
                                        environment: ["KEFU_TOKEN": OutboxServeTests.secrets["KEFU_TOKEN"]!, "KEFU_AES_KEY": OutboxServeTests.aesKey],
                                        now: nil)
            try prepare(standIn)
            self.arguments = ["--wechat-api", standIn.base, "--store", "sqlite:" + storePath] + arguments
            server = try ServeTests.Server(rules: folder.appendingPathComponent("rules").path, arguments: self.arguments, mode: nil,
                                           secrets: OutboxServeTests.secrets, port: port)
        }

        /// kill -9, then the same server again on the same store and port.
        func killAndRestart() throws {
            server.signal(SIGKILL)
            server.process.waitUntilExit()
            server = try ServeTests.Server(rules: folder.appendingPathComponent("rules").path, arguments: arguments, mode: nil,
                                           secrets: OutboxServeTests.secrets, port: port)
        }

        /// A customer's message, pushed by the stand-in; what the webhook answered (decrypted).
        func push(_ openid: String, _ text: String) throws -> (status: Int, body: String) {
            let answer = try standIn.post("/standin/push", json: ["openid": openid, "text": text])
            return (answer.json["status"] as? Int ?? 0, answer.json["body"] as? String ?? answer.text)
        }

        /// The texts the stand-in delivered to `openid` through customer-service messages, in order.
        func texts(_ openid: String) throws -> [String] {
            try standIn.sent(openid).compactMap { message in
                guard message["api"] as? String == "custom", let body = message["body"] as? [String: Any] else { return nil }
                if let text = (body["text"] as? [String: Any])?["content"] as? String { return text }
                return "[\(body["msgtype"] as? String ?? "?")]"
            }
        }

        func templates(_ openid: String) throws -> [[String: Any]] {
            try standIn.sent(openid).filter { $0["api"] as? String == "template" }
        }

        func metric(_ line: String) throws -> Int? { ServeTests.metric(try server.get("/metrics"), line) }

        deinit {
            _ = server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    @Test("an answer past the budget: the push gets success at once, the answer arrives once as a customer-service message")
    func lateAnswer() throws {
        let pair = try Pair(arguments: ["--budget-ms", "300", "--test-delay-ms", "1500"])
        let started = Date()
        let answer = try pair.push("o_late", "你好")
        #expect(answer.status == 200 && answer.body == "success")
        #expect(Date().timeIntervalSince(started) < 1.4, "the webhook answered within the budget, not after the slow turn")
        #expect(try TestSupport.eventually { try pair.texts("o_late") == ["您好，请问有什么可以帮您？"] }, "\((try? pair.texts("o_late")) ?? [])")
        #expect(try TestSupport.eventually { try pair.metric(#"kefu_outbox_messages_total{result="sent",kind="late"}"#) == 1 })
        #expect(try pair.texts("o_late").count == 1, "sent once")
        #expect(try pair.metric(#"kefu_requests_total{mode="secure",outcome="late"}"#) == 1)
        // One token for the whole run: the message path asks none.
        #expect(try pair.metric("kefu_wechat_api_token_fetches") ?? 1 <= 1)
    }

    @Test("kill -9 after the turn decided to send later and before the message went out: after the restart it is sent, once")
    func killBetweenDecisionAndSend() throws {
        // The token request hangs (from the start: the server's first request is for a token), so the
        // worker is stuck before the message's own request when the server dies.
        let pair = try Pair(arguments: ["--budget-ms", "300", "--test-delay-ms", "800"]) { standIn in
            _ = try standIn.post("/standin/fault", json: ["path": "/cgi-bin/stable_token", "kind": "slow", "delayMs": 8_000, "count": 1])
        }
        #expect(try pair.push("o_kill", "你好").body == "success")
        #expect(try TestSupport.eventually { try pair.server.get("/status").contains(#""depth":1"#) }, "the late answer is in the outbox")
        #expect(try pair.texts("o_kill").isEmpty)
        try pair.killAndRestart()
        let delivered = try TestSupport.eventually { try pair.texts("o_kill") == ["您好，请问有什么可以帮您？"] }
        #expect(delivered, "\((try? pair.texts("o_kill")) ?? []) \(delivered ? "" : (_ = pair.server.stop(), pair.server.remainingLog()).1)")
        Thread.sleep(forTimeInterval: 1.5)  // a second round would have sent it again by now
        #expect(try pair.texts("o_kill").count == 1)
    }

    @Test("a send that timed out is unknown: WeChat delivered it, and Kefu never sends it again")
    func unknownOutcome() throws {
        let pair = try Pair(arguments: ["--budget-ms", "300", "--test-delay-ms", "800"])
        _ = try pair.standIn.post("/standin/fault", json: ["path": "/cgi-bin/message/custom/send", "kind": "reset", "after": true, "count": 1])
        #expect(try pair.push("o_reset", "你好").body == "success")
        #expect(try TestSupport.eventually { try pair.metric(#"kefu_outbox_messages_total{result="unknown",kind="late"}"#) == 1 })
        #expect(try pair.texts("o_reset").count == 1, "the stand-in delivered it before the reset")
        try pair.killAndRestart()
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try pair.texts("o_reset").count == 1, "not sent again after a restart either")
        let status = try pair.server.get("/status")
        #expect(status.contains(#""unknown":1"#), "\(status)")
        // The operator's view, beside the running server: which customer, what, and why it is unknown.
        let listed = try TestSupport.run(TestSupport.kefu, ["outbox", "--state", "unknown", "--store", "sqlite:" + pair.storePath], mergeErrors: true)
        #expect(listed.status == 0 && listed.out.contains("o_reset") && listed.out.contains("您好，请问有什么可以帮您？")
                && listed.out.contains("may have delivered it"), "\(listed.out)")
        let none = try TestSupport.run(TestSupport.kefu, ["outbox", "--state", "failed", "--store", "sqlite:" + pair.storePath], mergeErrors: true)
        #expect(none.out.contains("no outbox messages in state failed"), "\(none.out)")
    }

    @Test("scheduled messages go at their time (text and template); a cancelled booking's do not; TEMPLATESENDJOBFINISH is recorded")
    func scheduled() throws {
        let pair = try Pair()
        #expect(try pair.push("o_book", "预约").body.contains("贵姓？"))
        #expect(try pair.push("o_book", "张三").body.contains("好的，张三"))
        #expect(try pair.push("o_quit", "预约").body.contains("贵姓？"))
        #expect(try pair.push("o_quit", "李四").body.contains("好的，李四"))
        #expect(try pair.push("o_quit", "取消预约").body.contains("确定取消吗？"))
        #expect(try pair.push("o_quit", "是").body.contains("已取消"))
        #expect(try pair.texts("o_book").isEmpty, "not before its time")
        #expect(try TestSupport.eventually { try pair.texts("o_book") == ["回访：张三，还满意吗？"] && pair.templates("o_book").count == 1 },
                "\((try? pair.texts("o_book")) ?? [])")
        let template = try #require(try pair.templates("o_book").first)
        #expect(((template["body"] as? [String: Any])?["template_id"] as? String) == "TM_FOLLOW")
        Thread.sleep(forTimeInterval: 1.0)
        #expect(try pair.texts("o_quit").isEmpty && pair.templates("o_quit").isEmpty, "cancelled")
        // The stand-in reports the template's delivery to the webhook; Kefu keeps it with the message.
        let msgid = try #require(template["msgid"] as? Int)
        _ = pair.server.stop()
        let store = try SQLiteStore(path: pair.storePath)
        let entries = try syncEntries(store)
        #expect(entries.first { $0.msgid == Int64(msgid) }?.delivery == "success")
        #expect(entries.filter { $0.message.user == "o_quit" }.allSatisfy { $0.state == .cancelled })
    }

    @Test("an image from the rule set: uploaded at start, answered passively with its media_id")
    func mediaFile() throws {
        let pair = try Pair()
        #expect(try TestSupport.eventually { (try pair.standIn.get("/standin/media").json["media"] as? [[String: Any]])?.count == 1 })
        let id = try #require((try pair.standIn.get("/standin/media").json["media"] as? [[String: Any]])?.first?["media_id"] as? String)
        let answer = try pair.push("o_pic", "尺码表")
        #expect(answer.body.contains("<MsgType><![CDATA[image]]></MsgType>") && answer.body.contains(id), "\(answer.body)")
    }

    @Test("an error only the operator can fix (40164: this IP is not whitelisted) reaches /status with the IP and what to do, a metric and the log; no secret shows")
    func operatorAlert() throws {
        let pair = try Pair(standInArguments: ["--allow-ip", "10.9.9.9"])
        // The media upload at start asks for a token, which WeChat (the stand-in) refuses for this IP.
        #expect(try TestSupport.eventually { try pair.server.get("/status").contains("40164") })
        let status = try pair.server.get("/status")
        #expect(status.contains("127.0.0.1") && status.contains("IP"), "\(status)")
        #expect(try pair.metric(#"kefu_wechat_api_alerts_total{errcode="40164"}"#) ?? 0 >= 1)
        _ = pair.server.stop()
        let log = pair.server.remainingLog()
        #expect(log.contains("40164"))
        for secret in [StandInServer.secret, OutboxServeTests.aesKey, OutboxServeTests.secrets["KEFU_TOKEN"]!] {
            #expect(!status.contains(secret) && !log.contains(secret), "a secret reached /status or the log")
        }
    }

    func syncEntries(_ store: SQLiteStore) throws -> [OutboxEntry] {
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Task { box.value = try? await store.outboxEntries(for: nil); done.signal() }
        done.wait()
        return box.value ?? []
    }

    final class Box: @unchecked Sendable { var value: [OutboxEntry]? }
}
