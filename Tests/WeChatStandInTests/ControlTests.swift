import Foundation
import KefuTestSupport
import KefuWeChat
import Testing

/// The webhook secrets the push tests sign with (test values, not an account's).
enum Push {
    static let token = "StandInPushToken2026"
    static let aesKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

    /// Opens a received push as `kefu serve` would: signature, freshness, then decryption when encrypted.
    static func open(_ received: WebhookListener.Received, encrypted: Bool = true) throws -> InboundMessage {
        let configuration = WeChatConfiguration(token: token, appID: StandInServer.appID,
                                                aesKey: encrypted ? try EncodingAESKey(aesKey) : nil)
        let endpoint = try WeChatEndpoint(configuration)
        return try endpoint.open(received.body, query: try SignedQuery(received.query), now: Int64(Date().timeIntervalSince1970)).message
    }
}

/// Faults, quotas, menus, media, QR codes and the rest of the control API.
@Suite("wechat-standin: faults, quotas, menus, media, QR codes", .serialized)
struct ControlTests {
    @Test("faults: errcode for the next N calls; slow answers late but has its effect; reset before and after the effect")
    func faults() throws {
        let server = try StandInServer()
        let token = try server.token()
        try server.interaction("oIvy", "message")
        let path = "/cgi-bin/message/custom/send"
        #expect(try server.post("/standin/fault", json: ["path": path, "kind": "errcode", "errcode": -1, "count": 2]).status == 200)
        let busy = try server.sendText(token, to: "oIvy")
        #expect(busy.errcode == -1 && (busy.json["errmsg"] as? String)?.hasPrefix("system error rid: ") == true, "\(busy.text)")
        #expect(try server.sendText(token, to: "oIvy").errcode == -1)
        #expect(try server.sendText(token, to: "oIvy", "一").errcode == 0)
        #expect(try server.sent("oIvy").count == 1, "an errcode fault has no effect")

        _ = try server.post("/standin/fault", json: ["path": path, "kind": "slow", "delayMs": 1500])
        let started = Date()
        #expect(try server.sendText(token, to: "oIvy", "二").errcode == 0)
        #expect(Date().timeIntervalSince(started) >= 1.5)

        _ = try server.post("/standin/fault", json: ["path": path, "kind": "reset"])
        let before = try server.sendText(token, to: "oIvy", "三")
        #expect(before.curlStatus != 0 && before.status == 0, "no answer at all: \(before.curlStatus) \(before.text)")
        #expect(try server.sent("oIvy").count == 2, "reset before the effect: not delivered")

        _ = try server.post("/standin/fault", json: ["path": path, "kind": "reset", "after": true])
        let after = try server.sendText(token, to: "oIvy", "四")
        #expect(after.curlStatus != 0 && after.status == 0)
        let contents = try server.sent("oIvy").compactMap { (($0["body"] as? [String: Any])?["text"] as? [String: Any])?["content"] as? String }
        #expect(contents == ["一", "二", "四"], "reset after the effect: delivered, though the caller never learnt it")
        #expect(try server.sendText(token, to: "oIvy", "五").errcode == 0, "faults are used up")

        let calls = try server.get("/standin/stats").json["calls"] as? [String: Any]
        #expect(calls?[path] as? Int == 7, "every call counted, failed ones too")
        #expect(try server.post("/standin/fault", json: ["path": "/cgi-bin/nope", "kind": "reset"]).status == 400)
        #expect(try server.post("/standin/fault", json: ["path": path, "kind": "explode"]).status == 400)
    }

    @Test("quotas: --quota N/day gives 45009 until the next Beijing day; --minute-quota gives 45011 until the next minute")
    func quotas() throws {
        let server = try StandInServer(["--quota", "/cgi-bin/message/custom/send=2/day", "--minute-quota", "/cgi-bin/token=3"])
        var token = ""
        for _ in 1...3 { token = try server.token() }
        let limited = try server.get("/cgi-bin/token?grant_type=client_credential&appid=\(StandInServer.appID)&secret=\(StandInServer.secret)")
        #expect(limited.errcode == 45011)
        try server.interaction("oJo", "message")
        #expect(try server.sendText(token, to: "oJo").errcode == 0)
        #expect(try server.sendText(token, to: "oJo").errcode == 0)
        #expect(try server.sendText(token, to: "oJo").errcode == 45009)
        try server.advance(60)
        token = try server.token()
        #expect(try server.sendText(token, to: "oJo").errcode == 45009, "still the same day")
        // The start is 08:00 Beijing time: 16 h later is the next day there.
        try server.advance(16 * 3600 - 60)
        token = try server.token()
        try server.interaction("oJo", "message")
        #expect(try server.sendText(token, to: "oJo").errcode == 0)

    }

    @Test("menu/create: each limit has its errcode; get returns the menu (46003 when none); delete removes it")
    func menus() throws {
        let server = try StandInServer()
        let token = try server.token()
        let create = "/cgi-bin/menu/create?access_token=\(token)"
        func code(_ buttons: [[String: Any]]) throws -> Int? { try server.post(create, json: ["button": buttons]).errcode }
        let click: [String: Any] = ["type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"]
        #expect(try code([]) == 40016)
        #expect(try code([click, click, click, click]) == 40016)
        #expect(try server.post(create, json: ["menu": []]).errcode == 40016)
        #expect(try code([["type": "click", "name": "一二三四五六", "key": "k"]]) == 40018, "18 bytes > 16")
        #expect(try code([["type": "click", "name": "k", "key": String(repeating: "k", count: 129)]]) == 40019)
        #expect(try code([["type": "view", "name": "v", "url": "https://example.com/" + String(repeating: "a", count: 1005)]]) == 40020)
        #expect(try code([["type": "CLICK", "name": "k", "key": "k"]]) == 40015, "types are lowercase")
        #expect(try code([["name": "k"]]) == 40017, "neither type nor sub_button")
        #expect(try code([["type": "click", "name": "k", "key": "k", "sub_button": [click]]]) == 40017, "both")
        #expect(try code([["name": "菜单", "sub_button": Array(repeating: click, count: 6)]]) == 40023)
        #expect(try code([["name": "菜单", "sub_button": [["type": "click", "name": String(repeating: "长", count: 21), "key": "k"]]]]) == 40025, "63 bytes > 60")
        #expect(try code([["name": "菜单", "sub_button": [["name": "x", "key": "k"]]]]) == 40024)
        #expect(try code([["name": "菜单", "sub_button": [["type": "click", "name": "x", "key": String(repeating: "k", count: 129)]]]]) == 40026)
        #expect(try code([["name": "菜单", "sub_button": [["type": "view", "name": "x", "url": String(repeating: "u", count: 1025)]]]]) == 40027)
        #expect(try server.get("/cgi-bin/menu/get?access_token=\(token)").errcode == 46003)
        #expect(try server.get("/standin/menu").text == #"{"menu":null}"#)

        let menu: [[String: Any]] = [click, ["name": "菜单", "sub_button": [["type": "view", "name": "搜索", "url": "http://www.soso.com/"],
                                                                            ["type": "scancode_push", "name": "扫码", "key": "rselfmenu_0_1"]]]]
        #expect(try code(menu) == 0)
        let got = try server.get("/cgi-bin/menu/get?access_token=\(token)").json
        let buttons = (got["menu"] as? [String: Any])?["button"] as? [[String: Any]]
        #expect(buttons?.count == 2 && buttons?.first?["key"] as? String == "V1001_TODAY_MUSIC")
        #expect((got["menu"] as? [String: Any])?["menuid"] is Int)
        #expect(((try server.get("/standin/menu").json["menu"] as? [String: Any])?["button"] as? [Any])?.count == 2)
        #expect(try server.get("/cgi-bin/menu/delete?access_token=\(token)").errcode == 0)
        #expect(try server.get("/cgi-bin/menu/get?access_token=\(token)").errcode == 46003)
        #expect(try server.post("/cgi-bin/menu/get?access_token=\(token)", "{}").errcode == 43001)
    }

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 100)
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0, count: 100)

    func upload(_ server: StandInServer, _ token: String, type: String, bytes: [UInt8], field: String = "media") throws -> HTTPAnswer {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("standin-upload-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try Curl.call("POST", server.base + "/cgi-bin/media/upload?access_token=\(token)&type=\(type)",
                             extra: ["-F", "\(field)=@\(file.path);filename=menu.bin"])
    }

    @Test("media/upload: formats by magic bytes and sizes per type; the media_id lives 3 days (then 40007), and only as its own kind")
    func media() throws {
        let server = try StandInServer()
        let token = try server.token()
        let uploaded = try upload(server, token, type: "image", bytes: Self.png)
        #expect(uploaded.json["type"] as? String == "image" && uploaded.json["errcode"] == nil, "\(uploaded.text)")
        #expect(uploaded.json["created_at"] as? Int == Int(StandInServer.start))
        let id = try #require(uploaded.json["media_id"] as? String)
        #expect(try upload(server, token, type: "image", bytes: Array("hello".utf8)).errcode == 40005)
        #expect(try upload(server, token, type: "thumb", bytes: Self.png).errcode == 40005, "thumbs are JPEG")
        #expect(try upload(server, token, type: "thumb", bytes: Self.jpeg + Array(repeating: 0, count: 64 << 10)).errcode == 40006)
        #expect(try upload(server, token, type: "image", bytes: []).errcode == 44001)
        #expect(try upload(server, token, type: "file", bytes: Self.png).errcode == 40004)
        #expect(try upload(server, token, type: "image", bytes: Self.png, field: "other").errcode == 41005)
        #expect(try upload(server, token, type: "voice", bytes: Array("#!AMR\n".utf8) + [1, 2, 3]).errcode == nil)
        let list = try server.get("/standin/media").json["media"] as? [[String: Any]]
        #expect(list?.count == 2 && list?.first?["bytes"] as? Int == Self.png.count && list?.first?["media_id"] as? String == id)

        try server.interaction("oKim", "message")
        let path = "/cgi-bin/message/custom/send?access_token=\(token)"
        #expect(try server.post(path, json: ["touser": "oKim", "msgtype": "voice", "voice": ["media_id": id]]).errcode == 40007, "an image id is not a voice")
        #expect(try server.post(path, json: ["touser": "oKim", "msgtype": "image", "image": ["media_id": id]]).errcode == 0)
        try server.advance(3 * 86_400 - 1)
        let later = try server.token()
        try server.interaction("oKim", "message")
        #expect(try server.post("/cgi-bin/message/custom/send?access_token=\(later)", json: ["touser": "oKim", "msgtype": "image", "image": ["media_id": id]]).errcode == 0)
        try server.advance(1)
        #expect(try server.post("/cgi-bin/message/custom/send?access_token=\(later)", json: ["touser": "oKim", "msgtype": "image", "image": ["media_id": id]]).errcode == 40007, "3 days after the upload")
    }

    @Test("qrcode/create: four action names, ranges, expire_seconds default 60 and at most 30 days; showqrcode gives a PNG or 404")
    func qrCodes() throws {
        let server = try StandInServer()
        let token = try server.token()
        let path = "/cgi-bin/qrcode/create?access_token=\(token)"
        let temporary = try server.post(path, json: ["action_name": "QR_SCENE", "action_info": ["scene": ["scene_id": 123]]]).json
        #expect(temporary["expire_seconds"] as? Int == 60 && temporary["errcode"] == nil)
        #expect((temporary["url"] as? String)?.hasPrefix("http://weixin.qq.com/q/") == true)
        let ticket = try #require(temporary["ticket"] as? String)
        let permanent = try server.post(path, json: ["action_name": "QR_LIMIT_STR_SCENE", "action_info": ["scene": ["scene_str": "门店A"]]]).json
        #expect(permanent["ticket"] is String && permanent["expire_seconds"] == nil)
        #expect(try server.post(path, json: ["expire_seconds": 2_592_000, "action_name": "QR_STR_SCENE", "action_info": ["scene": ["scene_str": "x"]]]).json["expire_seconds"] as? Int == 2_592_000)
        #expect(try server.post(path, json: ["expire_seconds": 2_592_001, "action_name": "QR_STR_SCENE", "action_info": ["scene": ["scene_str": "x"]]]).errcode == 40097)
        #expect(try server.post(path, json: ["action_name": "QR_LIMIT_SCENE", "action_info": ["scene": ["scene_id": 100_001]]]).errcode == 40097)
        #expect(try server.post(path, json: ["action_name": "QR_SCENE", "action_info": ["scene": ["scene_id": 0]]]).errcode == 40097)
        #expect(try server.post(path, json: ["action_name": "QR_STR_SCENE", "action_info": ["scene": ["scene_str": String(repeating: "s", count: 65)]]]).errcode == 40097)
        #expect(try server.post(path, json: ["action_name": "QR_FOREVER", "action_info": ["scene": ["scene_id": 1]]]).errcode == 40097)

        let image = try server.get("/cgi-bin/showqrcode?ticket=\(ticket)")
        #expect(image.status == 200 && image.contentType == "image/png" && Array(image.data.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try server.get("/cgi-bin/showqrcode?ticket=nope").status == 404)
        try server.advance(60)
        #expect(try server.get("/cgi-bin/showqrcode?ticket=\(ticket)").status == 404, "expired")
    }

    @Test("error bodies: HTTP 200, WeChat's content type, errmsg with an 8hex-8hex-8hex rid")
    func errorShape() throws {
        let server = try StandInServer()
        let answer = try server.get("/cgi-bin/menu/get?access_token=nonsense")
        #expect(answer.status == 200 && answer.contentType == "application/json; encoding=utf-8")
        let message = try #require(answer.json["errmsg"] as? String)
        #expect(message.range(of: #"^invalid access_token rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$"#, options: .regularExpression) != nil, "\(message)")
    }

    @Test("/standin/push: records the interaction and posts a signed push; answers the webhook's status and body")
    func push() throws {
        let webhook = try WebhookListener()
        let server = try StandInServer(["--webhook", webhook.url], environment: ["KEFU_TOKEN": Push.token])
        let answer = try server.post("/standin/push", json: ["openid": "oLee", "text": "运费多少"])
        #expect(answer.status == 200)
        #expect(answer.json["status"] as? Int == 200 && answer.json["body"] as? String == "success", "\(answer.text)")
        let received = try #require(webhook.waitFor(1).first)
        let message = try Push.open(received, encrypted: false)
        #expect(message.fromUserName == "oLee" && message.createTime == StandInServer.start)
        guard case .text(let text) = message.content else { Issue.record("not a text: \(message)"); return }
        #expect(text.content == "运费多少")
        #expect(received.query["openid"] == "oLee")
        let token = try server.token()
        #expect(try server.sendText(token, to: "oLee").errcode == 0, "the push opened the window")

        _ = try server.post("/standin/push", json: ["openid": "oLee", "event": "CLICK", "key": "V1001"])
        let click = try Push.open(try #require(webhook.waitFor(2).last), encrypted: false)
        #expect(click.content == .event(.click(key: "V1001")))
        #expect(try server.post("/standin/push", json: ["openid": "oLee", "event": "VIEW"]).status == 400)

        _ = try server.post("/standin/reset", "")
        #expect(try server.get("/standin/sent").json["messages"] as? [Any] != nil)
        #expect((try server.get("/standin/sent").json["messages"] as? [Any])?.isEmpty == true)
        #expect(try server.probe(token) == 40014, "reset forgets the tokens")
        let lonely = try StandInServer()
        #expect(try lonely.post("/standin/push", json: ["openid": "o", "text": "x"]).status == 409)
    }

    @Test("start: a banner that says it is not WeChat; the AppSecret is required and never printed; bad flags are named")
    func start() throws {
        let server = try StandInServer()
        #expect(server.err.wait { $0.contains("NOT WeChat") ? true : nil } == true)
        #expect(!server.err.text.contains(StandInServer.secret) && !server.out.text.contains(StandInServer.secret))
        #expect(server.out.text.split(separator: "\n").count == 1, "exactly one line on stdout: \(server.out.text)")

        let noSecret = try TestSupport.run(StandInServer.binary, ["--port", "0"], environment: [:])
        #expect(noSecret.status != 0 && noSecret.err.contains("KEFU_APPSECRET"))
        let badQuota = try TestSupport.run(StandInServer.binary, ["--quota", "/cgi-bin/token=5"], environment: ["KEFU_APPSECRET": "s"])
        #expect(badQuota.status != 0 && badQuota.err.contains("/day"), "\(badQuota.err)")
        let noToken = try TestSupport.run(StandInServer.binary, ["--webhook", "http://127.0.0.1:9/wechat"], environment: ["KEFU_APPSECRET": "s"])
        #expect(noToken.status != 0 && noToken.err.contains("KEFU_TOKEN"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("standin-secret-\(UUID().uuidString)")
        try Data("from-a-file\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try StandInServer(environment: ["KEFU_APPSECRET": "", "KEFU_APPSECRET_FILE": file.path])
        #expect(try fromFile.get("/cgi-bin/token?grant_type=client_credential&appid=\(StandInServer.appID)&secret=from-a-file").json["access_token"] is String)
    }
}
