/// What the adapter needs to know about one Official Account.
///
/// Secrets (``token``, the AES keys) are never printed by ``description``.
public struct WeChatConfiguration: Sendable, CustomStringConvertible {
    /// The Token (令牌) from the console; signs every request.
    public var token: String
    /// The AppID (`wx…`). Required for secure and compatible mode: it is checked inside every
    /// decrypted message and appended to every encrypted reply.
    public var appID: String?
    /// The current EncodingAESKey; nil if the account runs in plaintext mode only.
    public var aesKey: EncodingAESKey?
    /// The EncodingAESKey before the last change. After a key change WeChat may still send
    /// messages under the old key for a while; they are decrypted with it and answered with it.
    public var previousAESKey: EncodingAESKey?
    /// Largest body accepted, in bytes (default 64 KiB).
    public var maxBodyBytes: Int
    /// If set, a request whose signed timestamp differs from the server clock by more than this many
    /// seconds is refused (a replay guard). WeChat documents no window; measure clock skew first.
    public var timestampToleranceSeconds: Int64?

    public init(token: String, appID: String? = nil, aesKey: EncodingAESKey? = nil, previousAESKey: EncodingAESKey? = nil,
                maxBodyBytes: Int = XMLReader.defaultMaxBytes, timestampToleranceSeconds: Int64? = nil) {
        self.token = token
        self.appID = appID
        self.aesKey = aesKey
        self.previousAESKey = previousAESKey
        self.maxBodyBytes = maxBodyBytes
        self.timestampToleranceSeconds = timestampToleranceSeconds
    }

    public var description: String {
        "WeChatConfiguration(appID: \(appID ?? "none"), token: <redacted>, aesKey: \(aesKey == nil ? "none" : "<redacted>"), "
            + "previousAESKey: \(previousAESKey == nil ? "none" : "<redacted>"), maxBodyBytes: \(maxBodyBytes), "
            + "timestampTolerance: \(timestampToleranceSeconds.map { "\($0) s" } ?? "off"))"
    }
}

/// How a push reached us, decided per request by `encrypt_type` (and, for encrypted pushes,
/// by whether the envelope also carries the plaintext fields).
public enum SecurityMode: String, Sendable, Equatable {
    /// 明文模式: plaintext body, plaintext reply.
    case plaintext
    /// 兼容模式: plaintext fields and `<Encrypt>` side by side; the reply is encrypted.
    case compatible
    /// 安全模式: only `<Encrypt>`; the reply is encrypted.
    case secure
}

/// Which EncodingAESKey decrypted a push; the reply is encrypted with the same one.
public enum KeySlot: String, Sendable, Equatable {
    case current, previous
}
