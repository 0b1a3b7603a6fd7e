import Foundation
import KefuActions
import KefuRules
import Testing

/// The client against real HTTP servers on loopback: what goes on the wire, and each way a call ends.
@Suite struct ServiceClientTests {
    /// Runs `body` with a client for `services` (built on the recording server's port when `base` is nil).
    private func withClient(_ services: [ServiceSpec], secrets: ServiceSecrets? = nil, clock: @escaping @Sendable () -> Int64 = { 1_767_225_600 },
                            _ body: (ServiceClient) async throws -> Void) async throws {
        let client = ServiceClient(services: services, secrets: try secrets ?? Fixture.secrets(for: services), clock: clock)
        do { try await body(client) } catch { try await client.shutdown(); throw error }
        try await client.shutdown()
    }

    @Test func slotValuesStayInsideThePathAndTheHostNeverChanges() async throws {
        let server = try await RecordingServer { _ in .json(#"{"status":"SHIPPED"}"#) }
        let erp = Fixture.service("erp", base: server.base + "/api", auth: .bearer(secret: "ERP_TOKEN"))
        let root = Fixture.service("root", base: server.base)
        try await withClient([erp, root]) { client in
            // What the engine renders for slot values that try to climb out or add a query.
            let path = "/orders/" + URLEncoding.component("../admin?x=1")
            let query = ["q=" + URLEncoding.component("a b&c=d"), URLEncoding.component("名") + "=" + URLEncoding.component("张三")]
            let result = await client.send(Fixture.request("erp", .get, path, query: query), attempt: 1)
            #expect(result.kind == .response(status: 200, body: .object(["status": .string("SHIPPED")])))

            // A path that looks like another authority stays a path on the service's host.
            let other = await client.send(Fixture.request("root", .get, "//evil.example/x"), attempt: 1)
            #expect(other.kind == .response(status: 200, body: .object(["status": .string("SHIPPED")])))
        }
        let targets = server.requests.map(\.target)
        #expect(targets == ["/api/orders/%2E%2E%2Fadmin%3Fx%3D1?q=a%20b%26c%3Dd&%E5%90%8D=%E5%BC%A0%E4%B8%89", "//evil.example/x"])
        #expect(server.requests.allSatisfy { $0.headers["host"] == "127.0.0.1:\(server.port)" })
        await server.stop()
    }

    @Test func pathsThatClimbOrBreakTheRequestLineAreNeverSent() async throws {
        let server = try await RecordingServer()
        let erp = Fixture.service("erp", base: server.base + "/api", auth: .bearer(secret: "ERP_TOKEN"))
        let refused: [(path: String, query: [String], why: String)] = [
            ("/../admin", [], "'..' segment"),
            ("/orders/..", [], "'..' segment"),
            ("/a/./b", [], "'.' segment"),
            ("/%2E%2E/admin", [], "'..' segment"),
            ("/a/%2e/b", [], "'.' segment"),
            ("orders/1", [], "does not start with /"),
            ("@evil.example/x", [], "does not start with /"),
            ("/orders/1\r\nX-Injected: 1", [], "line break"),
            ("/orders/1", ["q=1\nX: 2"], "line break"),
            ("/orders/1 HTTP/1.1", [], "U+0020"),
            ("/orders/1#frag", [], "'#'"),
            ("/orders/1?admin=1", [], "'?'"),
            ("/订单", [], "percent-encoded"),
        ]
        try await withClient([erp]) { client in
            for (path, query, why) in refused {
                let result = await client.send(Fixture.request("erp", .get, path, query: query), attempt: 1)
                guard case .network(let reason) = result.kind else {
                    Issue.record("\(path.debugDescription) was not refused: \(result.kind)"); continue
                }
                #expect(reason.contains("never sent"), "\(path.debugDescription): \(reason)")
                #expect(reason.contains(why), "\(path.debugDescription): \(reason)")
                #expect(client.describe(Fixture.request("erp", .get, path, query: query)).contains("never sent"))
            }
            let unknown = await client.send(Fixture.request("nope", .get, "/x"), attempt: 1)
            #expect(unknown.kind == .network("no service named nope is declared"))
        }
        #expect(server.requests.isEmpty)
        await server.stop()
    }

    @Test func authHeadersForEachKind() async throws {
        let server = try await RecordingServer()
        let services = [
            Fixture.service("erp", base: server.base, auth: .bearer(secret: "ERP_TOKEN")),
            Fixture.service("crm", base: server.base + "/crm", auth: .header(name: "X-Api-Key", secret: "CRM_KEY")),
            Fixture.service("his", base: server.base + "/his", auth: .basic(user: "kefu", secret: "HIS_PASSWORD")),
            Fixture.service("open", base: server.base + "/open"),
        ]
        try await withClient(services) { client in
            for name in ["erp", "crm", "his", "open"] {
                let result = await client.send(Fixture.request(name, .get, "/ping"), attempt: 1)
                #expect(result.kind == .response(status: 200, body: .object(["ok": .bool(true)])))
            }
        }
        let requests = server.requests
        try #require(requests.count == 4)
        #expect(requests[0].headers["authorization"] == "Bearer \(Fixture.token)")
        #expect(requests[1].headers["x-api-key"] == Fixture.apiKey)
        #expect(requests[1].headers["authorization"] == nil)
        #expect(requests[2].headers["authorization"] == "Basic " + Data("kefu:\(Fixture.password)".utf8).base64EncodedString())
        #expect(requests[3].headers["authorization"] == nil)
        for request in requests {
            #expect(request.headers["accept"] == "application/json")
            #expect(request.headers["user-agent"] == "kefu/1")
            #expect(request.headers["webhook-signature"]?.hasPrefix("v1,") == true)
        }
        await server.stop()
    }

    @Test func writesCarryTheSameIdempotencyKeyOnEveryAttemptAndReadsNone() async throws {
        let server = try await RecordingServer { request in
            request.method == "POST" ? .json(#"{"ticket_no":"T-1"}"#, status: 201) : .json(#"{"status":"SHIPPED"}"#)
        }
        let crm = Fixture.service("crm", base: server.base + "/api", auth: .header(name: "X-Api-Key", secret: "CRM_KEY"))
        let body = #"{"order_no":"DD202406110001","reason":"屏幕碎了"}"#
        let write = Fixture.request("crm", .post, "/tickets", body: body, key: "k-write-1")
        let read = Fixture.request("crm", .get, "/orders/DD1", key: "k-read-1")
        try await withClient([crm]) { client in
            for attempt in 1...2 {
                let result = await client.send(write, attempt: attempt)
                #expect(result.kind == .response(status: 201, body: .object(["ticket_no": .string("T-1")])))
            }
            for attempt in 1...2 { _ = await client.send(read, attempt: attempt) }
        }
        let requests = server.requests
        try #require(requests.count == 4)
        for post in requests[0...1] {
            #expect(post.method == "POST")
            #expect(post.headers["idempotency-key"] == "k-write-1")
            #expect(post.headers["webhook-id"] == "k-write-1")
            #expect(post.headers["content-type"] == "application/json")
            #expect(post.body == Array(body.utf8))
        }
        #expect(requests[2].headers["idempotency-key"] == nil)
        #expect(requests[2].headers["content-type"] == nil)
        #expect(requests[2].headers["webhook-id"] == "k-read-1-1")
        #expect(requests[3].headers["webhook-id"] == "k-read-1-2")
        #expect(requests[2].body.isEmpty)
        await server.stop()
    }

    @Test func aRedirectIsAnAnswerNotFollowed() async throws {
        let server = try await RecordingServer { request in
            request.target == "/api/old"
                ? .init(status: 302, headers: ["Location": "/api/new"], body: [])
                : .json(#"{"followed":true}"#)
        }
        let erp = Fixture.service("erp", base: server.base + "/api")
        try await withClient([erp]) { client in
            let result = await client.send(Fixture.request("erp", .get, "/old"), attempt: 1)
            #expect(result.kind == .response(status: 302, body: nil))
            #expect(result.outcome(among: []) == .error)
        }
        #expect(server.requests.map(\.target) == ["/api/old"])
        await server.stop()
    }

    @Test func noAnswerWithinTheServiceTimeoutIsATimeout() async throws {
        let silent = try SilentListener()
        let erp = Fixture.service("erp", base: "http://127.0.0.1:\(silent.port)", timeoutMs: 400)
        try await withClient([erp]) { client in
            // The deadline bounds the test too: it gives up on the event loop, whatever the test's own threads are doing.
            let result = await client.send(Fixture.request("erp", .get, "/orders/DD1"), attempt: 1)
            #expect(result.kind == .timeout)
            #expect(result.latencyMs >= 395, "gave up after \(result.latencyMs) ms")
            #expect(result.latencyMs < 400 + 1000, "took \(result.latencyMs) ms for a 400 ms timeout")
            #expect(result.isRetryable)
        }
        withExtendedLifetime(silent) {}
    }

    @Test func aRefusedConnectionIsANetworkErrorAtOnce() async throws {
        let refusing = try RefusingPort()
        let erp = Fixture.service("erp", base: "http://127.0.0.1:\(refusing.port)", timeoutMs: 5000)
        try await withClient([erp]) { client in
            let result = await client.send(Fixture.request("erp", .post, "/tickets", body: "{}"), attempt: 1)
            #expect(result.kind == .network("the connection was refused"))
            #expect(result.latencyMs < 1000, "refused after \(result.latencyMs) ms, not at once")
            #expect(result.isRetryable)
        }
        withExtendedLifetime(refusing) {}
    }

    @Test func answersAreCappedAt64KiB() async throws {
        let limit = ServiceClient.maxAnswerBytes
        @Sendable func json(_ size: Int) -> [UInt8] { Array(#"{"p":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: size - 8) + Array(#""}"#.utf8) }
        let server = try await RecordingServer { request in
            switch request.target {
            case "/exact": .init(body: json(limit))
            case "/over": .init(body: json(limit + 1))
            case "/over-chunked": .init(body: json(limit + 20_000), chunked: true)
            default: .init(body: json(limit), chunked: true)
            }
        }
        let erp = Fixture.service("erp", base: server.base)
        try await withClient([erp]) { client in
            for path in ["/exact", "/exact-chunked"] {
                let result = await client.send(Fixture.request("erp", .get, path), attempt: 1)
                guard case .response(200, .object(let fields)?) = result.kind else { Issue.record("\(path): \(result.kind)"); continue }
                #expect(fields["p"] != nil)
            }
            for path in ["/over", "/over-chunked"] {
                let result = await client.send(Fixture.request("erp", .get, path), attempt: 1)
                #expect(result.kind == .network("the answer is larger than 64 KiB"), "\(path)")
            }
        }
        #expect(json(limit).count == limit)
        await server.stop()
    }

    @Test func aBodyThatIsNotJSONIsNoBody() async throws {
        let server = try await RecordingServer { request in
            request.target == "/html"
                ? .init(status: 200, headers: ["Content-Type": "text/html"], body: Array("<html>维护中</html>".utf8))
                : .init(status: 204, headers: [:], body: [])
        }
        let erp = Fixture.service("erp", base: server.base)
        try await withClient([erp]) { client in
            let html = await client.send(Fixture.request("erp", .get, "/html"), attempt: 1)
            #expect(html.kind == .response(status: 200, body: nil))
            #expect(html.outcome(among: []) == .error)
            let empty = await client.send(Fixture.request("erp", .delete, "/bookings/1"), attempt: 1)
            #expect(empty.kind == .response(status: 204, body: nil))
            #expect(empty.outcome(among: []) == .ok)
        }
        await server.stop()
    }

    @Test func describeShowsTheRequestWithEverySecretRedacted() async throws {
        let services = [
            Fixture.service("erp", base: "https://erp.example.com/api", auth: .bearer(secret: "ERP_TOKEN")),
            Fixture.service("crm", base: "https://crm.example.com", auth: .header(name: "X-Api-Key", secret: "CRM_KEY")),
            Fixture.service("his", base: "https://his.example.com:8443/v1", auth: .basic(user: "kefu", secret: "HIS_PASSWORD")),
        ]
        var environment = Fixture.environment
        environment["KEFU_SECRET_SIGNING_KEY_PREVIOUS"] = Fixture.previousKey
        let client = ServiceClient(services: services, secrets: try Fixture.secrets(for: services, environment), clock: { 1_767_225_600 })
        let post = client.describe(Fixture.request("crm", .post, "/tickets", body: #"{"order_no":"DD1"}"#, key: "k-9"), attempt: 2)
        #expect(post == """
            POST https://crm.example.com/tickets
            Accept: application/json
            User-Agent: kefu/1
            Content-Type: application/json
            X-Api-Key: …redacted…
            Idempotency-Key: k-9
            webhook-id: k-9
            webhook-timestamp: 1767225600
            webhook-signature: …redacted…

            {"order_no":"DD1"}
            """)
        let get = client.describe(Fixture.request("erp", .get, "/orders/DD1", query: ["x=1"], key: "k-1"))
        #expect(get.hasPrefix("GET https://erp.example.com/api/orders/DD1?x=1\n"))
        #expect(get.contains("Authorization: Bearer …redacted…\n"))
        #expect(get.contains("webhook-id: k-1-1\n"))
        #expect(!get.contains("Idempotency-Key"))
        let basic = client.describe(Fixture.request("his", .get, "/slots"))
        #expect(basic.hasPrefix("GET https://his.example.com:8443/v1/slots\n"))
        #expect(basic.contains("Authorization: Basic …redacted…\n"))
        // A slot value that happens to hold a secret is scrubbed too, even in a refusal.
        let leaky = client.describe(Fixture.request("erp", .get, "/../" + Fixture.token))
        #expect(leaky.contains("never sent"))
        for text in [post, get, basic, leaky] {
            for secret in [Fixture.token, Fixture.apiKey, Fixture.password, Fixture.signingKey, Fixture.previousKey,
                           Data("kefu:\(Fixture.password)".utf8).base64EncodedString(), String(Fixture.signingKey.dropFirst(6))] {
                #expect(!text.contains(secret), "a secret in: \(text)")
            }
            #expect(!text.contains("v1,"))
        }
        try await client.shutdown()
    }

    @Test func aBaseOverrideSendsThereInstead() async throws {
        let server = try await RecordingServer()
        let erp = Fixture.service("erp", base: "https://erp.example.com/api", auth: .bearer(secret: "ERP_TOKEN"))
        guard case .success(let local) = ServiceBase.parse(server.base + "/local") else { Issue.record("base"); return }
        let client = ServiceClient(services: [erp], secrets: try Fixture.secrets(for: [erp]), overrides: ["erp": local, "unknown": local])
        let result = await client.send(Fixture.request("erp", .get, "/orders/DD1"), attempt: 1)
        #expect(result.kind == .response(status: 200, body: .object(["ok": .bool(true)])))
        #expect(server.requests.map(\.target) == ["/local/orders/DD1"])
        #expect(client.describe(Fixture.request("erp", .get, "/orders/DD1")).hasPrefix("GET \(server.base)/local/orders/DD1\n"))
        try await client.shutdown()
        await server.stop()
    }
}
