import Testing
@testable import KefuRules

/// Every construct of the rule language, loaded from YAML and exercised once.
@Suite("Rule language constructs")
struct ConstructsTests {
    static let yaml = """
        settings:
          normalize: {width: false, case: false, chinese: keep, punctuation: keep, emoji: keep, spaces: keep}
          intent_threshold: 0.2
        default: {in_order: [抱歉，没有理解。, 回复“人工”联系客服。]}
        events:
          subscribe: {random: [欢迎！, {text: 感谢关注！}]}
        rules:
          - {id: t-text, when: {exact: 文本}, reply: {text: 纯文本}}
          - {id: t-image, when: {exact: 图片}, reply: {image: IMG_1}}
          - {id: t-voice, when: {exact: 语音}, reply: {voice: VOICE_1}}
          - {id: t-video, when: {exact: 视频}, reply: {video: {media_id: VID_1, title: 教程, description: 三分钟}}}
          - {id: t-music, when: {exact: 音乐}, reply: {music: {title: 等待, url: 'https://x/a.mp3', hq_url: 'https://x/b.mp3', thumb_media_id: TH_1}}}
          - {id: t-news, when: {exact: 图文}, reply: {news: {title: 常见问题, description: 点这里, url: 'https://x/faq', picurl: 'https://x/p.jpg'}}}
          - {id: t-transfer, when: {exact: 人工}, reply: {transfer: 'kf2001@gh_1'}}
          - {id: t-transfer-map, when: {exact: 客服}, reply: {transfer: {kf_account: 'kf2002@gh_1'}}}
          - {id: t-view, when: {view: 'https://shop.example.com/*'}, reply: 链接}
          - {id: t-scan, when: {scan: [store_1]}, reply: 扫码}
          - {id: t-location, when: {message: location}, reply: 位置}
          - {id: t-link, when: {message: [link, file, video]}, reply: 链接或文件}
          - {id: t-note, when: {exact: 备注}, reply: 有备注, note: 备注不影响匹配, priority: -1}
        """

    static let rules = try! compileRules(yaml)

    static func render(_ input: MatchInput) -> RenderedReply? {
        var rng = SeededGenerator(seed: 3)
        guard let w = rules.match(input).winner else { return nil }
        return rules.rules[w.rule].reply!.render(captures: w.captures, using: &rng)
    }

    @Test("settings are read")
    func settings() {
        let options = Self.rules.normalizer.options
        #expect(!options.width && !options.caseFold && options.chinese == .keep)
        #expect(options.punctuation == .keep && options.emoji == .keep && options.spaces == .keep)
        #expect(Self.rules.spec.settings.intentThreshold == 0.2)
        #expect(Self.rules.normalizer.normalize("Ａ，😀 ").string == "Ａ，😀 ")
    }

    @Test("every reply form renders", arguments: [
        ("文本", RenderedReply.text("纯文本")),
        ("图片", .image(mediaId: "IMG_1")),
        ("语音", .voice(mediaId: "VOICE_1")),
        ("视频", .video(mediaId: "VID_1", title: "教程", description: "三分钟")),
        ("音乐", .music(title: "等待", description: nil, url: "https://x/a.mp3", hqURL: "https://x/b.mp3", thumbMediaId: "TH_1")),
        ("图文", .news([.init(title: "常见问题", description: "点这里", url: "https://x/faq", picURL: "https://x/p.jpg")])),
        ("人工", .transfer(kfAccount: "kf2001@gh_1")),
        ("客服", .transfer(kfAccount: "kf2002@gh_1")),
        ("备注", .text("有备注")),
    ])
    func replies(message: String, expected: RenderedReply) {
        #expect(Self.render(.text(message)) == expected)
    }

    @Test("events and message kinds")
    func events() {
        #expect(Self.render(.event(.view(url: "https://shop.example.com/orders"))) == .text("链接"))
        #expect(Self.rules.match(.event(.view(url: "https://other.example.com/"))).winner == nil)
        #expect(Self.render(.event(.scan(scene: "store_1"))) == .text("扫码"))
        #expect(Self.rules.match(.event(.scan(scene: "store_2"))).winner == nil)
        #expect(Self.render(.message(.location)) == .text("位置"))
        #expect(Self.render(.message(.file)) == .text("链接或文件"))
    }

    @Test("default in_order and subscribe random")
    func defaults() {
        var rng = SeededGenerator(seed: 1)
        #expect(Self.rules.defaultReply?.render(captures: [:], using: &rng) == .text("抱歉，没有理解。\n\n回复“人工”联系客服。"))
        var seen: Set<String> = []
        for seed in 0..<20 {
            var r = SeededGenerator(seed: UInt64(seed))
            if case .text(let t)? = Self.rules.subscribeReply?.render(captures: [:], using: &r) { seen.insert(t) }
        }
        #expect(seen == ["欢迎！", "感谢关注！"])
    }

    @Test("the same seed gives the same random reply")
    func deterministicRandom() {
        var a = SeededGenerator(seed: 99), b = SeededGenerator(seed: 99)
        #expect(Self.rules.subscribeReply?.render(captures: [:], using: &a) == Self.rules.subscribeReply?.render(captures: [:], using: &b))
    }

    @Test("media by URL is refused with the reason")
    func refusals() {
        let media = diagnostics("rules:\n  - {id: a, when: {exact: x}, reply: {voice: 'http://x/a.amr'}}\n")
        #expect(media.first?.code == "media-url")
    }

    @Test("flows: every expect form, defaults, if, retry, on_fail, confirm; interrupts; settings")
    func flows() throws {
        let rules = try compileRules("""
            settings: {timezone: '+09:30', handoff_pause: 2h}
            rules:
              - {id: go, when: {contains: [预约]}, flow: f, reply: 好的。}
            interrupts:
              - {when: {exact: [取消]}, action: cancel}
              - {id: agent, when: {contains: [人工]}, action: handoff}
              - {when: {exact: [算了]}, action: cancel, reply: 已取消。}
            flows:
              f:
                title: 预约
                expires: 90s
                on_expire: 超时了
                start: 开始
                cancelled: 不约了
                steps:
                  - {slot: a, ask: q, expect: mobile}
                  - {slot: b, ask: q, expect: date}
                  - {slot: c, ask: q, expect: datetime}
                  - {slot: d, ask: q, expect: text}
                  - {slot: e, ask: q, expect: {text: {min: 2, max: 5}}}
                  - {slot: g, ask: q, expect: number}
                  - {slot: h, ask: q, expect: {number: {min: 1, max: 9}}}
                  - {slot: i, ask: q, expect: {regex: 'DD\\d{2}'}, retry: [r1, r2], max_attempts: 5, on_fail: handoff}
                  - {slot: j, ask: q, expect: {choice: [x, y]}, on_fail: {reply: 算了吧}}
                  - {slot: k, ask: q, expect: {choice: {x: [叉], y: []}}, if: {j: [x, y]}}
                  - {slot: l, label: 照片, ask: q, expect: {media: [image, video]}, if: {j: x}}
                  - {slot: m, ask: q}
                  - {confirm: 对吗, change: 改哪个}
                done: '{{a}}'
            """)
        #expect(rules.settings.utcOffset == 9 * 3600 + 1800 && rules.settings.handoffPause == 7200)
        #expect(rules.rules.map(\.id) == ["go", "cancel", "agent", "cancel-2"], "interrupts after rules; default ids by action")
        #expect(rules.rules.map(\.interrupt) == [nil, .cancel, .handoff, .cancel])
        let flow = try #require(rules.flow(named: "f"))
        #expect(flow.title == "预约" && flow.expires == 90 && flow.onExpire?.source == "超时了" && flow.start?.source == "开始")
        let e = flow.steps.map(\.expectation)
        #expect(e[0] == .mobile && e[1] == .date(requireTime: false) && e[2] == .date(requireTime: true) && e[3] == .text(1...500))
        #expect(e[4] == .text(2...5) && e[5] == .number(Int.min...Int.max) && e[6] == .number(1...9))
        #expect(e[8] == .choice([.init(value: "x"), .init(value: "y")]) && e[9] == .choice([.init(value: "x", words: ["叉"]), .init(value: "y")]))
        #expect(e[10] == .media([.image, .video]) && e[11] == .text(1...500))
        #expect(flow.steps[7].retry.map(\.source) == ["r1", "r2"] && flow.steps[7].maxAttempts == 5 && flow.steps[7].onFail == .handoff)
        #expect(flow.steps[8].onFail == .reply(Template("算了吧")) && flow.steps[0].onFail == .cancel && flow.steps[0].maxAttempts == 3)
        #expect(flow.steps[10].label == "照片" && flow.steps[0].label == "a")
        #expect(flow.steps[10].applies(to: ["j": "x"]) && !flow.steps[10].applies(to: ["j": "y"]) && !flow.steps[10].applies(to: [:]))
        #expect(flow.steps[12].kind == .confirm && flow.steps[12].change?.source == "改哪个")
        // Outside a flow, a cancel interrupt does not answer; a handoff one does.
        #expect(rules.match(.text("取消")).winner == nil && rules.match(.text("取消")).interrupt?.ruleID == "cancel")
        #expect(rules.match(.text("转人工")).winner?.ruleID == "agent")
    }

}

@Suite("Loader edge cases")
struct LoaderEdgeCaseTests {
    @Test("refused shapes", arguments: [
        ("rules:\n  - {id: a, when: {subscribe: false}, reply: x}\n", "unknown-value", "subscribe cannot be 'false'"),
        ("rules:\n  - {id: a, when: {exact: x}, reply: ~}\n", "empty-value", "the reply is empty"),
        ("rules:\n  - id: a\n    when: {exact: x}\n    reply:\n", "empty-value", "the reply is empty"),
        ("rules:\n  - {id: a, when: {exact: x}, reply: {transfer: {kf_account: bob}}}\n", "wrong-type", "kf_account must be an agent account"),
        ("rules:\n  - {id: a, when: {exact: x}, reply: {image: 'HTTPS://x/a.png'}}\n", "media-url", "needs a media_id, not a URL"),
        ("rules:\n  - {id: a, when: {exact: x}, reply: {music: {thumb_media_id: 'https://x/t.jpg'}}}\n", "media-url", "music thumbnail needs a media_id"),
        ("rules:\n  - {id: a, when: {exact: x}, reply: {in_order: []}}\n", "empty-list", "in_order is an empty list"),
        ("intents:\n  a: 我要退货\n", "wrong-type", "intent 'a' must list its examples"),
    ])
    func refused(yaml: String, code: String, says: String) {
        let found = diagnostics(yaml)
        let errors = found.filter { $0.severity == .error }
        #expect(errors.count == 1, "\(errors.map(\.message))")
        #expect(errors.first?.code == code)
        #expect(errors.first?.message.contains(says) == true, "\(errors.first?.message ?? "")")
    }

    @Test("accepted shapes: image as a mapping, yes/on words, transfer with an account")
    func accepted() throws {
        let rules = try compileRules("""
            settings: {normalize: {width: on, case: yes}}
            rules:
              - {id: a, when: {exact: x}, reply: {image: {media_id: IMG_1}}}
              - {id: b, when: {subscribe: yes}, reply: 欢迎}
              - {id: c, when: {exact: y}, reply: {transfer: {kf_account: 'kf1@gh_1'}}}
            """)
        #expect(rules.rules[0].reply == .image(mediaId: "IMG_1"))
        #expect(rules.rules[1].condition == .subscribe(scenes: nil))
        #expect(rules.rules[2].reply == .transfer(kfAccount: "kf1@gh_1"))
    }
}
