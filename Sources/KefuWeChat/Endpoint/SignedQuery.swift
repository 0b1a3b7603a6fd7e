/// The query parameters WeChat signs each request with.
public struct SignedQuery: Sendable, Equatable {
    public var signature: String
    public var timestamp: String
    public var nonce: String
    /// URL verification (GET) only.
    public var echostr: String?
    /// The user's OpenID on message pushes; optional and informational.
    public var openid: String?
    /// `aes` for secure and compatible mode; absent or `raw` for plaintext.
    public var encryptType: String?
    /// Secure and compatible mode only: the signature over the `<Encrypt>` text.
    public var msgSignature: String?

    public init(signature: String, timestamp: String, nonce: String, echostr: String? = nil, openid: String? = nil,
                encryptType: String? = nil, msgSignature: String? = nil) {
        self.signature = signature
        self.timestamp = timestamp
        self.nonce = nonce
        self.echostr = echostr
        self.openid = openid
        self.encryptType = encryptType
        self.msgSignature = msgSignature
    }

    /// Reads the parameters from a decoded query (name → value). `signature`, `timestamp` and
    /// `nonce` are required; `timestamp` must be decimal digits.
    public init(_ parameters: [String: String]) throws(WeChatError) {
        func required(_ name: String) throws(WeChatError) -> String {
            guard let value = parameters[name], !value.isEmpty else { throw .missingQueryParameter(name) }
            return value
        }
        self.init(signature: try required("signature"), timestamp: try required("timestamp"), nonce: try required("nonce"),
                  echostr: parameters["echostr"], openid: parameters["openid"], encryptType: parameters["encrypt_type"],
                  msgSignature: parameters["msg_signature"])
        _ = try timestampSeconds()
    }

    /// The parameters as a dictionary (the inverse of ``init(_:)``), for clients and tests.
    public var parameters: [String: String] {
        var p = ["signature": signature, "timestamp": timestamp, "nonce": nonce]
        p["echostr"] = echostr
        p["openid"] = openid
        p["encrypt_type"] = encryptType
        p["msg_signature"] = msgSignature
        return p
    }

    func timestampSeconds() throws(WeChatError) -> Int64 {
        guard timestamp.utf8.count <= 18, timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(timestamp) else {
            throw .invalidQueryParameter(name: "timestamp", value: timestamp)
        }
        return seconds
    }
}
