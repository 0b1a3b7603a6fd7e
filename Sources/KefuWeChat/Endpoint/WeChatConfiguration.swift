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
    /// A request whose signed timestamp differs from the server clock by more than this many seconds
    /// is refused (default 300 s). The plaintext `signature` covers only token, timestamp and nonce,
    /// not the body, so this window is what keeps a signed query seen once (in a proxy log, say)
    /// from being usable forever; nil turns it off, which is only for replaying published vectors.
    public var timestampToleranceSeconds: Int64?
    /// Which pushes are accepted. Default: ``AcceptedModes/secure`` when an EncodingAESKey is set,
    /// else ``AcceptedModes/plaintext``.
    public var accepted: AcceptedModes

    /// The default freshness window, in seconds.
    public static let defaultTimestampTolerance: Int64 = 300

    public init(token: String, appID: String? = nil, aesKey: EncodingAESKey? = nil, previousAESKey: EncodingAESKey? = nil,
                maxBodyBytes: Int = XMLReader.defaultMaxBytes, timestampToleranceSeconds: Int64? = defaultTimestampTolerance,
                accepted: AcceptedModes? = nil) {
        self.token = token
        self.appID = appID
        self.aesKey = aesKey
        self.previousAESKey = previousAESKey
        self.maxBodyBytes = maxBodyBytes
        self.timestampToleranceSeconds = timestampToleranceSeconds
        self.accepted = accepted ?? (aesKey == nil && previousAESKey == nil ? .plaintext : .secure)
    }

    public var description: String {
        "WeChatConfiguration(appID: \(appID ?? "none"), token: <redacted>, aesKey: \(aesKey == nil ? "none" : "<redacted>"), "
            + "previousAESKey: \(previousAESKey == nil ? "none" : "<redacted>"), maxBodyBytes: \(maxBodyBytes), "
            + "timestampTolerance: \(timestampToleranceSeconds.map { "\($0) s" } ?? "off"), accepted: \(accepted.rawValue))"
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

/// Which pushes an endpoint accepts (`kefu serve --mode`). An encrypted push is always opened from
/// its `<Encrypt>` copy after `msg_signature` is checked; the plaintext fields of a compatible-mode
/// envelope are never read.
public enum AcceptedModes: String, Sendable, Equatable, CaseIterable {
    /// Plaintext pushes only (明文模式); an encrypted push is refused.
    case plaintext
    /// Plaintext and encrypted pushes: only for the minutes of switching the console between
    /// 明文模式 and 安全模式/兼容模式. A plaintext push is protected only by the body-less signature.
    case compatible
    /// Encrypted pushes only (安全模式, and 兼容模式's envelope, read from its encrypted copy);
    /// a plaintext push, or an encrypted one with its `encrypt_type`/`msg_signature` stripped, is refused.
    case secure

    public func allows(_ mode: SecurityMode) -> Bool {
        switch self {
        case .plaintext: mode == .plaintext
        case .compatible: true
        case .secure: mode != .plaintext
        }
    }
}

/// Which EncodingAESKey decrypted a push; the reply is encrypted with the same one.
public enum KeySlot: String, Sendable, Equatable {
    case current, previous
}
