extension InboundMessage {
    /// Reads a push from its plaintext XML body (already decrypted in secure mode).
    public init<Bytes: Collection>(xml bytes: Bytes, reader: XMLReader = XMLReader()) throws(WeChatError) where Bytes.Element == UInt8 {
        try self.init(tree: reader.parse(bytes))
    }

    /// Reads a push from a parsed `<xml>` element.
    ///
    /// The header fields are required. Of each type's own fields, the one that defines it is required
    /// (`Content` of text, `MediaId` of media, `Event` of events); the rest default to empty when
    /// absent, because WeChat omits empty elements on some surfaces. A number that is present but
    /// not a number is an error naming the element.
    public init(tree: XMLTree) throws(WeChatError) {
        guard tree.name == "xml" else {
            throw .malformedXML(reason: "the root element is <\(tree.name)>, expected <xml>", offset: 0)
        }
        let fields = FieldReader(tree: tree, msgType: tree.text(of: "MsgType") ?? "")
        let msgType = try fields.required("MsgType")
        toUserName = try fields.required("ToUserName")
        fromUserName = try fields.required("FromUserName")
        guard let time = try fields.int64("CreateTime") else { throw .missingField(element: "CreateTime", msgType: msgType) }
        createTime = time
        self.fields = tree
        switch msgType {
        case "event":
            msgId = try fields.uint64("MsgID")
            content = .event(try Self.event(fields))
        default:
            msgId = try fields.uint64("MsgId")
            content = try Self.message(msgType, fields)
        }
    }

    private static func articleOrigin(_ f: FieldReader) throws(WeChatError) -> ArticleOrigin? {
        guard let dataId = f.optional("MsgDataId") else { return nil }
        return ArticleOrigin(msgDataId: dataId, idx: try f.int("Idx"))
    }

    private static func message(_ msgType: String, _ f: FieldReader) throws(WeChatError) -> Content {
        switch msgType {
        case "text":
            return .text(Text(content: try f.required("Content"), bizMsgMenuId: try f.int64("bizmsgmenuid"),
                              article: try articleOrigin(f)))
        case "image":
            return .image(Image(picURL: f.string("PicUrl"), mediaId: try f.required("MediaId"), article: try articleOrigin(f)))
        case "voice":
            return .voice(Voice(mediaId: try f.required("MediaId"), format: f.string("Format"),
                                mediaId16K: f.optional("MediaId16K"), recognition: f.optional("Recognition")))
        case "video":
            return .video(Video(mediaId: try f.required("MediaId"), thumbMediaId: f.string("ThumbMediaId")))
        case "shortvideo":
            return .shortVideo(Video(mediaId: try f.required("MediaId"), thumbMediaId: f.string("ThumbMediaId")))
        case "location":
            return .location(Location(latitude: try f.double("Location_X") ?? 0, longitude: try f.double("Location_Y") ?? 0,
                                      scale: try f.int("Scale") ?? 0, label: f.string("Label")))
        case "link":
            return .link(Link(title: f.string("Title"), description: f.string("Description"), url: f.string("Url")))
        case "file":
            return .file(File(title: f.string("Title"), description: f.string("Description"), fileKey: f.optional("FileKey"),
                              fileMd5: f.optional("FileMd5"), fileTotalLength: try f.int64("FileTotalLen")))
        default:
            return .unknown(msgType: msgType)
        }
    }

    private static func event(_ f: FieldReader) throws(WeChatError) -> Event {
        let name = try f.required("Event")
        let key = f.string("EventKey")
        switch name {
        case "subscribe":
            let scene = key.hasPrefix("qrscene_") ? String(key.dropFirst("qrscene_".count)) : nil
            return .subscribe(scene: scene, ticket: f.optional("Ticket"))
        case "unsubscribe":
            return .unsubscribe
        case "SCAN":
            return .scan(scene: key, ticket: f.optional("Ticket"))
        case "LOCATION":
            return .location(latitude: try f.double("Latitude") ?? 0, longitude: try f.double("Longitude") ?? 0,
                             precision: try f.double("Precision") ?? 0)
        case "CLICK":
            return .click(key: key)
        case "VIEW":
            return .view(url: key, menuId: try f.int64("MenuId"))
        case "scancode_push", "scancode_waitmsg":
            let info = f.tree["ScanCodeInfo"]
            let scan = ScanCodeInfo(scanType: info?.text(of: "ScanType") ?? "", scanResult: info?.text(of: "ScanResult") ?? "")
            return name == "scancode_push" ? .scancodePush(key: key, scan: scan) : .scancodeWaitMsg(key: key, scan: scan)
        case "pic_sysphoto", "pic_photo_or_album", "pic_weixin":
            let info = f.tree["SendPicsInfo"]
            let sums = info?["PicList"]?.all("item").compactMap { $0.text(of: "PicMd5Sum") } ?? []
            let count = try FieldReader(tree: info ?? XMLTree(name: "SendPicsInfo"), msgType: "event").int("Count") ?? sums.count
            let pictures = SendPicsInfo(count: count, md5Sums: sums)
            switch name {
            case "pic_sysphoto": return .picSysPhoto(key: key, pictures: pictures)
            case "pic_photo_or_album": return .picPhotoOrAlbum(key: key, pictures: pictures)
            default: return .picWeixin(key: key, pictures: pictures)
            }
        case "location_select":
            let info = FieldReader(tree: f.tree["SendLocationInfo"] ?? XMLTree(name: "SendLocationInfo"), msgType: "event")
            return .locationSelect(key: key, location: SendLocationInfo(
                latitude: try info.double("Location_X") ?? 0, longitude: try info.double("Location_Y") ?? 0,
                scale: try info.int("Scale") ?? 0, label: info.string("Label"), poiName: info.string("Poiname")))
        case "view_miniprogram":
            return .viewMiniprogram(pagePath: key, menuId: try f.int64("MenuId"))
        case "TEMPLATESENDJOBFINISH":
            return .templateSendJobFinish(status: f.string("Status"))
        case "MASSSENDJOBFINISH":
            let copyright = f.tree["CopyrightCheckResult"]
            let urls = try (f.tree["ArticleUrlResult"]?["ResultList"]?.all("item") ?? []).map { item throws(WeChatError) in
                let r = FieldReader(tree: item, msgType: "event")
                return MassSendResult.ArticleURL(index: try r.int("ArticleIdx") ?? 0, url: r.string("ArticleUrl"))
            }
            let check = FieldReader(tree: copyright ?? XMLTree(name: "CopyrightCheckResult"), msgType: "event")
            return .massSendJobFinish(MassSendResult(
                status: f.string("Status"), totalCount: try f.int("TotalCount") ?? 0, filterCount: try f.int("FilterCount") ?? 0,
                sentCount: try f.int("SentCount") ?? 0, errorCount: try f.int("ErrorCount") ?? 0,
                copyrightCheckState: copyright == nil ? nil : try check.int("CheckState"), articleURLs: urls))
        case "kf_create_session":
            return .kfCreateSession(kfAccount: f.string("KfAccount"))
        case "kf_close_session":
            return .kfCloseSession(kfAccount: f.string("KfAccount"))
        case "kf_switch_session":
            return .kfSwitchSession(from: f.string("FromKfAccount"), to: f.string("ToKfAccount"))
        default:
            return .unknown(name: name, eventKey: f.optional("EventKey"))
        }
    }
}

/// Typed access to the children of one element, with errors that name the element.
struct FieldReader {
    let tree: XMLTree
    let msgType: String

    func optional(_ name: String) -> String? { tree.text(of: name) }

    func string(_ name: String) -> String { tree.text(of: name) ?? "" }

    func required(_ name: String) throws(WeChatError) -> String {
        guard let value = tree.text(of: name) else { throw .missingField(element: name, msgType: msgType) }
        return value
    }

    /// Numbers are bare or in CDATA; surrounding whitespace is tolerated, an empty element is absent.
    private func number<T>(_ name: String, _ expected: String, _ parse: (Substring) -> T?) throws(WeChatError) -> T? {
        guard let raw = tree.text(of: name) else { return nil }
        let text = Self.trimmingASCIISpace(raw)
        if text.isEmpty { return nil }
        guard let value = parse(text) else { throw .invalidField(element: name, value: raw, expected: expected) }
        return value
    }

    static func trimmingASCIISpace(_ raw: String) -> Substring {
        let bytes = raw.utf8
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper, isSpace(bytes[lower]) { lower = bytes.index(after: lower) }
        while upper > lower, isSpace(bytes[bytes.index(before: upper)]) { upper = bytes.index(before: upper) }
        return raw[lower..<upper]
    }

    func int(_ name: String) throws(WeChatError) -> Int? { try number(name, "an integer") { Int($0) } }
    func int64(_ name: String) throws(WeChatError) -> Int64? { try number(name, "an integer") { Int64($0) } }
    func uint64(_ name: String) throws(WeChatError) -> UInt64? { try number(name, "an unsigned 64-bit integer") { UInt64($0) } }
    func double(_ name: String) throws(WeChatError) -> Double? {
        try number(name, "a decimal number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
    }
}
