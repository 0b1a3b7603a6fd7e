/// WeChat's side of the protocol: signs (and encrypts) pushes the way the platform does, and
/// reads replies the way the platform would, rejecting what it would reject.
///
/// For tools and tests that stand in for WeChat: `kefu chat --wire`, `kefu test --wire`, the
/// benchmarks. Not used by the server.
public struct WeChatPlatform: Sendable {
    public let configuration: WeChatConfiguration
    let endpoint: WeChatEndpoint

    public init(_ configuration: WeChatConfiguration) throws(WeChatError) {
        self.configuration = configuration
        endpoint = try WeChatEndpoint(configuration)
    }

    /// The GET query of URL verification.
    public func urlVerification(echostr: String, timestamp: Int64, nonce: String) -> SignedQuery {
        let ts = String(timestamp)
        return SignedQuery(signature: Signature.compute([configuration.token, ts, nonce]), timestamp: ts, nonce: nonce, echostr: echostr)
    }

    /// A signed push of `message` in `mode`, encrypted with the current key (or `key`).
    public func push(_ message: InboundMessage, mode: SecurityMode, timestamp: Int64, nonce: String,
                     key: KeySlot = .current, randomPrefix: [UInt8]? = nil) throws(WeChatError) -> (query: SignedQuery, body: [UInt8]) {
        let ts = String(timestamp)
        var query = SignedQuery(signature: Signature.compute([configuration.token, ts, nonce]), timestamp: ts, nonce: nonce,
                                openid: message.fromUserName)
        let plaintext = message.xml()
        guard mode != .plaintext else { return (query, plaintext) }
        guard let cipher = endpoint.ciphers.first(where: { $0.0 == key })?.1 else { throw .encryptionNotConfigured }
        let encrypted = try cipher.encrypt(plaintext, randomPrefix: randomPrefix)
        query.encryptType = "aes"
        query.msgSignature = Signature.compute([configuration.token, ts, nonce, encrypted])
        var w = XMLWriter()
        if mode == .compatible {
            // The plaintext fields, then <Encrypt>, inside one <xml>.
            w = XMLWriter(capacity: plaintext.count + encrypted.utf8.count + 64)
            w.open("xml")
            w.appendRaw(plaintext[5..<(plaintext.count - 6)])  // between the "<xml>" and "</xml>" we wrote
            w.cdata("Encrypt", encrypted)
            w.close("xml")
        } else {
            w.open("xml")
            w.cdata("ToUserName", message.toUserName)
            w.cdata("Encrypt", encrypted)
            w.close("xml")
        }
        return (query, w.bytes)
    }

    /// Reads a response body as WeChat would for a push sent in `mode`: `success` and the empty body
    /// are acknowledgements; in secure and compatible mode an XML reply must be an envelope whose
    /// `MsgSignature` is valid and whose content decrypts (with either key) to a reply for our AppID.
    /// Compatible mode also accepts a plaintext reply; secure mode does not.
    public func readResponse(_ body: [UInt8], mode: SecurityMode) throws(WeChatError) -> PassiveResponse {
        if body.isEmpty { return .empty }
        if body == Array("success".utf8) { return .success }
        let reader = XMLReader(maxBytes: configuration.maxBodyBytes)
        guard mode != .plaintext else { return .reply(try Reply(xml: body, reader: reader)) }
        let envelope = try reader.parse(body)
        guard let encrypted = envelope.text(of: "Encrypt") else {
            if mode == .compatible { return .reply(try Reply(tree: envelope)) }
            throw .missingField(element: "Encrypt", msgType: "encrypted reply")
        }
        guard let signature = envelope.text(of: "MsgSignature") else { throw .missingField(element: "MsgSignature", msgType: "encrypted reply") }
        guard let timestamp = envelope.text(of: "TimeStamp") else { throw .missingField(element: "TimeStamp", msgType: "encrypted reply") }
        guard let nonce = envelope.text(of: "Nonce") else { throw .missingField(element: "Nonce", msgType: "encrypted reply") }
        guard Signature.isValid(signature, for: [configuration.token, timestamp, nonce, encrypted]) else {
            throw .signatureMismatch(.msgSignature)
        }
        let (plaintext, _) = try endpoint.decrypt(encrypted)
        return .reply(try Reply(xml: plaintext, reader: reader))
    }
}
