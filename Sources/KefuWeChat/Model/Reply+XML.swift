extension Reply {
    /// The reply's XML as WeChat expects it: no declaration, no BOM, no whitespace, strings in CDATA.
    public func xml() -> [UInt8] {
        var w = XMLWriter()
        w.open("xml")
        w.cdata("ToUserName", toUserName)
        w.cdata("FromUserName", fromUserName)
        w.integer("CreateTime", createTime)
        w.cdata("MsgType", msgType)
        switch body {
        case .text(let text):
            w.cdata("Content", text)
        case .image(let mediaId):
            w.open("Image"); w.cdata("MediaId", mediaId); w.close("Image")
        case .voice(let mediaId):
            w.open("Voice"); w.cdata("MediaId", mediaId); w.close("Voice")
        case .video(let video):
            w.open("Video")
            w.cdata("MediaId", video.mediaId)
            if let title = video.title { w.cdata("Title", title) }
            if let description = video.description { w.cdata("Description", description) }
            w.close("Video")
        case .music(let music):
            w.open("Music")
            if let title = music.title { w.cdata("Title", title) }
            if let description = music.description { w.cdata("Description", description) }
            if let url = music.musicURL { w.cdata("MusicUrl", url) }
            if let url = music.hqMusicURL { w.cdata("HQMusicUrl", url) }
            w.cdata("ThumbMediaId", music.thumbMediaId)
            w.close("Music")
        case .news(let articles):
            w.integer("ArticleCount", articles.count)
            w.open("Articles")
            for article in articles {
                w.open("item")
                w.cdata("Title", article.title)
                w.cdata("Description", article.description)
                w.cdata("PicUrl", article.picURL)
                w.cdata("Url", article.url)
                w.close("item")
            }
            w.close("Articles")
        case .transferCustomerService(let account):
            if let account {
                w.open("TransInfo"); w.cdata("KfAccount", account); w.close("TransInfo")
            }
        }
        w.close("xml")
        return w.bytes
    }

    /// Reads a reply back from XML (tests and tools that play the user's side).
    public init<Bytes: Collection>(xml bytes: Bytes, reader: XMLReader = XMLReader()) throws(WeChatError) where Bytes.Element == UInt8 {
        try self.init(tree: reader.parse(bytes))
    }

    /// Reads a reply from a parsed `<xml>` element.
    public init(tree: XMLTree) throws(WeChatError) {
        guard tree.name == "xml" else { throw .malformedXML(reason: "the root element is <\(tree.name)>, expected <xml>", offset: 0) }
        let f = FieldReader(tree: tree, msgType: tree.text(of: "MsgType") ?? "")
        let msgType = try f.required("MsgType")
        toUserName = try f.required("ToUserName")
        fromUserName = try f.required("FromUserName")
        guard let time = try f.int64("CreateTime") else { throw .missingField(element: "CreateTime", msgType: msgType) }
        createTime = time
        func group(_ name: String) throws(WeChatError) -> FieldReader {
            guard let element = tree[name] else { throw .missingField(element: name, msgType: msgType) }
            return FieldReader(tree: element, msgType: msgType)
        }
        switch msgType {
        case "text":
            body = .text(try f.required("Content"))
        case "image":
            body = .image(mediaId: try group("Image").required("MediaId"))
        case "voice":
            body = .voice(mediaId: try group("Voice").required("MediaId"))
        case "video":
            let v = try group("Video")
            body = .video(Video(mediaId: try v.required("MediaId"), title: v.optional("Title"), description: v.optional("Description")))
        case "music":
            let m = try group("Music")
            body = .music(Music(title: m.optional("Title"), description: m.optional("Description"), musicURL: m.optional("MusicUrl"),
                                hqMusicURL: m.optional("HQMusicUrl"), thumbMediaId: m.string("ThumbMediaId")))
        case "news":
            let items = tree["Articles"]?.all("item") ?? []
            if let count = try f.int("ArticleCount"), count != items.count {
                throw .invalidField(element: "ArticleCount", value: String(count), expected: "the number of <item> elements (\(items.count))")
            }
            body = .news(items.map { item in
                let a = FieldReader(tree: item, msgType: msgType)
                return Article(title: a.string("Title"), description: a.string("Description"), picURL: a.string("PicUrl"), url: a.string("Url"))
            })
        case "transfer_customer_service":
            body = .transferCustomerService(kfAccount: tree["TransInfo"]?.text(of: "KfAccount"))
        default:
            throw .invalidField(element: "MsgType", value: msgType, expected: "a passive reply type (text, image, voice, video, music, news, transfer_customer_service)")
        }
    }
}

extension PassiveResponse {
    /// The plaintext HTTP body: reply XML, `success`, or nothing.
    public func body() -> [UInt8] {
        switch self {
        case .reply(let reply): reply.xml()
        case .success: Array("success".utf8)
        case .empty: []
        }
    }
}
