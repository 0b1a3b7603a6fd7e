import Testing
@testable import KefuWeChat

@Suite("Signatures")
struct SignatureTests {
    @Test("URL-verification vectors, including the official documentation example", arguments: Fixtures.vectors.url_verification.map(\.name))
    func urlVerificationVector(name: String) throws {
        let v = Fixtures.vectors.url_verification.first { $0.name == name }!
        #expect(Signature.compute([v.token, v.timestamp, v.nonce]) == v.signature)
        #expect(Signature.isValid(v.signature, for: [v.token, v.timestamp, v.nonce]))
        #expect(Signature.isValid(v.signature.uppercased(), for: [v.token, v.timestamp, v.nonce]))
        if let echostr = v.echostr {
            let endpoint = try WeChatEndpoint(WeChatConfiguration(token: v.token, timestampToleranceSeconds: nil))
            let query = SignedQuery(signature: v.signature, timestamp: v.timestamp, nonce: v.nonce, echostr: echostr)
            #expect(try endpoint.verifyURL(query, now: 0) == v.expected_response_body)
        }
    }

    @Test("a wrong token, a changed nonce or a one-character change fails verification")
    func mismatches() throws {
        let v = Fixtures.vectors.url_verification[0]
        #expect(!Signature.isValid(v.signature, for: ["BBBBB", v.timestamp, v.nonce]))
        #expect(!Signature.isValid(v.signature, for: [v.token, v.timestamp, v.nonce + "1"]))
        var flipped = Array(v.signature.utf8)
        flipped[39] = flipped[39] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(!Signature.isValid(String(decoding: flipped, as: UTF8.self), for: [v.token, v.timestamp, v.nonce]))
        #expect(!Signature.isValid("", for: [v.token, v.timestamp, v.nonce]))
        #expect(!Signature.isValid(v.signature + "0", for: [v.token, v.timestamp, v.nonce]))

        let endpoint = try WeChatEndpoint(WeChatConfiguration(token: "BBBBB", timestampToleranceSeconds: nil))
        let query = SignedQuery(signature: v.signature, timestamp: v.timestamp, nonce: v.nonce, echostr: "1")
        #expect(throws: WeChatError.signatureMismatch(.signature)) { try endpoint.verifyURL(query, now: 0) }
    }

    @Test("the comparison is constant-time in shape: equal lengths are compared in full")
    func constantTime() {
        #expect(constantTimeEquals(utf8("abc"), utf8("abc")))
        #expect(!constantTimeEquals(utf8("abc"), utf8("abd")))
        #expect(!constantTimeEquals(utf8("abc"), utf8("ab")))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
    }

    @Test("parts are sorted byte-wise, not by locale or length")
    func bytewiseSort() {
        // "B" (0x42) sorts before "a" (0x61); "10" before "9".
        #expect(Signature.compute(["a", "B", "9", "10"]) == Signature.compute(["10", "9", "B", "a"]))
        #expect(Signature.compute(["abc"]) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test("timestamp freshness: 300 s by default, configurable, off only when asked")
    func freshness() throws {
        let v = Fixtures.vectors.url_verification[3]  // project-url-verify, timestamp 1718000000
        let query = SignedQuery(signature: v.signature, timestamp: v.timestamp, nonce: v.nonce, echostr: "x")
        let lenient = try WeChatEndpoint(WeChatConfiguration(token: v.token, timestampToleranceSeconds: nil))
        #expect(try lenient.verifyURL(query, now: 1_900_000_000) == "x")
        let strict = try WeChatEndpoint(WeChatConfiguration(token: v.token))
        #expect(strict.configuration.timestampToleranceSeconds == 300)
        let narrow = try WeChatEndpoint(WeChatConfiguration(token: v.token, timestampToleranceSeconds: 5))
        #expect(throws: WeChatError.staleTimestamp(timestamp: 1_718_000_000, now: 1_718_000_006, toleranceSeconds: 5)) {
            try narrow.verifyURL(query, now: 1_718_000_006)
        }
        #expect(try strict.verifyURL(query, now: 1_718_000_300) == "x")
        #expect(try strict.verifyURL(query, now: 1_717_999_700) == "x")
        #expect(throws: WeChatError.staleTimestamp(timestamp: 1_718_000_000, now: 1_718_000_301, toleranceSeconds: 300)) {
            try strict.verifyURL(query, now: 1_718_000_301)
        }
    }

    @Test("query parameters: required ones named when missing, timestamp must be digits")
    func queryParameters() {
        #expect(throws: WeChatError.missingQueryParameter("signature")) { try SignedQuery(["timestamp": "1", "nonce": "2"]) }
        #expect(throws: WeChatError.missingQueryParameter("nonce")) { try SignedQuery(["signature": "s", "timestamp": "1"]) }
        #expect(throws: WeChatError.invalidQueryParameter(name: "timestamp", value: "12a")) {
            try SignedQuery(["signature": "s", "timestamp": "12a", "nonce": "2"])
        }
        let q = try? SignedQuery(["signature": "s", "timestamp": "1", "nonce": "2", "encrypt_type": "aes", "msg_signature": "m", "openid": "o"])
        #expect(q?.encryptType == "aes")
        #expect(q?.parameters["msg_signature"] == "m")
    }
}
