import Crypto
import Foundation
import Synchronization
import KefuTestSupport
import Testing
import _CryptoExtras
@testable import KefuWeChat

/// Every input under Fuzz/regressions/{FuzzXML,FuzzEnvelope,FuzzSecure}/ (what the fuzzers found, and
/// hand-made hostile inputs), fed to the same entry points as the fuzz targets in Fuzz/Sources. Each
/// must return or throw a ``WeChatError`` with a message, and finish within a budget counted in
/// iterations of a reference task (decoding the plain text-message fixture), not in seconds.
@Suite("Fuzz regressions: XML, envelope, secure mode")
struct WeChatFuzzRegressionTests {
    // The fuzz targets' account (Fuzz/Sources/FuzzSupport): the inbound vectors' token, AppID and key.
    static let token = "SwiftBotToken2024", appID = "wx3f2a1b4c5d6e7f80", timestamp = "1718000000", nonce = "1830464542"
    static let key = try! EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
    static let endpoint = try! WeChatEndpoint(
        WeChatConfiguration(token: token, appID: appID, aesKey: key, timestampToleranceSeconds: 300))
    static let plaintextQuery = SignedQuery(signature: Signature.compute([token, timestamp, nonce]), timestamp: timestamp, nonce: nonce)
    static func secureQuery(signing encrypted: String) -> SignedQuery {
        SignedQuery(signature: Signature.compute([token, timestamp, nonce]), timestamp: timestamp, nonce: nonce,
                    encryptType: "aes", msgSignature: Signature.compute([token, timestamp, nonce, encrypted]))
    }

    /// The costliest input here (15,000 sibling elements, 60 KB) takes about 2,300 references in a
    /// debug build; a hang exhausts any budget.
    static let budget = 100_000
    static let referenceMessage = Fixtures.bytes("inbound-text.xml")
    static func reference() { _ = try? InboundMessage(xml: referenceMessage) }

    // MARK: The entry points of the fuzz targets

    /// What went wrong in one run: empty if nothing did.
    typealias Problems = [String]

    /// FuzzXML: the reader, the typed decode, and writing a decoded message must be stable.
    static func xml(_ bytes: [UInt8]) -> Problems {
        var problems: Problems = []
        do { _ = try XMLReader().parse(bytes) } catch { problems += unclear(error) }
        let message: InboundMessage
        do { message = try InboundMessage(xml: bytes) } catch { return problems + unclear(error) }
        // As in FuzzXML: the writer drops what XML 1.0 cannot carry, which may change what the message is.
        guard !carriesUnwritable(message.fields) else { return problems }
        let written = message.xml()
        do {
            let again = try InboundMessage(xml: written).xml()
            if again != written { problems.append("writing is not stable:\n\(text(written))\n\(text(again))") }
        } catch {
            problems.append("the message as written does not decode: \(error)\n\(text(written))")
        }
        return problems
    }

    static func carriesUnwritable(_ tree: XMLTree) -> Bool {
        func unwritable(_ text: String) -> Bool {
            text.unicodeScalars.contains { ($0.value < 0x20 && $0.value != 0x09 && $0.value != 0x0A && $0.value != 0x0D) || $0.value == 0xFFFE || $0.value == 0xFFFF }
        }
        return unwritable(tree.name) || unwritable(tree.text) || tree.children.contains(where: carriesUnwritable)
    }

    /// FuzzEnvelope: the input as the body, plaintext query, then secure query signing its `<Encrypt>`.
    static func envelope(_ body: [UInt8]) -> Problems {
        let encrypted = (try? XMLReader().parse(body))?.text(of: "Encrypt") ?? ""
        return open(body, query: plaintextQuery) + open(body, query: secureQuery(signing: encrypted))
    }

    /// FuzzSecure: byte 0 picks the rest as the `<Encrypt>` text, the ciphertext, or the padded plaintext.
    static func secure(_ input: [UInt8]) -> Problems {
        guard let mode = input.first else { return [] }
        let rest = Array(input.dropFirst())
        let encrypted: String
        switch mode % 3 {
        case 0: encrypted = String(decoding: rest, as: UTF8.self)
        case 1: encrypted = Data(rest).base64EncodedString()
        default:
            let blocks = Array(rest[0..<(rest.count / 32 * 32)])
            let cipher = try! AES._CBC.encrypt(blocks, using: SymmetricKey(data: key.keyBytes),
                                               iv: AES._CBC.IV(ivBytes: key.iv), noPadding: true)
            encrypted = Data(cipher).base64EncodedString()
        }
        guard !encrypted.contains("]]>") else { return [] }
        let body = Array("<xml><ToUserName><![CDATA[gh_5d2b8e4c1a7f]]></ToUserName><Encrypt><![CDATA[\(encrypted)]]></Encrypt></xml>".utf8)
        return open(body, query: secureQuery(signing: encrypted))
    }

    static func open(_ body: [UInt8], query: SignedQuery) -> Problems {
        do {
            let opened = try endpoint.open(body, query: query, now: 1_718_000_000)
            _ = opened.message.xml()
            return []
        } catch {
            return unclear(error)
        }
    }

    /// A clear error says what is wrong in a line or so.
    static func unclear(_ error: WeChatError) -> Problems {
        let message = error.description
        return message.isEmpty ? ["\(error) has an empty description"] : []
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes.prefix(2000), as: UTF8.self) }

    // MARK: The tests

    @Test("every FuzzXML regression input returns or throws a clear error, within budget")
    func xmlInputs() throws { try replay("FuzzXML", Self.xml) }

    @Test("every FuzzEnvelope regression input returns or throws a clear error, within budget")
    func envelopeInputs() throws { try replay("FuzzEnvelope", Self.envelope) }

    @Test("every FuzzSecure regression input returns or throws a clear error, within budget")
    func secureInputs() throws { try replay("FuzzSecure", Self.secure) }

    func replay(_ target: String, _ entry: @escaping @Sendable ([UInt8]) -> Problems) throws {
        let inputs = try RegressionInputs.files(target)
        #expect(inputs.count >= 10, "Fuzz/regressions/\(target)/ should hold the hand-made inputs at least")
        for (name, bytes) in inputs {
            let outcome = RegressionInputs.run(budget: Self.budget, reference: Self.reference) { entry(bytes) }
            switch outcome {
            case .overBudget:
                Issue.record("\(target)/\(name): not done after \(Self.budget) reference decodes (a hang, or work far beyond linear)")
            case .finished(let problems, _):
                for problem in problems { Issue.record("\(target)/\(name): \(problem)") }
            }
        }
    }

    @Test("the budget catches work that does not finish")
    func budgetCatchesAHang() {
        let stop = RegressionInputs.Slot<Bool>()
        let outcome = RegressionInputs.run(budget: 1_000, reference: Self.reference) { () -> Problems in
            while !stop.done.load(ordering: .relaxed) {}
            return []
        }
        stop.done.store(true, ordering: .relaxed)
        if case .finished = outcome { Issue.record("a spinning task was reported as finished") }
    }

    // MARK: What the hand-made inputs must give

    @Test("hostile XML is refused with the specific error")
    func hostileXML() throws {
        func error(_ name: String) throws -> WeChatError? {
            let bytes = try #require(RegressionInputs.files("FuzzXML").first { $0.name == name }?.bytes, "missing \(name)")
            do { _ = try XMLReader().parse(bytes); return nil } catch { return error }
        }
        #expect(try error("hand-deep-nesting.xml") == .nestingTooDeep(limit: XMLReader.defaultMaxDepth))
        #expect(try error("hand-deep-nesting-closed.xml") == .nestingTooDeep(limit: XMLReader.defaultMaxDepth))
        #expect(try error("hand-nesting-at-limit.xml") == nil)
        #expect(try error("hand-many-attributes.xml") == nil)
        #expect(try error("hand-many-siblings.xml") == nil)
        #expect(try error("hand-billion-laughs.xml") == .doctypeRefused(offset: 21))
        #expect(try error("hand-xxe.xml") == .doctypeRefused(offset: 0))
        #expect(try error("hand-over-size-limit.xml").map { if case .bodyTooLarge = $0 { true } else { false } } == true)
        #expect(try error("hand-invalid-utf8-truncated-end.xml") == .invalidUTF8(offset: 11))
        for name in ["hand-invalid-utf8-overlong.xml", "hand-invalid-utf8-surrogate.xml", "hand-invalid-utf8-above-max.xml"] {
            #expect(try error(name).map { if case .invalidUTF8 = $0 { true } else { false } } == true, "\(name)")
        }
        for name in ["hand-truncated-cdata.xml", "hand-truncated-cdata-close.xml", "hand-unterminated-comment.xml",
                     "hand-unterminated-decl.xml", "hand-mismatched-close.xml", "hand-empty.xml", "hand-char-refs.xml"] {
            #expect(try error(name).map { if case .malformedXML = $0 { true } else { false } } == true, "\(name)")
        }
        #expect(try error("hand-processing-instruction.xml") == .processingInstructionRefused(target: "php", offset: 0))
    }

    @Test("a carriage return survives writing and reading (found by FuzzXML)")
    func carriageReturn() throws {
        var w = XMLWriter()
        w.cdata("Content", "a\rb\r\nc]]>\r")
        let tree = try XMLReader().parse(w.bytes)
        #expect(tree.text == "a\rb\r\nc]]>\r")
    }

    @Test("a message of unknown type is written with one MsgId (found by FuzzXML)")
    func unknownTypeMsgId() throws {
        let xml = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
            + "<MsgType>newtype</MsgType><Extra>x</Extra><MsgId>42</MsgId></xml>"
        let written = String(decoding: try InboundMessage(xml: Array(xml.utf8)).xml(), as: UTF8.self)
        #expect(written.components(separatedBy: "<MsgId>").count == 2, "\(written)")
        #expect(written.contains("<Extra><![CDATA[x]]></Extra>"))
    }

    @Test("broken base64, padding, length and AppID each get their own error")
    func hostileSecure() throws {
        func error(_ name: String) throws -> WeChatError? {
            let input = try #require(RegressionInputs.files("FuzzSecure").first { $0.name == name }?.bytes, "missing \(name)")
            let rest = Array(input.dropFirst())
            let encrypted: String
            if input[0] % 3 == 0 {
                encrypted = String(decoding: rest, as: UTF8.self)
            } else {
                let cipher = try AES._CBC.encrypt(Array(rest[0..<(rest.count / 32 * 32)]), using: SymmetricKey(data: Self.key.keyBytes),
                                                  iv: AES._CBC.IV(ivBytes: Self.key.iv), noPadding: true)
                encrypted = Data(cipher).base64EncodedString()
            }
            let body = Array("<xml><Encrypt><![CDATA[\(encrypted)]]></Encrypt></xml>".utf8)
            do { _ = try Self.endpoint.open(body, query: Self.secureQuery(signing: encrypted), now: 1_718_000_000); return nil } catch { return error }
        }
        func kind(_ e: WeChatError?) -> String { e.map { Mirror(reflecting: $0).children.first?.label ?? "\($0)" } ?? "none" }
        #expect(kind(try error("hand-text-bad-padding")) == "invalidBase64")
        #expect(kind(try error("hand-text-non-ascii")) == "invalidBase64")
        #expect(kind(try error("hand-length-huge")) == "malformedDecryptedMessage")
        #expect(kind(try error("hand-length-zero")) == "appIDMismatch")
        #expect(kind(try error("hand-pad-zero")) == "invalidPadding")
        #expect(kind(try error("hand-pad-33")) == "invalidPadding")
        #expect(kind(try error("hand-appid-longer")) == "appIDMismatch")
        #expect(kind(try error("hand-appid-empty")) == "appIDMismatch")
        #expect(kind(try error("hand-appid-invalid-utf8")) == "appIDMismatch")
        #expect(kind(try error("hand-short-content")) == "malformedDecryptedMessage")
        #expect(try error("hand-inner-doctype") == .doctypeRefused(offset: 0))
    }
}
