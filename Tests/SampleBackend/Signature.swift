import Crypto
import Foundation

/// The key Kefu signs requests with: `whsec_<base64>` stands for the decoded bytes (Standard Webhooks'
/// secret format), any other text for its UTF-8 bytes.
struct SigningKey: Sendable {
    let key: SymmetricKey

    init(_ text: String, source: String) throws(Options.Invalid) {
        guard !text.isEmpty else { throw Options.Invalid("\(source) is empty: give the key Kefu signs with (whsec_<base64> or text)") }
        if text.hasPrefix("whsec_") {
            guard let bytes = Data(base64Encoded: String(text.dropFirst("whsec_".count))), !bytes.isEmpty else {
                throw Options.Invalid("\(source) starts with whsec_ but the rest is not base64: write whsec_ followed by the base64 of the key bytes, or the key as plain text without the prefix")
            }
            key = SymmetricKey(data: bytes)
        } else {
            key = SymmetricKey(data: Data(text.utf8))
        }
    }
}

/// Checks the Standard Webhooks-style signature Kefu puts on every request (docs/signing.md):
///
///     webhook-id: <id>                       (for writes, the same as Idempotency-Key)
///     webhook-timestamp: <Unix seconds>
///     webhook-signature: v1,<base64 HMAC-SHA256> [v1,<…> …]   (space-separated; any match passes)
///
/// over the bytes `{id}.{timestamp}.{METHOD} {path?query}.{body}`, where path?query is the request
/// target exactly as it arrived (still percent-encoded) and body the raw bytes. Written from that
/// description alone, independently of Kefu's signer, so that a test passing here means the two agree.
struct Verifier: Sendable {
    let key: SymmetricKey
    /// How far the timestamp may be from this machine's clock, either way.
    var tolerance: Int64 = 300

    struct Rejection: Error, CustomStringConvertible {
        let description: String
    }

    /// The signed bytes for one request.
    static func signedBytes(id: String, timestamp: String, method: String, target: String, body: [UInt8]) -> [UInt8] {
        Array("\(id).\(timestamp).\(method) \(target).".utf8) + body
    }

    /// Nil when the request is signed with this key; otherwise why not, in words for the 401's body.
    func check(id: String?, timestamp: String?, signature: String?, method: String, target: String, body: [UInt8],
               now: Int64 = Int64(Date().timeIntervalSince1970)) -> Rejection? {
        let missing = [("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", signature)]
            .filter { $0.1?.isEmpty ?? true }.map(\.0)
        guard missing.isEmpty, let id, let timestamp, let signature else {
            return Rejection(description: "unsigned request: missing \(missing.joined(separator: ", ")) (Kefu signs every request when the service says `sign: true`; see docs/signing.md)")
        }
        guard let seconds = Int64(timestamp), timestamp.allSatisfy(\.isASCII) else {
            return Rejection(description: "webhook-timestamp '\(timestamp.prefix(40))' is not Unix seconds")
        }
        let skew = seconds > now ? seconds - now : now - seconds
        guard skew <= tolerance else {
            return Rejection(description: "webhook-timestamp is \(skew) s \(seconds > now ? "ahead of" : "behind") this server's clock (tolerance \(tolerance) s): a replay, or a clock to fix")
        }
        let candidates = signature.split(separator: " ", omittingEmptySubsequences: true).compactMap { entry -> Data? in
            guard entry.hasPrefix("v1,") else { return nil }
            return Data(base64Encoded: String(entry.dropFirst(3)))
        }
        guard !candidates.isEmpty else {
            return Rejection(description: "webhook-signature has no v1,<base64> entry")
        }
        let signed = Self.signedBytes(id: id, timestamp: timestamp, method: method, target: target, body: body)
        // Every candidate is checked (constant time each), so the answer's timing says nothing about which one failed.
        var matched = false
        for candidate in candidates where HMAC<SHA256>.isValidAuthenticationCode(candidate, authenticating: signed, using: key) {
            matched = true
        }
        guard matched else {
            return Rejection(description: "no signature in webhook-signature matches this server's key over \"{webhook-id}.{webhook-timestamp}.{METHOD} {path?query}.{body}\" (wrong key, or the request changed on the way)")
        }
        return nil
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
