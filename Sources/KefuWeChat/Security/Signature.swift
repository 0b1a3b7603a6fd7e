import Crypto

/// WeChat's request signatures: lowercase hex SHA-1 of the parts sorted byte-wise and joined
/// with no separator.
///
/// - `signature` = SHA1(sort(token, timestamp, nonce)) — URL verification and every push.
/// - `msg_signature` = SHA1(sort(token, timestamp, nonce, Encrypt)) — secure and compatible mode,
///   over the exact text of `<Encrypt>`.
public enum Signature {
    /// The signature of `parts` as WeChat computes it.
    public static func compute(_ parts: [String]) -> String {
        let sorted = parts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var hasher = Insecure.SHA1()
        for part in sorted { hasher.update(data: part) }
        return hex(hasher.finalize())
    }

    /// Whether `candidate` (as received, any case) is the signature of `parts`, compared in constant time.
    public static func isValid(_ candidate: String, for parts: [String]) -> Bool {
        let expected = Array(compute(parts).utf8)
        let received = candidate.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }  // ASCII lowercase
        return constantTimeEquals(expected, received)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
