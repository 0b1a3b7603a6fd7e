import Testing
@testable import KefuRules

/// A small after-sales rule set, as a support lead would write it: a dozen examples per intent,
/// built around the words customers use (退货 / 退款, 快递 / 物流 / 发货, 发票 / 开票).
private let afterSales: [(intent: String, text: String)] = [
    ("退货", "我要退货"),
    ("退货", "怎么退货"),
    ("退货", "这个东西我不想要了可以退吗"),
    ("退货", "申请退货退款"),
    ("退货", "买错了想退掉"),
    ("退货", "质量有问题我要退货"),
    ("退货", "七天无理由退货怎么弄"),
    ("退货", "退货地址是哪里"),
    ("退货", "退款什么时候到账"),
    ("退货", "衣服尺码不合适能退吗"),
    ("退货", "退货运费谁出"),
    ("退货", "我想退款"),
    ("物流", "我的快递到哪了"),
    ("物流", "查一下物流"),
    ("物流", "什么时候发货"),
    ("物流", "快递怎么还没到"),
    ("物流", "物流信息一直没更新"),
    ("物流", "订单发货了吗"),
    ("物流", "帮我查快递单号"),
    ("物流", "几天能送到"),
    ("物流", "快递显示已签收但我没收到"),
    ("物流", "发的什么快递"),
    ("物流", "物流太慢了"),
    ("物流", "能不能快点发货"),
    ("发票", "怎么开发票"),
    ("发票", "我要开发票"),
    ("发票", "发票抬头写错了"),
    ("发票", "可以开增值税专用发票吗"),
    ("发票", "电子发票在哪里下载"),
    ("发票", "发票什么时候寄出"),
    ("发票", "能补开发票吗"),
    ("发票", "开票信息怎么填"),
    ("发票", "发票没有收到"),
    ("发票", "公司报销需要发票"),
    ("发票", "发票的税号填错了"),
    ("发票", "开纸质发票"),
]

@Suite("IntentClassifier")
struct IntentClassifierTests {
    let classifier = IntentClassifier(examples: afterSales)

    @Test("intents are the sorted distinct labels")
    func intentsSorted() {
        #expect(classifier.intents == ["发票", "物流", "退货"])
    }

    @Test("unseen paraphrases get the right intent", arguments: [
        ("这件衣服我想退货", "退货"),
        ("退款怎么申请", "退货"),
        ("东西坏了能退吗", "退货"),
        ("快递到哪里了", "物流"),
        ("帮我查查物流", "物流"),
        ("我的订单还没发货", "物流"),
        ("麻烦给我开张发票", "发票"),
        ("电子发票怎么下载", "发票"),
        ("发票开错了", "发票"),
    ])
    func paraphrases(text: String, expected: String) {
        let prediction = classifier.classify(text)
        #expect(prediction.ranking.first?.intent == expected, "\(text): \(prediction.ranking)")
        #expect(prediction.intent == expected, "\(text): \(classifier.analyze(text)), thresholds \(classifier.threshold) \(classifier.minimumSimilarity)")
    }

    /// Unrelated: shares no n-gram with the examples, or only characters any Chinese sentence
    /// has (的, 吗, 我). (Text that shares content characters, e.g. 机票 with 发票, is not
    /// "unlike every example" for a character model; see `IntentClassifier.threshold`.)
    @Test("text unlike every example is none of them", arguments: [
        "hello world",          // shares no n-gram at all
        "12345",
        "",
        "周杰伦的新歌好听吗",
        "今晚的月亮真圆",
        "明天早上八点叫我起床",
        "北京烤鸭哪家最好吃",
    ])
    func unrelated(text: String) {
        let prediction = classifier.classify(text)
        #expect(prediction.intent == nil, "\(text): \(classifier.analyze(text)), thresholds \(classifier.threshold) \(classifier.minimumSimilarity)")
        #expect(prediction.ranking.count == 3)
    }

    @Test("no shared n-gram gives nil even with thresholds fixed at 0")
    func noOverlapIsNil() {
        var options = IntentClassifier.Options()
        options.threshold = 0
        options.minimumSimilarity = 0
        let open = IntentClassifier(examples: afterSales, options: options)
        #expect(open.threshold == 0 && open.minimumSimilarity == 0)
        #expect(open.classify("hello world").intent == nil)
        #expect(open.analyze("hello world").knownFeatures == 0)
        // ...while with a shared n-gram an intent is named.
        #expect(open.classify("退").intent == "退货")
    }

    @Test("the calibrated thresholds are reported and lie in [0, 1]")
    func calibratedThresholds() {
        #expect(classifier.threshold > 0 && classifier.threshold <= 1)
        #expect(classifier.minimumSimilarity > 0 && classifier.minimumSimilarity <= 1)
        var options = IntentClassifier.Options()
        options.threshold = 0.42
        let fixed = IntentClassifier(examples: afterSales, options: options)
        #expect(fixed.threshold == 0.42)
        #expect(fixed.minimumSimilarity > 0)
    }

    @Test("training is deterministic: identical predictions and scores")
    func deterministic() {
        let again = IntentClassifier(examples: afterSales)
        #expect(again.threshold == classifier.threshold)
        #expect(again.minimumSimilarity == classifier.minimumSimilarity)
        for text in ["我要退货", "快递到哪里了", "发票开错了", "今晚的月亮真圆", "退货的快递单号", "x"] {
            #expect(again.classify(text) == classifier.classify(text))
        }
    }

    @Test("ranking holds every intent, best first, and its scores sum to 1")
    func ranking() {
        for text in ["退货的快递单号", "发票", "随便说点什么"] {
            let prediction = classifier.classify(text)
            #expect(prediction.ranking.map(\.intent).sorted() == classifier.intents)
            #expect(zip(prediction.ranking, prediction.ranking.dropFirst()).allSatisfy { $0.score >= $1.score })
            #expect(prediction.score == prediction.ranking[0].score)
            let total = prediction.ranking.reduce(0) { $0 + $1.score }
            #expect(abs(total - 1) < 1e-9)
        }
    }

    @Test("a single intent still recognises its paraphrases and rejects the rest")
    func singleIntent() {
        let only = IntentClassifier(examples: afterSales.filter { $0.intent == "发票" })
        #expect(only.intents == ["发票"])
        let yes = only.classify("我想开一张发票")
        #expect(yes.intent == "发票", "\(only.analyze("我想开一张发票")), min \(only.minimumSimilarity)")
        #expect(yes.score == 1)
        #expect(yes.ranking == [IntentScore(intent: "发票", score: 1)])
        for text in ["我的快递到哪了", "周杰伦的新歌好听吗", "今晚的月亮真圆", "hello"] {
            #expect(only.classify(text).intent == nil, "\(text): \(only.analyze(text)), min \(only.minimumSimilarity)")
        }
    }

    @Test("no examples: every text is none of them")
    func empty() {
        let none = IntentClassifier(examples: [])
        #expect(none.intents.isEmpty)
        let prediction = none.classify("我要退货")
        #expect(prediction == IntentPrediction(intent: nil, score: 0, ranking: [], declined: .noSharedWords))
    }

    @Test("n-gram hashing: boundaries, lengths, no allocation-dependent results")
    func ngrams() {
        let grams = IntentNGrams(range: 1...3, boundaries: true)
        // "退货": 退 货 | ^退 退货 货$ | ^退货 退货$  → 7
        var count = 0
        grams.forEach(in: "退货") { _ in count += 1 }
        #expect(count == 7)
        #expect(grams.counted("退货").count == 7)
        // Repeated n-grams are counted.
        #expect(grams.counted("好好好").first(where: { $0.count == 3 }) != nil)
        // Without boundaries and unigrams only: one hash per scalar.
        let unigrams = IntentNGrams(range: 1...1, boundaries: false)
        #expect(unigrams.counted("abca").map(\.count).sorted() == [1, 1, 2])
        // The same text hashes the same way; different texts differently.
        #expect(grams.counted("发票").map(\.hash) == grams.counted("发票").map(\.hash))
        #expect(Set(grams.counted("发票").map(\.hash)) != Set(grams.counted("票发").map(\.hash)))
    }

    @Test("the allocation-free sort sorts, short and long", arguments: [0, 1, 2, 50, 96, 97, 1000])
    func sortInPlace(count: Int) {
        var state: UInt64 = 0x1234_5678
        var values = (0..<count).map { _ -> UInt64 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state % 100  // with repeats
        }
        let expected = values.sorted()
        values.withUnsafeMutableBufferPointer { IntentNGrams.sortInPlace($0) }
        #expect(values == expected)
    }

    @Test("the feature table finds what it stored, across growth")
    func featureTable() {
        var table = IntentFeatureTable(minimumCapacity: 1)
        for h in 0..<1000 as Range<UInt64> {
            let (id, inserted) = table.insert(h &* 0x9E37_79B9_7F4A_7C15)
            #expect(inserted && id == Int32(h))
        }
        for h in 0..<1000 as Range<UInt64> {
            #expect(table.lookup(h &* 0x9E37_79B9_7F4A_7C15) == Int32(h))
        }
        #expect(table.lookup(12345) == -1)
        // Hash 0 (h = 0 above) is stored under the reserved-slot substitute and still found.
        #expect(table.insert(0) == (id: 0, inserted: false))
    }
}
