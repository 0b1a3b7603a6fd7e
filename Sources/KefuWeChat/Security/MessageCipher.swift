import Crypto
import _CryptoExtras

/// Secure-mode encryption of one message (消息加解密), as the official WXBizMsgCrypt samples do it:
///
///     plaintext = random(16) ‖ uint32_be(byte length of msg) ‖ msg ‖ AppID
///     Encrypt   = base64(AES-256-CBC(key, iv = key[0..<16], PKCS#7 padded to a multiple of 32))
///
/// The padding block is 32 bytes, not AES's 16: pad values 17…32 are normal. swift-crypto is asked
/// for no padding and the 32-byte PKCS#7 is done here.
public struct MessageCipher: Sendable {
    public let key: EncodingAESKey
    public let appID: String

    public init(key: EncodingAESKey, appID: String) {
        self.key = key
        self.appID = appID
    }

    /// Encrypts `message` (the reply XML). `randomPrefix` must be 16 bytes; tests pass a fixed one to
    /// reproduce published vectors, everything else lets it default to fresh random letters and digits.
    public func encrypt(_ message: some Collection<UInt8>, randomPrefix: [UInt8]? = nil) throws(WeChatError) -> String {
        let prefix = randomPrefix ?? MessageCipher.randomPrefix()
        guard prefix.count == 16 else { throw .encryptionFailed("the random prefix must be 16 bytes, not \(prefix.count)") }
        var plain = prefix
        let length = UInt32(message.count)
        plain.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        plain.append(contentsOf: message)
        plain.append(contentsOf: appID.utf8)
        let pad = 32 - plain.count % 32  // 1…32: an aligned buffer gets a whole block of 0x20
        plain.append(contentsOf: repeatElement(UInt8(pad), count: pad))
        do {
            let cipher = try AES._CBC.encrypt(plain, using: SymmetricKey(data: key.keyBytes),
                                              iv: AES._CBC.IV(ivBytes: key.iv), noPadding: true)
            return Base64.encode(cipher)
        } catch {
            throw .encryptionFailed("\(error)")
        }
    }

    /// Decrypts the text of `<Encrypt>` and returns the message bytes after checking padding,
    /// length and AppID.
    public func decrypt(_ encrypted: String) throws(WeChatError) -> [UInt8] {
        let cipher: [UInt8]
        switch Base64.decode(encrypted) {
        case .success(let bytes): cipher = bytes
        case .failure(let failure): throw .invalidBase64(offset: failure.offset)
        }
        guard !cipher.isEmpty, cipher.count % 32 == 0 else {
            throw .decryptionFailed("the ciphertext is \(cipher.count) bytes, not a positive multiple of 32")
        }
        let plain: [UInt8]
        do {
            plain = Array(try AES._CBC.decrypt(cipher, using: SymmetricKey(data: key.keyBytes),
                                               iv: AES._CBC.IV(ivBytes: key.iv), noPadding: true))
        } catch {
            throw .decryptionFailed("\(error)")
        }
        let pad = Int(plain[plain.count - 1])
        guard (1...32).contains(pad) else { throw .invalidPadding("the last byte is \(pad); it must be 1 to 32") }
        // Checking all pad bytes cannot leak anything useful: nothing is secret in a padding
        // failure that the signature check before it has not already bound to the sender.
        guard plain[(plain.count - pad)...].allSatisfy({ Int($0) == pad }) else {
            throw .invalidPadding("the last \(pad) bytes are not all \(pad)")
        }
        let content = plain[..<(plain.count - pad)]
        guard content.count >= 20 else {
            throw .malformedDecryptedMessage("\(content.count) bytes is too short for the random prefix and the length field")
        }
        let base = content.startIndex
        let length = Int(content[base + 16]) << 24 | Int(content[base + 17]) << 16 | Int(content[base + 18]) << 8 | Int(content[base + 19])
        guard length <= content.count - 20 else {
            throw .malformedDecryptedMessage("the length field says \(length) bytes but only \(content.count - 20) follow")
        }
        let messageEnd = base + 20 + length
        let trailing = content[messageEnd...]
        guard constantTimeEquals(trailing, Array(appID.utf8)) else {
            throw .appIDMismatch(expected: appID, found: String(decoding: trailing, as: UTF8.self))
        }
        return Array(content[(base + 20)..<messageEnd])
    }

    /// 16 random characters from [A-Za-z0-9], as the official samples draw them. Two draws of the
    /// system generator (one system call each) instead of sixteen; the slight modulo bias does not
    /// matter for a prefix whose only job is to make the first cipher block unpredictable.
    static func randomPrefix() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next(), low = generator.next()
        return (0..<16).map { i in
            let byte = UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (UInt64(i % 8) * 8))
            return prefixAlphabet[Int(byte) % prefixAlphabet.count]
        }
    }

    private static let prefixAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
}
