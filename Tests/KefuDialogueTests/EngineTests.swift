import Foundation
import KefuRules
import KefuWeChat
import Testing
@testable import KefuDialogue

extension Engine {
    /// A message with no session (the rules-only view).
    func handle(_ message: InboundMessage, now: Int64) -> Outcome { handle(message, session: nil, now: now).outcome }
}

/// The rules-only engine on the shop sample: every kind of push maps to the right rule or to `success`.
@Suite("Engine")
struct EngineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let engine = Engine(rules: try! RuleSetCompiler.compile(directory: root.appendingPathComponent("Rules/shop").path))

    static func message(_ content: InboundMessage.Content, id: UInt64? = 1) -> InboundMessage {
        InboundMessage(toUserName: "gh_1", fromUserName: "o_user", createTime: 1_718_000_000,
                       msgId: content.msgType == "event" ? nil : id, content: content)
    }

    static func text(of outcome: Engine.Outcome) -> String? {
        if case .reply(let reply) = outcome.response, case .text(let text) = reply.body { return text }
        return nil
    }

    @Test("text → rule, with captures, roles swapped")
    func textRule() {
        let turn = Self.engine.handle(Self.message(.text(.init(content: "订单 DD202406110001 到哪了"))), session: nil, now: 99)
        let outcome = turn.outcome
        let call = try? #require(turn.effects.compactMap(\.call).first)
        #expect(call?.request.summary == "erp GET /orders/DD202406110001" && call?.waitMs == 2000 && call?.attempts == 1)
        #expect(turn.session?.flow?.pending?.request == call?.request)
        // The capture fills the only slot of order-status, so the flow goes straight to its lookup: the engine
        // (pure) asks for the call as an effect and says the step's slow: text, which a result in time replaces.
        #expect(outcome.source == .flow(name: "order-status", event: .calling(step: "lookup-order")))
        guard case .reply(let reply) = outcome.response else { Issue.record("no reply"); return }
        #expect(reply.toUserName == "o_user" && reply.fromUserName == "gh_1" && reply.createTime == 99)
        guard case .text(let text) = reply.body else { Issue.record("not text"); return }
        #expect(text == "正在为您查询订单 DD202406110001，结果稍后发给您。")
        #expect(outcome.normalized == "订单dd202406110001到哪了")
    }

    @Test("no match → default reply; follow without a matching rule → events.subscribe")
    func defaults() {
        let none = Self.engine.handle(Self.message(.text(.init(content: "今天天气怎么样"))), now: 1)
        #expect(none.source == .defaultReply)
        #expect(Self.text(of: none)?.hasPrefix("抱歉") == true)
        let follow = Self.engine.handle(Self.message(.event(.subscribe(scene: nil, ticket: nil))), now: 1)
        #expect(follow.source == .subscribeReply)
        let storeFollow = Self.engine.handle(Self.message(.event(.subscribe(scene: "store_beijing", ticket: "t"))), now: 1)
        #expect(storeFollow.source == .rule(id: "follow-from-store-qr", kind: .event))
    }

    @Test("pushes map to the rules' inputs", arguments: [
        (InboundMessage.Content.event(.click(key: "MENU_CONTACT")), "menu-contact"),
        (.event(.scancodeWaitMsg(key: "MENU_ORDER_SCAN", scan: .init(scanType: "qrcode", scanResult: "x"))), "menu-orders"),
        (.event(.scan(scene: "any", ticket: nil)), "scan-at-store"),
        (.image(.init(picURL: "u", mediaId: "m")), "damage-photo"),
        (.voice(.init(mediaId: "m", format: "amr")), "voice-note"),
        (.voice(.init(mediaId: "m", format: "amr", recognition: "运费多少")), "shipping-fee"),
    ])
    func mapping(content: InboundMessage.Content, rule: String) {
        let outcome = Self.engine.handle(Self.message(content), now: 1)
        switch outcome.source {
        case .rule(let id, _), .flow(_, .started(let id)): #expect(id == rule)
        default: Issue.record("\(content) → \(outcome.source)")
        }
    }

    @Test("silent pushes and unknown types → success", arguments: [
        InboundMessage.Content.event(.unsubscribe), .event(.location(latitude: 1, longitude: 2, precision: 3)),
        .event(.templateSendJobFinish(status: "success")), .event(.kfCloseSession(kfAccount: "kf@gh")),
        .event(.unknown(name: "subscribe_msg_popup_event", eventKey: nil)), .unknown(msgType: "miniprogrampage"),
        .link(.init(title: "t", description: "d", url: "u")),
    ])
    func silent(content: InboundMessage.Content) {
        let outcome = Self.engine.handle(Self.message(content), now: 1)
        #expect(outcome.response == .success)
    }

    @Test("news is cut to one article for a message; transfer to an event is not sent")
    func replyLimits() throws {
        let rules = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "r.yaml", text: """
            rules:
              - {id: news, when: {exact: 图文}, reply: {news: [{title: 一}, {title: 二}]}}
              - {id: event-news, when: {click: K}, reply: {news: [{title: 一}, {title: 二}]}}
              - {id: event-transfer, when: {click: T}, reply: {transfer: true}}
            """)]))
        let engine = Engine(rules: rules)
        guard case .reply(let r1) = engine.handle(Self.message(.text(.init(content: "图文"))), now: 1).response,
              case .news(let a1) = r1.body else { Issue.record("no news"); return }
        #expect(a1.map(\.title) == ["一"])
        guard case .reply(let r2) = engine.handle(Self.message(.event(.click(key: "K"))), now: 1).response,
              case .news(let a2) = r2.body else { Issue.record("no news"); return }
        #expect(a2.map(\.title) == ["一", "二"])
        let transfer = engine.handle(Self.message(.event(.click(key: "T"))), now: 1)
        #expect(transfer.response == .success)
        guard case .noReply(let reason) = transfer.source else { Issue.record("\(transfer.source)"); return }
        #expect(reason.contains("transfer_customer_service"))
    }

    @Test("random replies are the same for the same message (retries), varied across messages")
    func deterministicRandom() {
        var seen: Set<String> = []
        for id in 1...30 {
            let message = Self.message(.text(.init(content: "你好")), id: UInt64(id))
            let a = Self.text(of: Self.engine.handle(message, now: 1))
            #expect(a == Self.text(of: Self.engine.handle(message, now: 1)))
            if let a { seen.insert(a) }
        }
        #expect(seen.count == 2)
    }
}
