// TEMPORARY until the helper's UnansweredGroups.swift is merged (same API).
public struct UnansweredMessage: Sendable, Equatable {
    public enum Reason: Sendable, Equatable { case defaultReply; case declinedIntent(String) }
    public var text: String
    public var normalized: String
    public var user: String
    public var time: Int64
    public var reason: Reason
    public init(text: String, normalized: String, user: String, time: Int64, reason: Reason) {
        self.text = text; self.normalized = normalized; self.user = user; self.time = time; self.reason = reason
    }
}
public struct UnansweredGroup: Sendable, Equatable {
    public var count: Int
    public var users: Int
    public var examples: [String]
    public var keywords: [String]
    public var firstSeen: Int64, lastSeen: Int64
    public var declined: Int
    public var ruleSuggestion: String
    public var intentSuggestion: String
}
public enum UnansweredGrouping {
    public static func groups(_ messages: [UnansweredMessage], limit: Int = 50) -> [UnansweredGroup] {
        var by: [String: [UnansweredMessage]] = [:]
        for m in messages { by[m.normalized, default: []].append(m) }
        return by.values.sorted { $0.count > $1.count }.prefix(limit).map { ms in
            UnansweredGroup(count: ms.count, users: Set(ms.map(\.user)).count, examples: [ms[0].text], keywords: [ms[0].normalized],
                            firstSeen: ms.map(\.time).min()!, lastSeen: ms.map(\.time).max()!, declined: 0, ruleSuggestion: "", intentSuggestion: "")
        }
    }
}
