import Foundation
import KefuTestSupport
import Testing
@testable import KefuWeChat

/// Interop with wechatpy, a client nobody here wrote: it signs and encrypts pushes for our reader,
/// and verifies, decrypts and parses our replies, in plaintext, compatible and secure mode, with
/// Chinese text and emoji. `make test` installs it into `.venv`; `KEFU_PYTHON` may name another interpreter.
@Suite("Interop with wechatpy", .serialized)
struct WeChatpyInteropTests {
    static let script = TestSupport.root.appendingPathComponent("Tests/Interop/wechatpy_peer.py").path

    struct Push: Decodable {
        let name: String, mode: String, query: [String: String], body: String, expect: [String: String]
    }

    struct ReplyCase: Encodable {
        let name: String, mode: String, body: String, expect: [String: String]
    }

    struct Report: Decodable {
        struct Entry: Decodable { let name: String; let ok: Bool; let error: String?; let mismatches: [String: [String?]]? }
        let cases: Int, failures: Int, report: [Entry]
    }

    static func run(_ arguments: [String], input: Data? = nil) throws -> (status: Int32, output: Data, error: String) {
        let r = try TestSupport.run(try TestSupport.python(), [script] + arguments, input: input)
        return (r.status, r.data, r.err)
    }

    static let configuration = WeChatConfiguration(
        token: "SwiftBotToken2024", appID: "wx3f2a1b4c5d6e7f80", aesKey: try! EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
        timestampToleranceSeconds: nil, accepted: .compatible)

    @Test("wechatpy's pushes open; wechatpy reads our replies, in all three modes")
    func roundTrip() throws {
        let produced = try Self.run(["pushes"])
        try #require(produced.status == 0, "wechatpy_peer.py pushes failed: \(produced.error)")
        let pushes = try JSONDecoder().decode([Push].self, from: produced.output)
        #expect(pushes.count == 18)
        let endpoint = try WeChatEndpoint(Self.configuration)
        var replies: [ReplyCase] = []
        for push in pushes {
            let body = Array(Data(base64Encoded: push.body)!)
            let opened = try endpoint.open(body, query: try SignedQuery(push.query), now: 1_718_000_000)
            let message = opened.message
            #expect(opened.mode.rawValue == push.mode, "\(push.name)")
            #expect(message.msgType == push.expect["msgType"], "\(push.name)")
            let reply: Reply.Body
            var expect = ["kind": "reply", "toUser": message.fromUserName, "fromUser": message.toUserName]
            switch message.content {
            case .text(let text):
                #expect(text.content == push.expect["content"], "\(push.name)")
                reply = .text("收到：\(text.content) ✅")
                expect["msgType"] = "text"
                expect["content"] = "收到：\(text.content) ✅"
            case .event(.subscribe(let scene, _)):
                #expect(message.fields.text(of: "EventKey") == push.expect["eventKey"], "\(push.name)")
                #expect(scene == "门店A")
                reply = .news([.init(title: "欢迎光临 🎉", description: "门店A", picURL: "https://cdn.example.com/a.jpg", url: "https://example.com")])
                expect["msgType"] = "news"
                expect["title"] = "欢迎光临 🎉"
            case .event(.click(let key)):
                #expect(key == push.expect["eventKey"], "\(push.name)")
                reply = .text("您点击了「\(key)」")
                expect["msgType"] = "text"
                expect["content"] = "您点击了「\(key)」"
            case .image(let image):
                #expect(image.mediaId == push.expect["mediaId"], "\(push.name)")
                reply = .transferCustomerService(kfAccount: "kf2001@gh_5d2b8e4c1a7f")
                expect["msgType"] = "transfer_customer_service"
                expect["kfAccount"] = "kf2001@gh_5d2b8e4c1a7f"
            case .location(let location):
                #expect(location.label == push.expect["label"], "\(push.name)")
                reply = .image(mediaId: "map-\(location.scale)")
                expect["msgType"] = "image"
                expect["mediaId"] = "map-20"
            default:
                Issue.record("unexpected content in \(push.name): \(message.content)")
                continue
            }
            let response = PassiveResponse.reply(try Reply.answering(message, with: reply, at: 1_718_000_100))
            let sealed = try endpoint.seal(response, for: opened, timestamp: 1_718_000_100, nonce: opened.nonce)
            replies.append(ReplyCase(name: push.name, mode: push.mode, body: Data(sealed).base64EncodedString(), expect: expect))
        }
        // The acknowledgement stays plain even in secure mode.
        let secure = try #require(pushes.first { $0.mode == "secure" })
        let opened = try endpoint.open(Array(Data(base64Encoded: secure.body)!), query: try SignedQuery(secure.query), now: 0)
        let ack = try endpoint.seal(.success, for: opened, timestamp: 1, nonce: "1")
        replies.append(ReplyCase(name: "secure/success", mode: "secure", body: Data(ack).base64EncodedString(), expect: ["kind": "success"]))

        let checked = try Self.run(["replies"], input: try JSONEncoder().encode(replies))
        let report = try JSONDecoder().decode(Report.self, from: checked.output)
        for entry in report.report where !entry.ok {
            Issue.record("wechatpy rejected \(entry.name): \(entry.error ?? "") \(entry.mismatches.map { "\($0)" } ?? "")")
        }
        #expect(report.cases == 19)
        #expect(report.failures == 0)
        #expect(checked.status == 0, "\(checked.error)")
    }

    @Test("wechatpy refuses a reply we damage (the check above could fail)")
    func damagedReplyIsRejected() throws {
        let endpoint = try WeChatEndpoint(Self.configuration)
        let platform = try WeChatPlatform(Self.configuration)
        let message = InboundMessage(toUserName: "gh_5d2b8e4c1a7f", fromUserName: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", createTime: 1,
                                     msgId: 1, content: .text(.init(content: "hi")))
        let (query, body) = try platform.push(message, mode: .secure, timestamp: 1, nonce: "7")
        let opened = try endpoint.open(body, query: query, now: 1)
        let sealed = try endpoint.seal(.reply(try Reply.answering(message, with: .text("好"), at: 2)), for: opened, timestamp: 2, nonce: "7")
        var text = String(decoding: sealed, as: UTF8.self)
        text = text.replacingOccurrences(of: "<TimeStamp>2</TimeStamp>", with: "<TimeStamp>3</TimeStamp>")
        let cases = [ReplyCase(name: "tampered", mode: "secure", body: Data(text.utf8).base64EncodedString(),
                               expect: ["kind": "reply", "msgType": "text", "content": "好"])]
        let checked = try Self.run(["replies"], input: try JSONEncoder().encode(cases))
        let report = try JSONDecoder().decode(Report.self, from: checked.output)
        #expect(report.failures == 1)
        #expect(report.report.first?.error?.contains("InvalidSignature") == true)
        #expect(checked.status == 1)
    }

    @Test("wechatpy accepts our URL-verification signature")
    func urlVerification() throws {
        let platform = try WeChatPlatform(Self.configuration)
        let query = platform.urlVerification(echostr: "7419283746501928374", timestamp: 1_718_000_000, nonce: "1830464542")
        let checked = try Self.run(["url-verification"], input: try JSONEncoder().encode(query.parameters))
        #expect(checked.status == 0, "\(checked.error)")
        #expect(String(decoding: checked.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }
}
