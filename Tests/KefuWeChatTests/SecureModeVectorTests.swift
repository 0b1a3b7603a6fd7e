import Testing
@testable import KefuWeChat

/// The published vectors, byte for byte: every generated vector (wechatpy 1.8.18) and the official
/// WXBizMsgCrypt samples.
@Suite("Secure mode: vectors")
struct SecureModeVectorTests {
    static let names = Fixtures.vectors.crypto_vectors.map(\.name)

    func configuration(_ v: CryptoVectors.Vector) throws -> WeChatConfiguration {
        // Published vectors carry old timestamps: freshness is off here (tested in SignatureTests).
        WeChatConfiguration(token: v.token, appID: v.appid, aesKey: try EncodingAESKey(v.encoding_aes_key), timestampToleranceSeconds: nil, accepted: .compatible)
    }

    @Test("EncodingAESKey → key and IV", arguments: names)
    func keyDerivation(name: String) throws {
        let v = Fixtures.vectors.vector(name)
        let key = try EncodingAESKey(v.encoding_aes_key)
        #expect(hex(key.keyBytes) == v.aes_key_hex)
        #expect(hex(key.iv) == v.iv_hex)
    }

    @Test("decrypting Encrypt gives the plaintext XML byte for byte", arguments: names)
    func decrypt(name: String) throws {
        let v = Fixtures.vectors.vector(name)
        let cipher = MessageCipher(key: try EncodingAESKey(v.encoding_aes_key), appID: v.appid)
        let plain = try cipher.decrypt(v.encrypt_base64)
        #expect(plain == utf8(v.plaintext_xml))
        #expect(plain.count == v.plaintext_utf8_byte_length)
    }

    @Test("encrypting with the vector's random prefix reproduces Encrypt and msg_signature", arguments: names)
    func encrypt(name: String) throws {
        let v = Fixtures.vectors.vector(name)
        let cipher = MessageCipher(key: try EncodingAESKey(v.encoding_aes_key), appID: v.appid)
        let encrypted = try cipher.encrypt(utf8(v.plaintext_xml), randomPrefix: utf8(v.random_prefix_ascii))
        #expect(encrypted == v.encrypt_base64)
        #expect(Signature.compute([v.token, v.timestamp, v.nonce, encrypted]) == v.msg_signature)
        // The padding the vector names (1, 9, 12, 20 or a whole block of 32) is what was applied.
        let total = 16 + 4 + v.plaintext_utf8_byte_length + v.appid.utf8.count
        #expect(32 - total % 32 == v.pkcs7_pad_bytes)
    }

    @Test("reply vectors: our writer and sealer reproduce the whole envelope byte for byte",
          arguments: Fixtures.vectors.crypto_vectors.filter { $0.direction == "reply" }.map(\.name))
    func replyEnvelope(name: String) throws {
        let v = Fixtures.vectors.vector(name)
        let reply = try Reply(xml: utf8(v.plaintext_xml))
        #expect(reply.xml() == utf8(v.plaintext_xml), "our XML writer must produce the vector's plaintext exactly")
        let endpoint = try WeChatEndpoint(configuration(v))
        let opened = OpenedMessage(message: InboundMessage(toUserName: reply.fromUserName, fromUserName: reply.toUserName,
                                                           createTime: 0, content: .text(.init(content: "-"))),
                                   mode: .secure, key: .current, timestamp: v.timestamp, nonce: v.nonce)
        let sealed = try endpoint.seal(.reply(reply), for: opened, timestamp: Int64(v.timestamp)!, nonce: v.nonce,
                                       randomPrefix: utf8(v.random_prefix_ascii))
        #expect(String(decoding: sealed, as: UTF8.self) == v.envelope_xml)
        // And WeChat's side reads it back.
        let platform = try WeChatPlatform(configuration(v))
        #expect(try platform.readResponse(sealed, mode: .secure) == .reply(reply))
    }

    @Test("inbound vectors: the endpoint verifies, decrypts and decodes the envelope",
          arguments: Fixtures.vectors.crypto_vectors.filter { $0.direction == "inbound" }.map(\.name))
    func inboundEnvelope(name: String) throws {
        let v = Fixtures.vectors.vector(name)
        let endpoint = try WeChatEndpoint(configuration(v))
        let query = try SignedQuery(v.query!)
        let opened = try endpoint.open(utf8(v.envelope_xml), query: query, now: Int64(v.timestamp)!)
        #expect(opened.mode == .secure)
        #expect(opened.key == .current)
        #expect(opened.message == (try InboundMessage(xml: utf8(v.plaintext_xml))))
        if let compat = v.compat_mode_envelope_xml {
            let openedCompat = try endpoint.open(utf8(compat), query: query, now: Int64(v.timestamp)!)
            #expect(openedCompat.mode == .compatible)
            #expect(openedCompat.message == opened.message)
        }
    }

    @Test("the inbound files in the vectors folder are the vectors' envelopes")
    func envelopeFiles() throws {
        let inbound = Fixtures.vectors.vector("inbound-ascii-text")
        #expect(String(decoding: Fixtures.bytes("encrypted-inbound-ascii-text.xml"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines) == inbound.envelope_xml)
        let reply = Fixtures.vectors.vector("reply-chinese-text")
        #expect(String(decoding: Fixtures.bytes("encrypted-reply-chinese-text.xml"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines) == reply.envelope_xml)
    }

    // MARK: Official samples

    @Test("official OA Java sample: non-canonical key, fixed random 'aaaabbbbccccdddd'", arguments: ["oa-java-sample-aes-1", "oa-java-sample-aes-2"])
    func officialJava(name: String) throws {
        let v = Fixtures.vectors.official(name)
        let cipher = MessageCipher(key: try EncodingAESKey(v.encoding_aes_key), appID: v.appid!)
        #expect(try cipher.encrypt(utf8(v.plaintext!), randomPrefix: utf8(v.random_prefix_ascii!)) == v.encrypt_base64)
        #expect(try cipher.decrypt(v.encrypt_base64!) == utf8(v.plaintext!))
        if let signature = v.msg_signature_computed {
            #expect(Signature.compute([v.token, v.timestamp!, v.nonce!, v.encrypt_base64!]) == signature)
        }
    }

    @Test("official OA Python sample: a compatible-mode push opens")
    func officialPythonCompat() throws {
        let v = Fixtures.vectors.official("oa-python-sample-compat-inbound")
        let endpoint = try WeChatEndpoint(WeChatConfiguration(token: v.token, appID: v.appid, aesKey: try EncodingAESKey(v.encoding_aes_key), timestampToleranceSeconds: nil))
        let query = SignedQuery(signature: v.signature_computed!, timestamp: v.timestamp!, nonce: v.nonce!,
                                encryptType: "aes", msgSignature: v.msg_signature!)
        let opened = try endpoint.open(utf8(v.envelope_xml!), query: query, now: 0)
        #expect(opened.mode == .compatible)
        #expect(opened.message == (try InboundMessage(xml: utf8(v.decrypted_plaintext!))))
        #expect(opened.message.content == .text(.init(content: "abcdteT")))
        #expect(opened.message.msgId == 6_054_768_590_064_713_728)
    }

    @Test("official WeCom sample: same cipher with a CorpID as receive id")
    func officialWeCom() throws {
        let decrypt = Fixtures.vectors.official("wecom-sample-decrypt")
        let cipher = MessageCipher(key: try EncodingAESKey(decrypt.encoding_aes_key), appID: decrypt.receive_id!)
        let envelope = try XMLReader().parse(utf8(decrypt.envelope_xml!))
        let encrypted = envelope.text(of: "Encrypt")!
        #expect(Signature.compute([decrypt.token, decrypt.timestamp!, decrypt.nonce!, encrypted]) == decrypt.msg_signature)
        #expect(try cipher.decrypt(encrypted) == utf8(decrypt.decrypted_plaintext!))

        let verify = Fixtures.vectors.official("wecom-sample-verifyurl")
        #expect(Signature.compute([verify.token, verify.timestamp!, verify.nonce!, verify.echostr!]) == verify.msg_signature)
        #expect(try cipher.decrypt(verify.echostr!) == utf8(verify.decrypted_echostr!))
    }

    // MARK: Negative vectors

    @Test("negative vector: bad msg_signature → −40001")
    func badMsgSignature() throws {
        let n = Fixtures.vectors.negative_vectors.first { $0.name == "bad-msg_signature" }!
        let v = Fixtures.vectors.vector(n.based_on)
        var query = try SignedQuery(v.query!)
        query.msgSignature = n.msg_signature
        let endpoint = try WeChatEndpoint(configuration(v))
        let error = #expect(throws: WeChatError.self) { try endpoint.open(utf8(v.envelope_xml), query: query, now: 0) }
        #expect(error == .signatureMismatch(.msgSignature))
        #expect(error?.code == -40001)
    }

    @Test("negative vector: wrong AppID → −40005")
    func wrongAppID() throws {
        let n = Fixtures.vectors.negative_vectors.first { $0.name == "wrong-appid" }!
        let v = Fixtures.vectors.vector(n.based_on)
        var config = try configuration(v)
        config.appID = n.configured_appid
        let endpoint = try WeChatEndpoint(config)
        let error = #expect(throws: WeChatError.self) { try endpoint.open(utf8(v.envelope_xml), query: try SignedQuery(v.query!), now: 0) }
        #expect(error == .appIDMismatch(expected: n.configured_appid!, found: v.appid))
        #expect(error?.code == -40005)
    }

    @Test("negative vector: tampered timestamp → msg_signature no longer matches (−40001)")
    func tamperedTimestamp() throws {
        let n = Fixtures.vectors.negative_vectors.first { $0.name == "tampered-timestamp" }!
        let v = Fixtures.vectors.vector(n.based_on)
        var query = try SignedQuery(v.query!)
        query.timestamp = n.timestamp!
        let endpoint = try WeChatEndpoint(configuration(v))
        // With only the timestamp changed, the plain signature is the first check to fail …
        #expect(throws: WeChatError.signatureMismatch(.signature)) { try endpoint.open(utf8(v.envelope_xml), query: query, now: 0) }
        // … and with `signature` re-signed by someone who knows the token, msg_signature still fails.
        query.signature = Signature.compute([v.token, n.timestamp!, v.nonce])
        #expect(throws: WeChatError.signatureMismatch(.msgSignature)) { try endpoint.open(utf8(v.envelope_xml), query: query, now: 0) }
    }
}
