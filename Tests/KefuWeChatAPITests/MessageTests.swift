import Foundation
@testable import KefuWeChatAPI
import Testing

@Suite("Messages, media, menu and QR codes, against the stand-in")
struct MessageTests {
    /// A 1×1 JPEG (the stand-in checks formats by their magic bytes).
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                                0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9]

    @Test func everyMessageTypeIsAccepted() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oEveryTypeUser000000000000001"
        let image = try await client.uploadMedia(Self.jpeg, kind: .image, filename: "店面.jpg")
        let thumb = try await client.uploadMedia(Self.jpeg, kind: .thumb, filename: "thumb.jpg")
        let voice = try await client.uploadMedia(Array("#!AMR\n".utf8) + [UInt8](repeating: 0x3C, count: 32), kind: .voice, filename: "问候.amr")
        let video = try await client.uploadMedia([0, 0, 0, 0x18] + Array("ftypmp42".utf8) + [UInt8](repeating: 0, count: 32), kind: .video, filename: "开箱.mp4")
        let messages: [CustomerServiceMessage] = [
            .text("您好，订单已发货 <a href=\"https://example.com/o/1\">查看</a>"),
            .image(mediaID: image.mediaID),
            .voice(mediaID: voice.mediaID),
            .video(mediaID: video.mediaID, thumbMediaID: thumb.mediaID, title: "开箱", description: "三十秒"),
            .music(.init(title: "店歌", description: "轻音乐", musicURL: "https://example.com/a.mp3", hqMusicURL: "https://example.com/a-hq.mp3",
                         thumbMediaID: thumb.mediaID)),
            .news(.init(title: "新品上架", description: "本周新品", url: "https://example.com/new", pictureURL: "https://example.com/new.jpg")),
            .menu(.init(head: "您对本次服务满意吗？", items: [.init(id: "101", content: "满意"), .init(id: "102", content: "不满意")], tail: "欢迎再来")),
            .miniProgramPage(.init(title: "小程序", appID: "wxMINI0000000001", pagePath: "pages/index?id=1", thumbMediaID: thumb.mediaID)),
        ]
        var accepted: [String] = []
        for (n, message) in messages.enumerated() {
            if n % 5 == 0 { try await standIn.userWrites(user) }  // 5 sends per message of the user
            try await client.send(message, to: user, kfAccount: n == 0 ? "kf2001@gh_standin" : nil)
            accepted.append(message.msgtype)
        }
        #expect(accepted == ["text", "image", "voice", "video", "music", "news", "msgmenu", "miniprogrampage"])
        let sent = try await standIn.sent(to: user)
        let types = sent.compactMap { ($0["body"] as? [String: Any])?["msgtype"] as? String }
        #expect(types == accepted)
        let first = try #require(sent.first?["body"] as? [String: Any])
        #expect((first["text"] as? [String: Any])?["content"] as? String == "您好，订单已发货 <a href=\"https://example.com/o/1\">查看</a>")
        #expect((first["customservice"] as? [String: Any])?["kf_account"] as? String == "kf2001@gh_standin")
        let menu = try #require(sent.first { ($0["body"] as? [String: Any])?["msgtype"] as? String == "msgmenu" }?["body"] as? [String: Any])
        #expect(((menu["msgmenu"] as? [String: Any])?["list"] as? [[String: Any]])?.count == 2)
    }

    @Test func bodiesAreRawUTF8NeverEscaped() throws {
        let body = try WeChatJSON.encode(CustomSendBody(touser: "o1", message: .text("你好 😀 a/b"), kfAccount: nil))
        let text = String(decoding: body, as: UTF8.self)
        #expect(!text.contains("\\u"))
        #expect(!text.contains("\\/"))
        #expect(text.contains("你好 😀 a/b"))
    }

    @Test func typingIsShownAndCancelled() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oTypingUser000000000000000001"
        try await standIn.userWrites(user)
        try await client.typing(true, to: user)
        try await client.typing(false, to: user)
        let sent = try await standIn.sent(to: user).filter { $0["api"] as? String == "typing" }
        #expect(sent.compactMap { ($0["body"] as? [String: Any])?["command"] as? String } == ["Typing", "CancelTyping"])
    }

    @Test func aMediaUploadThenASendWithItsID() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oMediaUser0000000000000000001"
        let media = try await client.uploadMedia(Self.jpeg, kind: .image, filename: "菜单 \"新\".jpg")
        #expect(!media.mediaID.isEmpty)
        #expect(media.kind == .image)
        #expect(media.expiresAt == media.createdAt + 259_200)
        let listed = try await standIn.get("/standin/media")["media"] as? [[String: Any]] ?? []
        #expect(listed.contains { $0["media_id"] as? String == media.mediaID && ($0["bytes"] as? NSNumber)?.intValue == Self.jpeg.count })
        try await standIn.userWrites(user)
        try await client.send(.image(mediaID: media.mediaID), to: user)
        let body = try #require(try await standIn.sent(to: user).last?["body"] as? [String: Any])
        #expect((body["image"] as? [String: Any])?["media_id"] as? String == media.mediaID)
        // After its 3 days WeChat forgets it: 40007, final (the caller uploads again).
        try await standIn.advance(3 * 86_400 + 10)
        try await standIn.userWrites(user)
        let expired = try await #require(throws: WeChatAPIError.self) { try await client.send(.image(mediaID: media.mediaID), to: user) }
        #expect(expired.errcode == 40007)
        #expect(expired.disposition == .final)
        #expect(expired.whatToDo.contains("upload"))
    }

    @Test func menuCreateGetDelete() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        #expect(try await client.menu() == nil)
        let menu = #"{"button":[{"type":"click","name":"今日推荐","key":"V1001_TODAY"},{"name":"菜单","sub_button":[{"type":"view","name":"官网","url":"https://example.com/"},{"type":"click","name":"联系客服","key":"MENU_CONTACT"}]}]}"#
        try await client.createMenu(Array(menu.utf8))
        let got = try #require(try await client.menu())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(got)) as? [String: Any])
        let buttons = try #require((object["menu"] as? [String: Any])?["button"] as? [[String: Any]])
        #expect(buttons.map { $0["name"] as? String } == ["今日推荐", "菜单"])
        #expect((buttons[1]["sub_button"] as? [[String: Any]])?.count == 2)
        try await client.deleteMenu()
        #expect(try await client.menu() == nil)
        let bad = try await #require(throws: WeChatAPIError.self) { try await client.createMenu(Array(#"{"button":[]}"#.utf8)) }
        #expect(bad.errcode != nil && bad.disposition == .final)
    }

    @Test func qrCodes() async throws {
        let standIn = try StandIn()
        let configuration = { var c = standIn.configuration(); c.qrImageBaseURL = standIn.url + "/cgi-bin/showqrcode"; return c }()
        let client = standIn.client(configuration: configuration)
        let temporary = try await client.createQRCode(scene: .id(123), expiresIn: 2_592_000)
        #expect(temporary.expireSeconds == 2_592_000)
        #expect(!temporary.ticket.isEmpty && !temporary.url.isEmpty)
        #expect(temporary.imageURL.hasPrefix(standIn.url + "/cgi-bin/showqrcode?ticket="))
        #expect(!temporary.imageURL.dropFirst((standIn.url + "/cgi-bin/showqrcode?ticket=").count).contains { "+/=".contains($0) })
        let permanent = try await client.createQRCode(scene: .string("门店_7"))
        #expect(permanent.expireSeconds == nil)
        let calls = try await standIn.calls("/cgi-bin/qrcode/create")
        #expect(calls == 2)
        let refused: [(QRScene, Int?)] = [(.id(0), 60), (.id(100_001), nil), (.string(""), 60), (.string(String(repeating: "长", count: 65)), 60), (.id(5), 2_592_001)]
        for (scene, life) in refused {
            let error = try await #require(throws: WeChatAPIError.self) { _ = try await client.createQRCode(scene: scene, expiresIn: life) }
            #expect(error.disposition == .bug)
        }
        #expect(try await standIn.calls("/cgi-bin/qrcode/create") == calls)  // refused here, never sent
    }

    @Test func templateAndSubscribeMessages() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oTemplateUser0000000000000001"
        let msgid = try await client.sendTemplate(TemplateMessage(
            toUser: user, templateID: "TPL_ORDER_STATUS", url: "https://example.com/o/1",
            miniProgram: MiniProgramLink(appID: "wxMINI0000000001", pagePath: "pages/order?id=1"), clientMessageID: "outbox-42",
            data: ["thing1": .init("订单已发货"), "time2": .init("2026-01-01 10:00", color: "#173177")]))
        #expect(msgid > 0)
        try await client.sendSubscribe(SubscribeMessage(toUser: user, templateID: "SUB_REMINDER", page: "pages/booking",
                                                        data: ["thing1": "复诊提醒", "time2": "2026-01-02 09:30"]))
        let sent = try await standIn.sent(to: user)
        #expect(sent.map { $0["api"] as? String } == ["template", "subscribe"])
        let template = try #require(sent.first?["body"] as? [String: Any])
        #expect(template["client_msg_id"] as? String == "outbox-42")
        #expect(((template["data"] as? [String: Any])?["thing1"] as? [String: Any])?["value"] as? String == "订单已发货")
        #expect((sent.first?["msgid"] as? NSNumber)?.int64Value == msgid)
        let subscribe = try #require(sent.last?["body"] as? [String: Any])
        #expect(((subscribe["data"] as? [String: Any])?["time2"] as? [String: Any])?["value"] as? String == "2026-01-02 09:30")
    }
}
