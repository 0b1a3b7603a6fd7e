import Testing
@testable import KefuWeChat

@Suite("Passive replies")
struct ReplyTests {
    static let user = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    static let account = "gh_5d2b8e4c1a7f"

    static let expected: [String: Reply.Body] = [
        "reply-text.xml": .text("您好！订单 #20240611 已于今天上午发货。\n回复“人工”转接客服。"),
        "reply-image.xml": .image(mediaId: "Xk2V9qL3mN8pR4sT6uW0yZ1aB5cD7eF9gH2iJ4kL6mN8oP0qR2sT4uV6wX8yZ0aB"),
        "reply-voice.xml": .voice(mediaId: "vOiCeMeDiAiD8k0000000000000000000000000000000000000000000000003"),
        "reply-video.xml": .video(.init(mediaId: "ViDeOmEdIaId0000000000000000000000000000000000000000000000000002",
                                        title: "安装教程", description: "三分钟学会安装")),
        "reply-music.xml": .music(.init(title: "等待音乐", description: "客服接入中，请稍候", musicURL: "https://cdn.example.com/hold.mp3",
                                        hqMusicURL: "https://cdn.example.com/hold-hq.mp3",
                                        thumbMediaId: "ThUmBmEdIaId000000000000000000000000000000000000000000000000003")),
        "reply-news.xml": .news([.init(title: "常见问题解答", description: "物流、退换货、发票问题一站式解答",
                                       picURL: "https://cdn.example.com/faq-cover.jpg", url: "https://shop.example.com/faq")]),
        "reply-transfer_customer_service.xml": .transferCustomerService(kfAccount: nil),
        "reply-transfer_customer_service-kfaccount.xml": .transferCustomerService(kfAccount: "kf2001@gh_5d2b8e4c1a7f"),
    ]

    @Test("every reply fixture has an expectation")
    func coverage() {
        #expect(Set(Fixtures.files(prefix: "reply-")) == Set(Self.expected.keys))
    }

    @Test("each fixture decodes to its typed reply, and our writer produces the fixture byte for byte (minus indentation)",
          arguments: Fixtures.files(prefix: "reply-"))
    func fixture(file: String) throws {
        let reply = try Reply(xml: Fixtures.bytes(file))
        let body = try #require(Self.expected[file])
        #expect(reply == Reply(toUserName: Self.user, fromUserName: Self.account, createTime: 1_718_003_601, body: body))
        #expect(reply.xml() == Fixtures.compact(Fixtures.bytes(file)))
        #expect(try Reply(xml: reply.xml()) == reply)
    }

    @Test("the writer emits no XML declaration, no BOM and no whitespace")
    func noDeclaration() {
        let xml = Reply(toUserName: "o", fromUserName: "g", createTime: 1, body: .text("你好")).xml()
        #expect(Array(xml.prefix(5)) == utf8("<xml>"))
        #expect(Array(xml.suffix(6)) == utf8("</xml>"))
        #expect(!xml.contains(0x0A))
    }

    @Test("CDATA escaping: ']]>' is split, and the text reads back exactly", arguments: [
        "]]>", "a]]>b", "]]]>", "]]>]]>", "x]]", "]", "<![CDATA[ nested ]]>", "&amp; <b>", "]]]]>>",
    ])
    func cdataEscaping(text: String) throws {
        let reply = Reply(toUserName: "o", fromUserName: "g", createTime: 1, body: .text(text))
        let xml = reply.xml()
        #expect(try Reply(xml: xml) == reply)
    }

    @Test("characters XML 1.0 forbids are dropped; tabs, newlines and astral characters stay")
    func illegalCharacters() throws {
        let reply = Reply(toUserName: "o", fromUserName: "g", createTime: 1, body: .text("a\u{0}b\u{8}c\u{B}\u{C}d\u{1F}e\u{FFFE}\u{FFFF}f\tg\nh😀"))
        let read = try Reply(xml: reply.xml())
        #expect(read.body == .text("abcdef\tg\nh😀"))
    }

    static let textMessage = try! InboundMessage(xml: Fixtures.bytes("inbound-text.xml"))
    static let clickEvent = try! InboundMessage(xml: Fixtures.bytes("inbound-event-click.xml"))
    static let article = Reply.Article(title: "t", description: "d", picURL: "p", url: "u")

    @Test("answering swaps the roles")
    func answering() throws {
        let reply = try Reply.answering(Self.textMessage, with: .text("好的"), at: 99)
        #expect(reply.toUserName == Self.user)
        #expect(reply.fromUserName == Self.account)
        #expect(reply.createTime == 99)
    }

    @Test("news: exactly one article for a user's message, one to eight for an event")
    func newsLimits() throws {
        #expect(throws: WeChatError.invalidReply("a news reply to a user's message must have exactly 1 article, not 2")) {
            try Reply.answering(Self.textMessage, with: .news([Self.article, Self.article]), at: 1)
        }
        #expect(throws: WeChatError.self) { try Reply.answering(Self.textMessage, with: .news([]), at: 1) }
        _ = try Reply.answering(Self.textMessage, with: .news([Self.article]), at: 1)
        _ = try Reply.answering(Self.clickEvent, with: .news(Array(repeating: Self.article, count: 8)), at: 1)
        let error = #expect(throws: WeChatError.self) {
            try Reply.answering(Self.clickEvent, with: .news(Array(repeating: Self.article, count: 9)), at: 1)
        }
        #expect(error?.code == -40011)
        // A news reply with several articles round-trips.
        let many = Reply(toUserName: "o", fromUserName: "g", createTime: 1, body: .news([Self.article, .init(title: "二")]))
        #expect(try Reply(xml: many.xml()) == many)
    }

    @Test("transfer_customer_service answers only user messages")
    func transferOnlyForMessages() throws {
        _ = try Reply.answering(Self.textMessage, with: .transferCustomerService(kfAccount: nil), at: 1)
        #expect(throws: WeChatError.invalidReply("transfer_customer_service can answer only a user's message, not an event")) {
            try Reply.answering(Self.clickEvent, with: .transferCustomerService(kfAccount: "kf@gh"), at: 1)
        }
    }

    @Test("text must be non-empty and within WeChat's length; media needs its id")
    func textAndMediaLimits() throws {
        #expect(throws: WeChatError.self) { try Reply.answering(Self.textMessage, with: .text(""), at: 1) }
        _ = try Reply.answering(Self.textMessage, with: .text(String(repeating: "好", count: 682)), at: 1)  // 2046 bytes
        #expect(throws: WeChatError.invalidReply("a text reply is 2049 bytes; WeChat delivers at most 2048. Shorten or split it")) {
            try Reply.answering(Self.textMessage, with: .text(String(repeating: "好", count: 683)), at: 1)
        }
        #expect(throws: WeChatError.self) { try Reply.answering(Self.textMessage, with: .image(mediaId: ""), at: 1) }
        #expect(throws: WeChatError.self) { try Reply.answering(Self.textMessage, with: .music(.init(thumbMediaId: "")), at: 1) }
    }

    @Test("success and empty bodies match the fixtures")
    func acknowledgements() {
        #expect(PassiveResponse.success.body() == Fixtures.bytes("reply-success.txt"))
        #expect(PassiveResponse.empty.body() == Fixtures.bytes("reply-empty.txt"))
    }

    @Test("a reply of an unknown type is refused when read back")
    func unknownReplyType() {
        #expect(throws: WeChatError.self) {
            try Reply(xml: utf8("<xml><ToUserName>o</ToUserName><FromUserName>g</FromUserName><CreateTime>1</CreateTime><MsgType>mpnews</MsgType></xml>"))
        }
    }
}
