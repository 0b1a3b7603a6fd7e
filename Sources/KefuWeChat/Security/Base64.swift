/// Standard base64 (RFC 4648 alphabet, with `=` padding), written as a byte loop so that the
/// secure-mode path needs no Foundation.
///
/// Decoding is strict about the alphabet and padding but, like WeChat's own sample code, ignores
/// non-zero bits left over in the last character: the official sample EncodingAESKey
/// `…ABCDEFG` ends in such a character and must decode to 32 bytes.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ input: some Collection<UInt8>) -> String {
        let bytes = Array(input)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)]); out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `text`; returns the offset of the first offending character on failure.
    static func decode(_ text: some StringProtocol) -> Result<[UInt8], Base64Failure> {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return .failure(Base64Failure(offset: input.count)) }
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3)
        var i = 0
        while i < input.count {
            var quad: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let c = input[i + k]
                if c == UInt8(ascii: "="), i + 4 == input.count, k >= 2 {
                    // '=' only at the end, and once '=' starts, nothing else may follow.
                    if k == 2, input[i + 3] != UInt8(ascii: "=") { return .failure(Base64Failure(offset: i + 3)) }
                    padding += 1
                    quad <<= 6
                    continue
                }
                let v = decodeTable[Int(c)]
                guard v != 0xFF, padding == 0 else { return .failure(Base64Failure(offset: i + k)) }
                quad = quad << 6 | UInt32(v)
            }
            out.append(UInt8(quad >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(quad >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(quad & 0xFF)) }
            i += 4
        }
        return .success(out)
    }
}

struct Base64Failure: Error {
    let offset: Int
}
