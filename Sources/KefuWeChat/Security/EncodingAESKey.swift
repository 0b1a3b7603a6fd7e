/// The AES-256 key of secure mode, derived from the console's 43-character EncodingAESKey:
/// key = base64decode(EncodingAESKey + "="), IV = the key's first 16 bytes.
///
/// The key bytes never appear in ``description`` (so they never reach a log).
public struct EncodingAESKey: Sendable, Equatable, CustomStringConvertible {
    public let keyBytes: [UInt8]
    public var iv: ArraySlice<UInt8> { keyBytes[0..<16] }

    /// Parses the EncodingAESKey as shown in the WeChat console.
    public init(_ encodingAESKey: String) throws(WeChatError) {
        let count = encodingAESKey.utf8.count
        guard count == 43 else {
            throw .invalidAESKey("it has \(count) characters; it must have exactly 43 (copy it again from the console)")
        }
        let allowed: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        if let bad = encodingAESKey.unicodeScalars.first(where: { !allowed($0) }) {
            throw .invalidAESKey("it contains '\(bad)'; only letters and digits are allowed")
        }
        guard case .success(let bytes) = Base64.decode(encodingAESKey + "="), bytes.count == 32 else {
            throw .invalidAESKey("it does not decode to 32 bytes")
        }
        keyBytes = bytes
    }

    public var description: String { "EncodingAESKey(<redacted>)" }
}
