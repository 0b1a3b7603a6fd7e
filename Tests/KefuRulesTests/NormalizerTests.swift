import Testing
@testable import KefuRules

@Suite("Normalizer")
struct NormalizerTests {
    let normalizer = Normalizer()

    @Test("the default pipeline", arguments: [
        ("我要ＲＥＦＵＮＤ！！", "我要refund"),
        ("退貨", "退货"),
        ("我 要 退货", "我要退货"),
        ("hello   world", "hello world"),
        ("Hello, World!", "hello world"),
        ("你好😀👍🏽", "你好"),
        ("订单号：ＤＤ２０２４", "订单号dd2024"),
        ("  前后空格  ", "前后空格"),
        ("iPhone 15 坏了", "iphone 15坏了"),
        ("#话题# 100% @客服", "#话题# 100% @客服"),  // # % @ are kept: they carry meaning
        ("１２３４５", "12345"),
        ("", ""),
    ])
    func defaults(input: String, expected: String) {
        #expect(normalizer.normalize(input).string == expected)
    }

    @Test("each step can be switched off")
    func options() {
        var keepAll = NormalizationOptions()
        keepAll.width = false; keepAll.caseFold = false; keepAll.chinese = .keep
        keepAll.punctuation = .keep; keepAll.emoji = .keep; keepAll.spaces = .keep
        let text = "Ａ 退貨！😀"
        #expect(Normalizer(keepAll).normalize(text).string == text)
        var collapse = NormalizationOptions()
        collapse.spaces = .collapse
        #expect(Normalizer(collapse).normalize("我  要 退货").string == "我 要 退货")
        var remove = NormalizationOptions()
        remove.spaces = .remove
        #expect(Normalizer(remove).normalize("hello world").string == "helloworld")
    }

    @Test("every normalized byte maps back to what the user typed")
    func offsets() {
        let text = "我要ＲＥＦＵＮＤ！！退貨"
        let n = normalizer.normalize(text)
        #expect(n.string == "我要refund退货")
        let utf8 = Array(text.utf8)
        let refund = n.bytes.firstRange(of: Array("refund".utf8))!
        #expect(String(decoding: utf8[n.originalRange(of: refund)], as: UTF8.self) == "ＲＥＦＵＮＤ")
        let goods = n.bytes.firstRange(of: Array("退货".utf8))!
        #expect(String(decoding: utf8[n.originalRange(of: goods)], as: UTF8.self) == "退貨")
        #expect(n.bytes.count == n.originStart.count && n.bytes.count == n.originEnd.count)
    }

    @Test("trace shows the text after each step, ending with the result")
    func trace() {
        let steps = normalizer.trace("Ｈｉ，退貨😀")
        #expect(steps.map(\.step) == Normalizer.Step.allCases)
        #expect(steps.first?.text == "Hi,退貨😀")
        #expect(steps.last?.text == normalizer.normalize("Ｈｉ，退貨😀").string)
        #expect(steps.last?.text == "hi退货")
    }
}
