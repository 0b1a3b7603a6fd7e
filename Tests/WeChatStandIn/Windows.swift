/// Per-user customer-service state: the window the user's last action opened, its quota, and typing.
///
/// A message opens 5 sends for 48 h; a menu click, a follow or a QR scan opens 3 sends for 1 minute;
/// a new interaction replaces the window; an unfollow closes it. A user never seen has no window.
struct Windows: Sendable {
    enum Interaction: String, Sendable, CaseIterable {
        case message, click, subscribe, scan, unsubscribe
    }

    struct Window: Sendable {
        var openedAt: Int64
        var quota: Int
        var life: Int64
        var used = 0
        var unsubscribed = false
        /// Typing shown until this time (15 s after a `Typing` command).
        var typingUntil: Int64?
    }

    static let typingInteractionLimit: Int64 = 30
    static let typingLife: Int64 = 15

    private(set) var users: [String: Window] = [:]

    mutating func record(_ interaction: Interaction, openid: String, now: Int64) {
        switch interaction {
        case .message: users[openid] = Window(openedAt: now, quota: 5, life: 48 * 3600)
        case .click, .subscribe, .scan: users[openid] = Window(openedAt: now, quota: 3, life: 60)
        case .unsubscribe: users[openid] = Window(openedAt: now, quota: 0, life: 0, unsubscribed: true)
        }
    }

    func isUnsubscribed(_ openid: String) -> Bool { users[openid]?.unsubscribed ?? false }

    /// Uses one send of the window, or says why not (45015 closed, 45047 spent). Sending ends typing.
    mutating func consume(openid: String, now: Int64) -> APIError? {
        guard var window = users[openid], !window.unsubscribed, now < window.openedAt + window.life else {
            return APIError(45015)
        }
        guard window.used < window.quota else { return APIError(45047) }
        window.used += 1
        window.typingUntil = nil
        users[openid] = window
        return nil
    }

    /// `Typing` / `CancelTyping`: needs an interaction within 30 s; `Typing` cannot be repeated for 15 s.
    mutating func typing(openid: String, command: String, now: Int64) -> APIError? {
        guard command == "Typing" || command == "CancelTyping" else { return APIError(45072) }
        guard var window = users[openid], !window.unsubscribed, now - window.openedAt <= Self.typingInteractionLimit else {
            return APIError(45080)
        }
        if command == "Typing" {
            if let until = window.typingUntil, now < until { return APIError(45081) }
            window.typingUntil = now + Self.typingLife
        } else {
            window.typingUntil = nil
        }
        users[openid] = window
        return nil
    }
}
