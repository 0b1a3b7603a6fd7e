/// The encrypted reply envelope, laid out exactly as the official WXBizMsgCrypt samples write it
/// (one element per line), so that published vectors are reproduced byte for byte.
public enum SecureEnvelope {
    static func reply(encrypted: String, token: String, timestamp: Int64, nonce: String) -> [UInt8] {
        let signature = Signature.compute([token, String(timestamp), nonce, encrypted])
        var w = XMLWriter(capacity: encrypted.utf8.count + 200)
        w.open("xml"); w.newline()
        w.cdata("Encrypt", encrypted); w.newline()
        w.cdata("MsgSignature", signature); w.newline()
        w.integer("TimeStamp", timestamp); w.newline()
        w.cdata("Nonce", nonce); w.newline()
        w.close("xml")
        return w.bytes
    }
}
