import Testing
@testable import KefuWeChat

@Suite("Inbound messages and events")
struct InboundMessageTests {
    typealias M = InboundMessage
    static let ticket = "gQFF8DwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyVzlDZ3hTZU5lRDAxMDAwMDAwN2QAAgS4OmlmAwQAAAAA"

    /// Every inbound fixture with the typed value it must decode to.
    static let expected: [String: (createTime: Int64, msgId: UInt64?, content: M.Content)] = [
        "inbound-text.xml": (1_718_003_600, 24_613_890_123_456_789, .text(.init(content: "你好，我想查询一下订单 #20240611 的物流"))),
        "inbound-text-from-article.xml": (1_718_003_601, 24_613_890_123_456_790,
            .text(.init(content: "请问文章里的活动还有效吗？", article: .init(msgDataId: "2247483712", idx: 1)))),
        "inbound-text-bizmsgmenu.xml": (1_718_003_602, 24_613_890_123_456_791, .text(.init(content: "满意", bizMsgMenuId: 101))),
        "inbound-image.xml": (1_718_003_610, 24_613_890_123_456_792, .image(.init(
            picURL: "http://mmbiz.qpic.cn/mmbiz_jpg/abcDEF123/0", mediaId: "Xk2V9qL3mN8pR4sT6uW0yZ1aB5cD7eF9gH2iJ4kL6mN8oP0qR2sT4uV6wX8yZ0aB"))),
        "inbound-voice.xml": (1_718_003_620, 24_613_890_123_456_793, .voice(.init(
            mediaId: "vOiCeMeDiAiD8k0000000000000000000000000000000000000000000000001", format: "amr",
            mediaId16K: "vOiCeMeDiAiD16k000000000000000000000000000000000000000000000001"))),
        "inbound-voice-recognition.xml": (1_718_003_621, 24_613_890_123_456_794, .voice(.init(
            mediaId: "vOiCeMeDiAiD8k0000000000000000000000000000000000000000000000002", format: "amr", recognition: "我要转人工客服"))),
        "inbound-video.xml": (1_718_003_630, 24_613_890_123_456_795, .video(.init(
            mediaId: "ViDeOmEdIaId0000000000000000000000000000000000000000000000000001",
            thumbMediaId: "ThUmBmEdIaId000000000000000000000000000000000000000000000000001"))),
        "inbound-shortvideo.xml": (1_718_003_631, 24_613_890_123_456_796, .shortVideo(.init(
            mediaId: "ShOrTvIdEoId000000000000000000000000000000000000000000000000001",
            thumbMediaId: "ThUmBmEdIaId000000000000000000000000000000000000000000000000002"))),
        "inbound-location.xml": (1_718_003_640, 24_613_890_123_456_797, .location(.init(
            latitude: 23.134521, longitude: 113.358803, scale: 20, label: "广东省广州市天河区天河路208号"))),
        "inbound-link.xml": (1_718_003_650, 24_613_890_123_456_798, .link(.init(
            title: "退换货政策说明", description: "7天无理由退货，详情见链接", url: "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv"))),
        "inbound-event-subscribe.xml": (1_718_003_700, nil, .event(.subscribe(scene: nil, ticket: nil))),
        "inbound-event-subscribe-qrscene.xml": (1_718_003_701, nil, .event(.subscribe(scene: "10086", ticket: ticket))),
        "inbound-event-unsubscribe.xml": (1_718_003_702, nil, .event(.unsubscribe)),
        "inbound-event-scan.xml": (1_718_003_703, nil, .event(.scan(scene: "10086", ticket: ticket))),
        "inbound-event-location.xml": (1_718_003_704, nil, .event(.location(latitude: 23.137466, longitude: 113.352425, precision: 119.38504))),
        "inbound-event-click.xml": (1_718_003_705, nil, .event(.click(key: "MENU_CONTACT_SUPPORT"))),
        "inbound-event-view.xml": (1_718_003_706, nil, .event(.view(url: "https://shop.example.com/orders", menuId: 410_418_124))),
        "inbound-event-scancode_push.xml": (1_718_003_707, nil, .event(.scancodePush(
            key: "MENU_SCAN_PUSH", scan: .init(scanType: "qrcode", scanResult: "https://shop.example.com/item/8848")))),
        "inbound-event-scancode_waitmsg.xml": (1_718_003_708, nil, .event(.scancodeWaitMsg(
            key: "MENU_SCAN_WAIT", scan: .init(scanType: "barcode", scanResult: "EAN_13,6901234567892")))),
        "inbound-event-pic_sysphoto.xml": (1_718_003_709, nil, .event(.picSysPhoto(
            key: "MENU_PHOTO", pictures: .init(count: 1, md5Sums: ["1b5f7c23b5bf75682a53e7b6d163e185"])))),
        "inbound-event-pic_photo_or_album.xml": (1_718_003_710, nil, .event(.picPhotoOrAlbum(
            key: "MENU_PHOTO_ALBUM", pictures: .init(count: 2, md5Sums: ["5a75aaca956d97be686719218f275c6b", "9e0b7c5b3d2a1f8e6c4b2a0918273645"])))),
        "inbound-event-pic_weixin.xml": (1_718_003_711, nil, .event(.picWeixin(
            key: "MENU_WX_ALBUM", pictures: .init(count: 1, md5Sums: ["1b5f7c23b5bf75682a53e7b6d163e185"])))),
        "inbound-event-location_select.xml": (1_718_003_712, nil, .event(.locationSelect(key: "MENU_LOCATION", location: .init(
            latitude: 23.137466, longitude: 113.352425, scale: 15, label: "广州市海珠区客村艺苑路106号", poiName: "")))),
        "inbound-event-view_miniprogram.xml": (1_718_003_713, nil, .event(.viewMiniprogram(pagePath: "pages/order/list", menuId: 410_418_125))),
        "inbound-event-templatesendjobfinish.xml": (1_718_003_714, 3_487_542_469_355_618_313, .event(.templateSendJobFinish(status: "failed:user block"))),
        "inbound-event-masssendjobfinish.xml": (1_718_003_715, 1_000_000_003, .event(.massSendJobFinish(.init(
            status: "send success", totalCount: 4, filterCount: 4, sentCount: 4, errorCount: 0, copyrightCheckState: 0,
            articleURLs: [.init(index: 1, url: "https://mp.weixin.qq.com/s/8yzT20EvmDg37Jso9nsIIw")])))),
        "inbound-event-kf_create_session.xml": (1_718_003_716, nil, .event(.kfCreateSession(kfAccount: "kf2001@gh_5d2b8e4c1a7f"))),
        "inbound-event-kf_close_session.xml": (1_718_003_717, nil, .event(.kfCloseSession(kfAccount: "kf2001@gh_5d2b8e4c1a7f"))),
        "inbound-event-kf_switch_session.xml": (1_718_003_718, nil, .event(.kfSwitchSession(
            from: "kf2001@gh_5d2b8e4c1a7f", to: "kf2002@gh_5d2b8e4c1a7f"))),
    ]

    @Test("every inbound fixture has an expectation")
    func coverage() {
        #expect(Set(Fixtures.files(prefix: "inbound-")) == Set(Self.expected.keys))
    }

    @Test("decodes to the typed value", arguments: Fixtures.files(prefix: "inbound-"))
    func decode(file: String) throws {
        let message = try InboundMessage(xml: Fixtures.bytes(file))
        let expected = try #require(Self.expected[file])
        #expect(message.toUserName == "gh_5d2b8e4c1a7f")
        #expect(message.fromUserName == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        #expect(message.createTime == expected.createTime)
        #expect(message.msgId == expected.msgId)
        #expect(message.content == expected.content)
        #expect(message.isEvent == file.hasPrefix("inbound-event-"))
    }

    @Test("round trip: our XML decodes to the same message, and re-encodes identically", arguments: Fixtures.files(prefix: "inbound-"))
    func roundTrip(file: String) throws {
        let message = try InboundMessage(xml: Fixtures.bytes(file))
        let written = message.xml()
        let again = try InboundMessage(xml: written)
        #expect(again.content == message.content)
        #expect(again.msgId == message.msgId)
        #expect(again.createTime == message.createTime)
        #expect(again.deduplicationKey == message.deduplicationKey)
        #expect(again.xml() == written)
    }

    @Test("an unknown MsgType or Event is kept with its raw fields, never an error")
    func unknownTypes() throws {
        let card = try InboundMessage(xml: utf8("""
            <xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName><CreateTime>5</CreateTime>\
            <MsgType><![CDATA[miniprogrampage]]></MsgType><Title><![CDATA[小程序]]></Title><AppId><![CDATA[wxabc]]></AppId><MsgId>77</MsgId></xml>
            """))
        #expect(card.content == .unknown(msgType: "miniprogrampage"))
        #expect(card.msgType == "miniprogrampage")
        #expect(card.msgId == 77)
        #expect(card.fields.text(of: "Title") == "小程序")
        #expect(card.fields.leafFields.map(\.name).contains("AppId"))
        let cardAgain = try InboundMessage(xml: card.xml())
        #expect(cardAgain.fields.text(of: "AppId") == "wxabc")

        let popup = try InboundMessage(xml: utf8("""
            <xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName><CreateTime>6</CreateTime>\
            <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>\
            <SubscribeMsgPopupEvent><List><TemplateId><![CDATA[T1]]></TemplateId></List></SubscribeMsgPopupEvent></xml>
            """))
        #expect(popup.content == .event(.unknown(name: "subscribe_msg_popup_event", eventKey: nil)))
        #expect(popup.fields["SubscribeMsgPopupEvent"]?["List"]?.text(of: "TemplateId") == "T1")
        guard case .event(let event) = popup.content else { return }
        #expect(!event.acceptsReply)
        let popupAgain = try InboundMessage(xml: popup.xml())
        #expect(popupAgain.fields["SubscribeMsgPopupEvent"]?["List"]?.text(of: "TemplateId") == "T1")
    }

    @Test("a file message decodes with its optional fields")
    func file() throws {
        let file = try InboundMessage(xml: utf8("""
            <xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName><CreateTime>5</CreateTime>\
            <MsgType><![CDATA[file]]></MsgType><Title><![CDATA[发票.pdf]]></Title><Description><![CDATA[]]></Description>\
            <FileKey><![CDATA[k1]]></FileKey><FileMd5><![CDATA[abc]]></FileMd5><FileTotalLen>1024</FileTotalLen><MsgId>78</MsgId></xml>
            """))
        #expect(file.content == .file(.init(title: "发票.pdf", description: "", fileKey: "k1", fileMd5: "abc", fileTotalLength: 1024)))
        #expect(try InboundMessage(xml: file.xml()).content == file.content)
    }

    @Test("missing or malformed fields are named")
    func fieldErrors() {
        #expect(throws: WeChatError.missingField(element: "FromUserName", msgType: "text")) {
            try InboundMessage(xml: utf8("<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>"))
        }
        #expect(throws: WeChatError.missingField(element: "Content", msgType: "text")) {
            try InboundMessage(xml: utf8("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"))
        }
        #expect(throws: WeChatError.invalidField(element: "CreateTime", value: "soon", expected: "an integer")) {
            try InboundMessage(xml: utf8("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>"))
        }
        #expect(throws: WeChatError.invalidField(element: "Location_X", value: "north", expected: "a decimal number")) {
            try InboundMessage(xml: utf8("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>north</Location_X></xml>"))
        }
        #expect(throws: WeChatError.malformedXML(reason: "the root element is <root>, expected <xml>", offset: 0)) {
            try InboundMessage(xml: utf8("<root/>"))
        }
    }

    @Test("MsgId above 2^53 keeps every digit")
    func bigMsgId() throws {
        let message = try InboundMessage(xml: utf8("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>18446744073709551615</MsgId></xml>"))
        #expect(message.msgId == UInt64.max)
    }

    @Test("de-duplication keys follow the contract; distinct pushes get distinct keys")
    func deduplicationKeys() throws {
        let text = try InboundMessage(xml: Fixtures.bytes("inbound-text.xml"))
        #expect(text.deduplicationKey == "gh_5d2b8e4c1a7f|oUpF8uMuAJO_M2pxb1Q9zNjWeS6o|24613890123456789|1718003600")
        let click = try InboundMessage(xml: Fixtures.bytes("inbound-event-click.xml"))
        #expect(click.deduplicationKey == "gh_5d2b8e4c1a7f|oUpF8uMuAJO_M2pxb1Q9zNjWeS6o|1718003705|CLICK|MENU_CONTACT_SUPPORT")
        let job = try InboundMessage(xml: Fixtures.bytes("inbound-event-templatesendjobfinish.xml"))
        #expect(job.deduplicationKey.hasSuffix("|TEMPLATESENDJOBFINISH||3487542469355618313"))
        let keys = try Fixtures.files(prefix: "inbound-").map { try InboundMessage(xml: Fixtures.bytes($0)).deduplicationKey }
        #expect(Set(keys).count == keys.count)
        // Two voice messages sharing a MsgId but not a CreateTime (WxJava #333) stay distinct.
        var other = try InboundMessage(xml: Fixtures.bytes("inbound-voice.xml"))
        let first = other.deduplicationKey
        other.createTime += 1
        #expect(other.deduplicationKey != first)
    }

    @Test("events that never show a reply are marked")
    func acceptsReply() throws {
        let silent = ["inbound-event-unsubscribe.xml", "inbound-event-location.xml", "inbound-event-templatesendjobfinish.xml",
                      "inbound-event-masssendjobfinish.xml", "inbound-event-kf_create_session.xml",
                      "inbound-event-kf_close_session.xml", "inbound-event-kf_switch_session.xml"]
        for file in Fixtures.files(prefix: "inbound-event-") {
            guard case .event(let event) = try InboundMessage(xml: Fixtures.bytes(file)).content else { continue }
            #expect(event.acceptsReply == !silent.contains(file), "\(file)")
        }
    }
}
