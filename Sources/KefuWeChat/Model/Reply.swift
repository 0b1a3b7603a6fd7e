/// What we answer in the HTTP response to a push: one passive reply message, or one of the two
/// "no reply" acknowledgements. Both acknowledgements stop WeChat's retries and show nothing.
public enum PassiveResponse: Sendable, Equatable {
    case reply(Reply)
    /// The 7 bytes `success` (the documented acknowledgement). Sent unencrypted in every mode.
    case success
    /// A zero-length body (the other documented acknowledgement). Sent unencrypted in every mode.
    case empty
}

/// One passive reply message (被动回复). The roles are swapped relative to the push it answers:
/// ``toUserName`` is the user's OpenID, ``fromUserName`` the Official Account.
public struct Reply: Sendable, Equatable {
    /// Longest passive text WeChat is known to deliver (bytes of UTF-8; a community measurement,
    /// the documented limit of WeCom). Longer text is cut or dropped by WeChat, so it is refused here.
    public static let maxTextBytes = 2048
    /// At most this many articles in a news reply to an event (since 2018-10-12).
    public static let maxArticlesForEvent = 8

    public var toUserName: String
    public var fromUserName: String
    /// Unix seconds.
    public var createTime: Int64
    public var body: Body

    public init(toUserName: String, fromUserName: String, createTime: Int64, body: Body) {
        self.toUserName = toUserName
        self.fromUserName = fromUserName
        self.createTime = createTime
        self.body = body
    }

    /// A reply to `message`, checked against what WeChat accepts for that kind of push:
    /// text must be non-empty and at most ``maxTextBytes``; news has exactly one article when
    /// answering a user's message and one to eight for an event; `transfer_customer_service`
    /// answers only user messages; music needs a thumbnail.
    public static func answering(_ message: InboundMessage, with body: Body, at time: Int64) throws(WeChatError) -> Reply {
        try body.validate(answeringEvent: message.isEvent)
        return Reply(toUserName: message.fromUserName, fromUserName: message.toUserName, createTime: time, body: body)
    }

    /// The `MsgType` of this reply.
    public var msgType: String { body.msgType }
}

extension Reply {
    public enum Body: Sendable, Equatable {
        case text(String)
        case image(mediaId: String)
        case voice(mediaId: String)
        case video(Video)
        case music(Music)
        /// News articles. WeChat shows only one when the reply answers a user's message.
        case news([Article])
        /// Hands this message to the customer-service (多客服) system, optionally to one agent.
        case transferCustomerService(kfAccount: String?)

        public var msgType: String {
            switch self {
            case .text: "text"
            case .image: "image"
            case .voice: "voice"
            case .video: "video"
            case .music: "music"
            case .news: "news"
            case .transferCustomerService: "transfer_customer_service"
            }
        }

        func validate(answeringEvent: Bool) throws(WeChatError) {
            switch self {
            case .text(let text):
                if text.isEmpty { throw .invalidReply("a text reply is empty; WeChat shows an error for it. Answer `success` instead") }
                let size = text.utf8.count
                if size > Reply.maxTextBytes {
                    throw .invalidReply("a text reply is \(size) bytes; WeChat delivers at most \(Reply.maxTextBytes). Shorten or split it")
                }
            case .image(let id), .voice(let id):
                if id.isEmpty { throw .invalidReply("a \(msgType) reply needs a MediaId") }
            case .video(let video):
                if video.mediaId.isEmpty { throw .invalidReply("a video reply needs a MediaId") }
            case .music(let music):
                if music.thumbMediaId.isEmpty { throw .invalidReply("a music reply needs a ThumbMediaId") }
            case .news(let articles):
                if answeringEvent {
                    guard (1...Reply.maxArticlesForEvent).contains(articles.count) else {
                        throw .invalidReply("a news reply to an event has \(articles.count) articles; 1 to \(Reply.maxArticlesForEvent) are allowed")
                    }
                } else if articles.count != 1 {
                    throw .invalidReply("a news reply to a user's message must have exactly 1 article, not \(articles.count)")
                }
            case .transferCustomerService:
                if answeringEvent { throw .invalidReply("transfer_customer_service can answer only a user's message, not an event") }
            }
        }
    }

    public struct Video: Sendable, Equatable {
        public var mediaId: String
        public var title: String?
        public var description: String?
        public init(mediaId: String, title: String? = nil, description: String? = nil) {
            self.mediaId = mediaId; self.title = title; self.description = description
        }
    }

    public struct Music: Sendable, Equatable {
        public var title: String?
        public var description: String?
        public var musicURL: String?
        public var hqMusicURL: String?
        public var thumbMediaId: String
        public init(title: String? = nil, description: String? = nil, musicURL: String? = nil, hqMusicURL: String? = nil, thumbMediaId: String) {
            self.title = title; self.description = description; self.musicURL = musicURL
            self.hqMusicURL = hqMusicURL; self.thumbMediaId = thumbMediaId
        }
    }

    public struct Article: Sendable, Equatable {
        public var title: String
        public var description: String
        public var picURL: String
        public var url: String
        public init(title: String, description: String = "", picURL: String = "", url: String = "") {
            self.title = title; self.description = description; self.picURL = picURL; self.url = url
        }
    }
}
