import KefuRules
import KefuWeChat

/// A message that goes out through WeChat's API rather than in the passive reply: the later parts
/// of a reply, an answer that missed the 5-second budget, a scheduled reminder. The turn that causes
/// it writes it in the same transaction as its answer and session (``TurnRecord/outbox``); the
/// server's outbox worker sends it when it is due, once.
public struct OutboxMessage: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A part of a reply after the first message (the first went in the passive reply).
        case part
        /// An answer that was not ready within the budget: the push was answered `success`.
        case late
        /// A flow's `schedule:` entry.
        case scheduled
        /// A request to a company system (`call:`): a write, or a read whose result outlived the wait.
        case call
    }

    public var user: String
    public var kind: Kind
    /// When to send it (Unix seconds).
    public var due: Int64
    /// Never sent after this (a reminder never after the moment it counts back from); nil: no limit.
    public var notAfter: Int64?
    /// For ``Kind/scheduled``: the flow that scheduled it (what `cancel_schedule:` names) and the entry's id.
    public var flow: String?
    public var name: String?
    public var content: OutboundContent

    public init(user: String, kind: Kind, due: Int64, notAfter: Int64? = nil, flow: String? = nil, name: String? = nil, content: OutboundContent) {
        self.user = user; self.kind = kind; self.due = due; self.notAfter = notAfter; self.flow = flow; self.name = name; self.content = content
    }

    /// Customer-service messages need the customer's window; template messages do not.
    public var needsWindow: Bool {
        if case .message = content { true } else { false }
    }

    /// The service request of a ``Kind/call`` row.
    public var request: ServiceRequest? {
        if case .call(let request) = content { request } else { nil }
    }
}

/// What an outbox message says.
public enum OutboundContent: Sendable, Equatable, Codable {
    /// A customer-service message (客服消息).
    case message(RenderedReply)
    /// A template message (模板消息).
    case template(RenderedTemplate)
    /// A request to one of the rule set's services (not a WeChat message).
    case call(ServiceRequest)

    /// One line for people and logs.
    public var preview: String {
        switch self {
        case .message(let reply): reply.preview
        case .template(let template): template.preview
        case .call(let request): "[call \(request.summary)]"
        }
    }
}

/// A template message with its values filled in.
public struct RenderedTemplate: Sendable, Equatable, Codable {
    public struct Field: Sendable, Equatable, Codable {
        public var key: String
        public var value: String
        public init(key: String, value: String) { self.key = key; self.value = value }
    }

    public var templateID: String
    public var url: String?
    public var miniprogramAppID: String?
    public var miniprogramPagePath: String?
    public var data: [Field]
    /// WeChat's de-duplication key (`client_msg_id`): the same key for the same user is sent once.
    public var clientMessageID: String

    public init(templateID: String, url: String? = nil, miniprogramAppID: String? = nil, miniprogramPagePath: String? = nil,
                data: [Field], clientMessageID: String) {
        self.templateID = templateID; self.url = url; self.miniprogramAppID = miniprogramAppID
        self.miniprogramPagePath = miniprogramPagePath; self.data = data; self.clientMessageID = clientMessageID
    }

    /// "[template TM0001: thing1=内科 time2=2026-12-03 10:00]".
    public var preview: String {
        "[template \(templateID): " + data.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "]"
    }
}

/// What a turn asks for beyond its reply.
public enum Effect: Sendable, Equatable {
    /// Keep this message and send it at its time.
    case schedule(OutboxMessage)
    /// Cancel the customer's scheduled messages of this flow that are not sent yet.
    case cancelScheduled(flow: String)
    /// Call a service; the flow waits for the result (``Engine/resume(_:result:session:now:)``).
    case call(CallEffect)
    /// Cancel this flow instance's calls that have not gone out yet (the customer cancelled).
    case cancelCalls(instance: String)
}

extension Effect {
    public var call: CallEffect? {
        if case .call(let effect) = self { effect } else { nil }
    }
}

/// A call the turn starts: the request, how long the passive reply waits for it, and the turn's
/// reply while it waits (its `slow:` text; nil: `success`).
public struct CallEffect: Sendable, Equatable {
    public var request: ServiceRequest
    /// How long this answer waits for the result (ms), within the webhook's budget.
    public var waitMs: Int64
    /// The service's timeout for one try (ms).
    public var timeoutMs: Int64
    /// Tries a write gets before `failed` (reads: one).
    public var attempts: Int
    /// What was said before the call in this turn (a start text, a branch's reply), kept for the result's answer.
    public var intro: [String]
    public var isWrite: Bool { request.method.isWrite }

    public init(request: ServiceRequest, waitMs: Int64, timeoutMs: Int64, attempts: Int, intro: [String]) {
        self.request = request; self.waitMs = waitMs; self.timeoutMs = timeoutMs; self.attempts = attempts; self.intro = intro
    }
}

/// A customer's customer-service window (客服消息的下发窗口), as Kefu sees it from the pushes it
/// receives: WeChat allows 5 messages within 48 hours after the customer sends a message, and 3
/// within a minute after a menu click (click, scancode_push, scancode_waitmsg), a follow or a QR
/// scan. Kefu sends nothing outside it; an unfollow closes it.
public struct ServiceWindow: Sendable, Equatable, Codable {
    public var messageAt: Int64?
    public var messageSent: Int
    public var eventAt: Int64?
    public var eventSent: Int

    public static let messageLife: Int64 = 48 * 3600
    public static let messageQuota = 5
    public static let eventLife: Int64 = 60
    public static let eventQuota = 3

    public init(messageAt: Int64? = nil, messageSent: Int = 0, eventAt: Int64? = nil, eventSent: Int = 0) {
        self.messageAt = messageAt; self.messageSent = messageSent; self.eventAt = eventAt; self.eventSent = eventSent
    }

    var eventOpen: (Int64) -> Bool { { now in self.eventAt.map { now < $0 + Self.eventLife } == true && self.eventSent < Self.eventQuota } }
    var messageOpen: (Int64) -> Bool { { now in self.messageAt.map { now < $0 + Self.messageLife } == true && self.messageSent < Self.messageQuota } }

    /// Whether one more message may go out at `now`.
    public func allows(at now: Int64) -> Bool { eventOpen(now) || messageOpen(now) }

    /// How many more messages may go out at `now`.
    public func remaining(at now: Int64) -> Int {
        (eventOpen(now) ? Self.eventQuota - eventSent : 0) + (messageOpen(now) ? Self.messageQuota - messageSent : 0)
    }

    /// Counts one message sent at `now` (against the short window first: it closes sooner).
    public mutating func use(at now: Int64) {
        if eventOpen(now) { eventSent += 1 } else if messageOpen(now) { messageSent += 1 }
    }

    /// Until when the window is open (nil: closed), for clean-up.
    public var until: Int64? {
        [messageAt.map { $0 + Self.messageLife }, eventAt.map { $0 + Self.eventLife }].compactMap { $0 }.max()
    }
}

/// A push that opens (or closes) the customer's window.
public enum Interaction: String, Sendable, Equatable, Codable {
    case message, event, unfollow

    public init?(_ message: InboundMessage) {
        switch message.content {
        case .text, .image, .voice, .video, .shortVideo, .location, .link, .file: self = .message
        case .event(let event):
            switch event {
            case .click, .scancodePush, .scancodeWaitMsg, .subscribe, .scan: self = .event
            case .unsubscribe: self = .unfollow
            default: return nil
            }
        case .unknown: return nil
        }
    }
}

extension ServiceWindow {
    /// The window after `interaction` at `time`.
    public func opened(by interaction: Interaction, at time: Int64) -> ServiceWindow {
        var next = self
        switch interaction {
        case .message: next.messageAt = time; next.messageSent = 0
        case .event: next.eventAt = time; next.eventSent = 0
        case .unfollow: next = ServiceWindow()
        }
        return next
    }
}
