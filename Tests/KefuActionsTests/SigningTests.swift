import Foundation
import KefuActions
import KefuRules
import KefuTestSupport
import Testing

/// The signature of requests the real client sent over HTTP, checked by an independent
/// implementation: the Python verifier of docs/signing.md (standard library hmac), run as a program.
@Suite struct SigningTests {
    static let verifier = TestSupport.root.appendingPathComponent("Tests/Interop/verify_kefu_signature.py")

    /// Runs the Python verifier on `input`; true when it printed `ok` (and exited 0).
    /// (Run off the cooperative pool: waiting for a process there would stall the other tests' timings.)
    private func pythonVerifies(_ input: Data) async throws -> Bool {
        let python = try TestSupport.python()
        let output = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<TestSupport.Output, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try TestSupport.run(python, [Self.verifier.path], input: input) })
            }
        }
        let said = output.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(said == "ok" || said == "rejected", "the verifier failed: \(output.out) \(output.err)")
        #expect((output.status == 0) == (said == "ok"))
        return said == "ok" && output.status == 0
    }

    private static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// Sends `requests` through a client on a recording server and returns what arrived.
    private func captured(_ requests: [ServiceRequest], environment: [String: String] = Fixture.environment,
                          clock: @escaping @Sendable () -> Int64 = { SigningTests.now }) async throws -> [RecordingServer.Recorded] {
        let server = try await RecordingServer()
        let crm = Fixture.service("crm", base: server.base + "/api/v2", auth: .header(name: "X-Api-Key", secret: "CRM_KEY"))
        let client = ServiceClient(services: [crm], secrets: try Fixture.secrets(for: [crm], environment), clock: clock)
        for request in requests {
            let result = await client.send(request, attempt: 1)
            #expect(result.kind == .response(status: 200, body: .object(["ok": .bool(true)])))
        }
        try await client.shutdown()
        await server.stop()
        return server.requests
    }

    @Test func pythonVerifiesWhatTheClientSent() async throws {
        let body = #"{"order_no":"DD202406110001","reason":"屏幕碎了 \"急\""}"#
        let sent = try await captured([
            Fixture.request("crm", .post, "/tickets", body: body, key: "k-post"),
            Fixture.request("crm", .get, "/orders/" + URLEncoding.component("DD 1/2"), query: ["at=" + URLEncoding.component("周一 9:00")], key: "k-get"),
            Fixture.request("crm", .delete, "/bookings/B1", key: "k-delete"),
        ])
        try #require(sent.count == 3)
        #expect(sent[1].target == "/api/v2/orders/DD%201%2F2?at=%E5%91%A8%E4%B8%80%209%3A00")
        for request in sent {
            #expect(try await pythonVerifies(request.verifierInput(key: Fixture.signingKey)), "\(request.method) \(request.target)")
            // Kefu's own verifier agrees.
            let key = try SigningKey(Fixture.signingKey)
            #expect(throws: Never.self) {
                try RequestSigner.verify(headers: request.headers, method: request.method, target: request.target, body: request.body,
                                         key: key, now: Self.now)
            }
        }
    }

    @Test func aTamperedRequestDoesNotVerify() async throws {
        let sent = try await captured([
            Fixture.request("crm", .get, "/orders/DD1", query: ["x=1"], key: "k-get"),
            Fixture.request("crm", .post, "/tickets", body: #"{"amount":1}"#, key: "k-post"),
        ])
        try #require(sent.count == 2)
        let get = sent[0], post = sent[1]
        #expect(try await pythonVerifies(get.verifierInput(key: Fixture.signingKey)))
        // The same signed GET replayed against another path, another query, without the base path, as a POST.
        #expect(try await !pythonVerifies(get.verifierInput(key: Fixture.signingKey, target: "/api/v2/orders/DD2?x=1")))
        #expect(try await !pythonVerifies(get.verifierInput(key: Fixture.signingKey, target: "/api/v2/orders/DD1?x=2")))
        #expect(try await !pythonVerifies(get.verifierInput(key: Fixture.signingKey, target: "/orders/DD1?x=1")))
        var asPost = get
        asPost.method = "POST"
        #expect(try await !pythonVerifies(asPost.verifierInput(key: Fixture.signingKey)))
        // Another body, another id, another key.
        #expect(try await !pythonVerifies(post.verifierInput(key: Fixture.signingKey, body: Array(#"{"amount":100}"#.utf8))))
        var otherID = post
        otherID.headers["webhook-id"] = "k-other"
        #expect(try await !pythonVerifies(otherID.verifierInput(key: Fixture.signingKey)))
        #expect(try await !pythonVerifies(post.verifierInput(key: "whsec_" + Data(repeating: 7, count: 32).base64EncodedString())))
        // Swift's verifier says why.
        let key = try SigningKey(Fixture.signingKey)
        #expect(throws: RequestSigner.VerificationError.noMatchingSignature) {
            try RequestSigner.verify(headers: get.headers, method: "GET", target: "/api/v2/orders/DD2?x=1", body: [], key: key, now: Self.now)
        }
    }

    @Test func anOldTimestampIsRejected() async throws {
        let signedAt: Int64 = 1_767_225_600
        let sent = try await captured([Fixture.request("crm", .get, "/orders/DD1")], clock: { signedAt })
        let request = try #require(sent.first)
        #expect(request.headers["webhook-timestamp"] == "1767225600")
        #expect(try await pythonVerifies(request.verifierInput(key: Fixture.signingKey, now: signedAt + 299)))
        #expect(try await !pythonVerifies(request.verifierInput(key: Fixture.signingKey, now: signedAt + 301)))
        #expect(try await !pythonVerifies(request.verifierInput(key: Fixture.signingKey)))
        let key = try SigningKey(Fixture.signingKey)
        #expect(throws: RequestSigner.VerificationError.outsideTolerance(seconds: -301)) {
            try RequestSigner.verify(headers: request.headers, method: "GET", target: request.target, body: [], key: key, now: signedAt + 301)
        }
    }

    @Test func duringARotationEitherKeyAloneVerifies() async throws {
        var environment = Fixture.environment
        environment["KEFU_SECRET_SIGNING_KEY_PREVIOUS"] = Fixture.previousKey
        let sent = try await captured([Fixture.request("crm", .post, "/tickets", body: "{}", key: "k-rot")], environment: environment)
        let request = try #require(sent.first)
        let signatures = try #require(request.headers["webhook-signature"]).split(separator: " ")
        #expect(signatures.count == 2)
        #expect(signatures.allSatisfy { $0.hasPrefix("v1,") })
        #expect(try await pythonVerifies(request.verifierInput(key: Fixture.signingKey)))
        #expect(try await pythonVerifies(request.verifierInput(key: Fixture.previousKey)))
        #expect(try await !pythonVerifies(request.verifierInput(key: "some-other-key-of-enough-length")))
        // Without the rotation, the previous key no longer verifies.
        let single = try await captured([Fixture.request("crm", .post, "/tickets", body: "{}", key: "k-rot")])
        #expect(try await !pythonVerifies(try #require(single.first).verifierInput(key: Fixture.previousKey)))
    }

    @Test func theDocsWorkedExampleHolds() throws {
        let key = try SigningKey("whsec_a2VmdS1kb2NzLWV4YW1wbGUta2V5LTAxMjM0NTY3ODk=")
        let plain = try SigningKey("kefu-docs-example-key-0123456789")
        let content = RequestSigner.signedContent(id: "k-1", timestamp: 1_767_225_600, method: "GET", target: "/api/orders/DD1?x=1", body: [])
        #expect(String(decoding: content, as: UTF8.self) == "k-1.1767225600.GET /api/orders/DD1?x=1.")
        #expect(RequestSigner.signature(content, key: key) == "v1,qbYinceRPirfkb5C1TmZam8kmglGJrNiMnloR6XMDoI=")
        #expect(RequestSigner.signature(content, key: plain) == "v1,qbYinceRPirfkb5C1TmZam8kmglGJrNiMnloR6XMDoI=")
        let docs = try String(contentsOf: TestSupport.root.appendingPathComponent("docs/signing.md"), encoding: .utf8)
        #expect(docs.contains("v1,qbYinceRPirfkb5C1TmZam8kmglGJrNiMnloR6XMDoI="))
    }

    /// The verifier the docs show is the one the tests run.
    @Test func theDocsPythonVerifierIsTheOneTested() throws {
        let docs = try String(contentsOf: TestSupport.root.appendingPathComponent("docs/signing.md"), encoding: .utf8)
        let script = try String(contentsOf: Self.verifier, encoding: .utf8)
        let start = try #require(docs.range(of: "```python\n"))
        let end = try #require(docs.range(of: "```", range: start.upperBound..<docs.endIndex))
        let block = String(docs[start.upperBound..<end.lowerBound])
        #expect(block.split(separator: "\n").count <= 20)
        #expect(block.contains("def verify("))
        #expect(script.contains(block), "Tests/Interop/verify_kefu_signature.py no longer holds the verifier of docs/signing.md")
    }

    @Test func verifyReportsMissingHeaders() throws {
        let key = try SigningKey(Fixture.signingKey)
        #expect(throws: RequestSigner.VerificationError.missingHeader("webhook-id")) {
            try RequestSigner.verify(headers: [:], method: "GET", target: "/", body: [], key: key, now: 0)
        }
        #expect(throws: RequestSigner.VerificationError.badTimestamp) {
            try RequestSigner.verify(headers: ["Webhook-Id": "a", "Webhook-Timestamp": "soon", "Webhook-Signature": "v1,AAAA"],
                                     method: "GET", target: "/", body: [], key: key, now: 0)
        }
    }
}
