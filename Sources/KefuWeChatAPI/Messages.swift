/// A customer-service message (客服消息), `POST /cgi-bin/message/custom/send`.
public enum CustomerServiceMessage: Sendable, Equatable {
    case text(String)
    case image(mediaID: String)
    case voice(mediaID: String)
    case video(mediaID: String, thumbMediaID: String? = nil, title: String? = nil, description: String? = nil)
    case music(Music)
    /// One article (WeChat refuses more with 45008).
    case news(Article)
    /// A menu message (`msgmenu`): a tap comes back as a text message with `bizmsgmenuid`.
    case menu(MenuMessage)
    case miniProgramPage(MiniProgramPage)

    public struct Music: Sendable, Equatable {
        public var title: String?
        public var description: String?
        public var musicURL: String
        public var hqMusicURL: String
        public var thumbMediaID: String
        public init(title: String? = nil, description: String? = nil, musicURL: String, hqMusicURL: String, thumbMediaID: String) {
            self.title = title
            self.description = description
            self.musicURL = musicURL
            self.hqMusicURL = hqMusicURL
            self.thumbMediaID = thumbMediaID
        }
    }

    public struct Article: Sendable, Equatable {
        public var title: String
        public var description: String?
        public var url: String
        public var pictureURL: String?
        public init(title: String, description: String? = nil, url: String, pictureURL: String? = nil) {
            self.title = title
            self.description = description
            self.url = url
            self.pictureURL = pictureURL
        }
    }

    public struct MenuMessage: Sendable, Equatable {
        public struct Item: Sendable, Equatable {
            public var id: String
            public var content: String
            public init(id: String, content: String) { self.id = id; self.content = content }
        }
        public var head: String
        public var items: [Item]
        public var tail: String
        public init(head: String, items: [Item], tail: String) { self.head = head; self.items = items; self.tail = tail }
    }

    public struct MiniProgramPage: Sendable, Equatable {
        public var title: String
        public var appID: String
        public var pagePath: String
        public var thumbMediaID: String
        public init(title: String, appID: String, pagePath: String, thumbMediaID: String) {
            self.title = title
            self.appID = appID
            self.pagePath = pagePath
            self.thumbMediaID = thumbMediaID
        }
    }

    /// WeChat's `msgtype`.
    public var msgtype: String {
        switch self {
        case .text: "text"
        case .image: "image"
        case .voice: "voice"
        case .video: "video"
        case .music: "music"
        case .news: "news"
        case .menu: "msgmenu"
        case .miniProgramPage: "miniprogrampage"
        }
    }
}

/// A template message (模板消息), `POST /cgi-bin/message/template/send`.
public struct TemplateMessage: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var value: String
        /// Ignored by WeChat since 2023-05 (sent if given).
        public var color: String?
        public init(_ value: String, color: String? = nil) { self.value = value; self.color = color }
    }
    public var toUser: String
    public var templateID: String
    public var url: String?
    /// Wins over `url` when both are given.
    public var miniProgram: MiniProgramLink?
    /// WeChat sends a given openid + client_msg_id once (about 10 minutes): pass the outbox row's id.
    public var clientMessageID: String?
    /// Keys as the template's `{{key.DATA}}`.
    public var data: [String: Field]

    public init(toUser: String, templateID: String, url: String? = nil, miniProgram: MiniProgramLink? = nil,
                clientMessageID: String? = nil, data: [String: Field]) {
        self.toUser = toUser
        self.templateID = templateID
        self.url = url
        self.miniProgram = miniProgram
        self.clientMessageID = clientMessageID
        self.data = data
    }
}

/// A subscribe message (订阅通知), `POST /cgi-bin/message/subscribe/bizsend`.
public struct SubscribeMessage: Sendable, Equatable {
    public var toUser: String
    public var templateID: String
    public var page: String?
    public var miniProgram: MiniProgramLink?
    /// Keys as the template's (`thing1`, `time2` …), values as shown.
    public var data: [String: String]

    public init(toUser: String, templateID: String, page: String? = nil, miniProgram: MiniProgramLink? = nil, data: [String: String]) {
        self.toUser = toUser
        self.templateID = templateID
        self.page = page
        self.miniProgram = miniProgram
        self.data = data
    }
}

public struct MiniProgramLink: Sendable, Equatable {
    public var appID: String
    public var pagePath: String
    public init(appID: String, pagePath: String) { self.appID = appID; self.pagePath = pagePath }
}

/// The kinds of temporary media (`type=` of media/upload).
public enum MediaKind: String, Sendable, CaseIterable {
    case image, voice, video, thumb
}

public struct UploadedMedia: Sendable, Equatable {
    public var mediaID: String
    public var kind: MediaKind
    /// Unix seconds; the id is usable for 3 days from then.
    public var createdAt: Int64
    public init(mediaID: String, kind: MediaKind, createdAt: Int64) { self.mediaID = mediaID; self.kind = kind; self.createdAt = createdAt }
    /// When WeChat forgets the id (3 days after upload).
    public var expiresAt: Int64 { createdAt + 3 * 86_400 }
}

/// A parametric QR code's scene.
public enum QRScene: Sendable, Equatable {
    /// Temporary: any non-zero 32-bit number; permanent: 1…100 000.
    case id(UInt32)
    /// 1–64 characters.
    case string(String)
}

public struct QRCode: Sendable, Equatable {
    public var ticket: String
    /// The content of the code (`http://weixin.qq.com/q/…`), for drawing it yourself.
    public var url: String
    /// nil for a permanent code.
    public var expireSeconds: Int64?
    /// The image: `showqrcode?ticket=` with the ticket URL-encoded.
    public var imageURL: String
}

// MARK: - Wire forms

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

struct CustomSendBody: Encodable {
    let touser: String
    let message: CustomerServiceMessage
    let kfAccount: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        try c.encode(touser, forKey: DynamicKey("touser"))
        try c.encode(message.msgtype, forKey: DynamicKey("msgtype"))
        let key = DynamicKey(message.msgtype)
        switch message {
        case .text(let content):
            try c.encode(["content": content], forKey: key)
        case .image(let id), .voice(let id):
            try c.encode(["media_id": id], forKey: key)
        case .video(let id, let thumb, let title, let description):
            try c.encode(Self.compact(["media_id": id, "thumb_media_id": thumb, "title": title, "description": description]), forKey: key)
        case .music(let m):
            try c.encode(Self.compact(["title": m.title, "description": m.description, "musicurl": m.musicURL,
                                       "hqmusicurl": m.hqMusicURL, "thumb_media_id": m.thumbMediaID]), forKey: key)
        case .news(let a):
            try c.encode(["articles": [Self.compact(["title": a.title, "description": a.description, "url": a.url, "picurl": a.pictureURL])]],
                         forKey: key)
        case .menu(let m):
            var nested = c.nestedContainer(keyedBy: DynamicKey.self, forKey: key)
            try nested.encode(m.head, forKey: DynamicKey("head_content"))
            try nested.encode(m.items.map { ["id": $0.id, "content": $0.content] }, forKey: DynamicKey("list"))
            try nested.encode(m.tail, forKey: DynamicKey("tail_content"))
        case .miniProgramPage(let p):
            try c.encode(["title": p.title, "appid": p.appID, "pagepath": p.pagePath, "thumb_media_id": p.thumbMediaID], forKey: key)
        }
        if let kfAccount { try c.encode(["kf_account": kfAccount], forKey: DynamicKey("customservice")) }
    }

    static func compact(_ fields: [String: String?]) -> [String: String] { fields.compactMapValues { $0 } }
}

struct MiniProgramWire: Encodable {
    let appid: String
    let pagepath: String
    init(_ link: MiniProgramLink) { appid = link.appID; pagepath = link.pagePath }
}

struct TemplateBody: Encodable {
    struct Field: Encodable { let value: String; let color: String? }
    let touser: String
    let template_id: String
    let url: String?
    let miniprogram: MiniProgramWire?
    let client_msg_id: String?
    let data: [String: Field]

    init(_ m: TemplateMessage) {
        touser = m.toUser
        template_id = m.templateID
        url = m.url
        miniprogram = m.miniProgram.map(MiniProgramWire.init)
        client_msg_id = m.clientMessageID
        data = m.data.mapValues { Field(value: $0.value, color: $0.color) }
    }
}

struct SubscribeBody: Encodable {
    let touser: String
    let template_id: String
    let page: String?
    let miniprogram: MiniProgramWire?
    let data: [String: [String: String]]

    init(_ m: SubscribeMessage) {
        touser = m.toUser
        template_id = m.templateID
        page = m.page
        miniprogram = m.miniProgram.map(MiniProgramWire.init)
        data = m.data.mapValues { ["value": $0] }
    }
}
