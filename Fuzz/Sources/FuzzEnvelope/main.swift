import FuzzSupport
import KefuWeChat

/// (b1) `WeChatEndpoint.open` on the input as the POST body, with correctly signed queries: once in
/// plaintext mode, once in secure mode with a `msg_signature` over whatever `<Encrypt>` the body
/// holds (so a body with a well-formed envelope goes on to base64, decryption and the AppID check).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeBufferPointer(start: data, count: size)
    openAndDescribe(body, query: Account.plaintextQuery)
    let encrypted = (try? XMLReader().parse(body))?.text(of: "Encrypt") ?? ""
    openAndDescribe(body, query: Account.secureQuery(signing: encrypted))
    return 0
}
