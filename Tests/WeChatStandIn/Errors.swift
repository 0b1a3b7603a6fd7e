/// A WeChat-level error: HTTP 200 with `{"errcode":N,"errmsg":"… rid: …"}`.
struct APIError: Error, Sendable, Equatable {
    var errcode: Int
    var errmsg: String

    init(_ errcode: Int, _ errmsg: String? = nil) {
        self.errcode = errcode
        self.errmsg = errmsg ?? APIError.messages[errcode] ?? "error"
    }

    /// WeChat's own wording for the codes the stand-in returns.
    static let messages: [Int: String] = [
        -1: "system error",
        40001: "invalid credential, access_token is invalid or not latest",
        40002: "invalid grant_type",
        40003: "invalid openid",
        40004: "invalid media type",
        40005: "invalid file type",
        40006: "invalid meida size",
        40007: "invalid media_id",
        40008: "invalid message type",
        40013: "invalid appid",
        40014: "invalid access_token",
        40015: "invalid menu type",
        40016: "invalid button size",
        40017: "invalid button type",
        40018: "invalid button name size",
        40019: "invalid button key size",
        40020: "invalid button url size",
        40022: "invalid sub menu level",
        40023: "invalid sub button size",
        40024: "invalid sub button type",
        40025: "invalid sub button name size",
        40026: "invalid sub button key size",
        40027: "invalid sub button url size",
        40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
        40037: "invalid template_id",
        40097: "invalid args",
        40125: "invalid appsecret",
        41001: "access_token missing",
        41002: "appid missing",
        41004: "appsecret missing",
        41005: "media data missing",
        42001: "access_token expired",
        43001: "require GET method",
        43002: "require POST method",
        43004: "require subscribe",
        43101: "user refuse to accept the msg",
        44001: "empty media data",
        44002: "empty post data",
        45001: "media size out of limit",
        45008: "article size out of limit",
        45009: "reach max api daily quota limit",
        45011: "api minute-quota reach limit  mustslower  retry next minute",
        45015: "response out of time limit or subscription is canceled",
        45047: "out of response count limit",
        45072: "command field invalid",
        45080: "has not sent message to user recently",
        45081: "already in typing status",
        46003: "menu no exist",
        47001: "data format error",
        47003: "argument invalid!",
    ]
}
