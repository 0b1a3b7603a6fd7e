/// A message a flow sends later, when it is done: a reminder before the date-time a step collected
/// (`before: 24h, of: time`), or a follow-up some time after the flow ends (`after: 3d`).
///
///     schedule:
///       - before: 24h
///         of: time
///         template: {id: TM0001, data: {thing1: '{{department}}', time2: '{{time}}'}}
///       - before: 2h
///         of: time
///         text: 提醒您：{{time}} 在{{department}}就诊。
///     cancel_schedule: [booking]      # in the flow that cancels or reschedules
///
/// A text goes out as a customer-service message and only while the customer's window is open
/// (48 h after their last message); a template message needs no window. A reminder whose time has
/// already passed when the flow is done is not scheduled, and none is sent after the moment it
/// counts back from (never a reminder after the appointment).
public struct ScheduleSpec: Sendable {
    public enum Anchor: Sendable, Equatable {
        /// `offset` seconds before the date-time in this slot.
        case before(slot: String)
        /// `offset` seconds after the flow is done.
        case afterDone
    }

    public enum Message: Sendable {
        /// A customer-service text (needs the customer's window).
        case text(Template)
        /// A template message (模板消息).
        case template(TemplateMessageSpec)
    }

    /// Unique within the flow: `before-24h-time` unless written as `id:`.
    public var id: String
    public var anchor: Anchor
    public var offset: Int64
    public var message: Message
    public var location: SourceLocation

    public init(id: String, anchor: Anchor, offset: Int64, message: Message, location: SourceLocation) {
        self.id = id; self.anchor = anchor; self.offset = offset; self.message = message; self.location = location
    }

    /// The placeholders its message uses.
    public var variables: [String] {
        switch message {
        case .text(let text): text.variables
        case .template(let template): template.data.flatMap(\.value.variables) + (template.url?.variables ?? [])
        }
    }
}

/// A template message as a rule file writes it: the template's id from the WeChat console, an
/// optional link, and a value for each of the template's keys (`{{x.DATA}}` → `x:`).
public struct TemplateMessageSpec: Sendable {
    public var templateID: String
    public var url: Template?
    public var miniprogram: (appID: String, pagePath: String)?
    /// In the order written.
    public var data: [(key: String, value: Template)]

    public init(templateID: String, url: Template? = nil, miniprogram: (appID: String, pagePath: String)? = nil, data: [(key: String, value: Template)]) {
        self.templateID = templateID; self.url = url; self.miniprogram = miniprogram; self.data = data
    }
}

extension LocalTime {
    /// The local time a date step stored ("2026-11-27 周五 10:00", or a date alone, which counts from
    /// midnight); nil for anything else.
    public init?(slotValue: String) {
        let words = slotValue.split(separator: " ").filter { !$0.hasPrefix("周") }
        guard let date = words.first else { return nil }
        self.init(words.count > 1 ? "\(date) \(words[words.count - 1])" : "\(date) 00:00")
    }
}
