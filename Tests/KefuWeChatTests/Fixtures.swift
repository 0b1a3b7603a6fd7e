import Foundation
@testable import KefuWeChat

/// Files under Tests/KefuWeChatTests/Fixtures, found relative to this source file so that tests
/// need no resource bundle.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) -> [UInt8] {
        let url = directory.appendingPathComponent("vectors").appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url) else { fatalError("missing fixture \(url.path)") }
        return Array(data)
    }

    static func files(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("vectors").path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".xml") }.sorted()
    }

    static let vectors: CryptoVectors = {
        let data = Data(bytes("crypto-vectors.json"))
        return try! JSONDecoder().decode(CryptoVectors.self, from: data)
    }()

    /// XML with the whitespace between elements removed (the fixtures are indented; we write compactly).
    static func compact(_ bytes: [UInt8]) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let compacted = text.replacingOccurrences(of: #">\s+<"#, with: "><", options: .regularExpression)
        return Array(compacted.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }
}

struct CryptoVectors: Decodable {
    struct URLVerification: Decodable {
        let name: String, token: String, timestamp: String, nonce: String, signature: String
        let echostr: String?, expected_response_body: String?, sorted_concat: String?
    }
    struct Vector: Decodable {
        let name: String, direction: String, token: String, encoding_aes_key: String, aes_key_hex: String, iv_hex: String
        let appid: String, timestamp: String, nonce: String, random_prefix_ascii: String, plaintext_xml: String
        let plaintext_utf8_byte_length: Int, pkcs7_pad_bytes: Int, encrypt_base64: String, msg_signature: String
        let envelope_xml: String, compat_mode_envelope_xml: String?, query: [String: String]?
    }
    struct Negative: Decodable {
        let name: String, based_on: String, msg_signature: String?, configured_appid: String?, timestamp: String?
    }
    struct Official: Decodable {
        let name: String, token: String, encoding_aes_key: String
        let appid: String?, receive_id: String?, random_prefix_ascii: String?, timestamp: String?, nonce: String?
        let plaintext: String?, encrypt_base64: String?, msg_signature_computed: String?, msg_signature: String?
        let signature_computed: String?, envelope_xml: String?, decrypted_plaintext: String?, echostr: String?, decrypted_echostr: String?
    }
    let url_verification: [URLVerification]
    let crypto_vectors: [Vector]
    let negative_vectors: [Negative]
    let official_sample_vectors: [Official]

    func vector(_ name: String) -> Vector { crypto_vectors.first { $0.name == name }! }
    func official(_ name: String) -> Official { official_sample_vectors.first { $0.name == name }! }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }
