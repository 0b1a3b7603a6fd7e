import KefuRules
import KefuWeChat

/// The one place that turns what a turn says (its parts, in order) into what WeChat receives.
///
/// WeChat takes one passive reply per push, within 5 seconds. The adapter puts the parts into it:
/// consecutive texts become one text message, separated by a blank line (empty texts dropped);
/// a media, news or transfer part is a message of its own. What does not fit the passive reply —
/// parts after the first message — is `later`: what the API client will send as customer-service
/// messages. Until Kefu has one, the engine never produces such a turn (an owed notice with a
/// non-text answer is kept for the next message instead), so `later` is empty in every path today.
public enum ReplyAdapter {
    public struct Delivery: Sendable, Equatable {
        /// The HTTP answer: a reply, or `success` when there is nothing to send (or it cannot be sent).
        public var passive: PassiveResponse
        /// Messages after the passive one, in order.
        public var later: [RenderedReply]
        /// Why the first message cannot be sent passively (WeChat would refuse it), if so.
        public var refused: String?
    }

    /// The messages the parts make, in order: runs of text joined, every other part on its own
    /// (`separate`: every part on its own; empty texts dropped either way).
    public static func messages(_ parts: [RenderedReply], separate: Bool = false) -> [RenderedReply] {
        if separate { return parts.filter { if case .text(let text) = $0 { !text.isEmpty } else { true } } }
        var messages: [RenderedReply] = []
        var texts: [String] = []
        func flush() {
            if !texts.isEmpty { messages.append(.text(texts.joined(separator: "\n\n"))); texts = [] }
        }
        for part in parts {
            if case .text(let text) = part {
                if !text.isEmpty { texts.append(text) }
            } else {
                flush()
                messages.append(part)
            }
        }
        flush()
        return messages
    }

    /// `media`: the media_id of each rule-set file part (nil: not uploaded yet — then that message,
    /// and what follows it, go out through the API once the file is uploaded).
    /// `separate`: each part is a message of its own (see ``messages(_:separate:)``).
    public static func deliver(_ parts: [RenderedReply], separate: Bool = false, answering message: InboundMessage, at now: Int64,
                               media: any MediaResolver = PathAsMediaID()) -> Delivery {
        let messages = messages(parts, separate: separate)
        guard let first = messages.first else {
            return Delivery(passive: .success, later: [], refused: parts.isEmpty ? nil : "it is empty")
        }
        var passive = first
        if case .mediaFile(let file) = first {
            guard let id = media.mediaID(for: file) else {
                return Delivery(passive: .success, later: messages, refused: nil)
            }
            passive = file.withMediaID(id)
        }
        do {
            let reply = try Reply.answering(message, with: Engine.body(passive, answeringEvent: message.isEvent), at: now)
            return Delivery(passive: .reply(reply), later: Array(messages.dropFirst()), refused: nil)
        } catch {
            return Delivery(passive: .success, later: Array(messages.dropFirst()), refused: "\(error)")
        }
    }
}

/// Where the media_id of a rule-set file comes from: the server's uploads (`MediaLibrary`), or, in
/// `kefu test` and `kefu chat`, the path itself (so they show `[image media/size-chart.png]`).
public protocol MediaResolver: Sendable {
    /// The media_id to send the file with now; nil when none is (still) valid.
    func mediaID(for file: MediaFile) -> String?
}

/// The path as its own media_id: what tests and the simulator show.
public struct PathAsMediaID: MediaResolver {
    public init() {}
    public func mediaID(for file: MediaFile) -> String? { file.path }
}

extension MediaFile {
    /// The reply part that sends this file by its uploaded media_id.
    public func withMediaID(_ id: String) -> RenderedReply {
        switch kind {
        case .image: .image(mediaId: id)
        case .voice: .voice(mediaId: id)
        case .video: .video(mediaId: id, title: title, description: description)
        }
    }
}
