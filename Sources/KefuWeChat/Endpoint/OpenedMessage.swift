/// A push that passed every check: signed by our token, fresh if freshness is checked, decrypted
/// if it was encrypted, and decoded.
public struct OpenedMessage: Sendable, Equatable {
    public var message: InboundMessage
    public var mode: SecurityMode
    /// The key that decrypted it (nil in plaintext mode); ``WeChatEndpoint/seal(_:for:timestamp:nonce:randomPrefix:)`` answers with the same key.
    public var key: KeySlot?
    /// The request's signed timestamp and nonce.
    public var timestamp: String
    public var nonce: String
    /// The request's `signature` (with timestamp and nonce, what a replay of the query repeats).
    public var signature: String

    public init(message: InboundMessage, mode: SecurityMode, key: KeySlot?, timestamp: String, nonce: String, signature: String = "") {
        self.signature = signature
        self.message = message
        self.mode = mode
        self.key = key
        self.timestamp = timestamp
        self.nonce = nonce
    }
}
