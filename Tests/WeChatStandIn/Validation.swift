import ServerJSON

/// Request validation with WeChat's errcodes (../shared/spec/wechat-api.md §§3-5, 7). Pure functions
/// of the parsed body; media ids are checked through `media`, which answers whether an id is live
/// and of one of the kinds asked for.
enum Validation {
    typealias MediaCheck = (_ id: String?, _ kinds: Set<String>) -> Bool

    /// `message/custom/send`: `touser`, then the object of `msgtype` (§3). Returns the openid.
    static func customMessage(_ body: JSON, media: MediaCheck) -> Result<String, APIError> {
        guard let touser = body["touser"]?.string, !touser.isEmpty else { return .failure(APIError(40003)) }
        guard let msgtype = body["msgtype"]?.string else { return .failure(APIError(47001, "data format error: msgtype missing")) }
        guard let object = body[msgtype], object.object != nil else {
            return .failure(APIError(47001, "data format error: the \(msgtype) object is missing"))
        }
        func needs(_ fields: [String]) -> APIError? {
            for field in fields where (object[field]?.string ?? "").isEmpty {
                return APIError(47001, "data format error: \(msgtype).\(field) missing")
            }
            return nil
        }
        func live(_ field: String, _ kinds: Set<String>) -> APIError? {
            media(object[field]?.string, kinds) ? nil : APIError(40007, "invalid media_id (\(msgtype).\(field))")
        }
        let error: APIError?
        switch msgtype {
        case "text": error = needs(["content"])
        case "image": error = live("media_id", ["image"])
        case "voice": error = live("media_id", ["voice"])
        case "video": error = live("media_id", ["video"]) ?? live("thumb_media_id", ["thumb", "image"])
        case "music":
            error = needs(["musicurl", "hqmusicurl"]) ?? live("thumb_media_id", ["thumb", "image"])
        case "news":
            guard let articles = object["articles"]?.array, !articles.isEmpty else {
                return .failure(APIError(47001, "data format error: news.articles missing"))
            }
            guard articles.count == 1 else { return .failure(APIError(45008)) }
            error = articles[0]["title"]?.string == nil ? APIError(47001, "data format error: news.articles[0].title missing") : nil
        case "msgmenu":
            guard let list = object["list"]?.array, !list.isEmpty,
                  list.allSatisfy({ $0["id"]?.string != nil && !($0["content"]?.string ?? "").isEmpty }) else {
                return .failure(APIError(47001, "data format error: msgmenu.list needs items with id and content"))
            }
            error = nil
        case "miniprogrampage":
            error = needs(["title", "appid", "pagepath"]) ?? live("thumb_media_id", ["thumb", "image"])
        case "mpnews": error = needs(["media_id"])
        case "mpnewsarticle": error = needs(["article_id"])
        case "wxcard": error = needs(["card_id"])
        default: error = APIError(40008, "invalid message type")
        }
        if let error { return .failure(error) }
        return .success(touser)
    }

    /// The `data` of a template or subscribe message: an object of `{"value": non-empty}` fields (47003).
    static func templateData(_ body: JSON) -> APIError? {
        guard let data = body["data"]?.object, !data.isEmpty else { return APIError(47003, "argument invalid! data is empty") }
        for key in data.keys.sorted() {
            guard let value = data[key]?["value"], !(value.string ?? "").isEmpty || value.int != nil else {
                return APIError(47003, "argument invalid! data.\(key).value is empty")
            }
        }
        return nil
    }

    /// Subscribe-message values by key type (`thing1` … ): the length rules WeChat documents.
    static func subscribeValues(_ body: JSON) -> APIError? {
        guard let data = body["data"]?.object else { return nil }
        let limits: [(prefix: String, max: Int)] = [("thing", 20), ("number", 32), ("letter", 32), ("symbol", 5),
                                                    ("character_string", 32), ("phrase", 5), ("name", 20),
                                                    ("phone_number", 17), ("car_number", 8)]
        for key in data.keys.sorted() {
            let value = data[key]?["value"]?.string ?? ""
            let type = String(key.prefix { !$0.isNumber })
            if let limit = limits.first(where: { $0.prefix == type }), value.count > limit.max {
                return APIError(47003, "argument invalid! data.\(key).value is invalid")
            }
        }
        return nil
    }

    // MARK: Menus (§5)

    static let keyTypes: Set<String> = ["click", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
                                        "pic_photo_or_album", "pic_weixin", "location_select"]
    static let menuTypes: Set<String> = keyTypes.union(["view", "media_id", "view_limited", "article_id",
                                                        "article_view_limited", "miniprogram"])

    /// `menu/create`: 1-3 buttons, each with a type or 1-5 sub-buttons (not both); names ≤16 bytes
    /// (sub ≤60), key ≤128 bytes, url ≤1024 bytes; types lowercase and known (40015 otherwise).
    static func menu(_ body: JSON) -> APIError? {
        guard let buttons = body["button"]?.array, (1...3).contains(buttons.count) else { return APIError(40016) }
        for button in buttons {
            guard button.object != nil else { return APIError(40016) }
            let name = button["name"]?.string ?? ""
            guard (1...16).contains(name.utf8.count) else { return APIError(40018) }
            let type = button["type"]
            if let sub = button["sub_button"], !(sub.array?.isEmpty ?? false) {
                guard type == nil else { return APIError(40017, "invalid button type: a button has a type or sub_button, not both") }
                guard let subs = sub.array, (1...5).contains(subs.count) else { return APIError(40023) }
                for child in subs {
                    guard child.object != nil else { return APIError(40023) }
                    if child["sub_button"]?.array?.isEmpty == false { return APIError(40022) }
                    guard (1...60).contains((child["name"]?.string ?? "").utf8.count) else { return APIError(40025) }
                    if let error = action(child, sub: true) { return error }
                }
            } else {
                guard type != nil else { return APIError(40017, "invalid button type: a button needs a type or sub_button") }
                if let error = action(button, sub: false) { return error }
            }
        }
        return nil
    }

    /// The type and its fields of one button that acts (no sub-buttons).
    private static func action(_ button: JSON, sub: Bool) -> APIError? {
        guard let type = button["type"]?.string else { return APIError(sub ? 40024 : 40017) }
        guard menuTypes.contains(type) else { return APIError(40015, "invalid menu type '\(type)' (types are lowercase)") }
        let key = button["key"]?.string ?? "", url = button["url"]?.string ?? ""
        if keyTypes.contains(type), !(1...128).contains(key.utf8.count) { return APIError(sub ? 40026 : 40019) }
        if type == "view" || type == "miniprogram", !(1...1024).contains(url.utf8.count) { return APIError(sub ? 40027 : 40020) }
        if type == "miniprogram", (button["appid"]?.string ?? "").isEmpty || (button["pagepath"]?.string ?? "").isEmpty {
            return APIError(sub ? 40024 : 40017, "invalid button type: miniprogram needs appid and pagepath")
        }
        if ["media_id", "view_limited"].contains(type), (button["media_id"]?.string ?? "").isEmpty { return APIError(40007) }
        if ["article_id", "article_view_limited"].contains(type), (button["article_id"]?.string ?? "").isEmpty {
            return APIError(sub ? 40024 : 40017, "invalid button type: \(type) needs article_id")
        }
        return nil
    }

    // MARK: QR codes (§7)

    struct QRRequest: Sendable {
        var permanent: Bool
        var scene: String
        var expireSeconds: Int64?
    }

    static let maxQRExpiry: Int64 = 2_592_000

    /// `qrcode/create`: the four action names, scene ranges, expire_seconds ≤ 30 days (default 60).
    static func qrCode(_ body: JSON) -> Result<QRRequest, APIError> {
        guard let action = body["action_name"]?.string else { return .failure(APIError(40097, "invalid args: action_name missing")) }
        let scene = body["action_info"]?["scene"]
        let permanent: Bool
        let name: String
        switch action {
        case "QR_SCENE", "QR_LIMIT_SCENE":
            permanent = action == "QR_LIMIT_SCENE"
            guard let id = scene?["scene_id"]?.int else { return .failure(APIError(40097, "invalid args: scene_id missing")) }
            let range: ClosedRange<Int64> = permanent ? 1...100_000 : 1...Int64(UInt32.max)
            guard range.contains(id) else { return .failure(APIError(40097, "invalid args: scene_id \(id) out of range \(range)")) }
            name = String(id)
        case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
            permanent = action == "QR_LIMIT_STR_SCENE"
            guard let value = scene?["scene_str"]?.string, (1...64).contains(value.count) else {
                return .failure(APIError(40097, "invalid args: scene_str must be 1-64 characters"))
            }
            name = value
        default:
            return .failure(APIError(40097, "invalid args: action_name \(action)"))
        }
        if permanent { return .success(QRRequest(permanent: true, scene: name, expireSeconds: nil)) }
        let seconds = body["expire_seconds"].flatMap { $0.isNull ? nil : $0 }
        if let seconds, seconds.int == nil { return .failure(APIError(40097, "invalid args: expire_seconds")) }
        let expiry = seconds?.int ?? 60
        guard (1...maxQRExpiry).contains(expiry) else {
            return .failure(APIError(40097, "invalid args: expire_seconds \(expiry) must be 1 to \(maxQRExpiry)"))
        }
        return .success(QRRequest(permanent: false, scene: name, expireSeconds: expiry))
    }
}
