import Foundation

/// What a viewer sees of personal data: enough to tell users apart and to read a conversation, not enough
/// to reuse (an openid to send to, a phone number to call). Editors may reveal (the page logs it).
public enum Mask {
    /// The first 4 and last 4 characters of an openid (`oX3f…k9Qa`); a short one keeps its first and last.
    public static func openid(_ openid: String) -> String {
        let characters = Array(openid)
        if characters.count > 12 { return String(characters.prefix(4)) + "…" + String(characters.suffix(4)) }
        if characters.count > 2 { return String(characters.prefix(1)) + "…" + String(characters.suffix(1)) }
        return "…"
    }

    /// Mainland mobile numbers (11 digits, 1[3-9]…; also written 138 1234 5678, 138-1234-5678, +86 …) as `138****5678`.
    /// A longer run of digits (an order number) is left alone.
    public static func phoneNumbers(in text: String) -> String {
        let range = NSRange(text.startIndex..., in: text)
        return mobile.stringByReplacingMatches(in: text, range: range, withTemplate: "$1$2****$3")
    }

    // NSRegularExpression is immutable once made, so sharing it across threads is safe.
    nonisolated(unsafe) static let mobile = try! NSRegularExpression(
        pattern: #"(?<![0-9０-９])((?:\+?86[ \-]?)?)(1[3-9][0-9])[ \-]?[0-9]{4}[ \-]?([0-9]{4})(?![0-9０-９])"#)
}
