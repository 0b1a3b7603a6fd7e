/// Everything that can go wrong between WeChat's HTTP body and a typed message, or between a
/// reply and the bytes we send back.
///
/// Each case names what was wrong in words a person operating the server can act on, and maps to
/// the official `WXBizMsgCrypt` error code of its family (``code``): −40001 signature,
/// −40002 XML, −40004 key, −40005 AppID, −40006 encrypt, −40007 decrypt, −40008 buffer,
/// −40010 base64, −40011 reply. The reader's refusals (DTD, entities, size, UTF-8 …) belong to the
/// −40002 family but keep their own cases so that callers and tests can tell them apart.
public enum WeChatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which signature failed: the plain `signature` (every request) or `msg_signature` (secure mode).
    public enum SignatureKind: String, Sendable { case signature, msgSignature = "msg_signature" }

    // MARK: Signatures and request parameters
    /// −40001: the SHA-1 signature in the query does not match the configured token.
    case signatureMismatch(SignatureKind)
    /// The signed timestamp is further from our clock than the configured freshness window.
    case staleTimestamp(timestamp: Int64, now: Int64, toleranceSeconds: Int64)
    /// The push came in a mode this endpoint does not accept (a plaintext push to a secure-only server).
    case modeRefused(received: SecurityMode, accepted: AcceptedModes)
    /// A required query parameter is absent.
    case missingQueryParameter(String)
    /// A query parameter is present but not in the form the protocol defines.
    case invalidQueryParameter(name: String, value: String)

    // MARK: The XML reader's refusals (family −40002)
    /// The body is larger than the configured cap.
    case bodyTooLarge(size: Int, limit: Int)
    /// The body is not valid UTF-8 (byte offset of the first bad sequence).
    case invalidUTF8(offset: Int)
    /// A `<!DOCTYPE …>` (a DTD) was found; WeChat never sends one.
    case doctypeRefused(offset: Int)
    /// An entity declaration or a reference to a non-predefined entity (`&name;`).
    case entityRefused(name: String, offset: Int)
    /// A processing instruction `<?target …?>` other than a leading XML declaration.
    case processingInstructionRefused(target: String, offset: Int)
    /// Elements nest deeper than the reader allows.
    case nestingTooDeep(limit: Int)
    /// The XML is not well formed.
    case malformedXML(reason: String, offset: Int)

    // MARK: Message model
    /// A field the contract requires is absent (`element` in a message of type `msgType`).
    case missingField(element: String, msgType: String)
    /// A field is present but its value is not of the expected form.
    case invalidField(element: String, value: String, expected: String)

    // MARK: Secure mode
    /// −40004: the EncodingAESKey is not 43 characters of base64 decoding to 32 bytes.
    case invalidAESKey(String)
    /// The request asks for secure mode (`encrypt_type=aes`) but no EncodingAESKey is configured.
    case encryptionNotConfigured
    /// −40010: the `<Encrypt>` text is not base64.
    case invalidBase64(offset: Int)
    /// −40007: the ciphertext cannot be decrypted (length not a whole number of AES blocks, cipher failure).
    case decryptionFailed(String)
    /// −40007: after decryption the PKCS#7 padding (block size 32) is not valid.
    case invalidPadding(String)
    /// −40008: the decrypted buffer's layout (random, length, message, AppID) is broken.
    case malformedDecryptedMessage(String)
    /// −40005: the AppID inside the decrypted message is not ours.
    case appIDMismatch(expected: String, found: String)
    /// −40006: encryption failed.
    case encryptionFailed(String)

    // MARK: Replies
    /// −40011: the reply cannot be sent as a passive reply (and would make WeChat show an error).
    case invalidReply(String)

    /// The official `WXBizMsgCrypt` code of this error's family.
    public var code: Int {
        switch self {
        case .signatureMismatch, .staleTimestamp, .modeRefused, .missingQueryParameter, .invalidQueryParameter: -40001
        case .bodyTooLarge, .invalidUTF8, .doctypeRefused, .entityRefused, .processingInstructionRefused,
             .nestingTooDeep, .malformedXML, .missingField, .invalidField: -40002
        case .invalidAESKey, .encryptionNotConfigured: -40004
        case .appIDMismatch: -40005
        case .encryptionFailed: -40006
        case .decryptionFailed, .invalidPadding: -40007
        case .malformedDecryptedMessage: -40008
        case .invalidBase64: -40010
        case .invalidReply: -40011
        }
    }

    public var description: String {
        switch self {
        case .signatureMismatch(let kind):
            "\(kind.rawValue) does not match: the request was not signed with the configured token"
        case .staleTimestamp(let ts, let now, let tolerance):
            "timestamp \(ts) is \(abs(now - ts)) s away from the server clock (\(now)); at most \(tolerance) s is accepted"
        case .modeRefused(.plaintext, let accepted):
            "a plaintext push was refused: this server accepts only encrypted pushes (mode \(accepted.rawValue): encrypt_type=aes with msg_signature); "
                + "set the console to 安全模式, or run with --mode compatible only while switching"
        case .modeRefused(let received, let accepted):
            "an encrypted push (\(received.rawValue) mode) was refused: this server accepts only \(accepted.rawValue) pushes; "
                + "set KEFU_AES_KEY and --mode secure, or set the console to 明文模式"
        case .missingQueryParameter(let name):
            "query parameter '\(name)' is missing"
        case .invalidQueryParameter(let name, let value):
            "query parameter '\(name)' has an invalid value '\(value.prefix(64))'"
        case .bodyTooLarge(let size, let limit):
            "body is \(size) bytes; the limit is \(limit) bytes"
        case .invalidUTF8(let offset):
            "body is not valid UTF-8 (first bad byte at offset \(offset))"
        case .doctypeRefused(let offset):
            "XML contains a DOCTYPE (DTD) at offset \(offset); DTDs are refused"
        case .entityRefused(let name, let offset):
            "XML declares or references the entity '\(name)' at offset \(offset); only &lt; &gt; &amp; &quot; &apos; and character references are accepted"
        case .processingInstructionRefused(let target, let offset):
            "XML contains the processing instruction '<?\(target)' at offset \(offset); processing instructions are refused"
        case .nestingTooDeep(let limit):
            "XML nests elements more than \(limit) levels deep"
        case .malformedXML(let reason, let offset):
            "XML is malformed at offset \(offset): \(reason)"
        case .missingField(let element, let msgType):
            "<\(element)> is missing from a message of type '\(msgType)'"
        case .invalidField(let element, let value, let expected):
            "<\(element)> is '\(value.prefix(64))', expected \(expected)"
        case .invalidAESKey(let reason):
            "EncodingAESKey is invalid: \(reason)"
        case .encryptionNotConfigured:
            "the request is encrypted (encrypt_type=aes) but no EncodingAESKey is configured"
        case .invalidBase64(let offset):
            "<Encrypt> is not valid base64 (offset \(offset))"
        case .decryptionFailed(let reason):
            "could not decrypt <Encrypt>: \(reason)"
        case .invalidPadding(let reason):
            "decrypted message has invalid PKCS#7 padding: \(reason) (wrong EncodingAESKey?)"
        case .malformedDecryptedMessage(let reason):
            "decrypted message is malformed: \(reason) (wrong EncodingAESKey or tampered ciphertext?)"
        case .appIDMismatch(let expected, let found):
            "decrypted message is for AppID '\(found.prefix(32))', not the configured '\(expected)'"
        case .encryptionFailed(let reason):
            "could not encrypt the reply: \(reason)"
        case .invalidReply(let reason):
            "reply cannot be sent: \(reason)"
        }
    }
}
