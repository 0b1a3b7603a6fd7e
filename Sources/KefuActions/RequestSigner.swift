import Crypto
import Foundation
import KefuRules

/// Kefu's request signature (docs/signing.md): Standard Webhooks headers (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`, one per key, space-separated),
/// over a signed string that — unlike Standard Webhooks' `{id}.{timestamp}.{body}` — also holds the
/// method and the path with its query, so that a signed lookup (a GET, whose body is empty) cannot be
/// replayed against another URL:
///
///     {id}.{timestamp}.{METHOD} {path?query}.{body}
///
/// `path?query` is the request target exactly as sent, base path included (`/api/orders/DD1?x=1`);
/// `body` is the exact bytes sent, empty for none.
public enum RequestSigner {
    public static let idHeader = "webhook-id"
    public static let timestampHeader = "webhook-timestamp"
    public static let signatureHeader = "webhook-signature"
    /// The tolerance docs/signing.md recommends to receivers.
    public static let defaultTolerance: Int64 = 300

    /// `webhook-id`: a write's idempotency key (the same on every try, so the receiver de-duplicates
    /// on it); for a read, the key and the attempt (`…-2`), since each try is a new lookup.
    public static func webhookID(for request: ServiceRequest, attempt: Int) -> String {
        request.method.isWrite ? request.idempotencyKey : request.idempotencyKey + "-" + String(attempt)
    }

    /// The bytes signed.
    public static func signedContent(id: String, timestamp: Int64, method: String, target: String, body: [UInt8]) -> [UInt8] {
        Array("\(id).\(timestamp).\(method) \(target).".utf8) + body
    }

    /// `v1,<base64>` for one key.
    public static func signature(_ content: [UInt8], key: SigningKey) -> String {
        "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key.bytes))).base64EncodedString()
    }

    /// The three headers, in order; one signature per key (current first, then previous).
    public static func headers(id: String, timestamp: Int64, method: String, target: String, body: [UInt8],
                               keys: [SigningKey]) -> [(name: String, value: String)] {
        let content = signedContent(id: id, timestamp: timestamp, method: method, target: target, body: body)
        return [
            (idHeader, id),
            (timestampHeader, String(timestamp)),
            (signatureHeader, keys.map { signature(content, key: $0) }.joined(separator: " ")),
        ]
    }

    /// Why a request did not verify.
    public enum VerificationError: Error, Sendable, Equatable, CustomStringConvertible {
        case missingHeader(String)
        case badTimestamp
        /// Further from `now` than the tolerance (seconds off, signed: negative is in the past).
        case outsideTolerance(seconds: Int64)
        case noMatchingSignature

        public var description: String {
            switch self {
            case .missingHeader(let name): "the \(name) header is missing"
            case .badTimestamp: "webhook-timestamp is not a number of seconds"
            case .outsideTolerance(let s): "webhook-timestamp is \(abs(s)) s in the \(s < 0 ? "past" : "future"), beyond the tolerance"
            case .noMatchingSignature: "no v1 signature in webhook-signature matches"
            }
        }
    }

    /// What a receiver does (docs/signing.md): the timestamp within `tolerance` seconds of `now`, then
    /// any `v1,` signature equal — compared in constant time — to the HMAC of the signed string with `key`.
    /// Header names are matched case-insensitively.
    public static func verify(headers: [String: String], method: String, target: String, body: [UInt8], key: SigningKey,
                              now: Int64, tolerance: Int64 = defaultTolerance) throws(VerificationError) {
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name }?.value }
        guard let id = header(idHeader) else { throw .missingHeader(idHeader) }
        guard let stamp = header(timestampHeader) else { throw .missingHeader(timestampHeader) }
        guard let signatures = header(signatureHeader) else { throw .missingHeader(signatureHeader) }
        guard let timestamp = Int64(stamp) else { throw .badTimestamp }
        guard abs(timestamp - now) <= tolerance else { throw .outsideTolerance(seconds: timestamp - now) }
        let content = signedContent(id: id, timestamp: timestamp, method: method, target: target, body: body)
        let expected = Array(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key.bytes)))
        var matched = false
        for candidate in signatures.split(separator: " ") {
            guard candidate.hasPrefix("v1,"), let given = Data(base64Encoded: String(candidate.dropFirst(3))) else { continue }
            if constantTimeEqual(expected, Array(given)) { matched = true }
        }
        if !matched { throw .noMatchingSignature }
    }

    /// Equal bytes, in a time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
