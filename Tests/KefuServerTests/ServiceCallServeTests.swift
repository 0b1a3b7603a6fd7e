import Foundation
import KefuTestSupport
import Testing

/// `kefu serve` calling the company's systems: the sample rule sets (Rules/shop, Rules/clinic) through
/// the real service client against the sample backend (a real HTTP server on loopback, which checks
/// every signature with its own code), with the stand-in WeChat for pushes and customer-service messages.
@Suite("kefu serve and the company's systems", .serialized)
struct ServiceCallServeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let backendToken = "bk-Token-0123456789abcdef"

    /// A sample rule set (a copy, so a test may change it), the sample backend, the stand-in and kefu serve.
    final class Trio: @unchecked Sendable {  // used by one test; the pushes at once only read it
        let folder: URL
        let rules: URL
        let storePath: String
        let backend: SampleBackendServer
        let standIn: StandInServer
        var server: ServeTests.Server
        let port: Int
        let arguments: [String]
        let environment: [String: String]

        /// `sample`: shop or clinic; `edit`: changes to the copy of the rule set before the start.
        init(_ sample: String, edit: (URL) throws -> Void = { _ in }, arguments extra: [String] = []) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-calls-\(UInt32.random(in: 0...UInt32.max))")
            rules = folder.appendingPathComponent("rules")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: ServiceCallServeTests.root.appendingPathComponent("Rules/\(sample)"), to: rules)
            try edit(rules)
            storePath = folder.appendingPathComponent("kefu.sqlite").path
            backend = try SampleBackendServer([], environment: ["SAMPLE_BACKEND_SIGNING_KEY": SampleBackendServer.signingKey,
                                                              "SAMPLE_BACKEND_TOKEN": ServiceCallServeTests.backendToken])
            port = try TestSupport.freePort()
            standIn = try StandInServer(["--webhook", "http://127.0.0.1:\(port)/wechat"],
                                        environment: ["KEFU_TOKEN": OutboxServeTests.secrets["KEFU_TOKEN"]!, "KEFU_AES_KEY": OutboxServeTests.aesKey], now: nil)
            let (service, path) = sample == "shop" ? ("erp", "/shop") : ("his", "/clinic")
            let prefix = sample == "shop" ? "SHOP" : "CLINIC"
            environment = OutboxServeTests.secrets.merging(["KEFU_SECRET_\(prefix)_TOKEN": ServiceCallServeTests.backendToken,
                                                            "KEFU_SECRET_\(prefix)_SIGNING": SampleBackendServer.signingKey]) { $1 }
            arguments = ["--wechat-api", standIn.base, "--store", "sqlite:" + storePath, "--service", "\(service)=\(backend.base)\(path)", "--log-level", "debug"] + extra
            server = try ServeTests.Server(rules: rules.path, arguments: arguments, mode: nil, secrets: environment, port: port)
        }

        func killAndRestart() throws {
            server.signal(SIGKILL)
            server.process.waitUntilExit()
            server = try ServeTests.Server(rules: rules.path, arguments: arguments, mode: nil, secrets: environment, port: port)
        }

        /// A customer's message, pushed by the stand-in as WeChat would; the webhook's answer, decrypted.
        func push(_ openid: String, _ text: String) throws -> String {
            let answer = try standIn.post("/standin/push", json: ["openid": openid, "text": text])
            return answer.json["body"] as? String ?? answer.text
        }

        /// The texts delivered to `openid` as customer-service messages, in order.
        func texts(_ openid: String) throws -> [String] {
            try standIn.sent(openid).compactMap { message in
                guard message["api"] as? String == "custom", let body = message["body"] as? [String: Any] else { return nil }
                return (body["text"] as? [String: Any])?["content"] as? String
            }
        }

        /// The backend's record of the requests for `method` and a path starting with `prefix`.
        func requests(_ method: String, _ prefix: String) throws -> [[String: Any]] {
            try backend.requests().filter { $0["method"] as? String == method && ($0["path"] as? String ?? "").hasPrefix(prefix) }
        }

        func fault(_ object: [String: Any]) throws { try backend.control("POST", "/_sample/faults", object) }

        deinit {
            _ = server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    @Test("order status through the real client: ok (status, carrier, tracking) and 404; every request signed, verified by the backend, with the bearer token")
    func lookups() throws {
        let trio = try Trio("shop")
        let found = try trio.push("o_look", "订单 DD202406110001 到哪了")
        #expect(found.contains("订单 DD202406110001 已发货：顺丰速运，运单号 SF1234567890。"), "\(found)")
        let missing = try trio.push("o_miss", "订单 DD209912310000 到哪了")
        #expect(missing.contains("没有查到订单 DD209912310000"), "\(missing)")
        let gets = try trio.requests("GET", "/shop/orders/")
        #expect(gets.count == 2)
        #expect(gets.allSatisfy { $0["signature_ok"] as? Bool == true }, "\(gets)")
        #expect(gets.allSatisfy { (($0["headers"] as? [String: Any])?["authorization"] as? String) == "Bearer \(ServiceCallServeTests.backendToken)" })
        #expect(gets.map { $0["status"] as? Int } == [200, 404])
        // One try each, counted by service and outcome.
        let metrics = try trio.server.get("/metrics")
        #expect(ServeTests.metric(metrics, #"kefu_service_calls_total{service="erp",outcome="2xx"}"#) == 1, "\(metrics)")
        #expect(ServeTests.metric(metrics, #"kefu_service_calls_total{service="erp",outcome="404"}"#) == 1)
    }

    @Test("the ERP takes 5 s: the push is answered with the slow: text at once, the result arrives later as a customer-service message, once")
    func slowLookup() throws {
        let trio = try Trio("shop")
        try trio.fault(["path": "/shop/orders/DD202406110003", "delay_ms": 3_000])
        let started = Date()
        let answer = try trio.push("o_slow", "订单 DD202406110003 到哪了")
        #expect(answer.contains("正在为您查询订单 DD202406110003，结果稍后发给您。"), "\(answer)")
        #expect(Date().timeIntervalSince(started) < 3.5, "answered within the wait, not after the call")
        let expected = "订单 DD202406110003 已签收：中通快递，运单号 ZT9876543210。\n\n如果超过 4 天还没收到，或物流长时间没有更新，回复“人工”由客服为您跟进。"
        let arrived = try TestSupport.eventually(within: 10) { try trio.texts("o_slow") == [expected] }
        #expect(arrived, "\((try? trio.texts("o_slow")) ?? [])")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try trio.texts("o_slow").count == 1 && trio.requests("GET", "/shop/orders/").count == 1, "one request, one message")
    }

    /// The shop's after-sales flow up to its confirmation, for `openid`.
    static func afterSales(_ trio: Trio, _ openid: String, order: String = "DD202406110002") throws -> String {
        _ = try trio.push(openid, "申请售后")
        _ = try trio.push(openid, order)
        _ = try trio.push(openid, "发错货了")
        _ = try trio.push(openid, "13912345678")
        return try trio.push(openid, "是")
    }

    @Test("the after-sales system answers 503 twice: retried with backoff and the same Idempotency-Key until it creates the ticket; the number follows as a message")
    func retriedWrite() throws {
        let trio = try Trio("shop")
        try trio.fault(["path": "/shop/tickets", "method": "POST", "status": 503, "times": 2])
        let answer = try Self.afterSales(trio, "o_retry")
        #expect(answer.contains("已收到您的售后登记，工单号稍后发给您。"), "\(answer)")
        let delivered = try TestSupport.eventually(within: 20) { try trio.texts("o_retry").contains { $0.contains("工单号 SH-") } }
        #expect(delivered, "\((try? trio.texts("o_retry")) ?? [])")
        let posts = try trio.requests("POST", "/shop/tickets")
        #expect(posts.map { $0["status"] as? Int } == [503, 503, 201], "\(posts)")
        let keys = Set(posts.compactMap { $0["idempotency_key"] as? String })
        #expect(keys.count == 1 && keys.first?.hasPrefix("kefu-") == true, "\(keys)")
        let body = try #require((posts.last?["body"] as? String).flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(body["order_no"] as? String == "DD202406110002" && body["reason"] as? String == "发错货" && body["openid"] as? String == "o_retry")
        #expect(try trio.texts("o_retry").count == 1)
    }

    @Test("retries run out (the system stays at 503): the failed: branch tells the customer through the API and hands them to a human")
    func exhaustedWrite() throws {
        let trio = try Trio("shop", edit: { rules in
            let file = rules.appendingPathComponent("services.yaml")
            try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "retry: 6", with: "retry: 2").write(to: file, atomically: true, encoding: .utf8)
        })
        try trio.fault(["path": "/shop/tickets", "method": "POST", "status": 503, "times": -1])
        _ = try Self.afterSales(trio, "o_fail")
        let told = try TestSupport.eventually(within: 15) { try trio.texts("o_fail") == ["售后系统暂时无法登记，已为您转人工客服继续处理。"] }
        #expect(told, "\((try? trio.texts("o_fail")) ?? [])")
        #expect(try trio.requests("POST", "/shop/tickets").count == 2)
        #expect(try trio.push("o_fail", "还在吗").contains("transfer_customer_service"), "a human has the customer now")
        let status = try trio.server.get("/status")
        #expect(status.contains(#""failed":1"#), "\(status)")
        #expect(ServeTests.metric(try trio.server.get("/metrics"), #"kefu_service_calls_given_up_total{service="erp"}"#) == 1)
    }

    @Test("409: the slot was taken meanwhile — the customer is asked for another time, and the second booking goes out with a new key")
    func takenMeanwhile() throws {
        let trio = try Trio("clinic")
        for (user, name, phone) in [("o_first", "王小明", "13812345678"), ("o_second", "李小宝", "13900001111")] {
            _ = try trio.push(user, "我想挂儿科")
            _ = try trio.push(user, "周医生")
            _ = try trio.push(user, "下周一上午9点半")
            _ = try trio.push(user, name)
            _ = try trio.push(user, phone)
        }
        #expect(try trio.push("o_first", "是").contains("预约成功"))
        let taken = try trio.push("o_second", "是")
        #expect(taken.contains("这个时间刚刚被约走了，请换一个时间。"), "\(taken)")
        _ = try trio.push("o_second", "下周一上午10点半")
        #expect(try trio.push("o_second", "是").contains("预约成功"))
        let posts = try trio.requests("POST", "/clinic/appointments")
        #expect(posts.map { $0["status"] as? Int } == [201, 409, 201])
        #expect(Set(posts.compactMap { $0["idempotency_key"] as? String }).count == 3)
    }

    @Test("kill -9 while two writes are out: after the restart each is made again with its own key, the backend keeps one ticket per key, each customer hears once")
    func killWithWritesOut() throws {
        let trio = try Trio("shop")
        try trio.fault(["path": "/shop/tickets", "method": "POST", "delay_ms": 2_500, "times": 2])
        for user in ["o_k1", "o_k2"] {
            _ = try trio.push(user, "申请售后")
            _ = try trio.push(user, "DD202406110002")
            _ = try trio.push(user, "发错货了")
            _ = try trio.push(user, "13912345678")
        }
        // Both confirm at once; the server dies while the backend holds both requests.
        let pushes = DispatchGroup()
        for user in ["o_k1", "o_k2"] {
            DispatchQueue.global().async(group: pushes) { _ = try? trio.push(user, "是") }
        }
        #expect(try TestSupport.eventually(within: 10) { try trio.requests("POST", "/shop/tickets").count == 2 })
        try trio.killAndRestart()
        pushes.wait()
        let done = try TestSupport.eventually(within: 20) {
            try ["o_k1", "o_k2"].allSatisfy { user in try trio.texts(user).contains { $0.contains("工单号 SH-") } }
        }
        #expect(done, "\((try? trio.texts("o_k1")) ?? []) \((try? trio.texts("o_k2")) ?? [])")
        let posts = try trio.requests("POST", "/shop/tickets")
        let byKey = Dictionary(grouping: posts) { $0["idempotency_key"] as? String ?? "" }
        #expect(byKey.count == 2, "two customers, two keys")
        #expect(byKey.values.allSatisfy { $0.count == 2 && $0.last?["replayed"] as? Bool == true }, "each made again once, answered from the backend's record: \(posts)")
        let texts = try ["o_k1", "o_k2"].flatMap { try trio.texts($0) }
        let tickets = Set(texts.compactMap { text in text.range(of: #"SH-\d{6}"#, options: .regularExpression).map { String(text[$0]) } })
        #expect(tickets.count == 2)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try ["o_k1", "o_k2"].allSatisfy { try trio.texts($0).count == 1 })
    }

    @Test("no secret in the log, /status, /metrics, kefu explain or the errors; a missing secret stops the start and names the variable")
    func secrets() throws {
        let trio = try Trio("shop")
        _ = try trio.push("o_sec", "订单 DD202406110001 到哪了")
        let status = try trio.server.get("/status"), metrics = try trio.server.get("/metrics")
        _ = trio.server.stop()
        let log = trio.server.remainingLog()
        let keyBody = String(SampleBackendServer.signingKey.dropFirst("whsec_".count))
        for (place, text) in [("log", log), ("/status", status), ("/metrics", metrics)] {
            #expect(!text.contains(ServiceCallServeTests.backendToken) && !text.contains(keyBody), "a secret in \(place)")
        }
        #expect(log.contains("erp GET /orders/DD202406110001"), "the log names the call")
        let explain = try TestSupport.run(TestSupport.kefu, ["explain", trio.rules.path, "订单 DD202406110001 到哪了"], environment: trio.environment)
        #expect(explain.out.contains("Authorization: Bearer …redacted… (KEFU_SECRET_SHOP_TOKEN)"), "\(explain.out)")
        #expect(!explain.out.contains(ServiceCallServeTests.backendToken) && !explain.out.contains(keyBody))
        // Without the signing key the server does not start, and says which variable is missing.
        var missing = trio.environment
        missing["KEFU_SECRET_SHOP_SIGNING"] = nil
        let refused = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", trio.rules.path, "--port", "0", "--store", "memory"], environment: missing, mergeErrors: true)
        #expect(refused.status != 0 && refused.out.contains("KEFU_SECRET_SHOP_SIGNING"), "\(refused.out)")
        #expect(!refused.out.contains(ServiceCallServeTests.backendToken))
    }
}
