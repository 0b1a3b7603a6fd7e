import Crypto
import Foundation
import KefuWeChat
import _CryptoExtras

/// The account every WeChat target talks to: the inbound vectors' token, AppID and EncodingAESKey
/// (Tests/KefuWeChatTests/Fixtures/vectors/crypto-vectors.json), so that the fixtures are valid seeds.
public enum Account {
    public static let token = "SwiftBotToken2024"
    public static let appID = "wx3f2a1b4c5d6e7f80"
    public static let encodingAESKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    public static let timestamp = "1718000000"
    public static let nonce = "1830464542"
    public static let now: Int64 = 1_718_000_000

    public static let key: EncodingAESKey = try! EncodingAESKey(encodingAESKey)

    /// Secure mode on, a freshness window on (the request's timestamp is `now`), the default body limit.
    public static let endpoint: WeChatEndpoint = try! WeChatEndpoint(
        WeChatConfiguration(token: token, appID: appID, aesKey: key, timestampToleranceSeconds: 300))

    /// The query of a plaintext push, correctly signed.
    public static let plaintextQuery = SignedQuery(
        signature: Signature.compute([token, timestamp, nonce]), timestamp: timestamp, nonce: nonce)

    /// The query of a secure-mode push whose `msg_signature` signs `encrypted`.
    public static func secureQuery(signing encrypted: String) -> SignedQuery {
        SignedQuery(signature: Signature.compute([token, timestamp, nonce]), timestamp: timestamp, nonce: nonce,
                    encryptType: "aes", msgSignature: Signature.compute([token, timestamp, nonce, encrypted]))
    }

    /// AES-256-CBC with the account's key and IV and no padding: `blocks.count` must be a multiple of 16.
    /// The fuzzer chooses the padded plaintext itself, so padding, length field and AppID are its to break.
    public static func encryptBlocks(_ blocks: some Collection<UInt8>) -> [UInt8] {
        let cipher = try! AES._CBC.encrypt(Array(blocks), using: SymmetricKey(data: key.keyBytes),
                                           iv: AES._CBC.IV(ivBytes: key.iv), noPadding: true)
        return Array(cipher)
    }

    /// An envelope as WeChat sends it in secure mode.
    public static func envelope(encrypted: String) -> [UInt8] {
        Array("<xml><ToUserName><![CDATA[gh_5d2b8e4c1a7f]]></ToUserName><Encrypt><![CDATA[\(encrypted)]]></Encrypt></xml>".utf8)
    }
}

/// Opens `body` as a push and, when it decodes, reads the error or message the way the server does
/// (its description is rendered, since that is what gets logged).
public func openAndDescribe(_ body: some Collection<UInt8>, query: SignedQuery) {
    do {
        let opened = try Account.endpoint.open(body, query: query, now: Account.now)
        _ = opened.message.xml()
    } catch {
        _ = error.description
    }
}

/// A file in a folder of its own, on tmpfs when there is one, created once per process and rewritten
/// for every input (the loaders read folders and files, not bytes).
public final class ScratchFile: @unchecked Sendable {
    public let folder: String
    public let path: String

    public init(target: String, name: String) {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        folder = "\(base)/kefu-fuzz-\(target)-\(getpid())"
        path = "\(folder)/\(name)"
        try? FileManager.default.removeItem(atPath: folder)
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        atexit_remove.append(folder)
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot write \(path)")
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            precondition(n > 0, "cannot write \(path)")
            offset += n
        }
        close(fd)
    }
}

nonisolated(unsafe) private var atexit_remove: [String] = {
    atexit {
        for folder in atexit_remove { try? FileManager.default.removeItem(atPath: folder) }
    }
    return []
}()
