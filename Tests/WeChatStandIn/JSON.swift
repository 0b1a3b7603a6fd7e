import Foundation
import ServerJSON

/// Whether a JSON body escapes a non-ASCII character as `\uXXXX`, which WeChat refuses with 40033.
/// Escapes are read in order, so `\\u4e2d` (an escaped backslash, then text) is not one.
func containsNonASCIIEscape(_ body: some Collection<UInt8>) -> Bool {
    let bytes = Array(body)
    var i = 0
    while i < bytes.count {
        guard bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count else { i += 1; continue }
        if bytes[i + 1] == UInt8(ascii: "u"), i + 6 <= bytes.count,
           let value = UInt32(String(decoding: bytes[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16), value >= 0x80 {
            return true
        }
        i += 2
    }
    return false
}
