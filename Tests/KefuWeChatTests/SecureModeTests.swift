import Crypto
import _CryptoExtras
import Testing
@testable import KefuWeChat

/// Secure and compatible mode beyond the vectors: key rotation, and one specific error per kind of damage.
@Suite("Secure mode: keys and damage")
struct SecureModeTests {
    static let oldKey = try! EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
    static let newKey = try! EncodingAESKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    static let appID = "wx3f2a1b4c5d6e7f80"
    static let token = "SwiftBotToken2024"

    static let message = InboundMessage(
        toUserName: "gh_5d2b8e4c1a7f", fromUserName: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", createTime: 1_718_000_000,
        msgId: 24_612_345_678_901_234, content: .text(.init(content: "我要退货 😀 <b>&amp;</b> ]]>")))

    func config(current: EncodingAESKey?, previous: EncodingAESKey? = nil) -> WeChatConfiguration {
        // Fixed timestamps far from today's clock: freshness is tested in SignatureTests.
        WeChatConfiguration(token: Self.token, appID: Self.appID, aesKey: current, previousAESKey: previous, timestampToleranceSeconds: nil,
                            accepted: current == nil && previous == nil ? nil : .compatible)
    }

    @Test("EncodingAESKey: length, alphabet; the key never appears in descriptions")
    func keyValidation() throws {
        #expect(throws: WeChatError.invalidAESKey("it has 42 characters; it must have exactly 43 (copy it again from the console)")) {
            try EncodingAESKey(String(repeating: "A", count: 42))
        }
        #expect(throws: WeChatError.self) { try EncodingAESKey(String(repeating: "A", count: 42) + "=") }
        #expect(throws: WeChatError.self) { try EncodingAESKey(String(repeating: "A", count: 42) + "+") }
        let error = #expect(throws: WeChatError.self) { try EncodingAESKey(String(repeating: "A", count: 44)) }
        #expect(error?.code == -40004)
        let key = try EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        #expect(!"\(key)".contains("AAEC"))
        let config = WeChatConfiguration(token: "SecretToken123", appID: "wx1", aesKey: key)
        #expect(!"\(config)".contains("SecretToken123"))
        #expect(!"\(config)".contains("AAEC"))
        #expect(throws: WeChatError.self) { try WeChatEndpoint(WeChatConfiguration(token: "t", aesKey: key)) }
    }

    @Test("after a key change: a push under the previous key is opened and answered with that key")
    func keyRotation() throws {
        let oldPlatform = try WeChatPlatform(config(current: Self.oldKey))
        let server = try WeChatEndpoint(config(current: Self.newKey, previous: Self.oldKey))
        for mode in [SecurityMode.secure, .compatible] {
            let (query, body) = try oldPlatform.push(Self.message, mode: mode, timestamp: 1_718_000_000, nonce: "42")
            let opened = try server.open(body, query: query, now: 1_718_000_000)
            #expect(opened.key == .previous)
            #expect(opened.mode == mode)
            #expect(opened.message.content == Self.message.content)
            let reply = try Reply.answering(opened.message, with: .text("已收到：我要退货"), at: 1_718_000_001)
            let sealed = try server.seal(.reply(reply), for: opened, timestamp: 1_718_000_001, nonce: "42")
            // A client that only knows the old key can read the reply: it was sealed with the old key.
            #expect(try oldPlatform.readResponse(sealed, mode: mode) == .reply(reply))
            let newOnly = try WeChatPlatform(config(current: Self.newKey))
            #expect(throws: WeChatError.self) { try newOnly.readResponse(sealed, mode: mode) }
        }
        // And a push under the new key uses the current one.
        let newPlatform = try WeChatPlatform(config(current: Self.newKey))
        let (query, body) = try newPlatform.push(Self.message, mode: .secure, timestamp: 1, nonce: "1")
        #expect(try server.open(body, query: query, now: 1).key == .current)
    }

    @Test("a key nobody configured: the current key's error is reported")
    func unknownKey() throws {
        let stranger = try WeChatPlatform(config(current: Self.newKey))
        let (query, body) = try stranger.push(Self.message, mode: .secure, timestamp: 1, nonce: "1")
        let server = try WeChatEndpoint(config(current: Self.oldKey))
        let error = #expect(throws: WeChatError.self) { try server.open(body, query: query, now: 1) }
        #expect(error?.code == -40007 || error?.code == -40008 || error?.code == -40005)
    }

    /// Encrypts raw bytes with no layout and no padding, to build damaged plaintexts.
    func rawEncrypt(_ plain: [UInt8], key: EncodingAESKey = oldKey) throws -> String {
        let data = try AES._CBC.encrypt(plain, using: SymmetricKey(data: key.keyBytes), iv: AES._CBC.IV(ivBytes: key.iv), noPadding: true)
        return Base64.encode(Array(data))
    }

    @Test("bad padding: a last byte of 0 or 33, or unequal pad bytes → invalidPadding (−40007)")
    func badPadding() throws {
        let cipher = MessageCipher(key: Self.oldKey, appID: Self.appID)
        var zero = [UInt8](repeating: 0x41, count: 64); zero[63] = 0
        #expect(throws: WeChatError.invalidPadding("the last byte is 0; it must be 1 to 32")) { try cipher.decrypt(rawEncrypt(zero)) }
        var big = [UInt8](repeating: 0x41, count: 64); big[63] = 33
        #expect(throws: WeChatError.invalidPadding("the last byte is 33; it must be 1 to 32")) { try cipher.decrypt(rawEncrypt(big)) }
        var uneven = [UInt8](repeating: 0x41, count: 64); uneven[63] = 3; uneven[62] = 3
        let error = #expect(throws: WeChatError.self) { try cipher.decrypt(rawEncrypt(uneven)) }
        #expect(error == .invalidPadding("the last 3 bytes are not all 3"))
        #expect(error?.code == -40007)
    }

    @Test("bad base64 → invalidBase64 (−40010) with the offending offset")
    func badBase64() throws {
        let cipher = MessageCipher(key: Self.oldKey, appID: Self.appID)
        #expect(throws: WeChatError.invalidBase64(offset: 2)) { try cipher.decrypt("AB*D") }
        #expect(throws: WeChatError.invalidBase64(offset: 5)) { try cipher.decrypt("ABCDE") }
        #expect(throws: WeChatError.invalidBase64(offset: 1)) { try cipher.decrypt("A=CD") }
        let error = #expect(throws: WeChatError.self) { try cipher.decrypt("AAAA AAA") }
        #expect(error?.code == -40010)
    }

    @Test("ciphertext not a whole number of 32-byte blocks → decryptionFailed (−40007)")
    func shortCiphertext() throws {
        let cipher = MessageCipher(key: Self.oldKey, appID: Self.appID)
        #expect(throws: WeChatError.decryptionFailed("the ciphertext is 16 bytes, not a positive multiple of 32")) {
            try cipher.decrypt(Base64.encode([UInt8](repeating: 1, count: 16)))
        }
        #expect(throws: WeChatError.decryptionFailed("the ciphertext is 0 bytes, not a positive multiple of 32")) { try cipher.decrypt("") }
    }

    @Test("tampered ciphertext: caught by msg_signature; re-signed, caught by the buffer layout (−40008)")
    func tamperedCiphertext() throws {
        let v = Fixtures.vectors.vector("inbound-ascii-text")
        var bytes = try Base64.decode(v.encrypt_base64).get()
        bytes[0] ^= 0x80  // flips bit 7 of plaintext byte 16: the top byte of the length field
        let tampered = Base64.encode(bytes)
        let envelope = v.envelope_xml.replacingOccurrences(of: v.encrypt_base64, with: tampered)
        let endpoint = try WeChatEndpoint(WeChatConfiguration(token: v.token, appID: v.appid, aesKey: try EncodingAESKey(v.encoding_aes_key), timestampToleranceSeconds: nil))
        var query = try SignedQuery(v.query!)
        #expect(throws: WeChatError.signatureMismatch(.msgSignature)) { try endpoint.open(utf8(envelope), query: query, now: 0) }
        query.msgSignature = Signature.compute([v.token, v.timestamp, v.nonce, tampered])
        let error = #expect(throws: WeChatError.self) { try endpoint.open(utf8(envelope), query: query, now: 0) }
        #expect(error == .malformedDecryptedMessage("the length field says 2147483918 bytes but only 288 follow"))
        #expect(error?.code == -40008)
    }

    @Test("with a key the default is secure-only: plaintext and a downgraded secure push are refused before the body is read")
    func secureByDefault() throws {
        let configuration = WeChatConfiguration(token: Self.token, appID: Self.appID, aesKey: Self.oldKey, timestampToleranceSeconds: nil)
        #expect(configuration.accepted == .secure)
        let server = try WeChatEndpoint(configuration)
        let platform = try WeChatPlatform(configuration)
        let (plainQuery, plainBody) = try platform.push(Self.message, mode: .plaintext, timestamp: 1, nonce: "1")
        let refused = WeChatError.modeRefused(received: .plaintext, accepted: .secure)
        #expect(throws: refused) { try server.open(plainBody, query: plainQuery, now: 1) }
        #expect(refused.description.contains("only encrypted pushes") && refused.code == -40001)
        // A captured secure push with encrypt_type and msg_signature removed: still signed, now "plaintext".
        let (secureQuery, secureBody) = try platform.push(Self.message, mode: .secure, timestamp: 1, nonce: "1")
        var downgraded = secureQuery
        downgraded.encryptType = nil
        downgraded.msgSignature = nil
        #expect(throws: refused) { try server.open(secureBody, query: downgraded, now: 1) }
        #expect(throws: refused) { try server.open(Array("<xml><garbage".utf8), query: downgraded, now: 1) }  // never parsed
        #expect(try server.open(secureBody, query: secureQuery, now: 1).mode == .secure)
        // Compatible mode reads the encrypted copy, never the plaintext fields beside it.
        let (compatQuery, compatBody) = try platform.push(Self.message, mode: .compatible, timestamp: 1, nonce: "1")
        var forged = String(decoding: compatBody, as: UTF8.self)
        forged = forged.replacingOccurrences(of: "我要退货", with: "人工")
        let opened = try server.open(Array(forged.utf8), query: compatQuery, now: 1)
        #expect(opened.mode == .compatible)
        #expect(opened.message.content == Self.message.content)
        // A plaintext-only server refuses encrypted pushes; accepting both is only by asking.
        let both = try WeChatEndpoint(WeChatConfiguration(token: Self.token, appID: Self.appID, aesKey: Self.oldKey,
                                                          timestampToleranceSeconds: nil, accepted: .compatible))
        #expect(try both.open(plainBody, query: plainQuery, now: 1).mode == .plaintext)
        #expect(throws: WeChatError.self) { try WeChatEndpoint(WeChatConfiguration(token: Self.token, accepted: .secure)) }
    }

    @Test("encrypt_type=aes without a configured key, without msg_signature, or an unknown encrypt_type")
    func modeErrors() throws {
        let platform = try WeChatPlatform(config(current: Self.oldKey))
        let (query, body) = try platform.push(Self.message, mode: .secure, timestamp: 1, nonce: "1")
        let plaintextOnly = try WeChatEndpoint(WeChatConfiguration(token: Self.token, timestampToleranceSeconds: nil))
        #expect(throws: WeChatError.modeRefused(received: .secure, accepted: .plaintext)) { try plaintextOnly.open(body, query: query, now: 1) }
        let server = try WeChatEndpoint(config(current: Self.oldKey))
        var unsigned = query
        unsigned.msgSignature = nil
        #expect(throws: WeChatError.missingQueryParameter("msg_signature")) { try server.open(body, query: unsigned, now: 1) }
        var odd = query
        odd.encryptType = "rsa"
        #expect(throws: WeChatError.invalidQueryParameter(name: "encrypt_type", value: "rsa")) { try server.open(body, query: odd, now: 1) }
        // An encrypted envelope without <Encrypt>.
        let noEncrypt = utf8("<xml><ToUserName><![CDATA[gh_5d2b8e4c1a7f]]></ToUserName></xml>")
        #expect(throws: WeChatError.missingField(element: "Encrypt", msgType: "encrypted envelope")) {
            try server.open(noEncrypt, query: query, now: 1)
        }
    }

    @Test("in secure mode a plaintext reply is refused by WeChat's side; in compatible mode it is accepted")
    func plaintextReplyInSecureMode() throws {
        let platform = try WeChatPlatform(config(current: Self.oldKey))
        let reply = Reply(toUserName: "o", fromUserName: "gh", createTime: 1, body: .text("hi"))
        #expect(throws: WeChatError.missingField(element: "Encrypt", msgType: "encrypted reply")) {
            try platform.readResponse(reply.xml(), mode: .secure)
        }
        #expect(try platform.readResponse(reply.xml(), mode: .compatible) == .reply(reply))
    }

    @Test("success and the empty answer are never encrypted")
    func acknowledgementsStayPlain() throws {
        let platform = try WeChatPlatform(config(current: Self.oldKey))
        let server = try WeChatEndpoint(config(current: Self.oldKey))
        let (query, body) = try platform.push(Self.message, mode: .secure, timestamp: 1, nonce: "1")
        let opened = try server.open(body, query: query, now: 1)
        #expect(try server.seal(.success, for: opened, timestamp: 1, nonce: "1") == utf8("success"))
        #expect(try server.seal(.empty, for: opened, timestamp: 1, nonce: "1") == [])
        #expect(try server.seal(.success, for: opened, timestamp: 1, nonce: "1") == Fixtures.bytes("reply-success.txt"))
        #expect(try server.seal(.empty, for: opened, timestamp: 1, nonce: "1") == Fixtures.bytes("reply-empty.txt"))
    }

    @Test("base64 round trip for every length 0…70")
    func base64RoundTrip() throws {
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (length + 2) / 3 * 4)
            #expect(try Base64.decode(text).get() == bytes)
        }
    }
}
