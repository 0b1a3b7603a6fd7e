import Crypto
import Foundation
import KefuTestSupport
import Testing

/// Signs a request as the spec in docs/sample-backend.md says Kefu does, written here from the spec
/// (not Kefu's signer): HMAC-SHA256 over `{id}.{timestamp}.{METHOD} {path?query}.{body}`, base64, `v1,`.
enum Signer {
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    static func signature(_ key: [UInt8], id: String, timestamp: Int64, method: String, target: String, body: Data) -> String {
        let signed = Data("\(id).\(timestamp).\(method) \(target).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers; `signatures` overrides webhook-signature, `key` the test key.
    static func headers(_ method: String, _ target: String, body: Data = Data(), id: String = "msg_\(UUID().uuidString)",
                        timestamp: Int64 = Signer.now, key: [UInt8] = SampleBackendServer.keyBytes, signatures: String? = nil) -> [String: String] {
        ["webhook-id": id, "webhook-timestamp": String(timestamp),
         "webhook-signature": signatures ?? signature(key, id: id, timestamp: timestamp, method: method, target: target, body: body)]
    }
}

extension SampleBackendServer {
    /// A signed request; a write carries `Idempotency-Key` = webhook-id when `key` is given.
    func signed(_ method: String, _ target: String, json object: [String: Any]? = nil, raw: Data? = nil, idempotencyKey: String? = nil,
                extra: [String: String] = [:]) throws -> Reply {
        let body = try raw ?? object.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) }
        var headers = Signer.headers(method, target, body: body ?? Data(), id: idempotencyKey ?? "msg_\(UUID().uuidString)")
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        return try call(method, target, body: body, headers: headers.merging(extra) { $1 })
    }
}

/// The sample backend (Tests/SampleBackend) as a real process over real HTTP on loopback: its fake
/// endpoints, signature checks, bearer token, idempotency, faults and controls.
@Suite("sample-backend: the fake company backend", .serialized)
struct SampleBackendTests {
    static var ticket: [String: Any] { ["order_no": "DD202406110001", "reason": "尺码不合适", "phone": "13800138000", "openid": "oUser1"] }

    @Test("shop orders: the four known orders with status and shipment, 404 for any other, 405 for a wrong method; the fake-data header")
    func orders() throws {
        let backend = try SampleBackendServer()
        let shipped = try backend.signed("GET", "/shop/orders/DD202406110001")
        #expect(shipped.status == 200, "\(shipped.text)")
        #expect(shipped.json["order_no"] as? String == "DD202406110001")
        #expect(shipped.json["status"] as? String == "SHIPPED")
        #expect(shipped.json["shipment"] as? [String: String] == ["carrier": "顺丰速运", "no": "SF1234567890"])
        #expect(shipped.headers["x-sample-backend"] == "fake data, not a real system")
        #expect(shipped.text.contains("顺丰速运"), "Chinese goes out as UTF-8, not \\u escapes: \(shipped.text)")

        let delivered = try backend.signed("GET", "/shop/orders/DD202406110003")
        #expect(delivered.json["status"] as? String == "DELIVERED")
        #expect(delivered.json["shipment"] as? [String: String] == ["carrier": "中通快递", "no": "ZT9876543210"])
        for (number, status) in [("DD202406110002", "CREATED"), ("DD202406110004", "CANCELLED")] {
            let order = try backend.signed("GET", "/shop/orders/\(number)")
            #expect(order.status == 200 && order.json["status"] as? String == status)
            #expect((order.json["shipment"] as? [String: Any])?.isEmpty == true, "no carrier or number before shipping: \(order.text)")
        }
        let missing = try backend.signed("GET", "/shop/orders/DD209912310001")
        #expect(missing.status == 404 && missing.json["error"] as? String == "order not found")
        #expect(missing.headers["x-sample-backend"] == "fake data, not a real system")
        #expect(try backend.signed("POST", "/shop/orders/DD202406110001", json: [:]).status == 405)
        #expect(try backend.signed("GET", "/shop/nothing").status == 404)
        #expect(try backend.call("GET", "/health").status == 200, "health needs no signature")
    }

    @Test("after-sales tickets: 201 with SH- numbers from 000101 in order; 400 naming the missing fields or a body that is not JSON")
    func tickets() throws {
        let backend = try SampleBackendServer()
        let first = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "k-1")
        #expect(first.status == 201, "\(first.text)")
        #expect(first.json["ticket_no"] as? String == "SH-000101")
        let second = try backend.signed("POST", "/shop/tickets", json: ["order_no": "DD202406110003", "reason": "破损", "phone": "13900139000", "photo": "media-1"],
                                        idempotencyKey: "k-2")
        #expect(second.json["ticket_no"] as? String == "SH-000102")
        let incomplete = try backend.signed("POST", "/shop/tickets", json: ["order_no": "DD202406110001", "phone": ""])
        #expect(incomplete.status == 400 && incomplete.json["error"] as? String == "missing reason, phone", "\(incomplete.text)")
        #expect(try backend.signed("POST", "/shop/tickets", raw: Data("order_no=1".utf8)).status == 400)
        let state = try backend.control("GET", "/_sample/state").json["tickets"] as? [[String: Any]]
        #expect(state?.map { $0["ticket_no"] as? String } == ["SH-000101", "SH-000102"])
        #expect(state?.first?["reason"] as? String == "尺码不合适")
    }

    @Test("idempotency: the same key and body replay the first answer with Idempotent-Replayed; another body with that key is 422; counts per key")
    func idempotency() throws {
        let backend = try SampleBackendServer()
        let first = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "kefu:shop:after-sales:1:create-ticket:1")
        #expect(first.status == 201 && first.headers["idempotent-replayed"] == nil)
        let again = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "kefu:shop:after-sales:1:create-ticket:1")
        #expect(again.status == 201, "\(again.text)")
        #expect(again.json["ticket_no"] as? String == first.json["ticket_no"] as? String)
        #expect(again.headers["idempotent-replayed"] == "true")
        var changed = Self.ticket
        changed["reason"] = "不想要了"
        let conflict = try backend.signed("POST", "/shop/tickets", json: changed, idempotencyKey: "kefu:shop:after-sales:1:create-ticket:1")
        #expect(conflict.status == 422, "\(conflict.text)")
        #expect((conflict.json["error"] as? String)?.contains("different request") == true)

        let next = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "another")
        #expect(next.json["ticket_no"] as? String == "SH-000102", "only one ticket was made for the first key")
        let keys = try backend.control("GET", "/_sample/idempotency").json["keys"] as? [String: [String: Any]]
        #expect(keys?["kefu:shop:after-sales:1:create-ticket:1"]?["received"] as? Int == 3)
        #expect(keys?["kefu:shop:after-sales:1:create-ticket:1"]?["replayed"] as? Int == 1)
        #expect(keys?["kefu:shop:after-sales:1:create-ticket:1"]?["status"] as? Int == 201)
        let replays = try backend.requests().map { $0["replayed"] as? Bool }
        #expect(replays == [false, true, false, false])
    }

    @Test("signatures: a correct one passes; missing, wrong key, changed body or query, stale or future timestamps are 401; rotation accepts any match")
    func signatures() throws {
        let backend = try SampleBackendServer()
        let target = "/clinic/availability?department=%E5%86%85%E7%A7%91&doctor=%E7%8E%8B%E7%AB%8B%E6%96%B0&time=2026-12-05%20%E5%91%A8%E5%85%AD%2015%3A00"
        #expect(try backend.call("GET", target, headers: Signer.headers("GET", target)).status == 200)

        func rejected(_ reply: SampleBackendServer.Reply, _ fragment: String, _ comment: Comment) {
            #expect(reply.status == 401, comment)
            #expect((reply.json["error"] as? String)?.contains(fragment) == true, "\(comment): \(reply.text)")
        }
        rejected(try backend.call("GET", target), "missing webhook-id, webhook-timestamp, webhook-signature", "unsigned")
        rejected(try backend.call("GET", target, headers: Signer.headers("GET", target, key: Array("another key".utf8))), "no signature", "wrong key")
        rejected(try backend.call("GET", target + "&x=1", headers: Signer.headers("GET", target)), "no signature", "query changed")
        rejected(try backend.call("GET", "/shop/orders/DD202406110002", headers: Signer.headers("GET", "/shop/orders/DD202406110001")),
                 "no signature", "another path with the first path's signature")
        rejected(try backend.call("POST", target, headers: Signer.headers("GET", target)), "no signature", "another method")
        let body = Data(#"{"order_no":"DD202406110001","phone":"13800138000","reason":"破损"}"#.utf8)
        let signedForBody = Signer.headers("POST", "/shop/tickets", body: body)
        rejected(try backend.call("POST", "/shop/tickets", body: Data(#"{"order_no":"DD202406110002","phone":"13800138000","reason":"破损"}"#.utf8),
                                  headers: signedForBody), "no signature", "body changed")
        #expect(try backend.call("POST", "/shop/tickets", body: body, headers: signedForBody).status == 201, "the unchanged body passes")
        rejected(try backend.call("GET", target, headers: Signer.headers("GET", target, timestamp: Signer.now - 400)), "behind", "stale")
        rejected(try backend.call("GET", target, headers: Signer.headers("GET", target, timestamp: Signer.now + 400)), "ahead of", "future")
        #expect(try backend.call("GET", target, headers: Signer.headers("GET", target, timestamp: Signer.now - 290)).status == 200, "within 300 s")
        var garbage = Signer.headers("GET", target)
        garbage["webhook-timestamp"] = "soon"
        rejected(try backend.call("GET", target, headers: garbage), "not Unix seconds", "timestamp not a number")

        // Rotation: Kefu sends one signature per key, space-separated; the backend holds only the new key.
        let id = "msg_rotation", timestamp = Signer.now
        let old = Signer.signature(Array("the previous key".utf8), id: id, timestamp: timestamp, method: "GET", target: target, body: Data())
        let current = Signer.signature(SampleBackendServer.keyBytes, id: id, timestamp: timestamp, method: "GET", target: target, body: Data())
        let both = Signer.headers("GET", target, id: id, timestamp: timestamp, signatures: "\(old) \(current)")
        #expect(try backend.call("GET", target, headers: both).status == 200, "the second signature matches")
        rejected(try backend.call("GET", target, headers: Signer.headers("GET", target, id: id, timestamp: timestamp, signatures: "\(old) v1a,\(current.dropFirst(3))")),
                 "no signature", "only the wrong one is v1")
        rejected(try backend.call("GET", target, headers: Signer.headers("GET", target, signatures: "v2,abc")), "no v1", "no v1 entry")

        let logged = try backend.requests()
        #expect(logged.first?["signature_ok"] as? Bool == true)
        #expect(logged.dropFirst().first?["signature_ok"] as? Bool == false)
        #expect(logged.first?["target"] as? String == target, "the target as received, still percent-encoded")
        #expect((logged.first?["headers"] as? [String: String])?["webhook-id"] != nil)
    }

    @Test("a plain-text signing key (no whsec_) is its UTF-8 bytes; --signing-key-file wins over the environment")
    func keyForms() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sample-backend-key-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("key")
        try "plain text key 密钥\n".write(to: file, atomically: true, encoding: .utf8)
        let backend = try SampleBackendServer(["--signing-key-file", file.path], environment: ["SAMPLE_BACKEND_SIGNING_KEY": "ignored"])
        let target = "/shop/orders/DD202406110002"
        #expect(try backend.call("GET", target, headers: Signer.headers("GET", target, key: Array("plain text key 密钥".utf8))).status == 200)
        #expect(try backend.call("GET", target, headers: Signer.headers("GET", target, key: Array("ignored".utf8))).status == 401)
    }

    @Test("bearer token: with SAMPLE_BACKEND_TOKEN set, a missing or wrong Authorization is 401 and the right one passes")
    func bearer() throws {
        let backend = try SampleBackendServer(environment: ["SAMPLE_BACKEND_SIGNING_KEY": SampleBackendServer.signingKey, "SAMPLE_BACKEND_TOKEN": "erp-token-123"])
        let target = "/shop/orders/DD202406110001"
        let none = try backend.signed("GET", target)
        #expect(none.status == 401 && (none.json["error"] as? String)?.contains("missing Authorization") == true, "\(none.text)")
        #expect(try backend.signed("GET", target, extra: ["Authorization": "Bearer erp-token-12"]).status == 401)
        #expect(try backend.signed("GET", target, extra: ["Authorization": "Basic erp-token-123"]).status == 401)
        #expect(try backend.signed("GET", target, extra: ["Authorization": "Bearer erp-token-123"]).status == 200)
        #expect(!backend.err.text.contains("erp-token-123"), "the token is never printed")
    }

    @Test("clinic availability: before 17:00 free; 17:00 and later full with three times that day; missing parameters 400")
    func availability() throws {
        let backend = try SampleBackendServer()
        func check(_ time: String) throws -> SampleBackendServer.Reply {
            let query = "department=\(Self.encode("内科"))&doctor=\(Self.encode("王主任"))&time=\(Self.encode(time))"
            return try backend.signed("GET", "/clinic/availability?" + query)
        }
        let free = try check("2026-12-05 周六 15:00")
        #expect(free.status == 200 && free.json["available"] as? Bool == true, "\(free.text)")
        #expect((free.json["alternatives"] as? [Any])?.isEmpty == true)
        let full = try check("2026-12-05 周六 18:00")
        #expect(full.json["available"] as? Bool == false, "\(full.text)")
        let labels = (full.json["alternatives"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
        #expect(labels == ["2026-12-05 周六 09:00", "2026-12-05 周六 10:30", "2026-12-05 周六 14:00"])
        #expect(try check("2026-12-05 周六 17:00").json["available"] as? Bool == false, "17:00 itself is full")
        #expect(try check("2026-12-05 周六 16:59").json["available"] as? Bool == true)
        #expect(try check("2026-12-05 周六 9:30").json["available"] as? Bool == true)
        let plus = try backend.signed("GET", "/clinic/availability?department=%E5%86%85%E7%A7%91&doctor=x&time=2026-12-05+%E5%91%A8%E5%85%AD+20:00")
        #expect(plus.json["available"] as? Bool == false, "+ is a space too: \(plus.text)")
        let missing = try backend.signed("GET", "/clinic/availability?department=%E5%86%85%E7%A7%91")
        #expect(missing.status == 400 && missing.json["error"] as? String == "missing query parameter doctor, time", "\(missing.text)")
        #expect(try check("下周六").status == 400, "a time without HH:MM")
    }

    @Test("appointments: 201 with A1001…; the same slot for another phone is 409 taken; a full slot 409; DELETE by phone cancels, then 404")
    func appointments() throws {
        let backend = try SampleBackendServer()
        let slot: [String: Any] = ["department": "内科", "doctor": "王立新", "time": "2026-12-05 周六 15:00", "name": "王小明", "phone": "13800138000"]
        let booked = try backend.signed("POST", "/clinic/appointments", json: slot, idempotencyKey: "b-1")
        #expect(booked.status == 201 && booked.json["id"] as? String == "A1001", "\(booked.text)")
        var other = slot
        other["phone"] = "13900139000"
        other["name"] = "李四"
        let taken = try backend.signed("POST", "/clinic/appointments", json: other, idempotencyKey: "b-2")
        #expect(taken.status == 409 && taken.json["error"] as? String == "taken", "\(taken.text)")
        let same = try backend.signed("POST", "/clinic/appointments", json: slot, idempotencyKey: "b-3")
        #expect(same.status == 200 && same.json["id"] as? String == "A1001" && same.json["existing"] as? Bool == true, "the same phone again: its booking")
        other["time"] = "2026-12-05 周六 10:30"
        let second = try backend.signed("POST", "/clinic/appointments", json: other, idempotencyKey: "b-4")
        #expect(second.status == 201 && second.json["id"] as? String == "A1002")
        var late = slot
        late["time"] = "2026-12-05 周六 17:30"
        #expect(try backend.signed("POST", "/clinic/appointments", json: late, idempotencyKey: "b-5").json["error"] as? String == "full")
        var partial = slot
        partial.removeValue(forKey: "name")
        #expect(try backend.signed("POST", "/clinic/appointments", json: partial).status == 400)

        let cancelled = try backend.signed("DELETE", "/clinic/appointments?phone=13800138000", idempotencyKey: "c-1")
        #expect(cancelled.status == 200, "\(cancelled.text)")
        #expect(cancelled.json["cancelled"] as? Int == 1 && cancelled.json["ids"] as? [String] == ["A1001"])
        let none = try backend.signed("DELETE", "/clinic/appointments?phone=13800138000", idempotencyKey: "c-2")
        #expect(none.status == 404 && none.json["error"] as? String == "no appointment")
        #expect(try backend.signed("DELETE", "/clinic/appointments?phone=13800138000", idempotencyKey: "c-1").json["cancelled"] as? Int == 1,
                "a repeated cancel with its key replays the first answer")
        #expect(try backend.signed("DELETE", "/clinic/appointments").status == 400)
        let freed = try backend.signed("POST", "/clinic/appointments", json: other.merging(["time": "2026-12-05 周六 15:00"]) { $1 }, idempotencyKey: "b-6")
        #expect(freed.status == 201 && freed.json["id"] as? String == "A1003", "the cancelled slot is free again: \(freed.text)")
    }

    @Test("faults: status 503 twice then the real answer for the same key; delay_ms; drop; until cleared; method filter; bad faults 400")
    func faults() throws {
        let backend = try SampleBackendServer()
        #expect(try backend.control("POST", "/_sample/faults", ["path": "/shop/tickets", "status": 503, "times": 2]).status == 200)
        let key = "kefu:retry-me"
        let statuses = try (1...3).map { _ in try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: key) }
        #expect(statuses.map(\.status) == [503, 503, 201], "\(statuses.map(\.text))")
        #expect(statuses[2].json["ticket_no"] as? String == "SH-000101" && statuses[2].headers["idempotent-replayed"] == nil,
                "a fault is not an answer the key keeps")
        let counts = try backend.control("GET", "/_sample/idempotency").json["keys"] as? [String: [String: Any]]
        #expect(counts?[key]?["received"] as? Int == 3 && counts?[key]?["status"] as? Int == 201)
        #expect(try backend.requests().map { $0["fault"] as? String } == ["status", "status", nil])

        try backend.control("POST", "/_sample/faults", ["path": "/shop/orders", "delay_ms": 800])
        let started = Date()
        let slow = try backend.signed("GET", "/shop/orders/DD202406110001")
        #expect(slow.status == 200 && Date().timeIntervalSince(started) >= 0.8, "delayed, then answered")
        let quick = Date()
        _ = try backend.signed("GET", "/shop/orders/DD202406110001")
        #expect(Date().timeIntervalSince(quick) < 0.8, "used once")

        try backend.control("POST", "/_sample/faults", ["path": "/shop/orders", "drop": true])
        let dropped = try backend.signed("GET", "/shop/orders/DD202406110001")
        #expect(dropped.answer.curlStatus != 0 && dropped.status == 0, "no answer at all: \(dropped.answer.curlStatus)")

        try backend.control("POST", "/_sample/faults", ["path": "/clinic", "method": "post", "status": 500, "times": -1, "body": ["error": "HIS 维护中"]])
        let slot: [String: Any] = ["department": "内科", "doctor": "王立新", "time": "2026-12-05 周六 15:00", "name": "王小明", "phone": "13800138000"]
        for _ in 1...3 {
            let down = try backend.signed("POST", "/clinic/appointments", json: slot)
            #expect(down.status == 500 && down.json["error"] as? String == "HIS 维护中")
        }
        let query = "/clinic/availability?department=a&doctor=b&time=2026-12-05%2015:00"
        #expect(try backend.signed("GET", query).status == 200, "the fault is for POST only")
        #expect(try backend.control("GET", "/_sample/faults").json["faults"] as? [Any] != nil)
        #expect(try backend.control("DELETE", "/_sample/faults").json["cleared"] as? Int == 1)
        #expect(try backend.signed("POST", "/clinic/appointments", json: slot).status == 201)

        #expect(try backend.control("POST", "/_sample/faults", ["path": "shop"]).status == 400)
        #expect(try backend.control("POST", "/_sample/faults", ["path": "/shop"]).status == 400, "no effect given")
        #expect(try backend.control("POST", "/_sample/faults", ["path": "/shop", "status": 503, "times": 0]).status == 400)
        #expect(try backend.control("POST", "/_sample/faults", ["path": "/shop", "status": 503, "colour": "red"]).status == 400)
    }

    @Test("controls: the request log (method, target, headers, body), clearing it, reset back to the start, and --no-controls")
    func controls() throws {
        let backend = try SampleBackendServer()
        _ = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "k", extra: ["Authorization": "Bearer t"])
        let logged = try backend.requests()
        #expect(logged.count == 1)
        #expect(logged.first?["method"] as? String == "POST" && logged.first?["path"] as? String == "/shop/tickets")
        #expect(logged.first?["idempotency_key"] as? String == "k" && logged.first?["status"] as? Int == 201)
        #expect((logged.first?["headers"] as? [String: String])?["authorization"] == "Bearer t")
        #expect((logged.first?["body"] as? String)?.contains("尺码不合适") == true)
        #expect(try backend.control("DELETE", "/_sample/requests").json["cleared"] as? Int == 1)
        #expect(try backend.requests().isEmpty)

        try backend.control("POST", "/_sample/reset")
        let after = try backend.signed("POST", "/shop/tickets", json: Self.ticket, idempotencyKey: "k")
        #expect(after.json["ticket_no"] as? String == "SH-000101" && after.headers["idempotent-replayed"] == nil, "numbers and kept answers start again")
        #expect(try backend.control("GET", "/_sample/nothing").status == 404)

        let closed = try SampleBackendServer(["--no-controls"])
        #expect(try closed.control("GET", "/_sample/requests").status == 404)
        #expect(try closed.control("POST", "/_sample/faults", ["path": "/shop", "status": 503]).status == 404)
    }

    @Test("start-up: no key refuses to start and says what to set; --no-verify warns loudly and accepts unsigned requests; bad flags")
    func startup() throws {
        let refused = try TestSupport.run(SampleBackendServer.binary, ["--port", "0"], environment: [:])
        #expect(refused.status == 2)
        #expect(refused.err.contains("SAMPLE_BACKEND_SIGNING_KEY") && refused.err.contains("--no-verify"), "\(refused.err)")
        let badKey = try TestSupport.run(SampleBackendServer.binary, ["--port", "0"], environment: ["SAMPLE_BACKEND_SIGNING_KEY": "whsec_***"])
        #expect(badKey.status == 2 && badKey.err.contains("not base64"), "\(badKey.err)")
        #expect(!badKey.err.contains("***"), "the key is never echoed")
        let unknown = try TestSupport.run(SampleBackendServer.binary, ["--colour"], environment: [:])
        #expect(unknown.status == 2 && unknown.err.contains("unknown argument --colour"))

        let open = try SampleBackendServer(["--no-verify", "--log-requests"], environment: [:])
        #expect(open.err.wait { $0.contains("WARNING: --no-verify") ? true : nil } == true, "\(open.err.text)")
        #expect(open.out.text.contains("FAKE DATA"))
        let unsigned = try open.call("GET", "/shop/orders/DD202406110001")
        #expect(unsigned.status == 200)
        #expect(try open.requests().first?["signature_ok"] is NSNull, "no key: nothing to check against")
        #expect(open.err.wait { $0.contains("GET /shop/orders/DD202406110001 → 200") ? true : nil } == true, "--log-requests: \(open.err.text)")

        let lenient = try SampleBackendServer(["--no-verify"])
        #expect(try lenient.call("GET", "/shop/orders/DD202406110001").status == 200)
        #expect(try lenient.requests().first?["signature_ok"] as? Bool == false, "with a key, --no-verify still checks and logs")
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
