import Foundation
import Testing

/// Customer-service windows, typing, template and subscribe messages (spec §§3-4).
@Suite("wechat-standin: messages and windows", .serialized)
struct MessageTests {
    @Test("windows: none for a stranger (45015); a message opens 5 sends in 48 h, a click 3 in 1 min (45047 after); unsubscribe closes")
    func windows() throws {
        let server = try StandInServer()
        let token = try server.token()
        #expect(try server.sendText(token, to: "oStranger").errcode == 45015)

        try server.interaction("oAlice", "message")
        for i in 1...5 { #expect(try server.sendText(token, to: "oAlice", "第\(i)条").errcode == 0) }
        #expect(try server.sendText(token, to: "oAlice").errcode == 45047)
        try server.interaction("oAlice", "message")  // a new interaction replaces the window
        #expect(try server.sendText(token, to: "oAlice").errcode == 0)
        try server.advance(48 * 3600)
        let fresh = try server.token()
        #expect(try server.sendText(fresh, to: "oAlice").errcode == 45015, "48 h later")

        try server.interaction("oBob", "click")
        for _ in 1...3 { #expect(try server.sendText(fresh, to: "oBob").errcode == 0) }
        #expect(try server.sendText(fresh, to: "oBob").errcode == 45047)
        try server.interaction("oBob", "scan")
        try server.advance(59)
        #expect(try server.sendText(fresh, to: "oBob").errcode == 0)
        try server.advance(1)
        #expect(try server.sendText(fresh, to: "oBob").errcode == 45015, "1 minute after a scan")
        try server.interaction("oBob", "subscribe")
        try server.interaction("oBob", "unsubscribe")
        #expect(try server.sendText(fresh, to: "oBob").errcode == 45015)

        let sent = try server.sent("oAlice")
        #expect(sent.count == 6)
        #expect(sent.first?["api"] as? String == "custom")
        #expect(((sent.first?["body"] as? [String: Any])?["text"] as? [String: Any])?["content"] as? String == "第1条")
        #expect(try server.sent().count == 10)
    }

    @Test("message shapes: every msgtype of §3 is checked; news has exactly one article (45008); bad JSON 47001, empty 44002")
    func shapes() throws {
        let server = try StandInServer()
        let token = try server.token()
        try server.interaction("oCarol", "message")
        let path = "/cgi-bin/message/custom/send?access_token=\(token)"
        func send(_ msgtype: String, _ object: [String: Any]) throws -> Int? {
            try server.post(path, json: ["touser": "oCarol", "msgtype": msgtype, msgtype: object]).errcode
        }
        let article: [String: Any] = ["title": "新品", "description": "秋季", "url": "https://example.com/a", "picurl": "https://example.com/a.jpg"]
        #expect(try send("news", ["articles": [article, article]]) == 45008)
        #expect(try send("news", ["articles": [article]]) == 0)
        #expect(try send("text", [:]) == 47001)
        #expect(try send("msgmenu", ["head_content": "您对本次服务是否满意？", "list": [["id": "101", "content": "满意"]], "tail_content": "谢谢"]) == 0)
        #expect(try send("msgmenu", ["list": []]) == 47001)
        #expect(try send("image", ["media_id": "never-uploaded"]) == 40007)
        #expect(try send("music", ["title": "t", "description": "d", "musicurl": "http://m", "hqmusicurl": "http://h", "thumb_media_id": "x"]) == 40007)
        #expect(try send("miniprogrampage", ["title": "t", "appid": "wx1", "pagepath": "p", "thumb_media_id": "x"]) == 40007)
        #expect(try send("video", ["media_id": "x", "thumb_media_id": "y", "title": "t", "description": "d"]) == 40007)
        #expect(try send("bogus", ["x": 1]) == 40008)
        #expect(try server.post(path, "{not json").errcode == 47001)
        #expect(try server.post(path, "").errcode == 44002)
        #expect(try server.post(path, json: ["msgtype": "text", "text": ["content": "x"]]).errcode == 40003)
        #expect(try server.sent("oCarol").count == 2)
    }

    @Test("typing: 45080 without an interaction in 30 s, 45081 while typing (15 s), 45072 for a bad command")
    func typing() throws {
        let server = try StandInServer()
        let token = try server.token()
        let path = "/cgi-bin/message/custom/typing?access_token=\(token)"
        #expect(try server.post(path, json: ["touser": "oDan", "command": "Typing"]).errcode == 45080)
        try server.interaction("oDan", "message")
        #expect(try server.post(path, json: ["touser": "oDan", "command": "Typing"]).errcode == 0)
        #expect(try server.post(path, json: ["touser": "oDan", "command": "Typing"]).errcode == 45081)
        #expect(try server.post(path, json: ["touser": "oDan", "command": "typing"]).errcode == 45072)
        try server.advance(15)
        #expect(try server.post(path, json: ["touser": "oDan", "command": "Typing"]).errcode == 0)
        #expect(try server.post(path, json: ["touser": "oDan", "command": "CancelTyping"]).errcode == 0)
        try server.advance(16)
        #expect(try server.post(path, json: ["touser": "oDan", "command": "Typing"]).errcode == 45080, "31 s after the message")
        #expect(try server.sent("oDan").map { $0["api"] as? String } == ["typing", "typing", "typing"])
    }

    @Test("40033 for a \\u escape of non-ASCII; raw UTF-8 and an escaped backslash pass")
    func unicodeEscapes() throws {
        let server = try StandInServer()
        let token = try server.token()
        try server.interaction("oErin", "message")
        let path = "/cgi-bin/message/custom/send?access_token=\(token)"
        let escaped = try server.post(path, #"{"touser":"oErin","msgtype":"text","text":{"content":"\u4f60\u597d"}}"#)
        #expect(escaped.errcode == 40033, "\(escaped.text)")
        #expect(try server.post(path, #"{"touser":"oErin","msgtype":"text","text":{"content":"你好"}}"#).errcode == 0)
        #expect(try server.post(path, #"{"touser":"oErin","msgtype":"text","text":{"content":"C:\\u4f60 \u0041"}}"#).errcode == 0)
        let sent = try server.sent("oErin")
        #expect(((sent.first?["body"] as? [String: Any])?["text"] as? [String: Any])?["content"] as? String == "你好")
    }

    @Test("template: msgid; client_msg_id de-duplicated per openid for 10 min; 47003 for empty values; the signed, encrypted TEMPLATESENDJOBFINISH reaches the webhook")
    func templates() throws {
        let webhook = try WebhookListener()
        let server = try StandInServer(["--webhook", webhook.url], environment: ["KEFU_TOKEN": Push.token, "KEFU_AES_KEY": Push.aesKey])
        let token = try server.token()
        let path = "/cgi-bin/message/template/send?access_token=\(token)"
        func send(_ openid: String, _ clientID: String?, value: String = "已发货") throws -> HTTPAnswer {
            var body: [String: Any] = ["touser": openid, "template_id": "TPL-order-status", "data": ["keyword1": ["value": value]]]
            if let clientID { body["client_msg_id"] = clientID }
            return try server.post(path, json: body)
        }
        let first = try send("oFay", "order-1")
        #expect(first.errcode == 0 && first.json["errmsg"] as? String == "ok")
        let msgid = try #require(first.json["msgid"] as? Int)
        #expect(try send("oFay", "order-1").json["msgid"] as? Int == msgid, "the same client_msg_id: the first msgid")
        let other = try #require(try send("oGus", "order-1").json["msgid"] as? Int)
        #expect(other != msgid, "de-duplication is per openid")
        try server.advance(600)
        let later = try #require(try send("oFay", "order-1").json["msgid"] as? Int)
        #expect(later != msgid, "after 10 minutes it is a new message")
        #expect(try send("oFay", nil, value: "").errcode == 47003)
        let noData = try server.post(path, json: ["touser": "oFay", "template_id": "TPL"])
        #expect(noData.errcode == 47003)
        #expect(try server.sent().filter { $0["api"] as? String == "template" }.count == 3)

        let pushes = webhook.waitFor(3)
        #expect(pushes.count == 3)
        let opened = try pushes.map { try Push.open($0) }
        let finished = opened.compactMap { message -> UInt64? in
            guard case .event(.templateSendJobFinish(let status)) = message.content, status == "success" else { return nil }
            return message.msgId
        }
        #expect(Set(finished) == Set([msgid, other, later].map(UInt64.init)))
        #expect(opened.contains { $0.fromUserName == "oFay" })
    }

    @Test("subscribe/bizsend: ok, 47003 for empty or over-long values")
    func subscribe() throws {
        let server = try StandInServer()
        let token = try server.token()
        let path = "/cgi-bin/message/subscribe/bizsend?access_token=\(token)"
        let ok = try server.post(path, json: ["touser": "oHal", "template_id": "SUB1", "page": "pages/index", "data": ["thing1": ["value": "预约提醒"], "time2": ["value": "2026-01-02 10:00"]]])
        #expect(ok.errcode == 0 && ok.json["errmsg"] as? String == "ok")
        #expect(try server.post(path, json: ["touser": "oHal", "template_id": "SUB1", "data": ["thing1": ["value": ""]]]).errcode == 47003)
        #expect(try server.post(path, json: ["touser": "oHal", "template_id": "SUB1", "data": ["thing1": ["value": String(repeating: "长", count: 21)]]]).errcode == 47003)
        #expect(try server.sent("oHal").map { $0["api"] as? String } == ["subscribe"])
    }
}
