import Foundation
import FuzzSupport
import KefuWeChat

/// (b2) The inside of a correctly signed secure-mode envelope. The first byte picks what the rest is:
///   0  the text of `<Encrypt>` as it is (base64 decoding, ciphertext length);
///   1  the ciphertext: it is base64-encoded by us (decryption of arbitrary blocks);
///   2  the padded plaintext: cut to whole 32-byte blocks and encrypted by us with the account's key,
///      so the fuzzer controls padding, the length field, the AppID and the message XML.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSecure(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let encrypted: String
    switch data[0] % 3 {
    case 0:
        encrypted = String(decoding: rest, as: UTF8.self)
    case 1:
        encrypted = Data(rest).base64EncodedString()
    default:
        let whole = rest.count / 32 * 32
        encrypted = Data(Account.encryptBlocks(rest[0..<whole])).base64EncodedString()
    }
    // The envelope is built around the text, which therefore must not close the CDATA section early.
    guard !encrypted.contains("]]>") else { return 0 }
    openAndDescribe(Account.envelope(encrypted: encrypted), query: Account.secureQuery(signing: encrypted))
    return 0
}
