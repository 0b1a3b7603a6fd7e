extension InboundMessage {
    /// The push as WeChat would send it in plaintext mode: strings in CDATA, numbers bare.
    ///
    /// Used by tools and tests that play WeChat's part (`kefu chat`, `kefu test --wire`). A message
    /// of unknown type is written from ``fields``.
    public func xml() -> [UInt8] {
        var w = XMLWriter()
        w.open("xml")
        w.cdata("ToUserName", toUserName)
        w.cdata("FromUserName", fromUserName)
        w.integer("CreateTime", createTime)
        w.cdata("MsgType", msgType)
        switch content {
        case .text(let text):
            w.cdata("Content", text.content)
            if let menu = text.bizMsgMenuId { w.integer("bizmsgmenuid", menu) }
            writeArticle(text.article, &w)
        case .image(let image):
            w.cdata("PicUrl", image.picURL)
            w.cdata("MediaId", image.mediaId)
            writeArticle(image.article, &w)
        case .voice(let voice):
            w.cdata("MediaId", voice.mediaId)
            w.cdata("Format", voice.format)
            if let id = voice.mediaId16K { w.cdata("MediaId16K", id) }
            if let text = voice.recognition { w.cdata("Recognition", text) }
        case .video(let video), .shortVideo(let video):
            w.cdata("MediaId", video.mediaId)
            w.cdata("ThumbMediaId", video.thumbMediaId)
        case .location(let location):
            w.open("Location_X"); w.raw(String(location.latitude)); w.close("Location_X")
            w.open("Location_Y"); w.raw(String(location.longitude)); w.close("Location_Y")
            w.integer("Scale", location.scale)
            w.cdata("Label", location.label)
        case .link(let link):
            w.cdata("Title", link.title)
            w.cdata("Description", link.description)
            w.cdata("Url", link.url)
        case .file(let file):
            w.cdata("Title", file.title)
            w.cdata("Description", file.description)
            if let key = file.fileKey { w.cdata("FileKey", key) }
            if let md5 = file.fileMd5 { w.cdata("FileMd5", md5) }
            if let length = file.fileTotalLength { w.integer("FileTotalLen", length) }
        case .event(let event):
            w.cdata("Event", event.name)
            writeEvent(event, &w)
        case .unknown:
            // MsgId is written after the switch, as for every type: copying it too would repeat it.
            let header: Set<String> = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId"]
            for child in fields.children where !header.contains(child.name) { w.tree(child) }
        }
        if !isEvent, let msgId { w.integer("MsgId", msgId) }
        w.close("xml")
        return w.bytes
    }

    private func writeArticle(_ article: ArticleOrigin?, _ w: inout XMLWriter) {
        guard let article else { return }
        w.cdata("MsgDataId", article.msgDataId)
        if let idx = article.idx { w.integer("Idx", idx) }
    }

    private func writeEvent(_ event: Event, _ w: inout XMLWriter) {
        switch event {
        case .subscribe(let scene, let ticket):
            w.cdata("EventKey", scene.map { "qrscene_" + $0 } ?? "")
            if let ticket { w.cdata("Ticket", ticket) }
        case .unsubscribe:
            w.cdata("EventKey", "")
        case .scan(let scene, let ticket):
            w.cdata("EventKey", scene)
            if let ticket { w.cdata("Ticket", ticket) }
        case .location(let latitude, let longitude, let precision):
            w.open("Latitude"); w.raw(String(latitude)); w.close("Latitude")
            w.open("Longitude"); w.raw(String(longitude)); w.close("Longitude")
            w.open("Precision"); w.raw(String(precision)); w.close("Precision")
        case .click(let key):
            w.cdata("EventKey", key)
        case .view(let url, let menuId), .viewMiniprogram(let url, let menuId):
            w.cdata("EventKey", url)
            if let menuId { w.integer("MenuId", menuId) }
        case .scancodePush(let key, let scan), .scancodeWaitMsg(let key, let scan):
            w.cdata("EventKey", key)
            w.open("ScanCodeInfo")
            w.cdata("ScanType", scan.scanType)
            w.cdata("ScanResult", scan.scanResult)
            w.close("ScanCodeInfo")
        case .picSysPhoto(let key, let pictures), .picPhotoOrAlbum(let key, let pictures), .picWeixin(let key, let pictures):
            w.cdata("EventKey", key)
            w.open("SendPicsInfo")
            w.integer("Count", pictures.count)
            w.open("PicList")
            for sum in pictures.md5Sums {
                w.open("item"); w.cdata("PicMd5Sum", sum); w.close("item")
            }
            w.close("PicList")
            w.close("SendPicsInfo")
        case .locationSelect(let key, let location):
            w.cdata("EventKey", key)
            w.open("SendLocationInfo")
            w.cdata("Location_X", String(location.latitude))
            w.cdata("Location_Y", String(location.longitude))
            w.cdata("Scale", String(location.scale))
            w.cdata("Label", location.label)
            w.cdata("Poiname", location.poiName)
            w.close("SendLocationInfo")
        case .templateSendJobFinish(let status):
            if let msgId { w.integer("MsgID", msgId) }
            w.cdata("Status", status)
        case .massSendJobFinish(let result):
            if let msgId { w.integer("MsgID", msgId) }
            w.cdata("Status", result.status)
            w.integer("TotalCount", result.totalCount)
            w.integer("FilterCount", result.filterCount)
            w.integer("SentCount", result.sentCount)
            w.integer("ErrorCount", result.errorCount)
            if let state = result.copyrightCheckState {
                w.open("CopyrightCheckResult"); w.integer("Count", 0); w.open("ResultList"); w.close("ResultList")
                w.integer("CheckState", state); w.close("CopyrightCheckResult")
            }
            w.open("ArticleUrlResult")
            w.integer("Count", result.articleURLs.count)
            w.open("ResultList")
            for article in result.articleURLs {
                w.open("item"); w.integer("ArticleIdx", article.index); w.cdata("ArticleUrl", article.url); w.close("item")
            }
            w.close("ResultList")
            w.close("ArticleUrlResult")
        case .kfCreateSession(let account), .kfCloseSession(let account):
            w.cdata("KfAccount", account)
        case .kfSwitchSession(let from, let to):
            w.cdata("FromKfAccount", from)
            w.cdata("ToKfAccount", to)
        case .unknown(_, let key):
            if let key { w.cdata("EventKey", key) }
            let known: Set<String> = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "EventKey"]
            for child in fields.children where !known.contains(child.name) { w.tree(child) }
        }
    }
}
