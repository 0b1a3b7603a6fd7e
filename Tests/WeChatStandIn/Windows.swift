/// Per-user customer-service state: the windows the user's actions opened, their quotas, and typing.
///
/// A message opens 5 sends for 48 h; a menu click, a follow or a QR scan opens 3 sends for 1 minute.
/// The two are kept apart (a click does not take away what the user's last message allowed): a
/// send uses the short window while it is open, else the message window. A new message replaces
/// the message window, a new click the short one; an unfollow closes both. A user never seen has none.
struct Windows: Sendable {
    enum Interaction: String, Sendable, CaseIterable {
        case message, click, subscribe, scan, unsubscribe
    }

    struct Grant: Sendable {
        var openedAt: Int64
        var quota: Int
        var life: Int64
        var used = 0
        func open(at now: Int64) -> Bool { now < openedAt + life && used < quota }
        func alive(at now: Int64) -> Bool { now < openedAt + life }
    }

    struct Window: Sendable {
        var message: Grant?
        var event: Grant?
        var unsubscribed = false
        /// Typing shown until this time (15 s after a `Typing` command).
        var typingUntil: Int64?
        var lastInteraction: Int64 { max(message?.openedAt ?? .min, event?.openedAt ?? .min) }
    }

    static let typingInteractionLimit: Int64 = 30
    static let typingLife: Int64 = 15

    private(set) var users: [String: Window] = [:]

    mutating func record(_ interaction: Interaction, openid: String, now: Int64) {
        var window = users[openid] ?? Window()
        switch interaction {
        case .message: window.message = Grant(openedAt: now, quota: 5, life: 48 * 3600); window.unsubscribed = false
        case .click, .subscribe, .scan: window.event = Grant(openedAt: now, quota: 3, life: 60); window.unsubscribed = false
        case .unsubscribe: window = Window(unsubscribed: true)
        }
        users[openid] = window
    }

    func isUnsubscribed(_ openid: String) -> Bool { users[openid]?.unsubscribed ?? false }

    /// Uses one send of a window, or says why not (45015 closed, 45047 spent). Sending ends typing.
    mutating func consume(openid: String, now: Int64) -> APIError? {
        guard var window = users[openid], !window.unsubscribed else { return APIError(45015) }
        if var event = window.event, event.open(at: now) {
            event.used += 1
            window.event = event
        } else if var message = window.message, message.open(at: now) {
            message.used += 1
            window.message = message
        } else {
            let alive = (window.event?.alive(at: now) ?? false) || (window.message?.alive(at: now) ?? false)
            return APIError(alive ? 45047 : 45015)
        }
        window.typingUntil = nil
        users[openid] = window
        return nil
    }

    /// `Typing` / `CancelTyping`: needs an interaction within 30 s; `Typing` cannot be repeated for 15 s.
    mutating func typing(openid: String, command: String, now: Int64) -> APIError? {
        guard command == "Typing" || command == "CancelTyping" else { return APIError(45072) }
        guard var window = users[openid], !window.unsubscribed, now - window.lastInteraction <= Self.typingInteractionLimit else {
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
