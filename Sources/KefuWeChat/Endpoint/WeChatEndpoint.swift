/// The server side of the protocol for one Official Account: verify a request, open a push,
/// seal the answer. Value type, immutable, safe to share across tasks.
///
///     let endpoint = try WeChatEndpoint(WeChatConfiguration(token: token, appID: appID, aesKey: key))
///     let opened = try endpoint.open(body, query: SignedQuery(queryParameters), now: now)
///     let reply = try Reply.answering(opened.message, with: .text("您好"), at: now)
///     let bytes = try endpoint.seal(.reply(reply), for: opened, timestamp: now, nonce: opened.nonce)
///
/// Checks run in a fixed order and stop at the first failure: `signature` (always), timestamp
/// freshness (300 s unless configured otherwise), the accepted modes, then for `encrypt_type=aes` the envelope, `msg_signature`, decryption
/// with the current and then the previous key, the AppID; finally the XML of the message itself.
/// The mode is decided per request from `encrypt_type`, as WeChat's FAQ asks, because the
/// console setting can change at any time.
public struct WeChatEndpoint: Sendable {
    public let configuration: WeChatConfiguration
    let reader: XMLReader
    let ciphers: [(KeySlot, MessageCipher)]

    public init(_ configuration: WeChatConfiguration) throws(WeChatError) {
        self.configuration = configuration
        reader = XMLReader(maxBytes: configuration.maxBodyBytes)
        var ciphers: [(KeySlot, MessageCipher)] = []
        if configuration.aesKey != nil || configuration.previousAESKey != nil {
            guard let appID = configuration.appID, !appID.isEmpty else {
                throw .invalidAESKey("an EncodingAESKey is set but the AppID is not; secure mode needs both")
            }
            if let key = configuration.aesKey { ciphers.append((.current, MessageCipher(key: key, appID: appID))) }
            if let key = configuration.previousAESKey { ciphers.append((.previous, MessageCipher(key: key, appID: appID))) }
        }
        guard configuration.accepted == .plaintext || !ciphers.isEmpty else {
            throw .invalidAESKey("mode \(configuration.accepted.rawValue) accepts encrypted pushes, but no EncodingAESKey is set")
        }
        self.ciphers = ciphers
    }

    /// URL verification (GET): returns `echostr`, to be sent back byte for byte, when the signature is ours.
    /// The same in all three modes for Official Accounts (`echostr` is never encrypted).
    public func verifyURL(_ query: SignedQuery, now: Int64) throws(WeChatError) -> String {
        try verifySignature(query, now: now)
        guard let echo = query.echostr else { throw .missingQueryParameter("echostr") }
        return echo
    }

    /// Checks and decodes one push (POST body and its query).
    public func open<Body: Collection>(_ body: Body, query: SignedQuery, now: Int64) throws(WeChatError) -> OpenedMessage
    where Body.Element == UInt8 {
        try verifySignature(query, now: now)
        switch query.encryptType {
        case nil, "raw":
            // Checked before the body is read: a secure-only server never parses a plaintext body.
            guard configuration.accepted.allows(.plaintext) else {
                throw .modeRefused(received: .plaintext, accepted: configuration.accepted)
            }
            let message = try InboundMessage(xml: body, reader: reader)
            return OpenedMessage(message: message, mode: .plaintext, key: nil, timestamp: query.timestamp, nonce: query.nonce, signature: query.signature)
        case "aes":
            guard configuration.accepted.allows(.secure) else {
                throw .modeRefused(received: .secure, accepted: configuration.accepted)
            }
            guard !ciphers.isEmpty else { throw .encryptionNotConfigured }
            guard let msgSignature = query.msgSignature, !msgSignature.isEmpty else { throw .missingQueryParameter("msg_signature") }
            let envelope = try reader.parse(body)
            guard envelope.name == "xml" else {
                throw .malformedXML(reason: "the root element is <\(envelope.name)>, expected <xml>", offset: 0)
            }
            guard let encrypted = envelope.text(of: "Encrypt") else {
                throw .missingField(element: "Encrypt", msgType: "encrypted envelope")
            }
            guard Signature.isValid(msgSignature, for: [configuration.token, query.timestamp, query.nonce, encrypted]) else {
                throw .signatureMismatch(.msgSignature)
            }
            let (plaintext, slot) = try decrypt(encrypted)
            let message = try InboundMessage(xml: plaintext, reader: reader)
            let mode: SecurityMode = envelope["MsgType"] == nil ? .secure : .compatible
            return OpenedMessage(message: message, mode: mode, key: slot, timestamp: query.timestamp, nonce: query.nonce, signature: query.signature)
        case let other?:
            throw .invalidQueryParameter(name: "encrypt_type", value: other)
        }
    }

    /// The HTTP response body for `response`. In secure and compatible mode a reply is encrypted
    /// with the key that opened the request and wrapped in a signed envelope; `success` and the
    /// empty answer are always sent as they are.
    ///
    /// - Parameters:
    ///   - timestamp, nonce: signed into the envelope; the request's nonce is the usual choice.
    ///   - randomPrefix: only for reproducing published vectors; leave nil.
    public func seal(_ response: PassiveResponse, for request: OpenedMessage, timestamp: Int64, nonce: String,
                     randomPrefix: [UInt8]? = nil) throws(WeChatError) -> [UInt8] {
        guard case .reply(let reply) = response, request.mode != .plaintext else { return response.body() }
        let slot = request.key ?? .current
        guard let cipher = ciphers.first(where: { $0.0 == slot })?.1 else { throw .encryptionNotConfigured }
        let encrypted = try cipher.encrypt(reply.xml(), randomPrefix: randomPrefix)
        return SecureEnvelope.reply(encrypted: encrypted, token: configuration.token, timestamp: timestamp, nonce: nonce)
    }

    func verifySignature(_ query: SignedQuery, now: Int64) throws(WeChatError) {
        guard Signature.isValid(query.signature, for: [configuration.token, query.timestamp, query.nonce]) else {
            throw .signatureMismatch(.signature)
        }
        if let tolerance = configuration.timestampToleranceSeconds {
            let timestamp = try query.timestampSeconds()
            guard abs(now - timestamp) <= tolerance else {
                throw .staleTimestamp(timestamp: timestamp, now: now, toleranceSeconds: tolerance)
            }
        }
    }

    /// Tries the current key, then the previous one; reports the current key's error if both fail.
    func decrypt(_ encrypted: String) throws(WeChatError) -> ([UInt8], KeySlot) {
        var firstError: WeChatError?
        for (slot, cipher) in ciphers {
            do {
                return (try cipher.decrypt(encrypted), slot)
            } catch {
                if case .invalidBase64 = error { throw error }  // no key can fix the encoding
                firstError = firstError ?? error
            }
        }
        throw firstError ?? .encryptionNotConfigured
    }
}
