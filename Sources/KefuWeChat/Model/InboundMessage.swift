/// A message or event that WeChat pushed to the Official Account, decoded from its XML.
///
/// Every push has the same header (``toUserName``, ``fromUserName``, ``createTime``, `MsgType`)
/// and a typed ``content``. A `MsgType` or `Event` this model does not know is kept as
/// ``Content/unknown(msgType:)`` or ``Event/unknown(name:eventKey:)``, never an error, and
/// ``fields`` keeps the whole document as received, so nothing WeChat sent is lost.
public struct InboundMessage: Sendable, Equatable {
    /// The Official Account's original ID (`gh_…`).
    public var toUserName: String
    /// The user's OpenID.
    public var fromUserName: String
    /// Unix seconds.
    public var createTime: Int64
    /// `MsgId` of a normal message, or `MsgID` of a job-finish event. 64-bit: never a Double.
    public var msgId: UInt64?
    public var content: Content
    /// The `<xml>` element exactly as received.
    public var fields: XMLTree

    public init(toUserName: String, fromUserName: String, createTime: Int64, msgId: UInt64? = nil,
                content: Content, fields: XMLTree? = nil) {
        self.toUserName = toUserName
        self.fromUserName = fromUserName
        self.createTime = createTime
        self.msgId = msgId
        self.content = content
        self.fields = fields ?? XMLTree(name: "xml")
    }

    /// The `MsgType` as sent (`text`, `event`, …).
    public var msgType: String { content.msgType }

    /// True for events (menu clicks, follows, scans, reports …), false for messages a user typed or sent.
    public var isEvent: Bool {
        if case .event = content { return true }
        return false
    }

    /// The key under which WeChat's retries of this push are recognised (the contract's §5):
    /// messages by `ToUserName|FromUserName|MsgId|CreateTime`; events by
    /// `ToUserName|FromUserName|CreateTime|Event|EventKey`, plus `MsgID` when present.
    public var deduplicationKey: String {
        switch content {
        case .event(let event):
            var key = "\(toUserName)|\(fromUserName)|\(createTime)|\(event.name)|\(fields.text(of: "EventKey") ?? "")"
            if let msgId { key += "|\(msgId)" }
            return key
        default:
            // A message without MsgId (an unknown type) falls back to its type to stay distinct.
            return "\(toUserName)|\(fromUserName)|\(msgId.map(String.init) ?? "-\(msgType)")|\(createTime)"
        }
    }
}

extension InboundMessage {
    /// What the push carries.
    public enum Content: Sendable, Equatable {
        case text(Text)
        case image(Image)
        case voice(Voice)
        case video(Video)
        case shortVideo(Video)
        case location(Location)
        case link(Link)
        case file(File)
        case event(Event)
        /// A `MsgType` this model does not know (e.g. `miniprogrampage`); its fields stay in ``InboundMessage/fields``.
        case unknown(msgType: String)

        public var msgType: String {
            switch self {
            case .text: "text"
            case .image: "image"
            case .voice: "voice"
            case .video: "video"
            case .shortVideo: "shortvideo"
            case .location: "location"
            case .link: "link"
            case .file: "file"
            case .event: "event"
            case .unknown(let msgType): msgType
            }
        }
    }

    /// Set when a message was sent from an article's comment area (`MsgDataId`, `Idx`).
    public struct ArticleOrigin: Sendable, Equatable {
        public var msgDataId: String
        public var idx: Int?
        public init(msgDataId: String, idx: Int?) { self.msgDataId = msgDataId; self.idx = idx }
    }

    public struct Text: Sendable, Equatable {
        public var content: String
        /// Set when the user tapped an option of a customer-service menu message; ``content`` is the option text.
        public var bizMsgMenuId: Int64?
        public var article: ArticleOrigin?
        public init(content: String, bizMsgMenuId: Int64? = nil, article: ArticleOrigin? = nil) {
            self.content = content; self.bizMsgMenuId = bizMsgMenuId; self.article = article
        }
    }

    public struct Image: Sendable, Equatable {
        public var picURL: String
        public var mediaId: String
        public var article: ArticleOrigin?
        public init(picURL: String, mediaId: String, article: ArticleOrigin? = nil) {
            self.picURL = picURL; self.mediaId = mediaId; self.article = article
        }
    }

    public struct Voice: Sendable, Equatable {
        public var mediaId: String
        /// `amr`, `speex`, …
        public var format: String
        public var mediaId16K: String?
        /// Speech-to-text, present only when recognition is enabled, and often empty in practice.
        public var recognition: String?
        public init(mediaId: String, format: String, mediaId16K: String? = nil, recognition: String? = nil) {
            self.mediaId = mediaId; self.format = format; self.mediaId16K = mediaId16K; self.recognition = recognition
        }
    }

    /// `video` and `shortvideo` carry the same fields.
    public struct Video: Sendable, Equatable {
        public var mediaId: String
        public var thumbMediaId: String
        public init(mediaId: String, thumbMediaId: String) { self.mediaId = mediaId; self.thumbMediaId = thumbMediaId }
    }

    public struct Location: Sendable, Equatable {
        public var latitude: Double
        public var longitude: Double
        public var scale: Int
        public var label: String
        public init(latitude: Double, longitude: Double, scale: Int, label: String) {
            self.latitude = latitude; self.longitude = longitude; self.scale = scale; self.label = label
        }
    }

    public struct Link: Sendable, Equatable {
        public var title: String
        public var description: String
        public var url: String
        public init(title: String, description: String, url: String) {
            self.title = title; self.description = description; self.url = url
        }
    }

    /// A file message (sent on some surfaces). Every field is optional in practice.
    public struct File: Sendable, Equatable {
        public var title: String
        public var description: String
        public var fileKey: String?
        public var fileMd5: String?
        public var fileTotalLength: Int64?
        public init(title: String, description: String, fileKey: String? = nil, fileMd5: String? = nil, fileTotalLength: Int64? = nil) {
            self.title = title; self.description = description; self.fileKey = fileKey
            self.fileMd5 = fileMd5; self.fileTotalLength = fileTotalLength
        }
    }
}
