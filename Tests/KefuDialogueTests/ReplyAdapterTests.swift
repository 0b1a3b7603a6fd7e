import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

/// The one place a turn's parts become what WeChat receives.
@Suite("Reply adapter")
struct ReplyAdapterTests {
    static func message(_ content: InboundMessage.Content) -> InboundMessage {
        InboundMessage(toUserName: "gh_1", fromUserName: "o_user", createTime: 1_718_000_000,
                       msgId: content.msgType == "event" ? nil : 7, content: content)
    }

    @Test("runs of text become one message with blank lines between (empty texts dropped); other parts stand alone, in order")
    func messages() {
        let parts: [RenderedReply] = [.text("刚才的流程已结束。"), .text(""), .text("请问订哪家门店？"), .image(mediaId: "M1"), .text("还有问题吗？")]
        #expect(ReplyAdapter.messages(parts) == [.text("刚才的流程已结束。\n\n请问订哪家门店？"), .image(mediaId: "M1"), .text("还有问题吗？")])
        #expect(ReplyAdapter.messages([.text(""), .text("")]).isEmpty)
    }

    @Test("the first message is the passive reply, the rest is later; a reply WeChat would refuse is success with the reason")
    func deliver() {
        let text = Self.message(.text(.init(content: "你好")))
        let d = ReplyAdapter.deliver([.text("a"), .text("b"), .image(mediaId: "M1")], answering: text, at: 99)
        guard case .reply(let reply) = d.passive, case .text(let body) = reply.body else { Issue.record("\(d.passive)"); return }
        #expect(body == "a\n\nb" && reply.toUserName == "o_user" && reply.createTime == 99)
        #expect(d.later == [.image(mediaId: "M1")] && d.refused == nil)

        let follow = Self.message(.event(.subscribe(scene: nil, ticket: nil)))
        let refused = ReplyAdapter.deliver([.transfer(kfAccount: nil)], answering: follow, at: 99)
        #expect(refused.passive == .success && refused.refused != nil, "WeChat transfers only user messages")
        #expect(ReplyAdapter.deliver([.text("")], answering: text, at: 99).refused == "it is empty")
        #expect(ReplyAdapter.deliver([], answering: text, at: 99) == .init(passive: .success, later: [], refused: nil))
    }

    @Test("the engine's outcome carries the parts; the passive reply is made from them (an owed notice first)")
    func engineParts() async throws {
        let chat = try Chat("""
            default: 抱歉
            rules:
              - {id: go, when: {contains: [订座]}, flow: f}
            flows:
              f:
                expires: 10m
                on_expire: 刚才的订座已结束。
                start: 好的。
                steps: [{slot: n, ask: 几位？, expect: number}]
                done: ok
            """)
        let started = try await chat.send(.text(.init(content: "订座")))
        #expect(started.parts == [.text("好的。"), .text("几位？")])
        #expect(Chat.text(started) == "好的。\n\n几位？")
        chat.clock.advance(by: 11 * 60)
        let after = try await chat.send(.text(.init(content: "你好")))
        #expect(after.parts == [.text("刚才的订座已结束。"), .text("抱歉")])
        #expect(Chat.text(after) == "刚才的订座已结束。\n\n抱歉")
    }
}
