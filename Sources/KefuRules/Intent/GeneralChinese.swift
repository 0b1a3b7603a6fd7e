/// A general-Chinese prior for the idf of `IntentVectorizer`: how common a character (or a short
/// n-gram, or a particle at the end of a message) is in ordinary short Chinese messages, whatever
/// they are about.
///
/// Why: idf learnt from a dozen examples per intent cannot know that 吗, 的, 了, 我, 你, 想 occur
/// in any Chinese message. If most weather examples end in 吗, 吗 looks like a weather word, and
/// 在吗 / 有人吗 / 有优惠券吗 become weather questions. With the prior an n-gram's document
/// frequency is taken as at least `share × N` (N = training texts), so its idf is never above what
/// it would be in general text: idf = ln((1 + N) / (1 + max(df, share·N))) + 1. A rule set with
/// thousands of examples, where the counts are already right, is hardly changed.
///
/// The shares are Kefu's own estimates (written by hand for this file, rounded): the fraction of
/// short customer-service-style messages that contain the n-gram. They need only be right within
/// a factor of about two; what matters is that these n-grams weigh little. `^` and `$` stand for
/// the start and end of the message (`吗$`: a message that ends in 吗).
enum GeneralChinese {
    static let shares: [(ngram: String, share: Double)] = [
        // Sentence-final particles and the end of a question.
        ("吗", 0.18), ("吗$", 0.15), ("呢", 0.06), ("呢$", 0.05), ("吧", 0.05), ("吧$", 0.04),
        ("了", 0.20), ("了$", 0.10), ("啊", 0.06), ("啊$", 0.05), ("呀", 0.03), ("呀$", 0.03),
        ("嘛", 0.02), ("嘛$", 0.02), ("哦", 0.03), ("么$", 0.03), ("的$", 0.05), ("？", 0.10), ("?", 0.05),
        // Pronouns and the start of a message.
        ("我", 0.35), ("^我", 0.22), ("你", 0.20), ("^你", 0.10), ("您", 0.05), ("们", 0.10),
        ("我们", 0.04), ("你们", 0.07), ("他", 0.03), ("这", 0.10), ("^这", 0.04), ("那", 0.05),
        ("这个", 0.06), ("那个", 0.03), ("个", 0.12),
        // The commonest function characters and words.
        ("的", 0.25), ("是", 0.18), ("有", 0.18), ("^有", 0.05), ("不", 0.18), ("在", 0.12),
        ("一", 0.12), ("一下", 0.06), ("一个", 0.04), ("要", 0.10), ("我要", 0.05), ("想", 0.08),
        ("我想", 0.06), ("能", 0.08), ("可", 0.08), ("以", 0.08), ("可以", 0.07), ("会", 0.05),
        ("就", 0.05), ("还", 0.06), ("还有", 0.03), ("也", 0.04), ("都", 0.04), ("和", 0.03),
        ("很", 0.03), ("没", 0.06), ("没有", 0.05), ("到", 0.06), ("给", 0.04), ("说", 0.04),
        ("去", 0.04), ("来", 0.04), ("看", 0.04), ("过", 0.03), ("上", 0.04), ("下", 0.06),
        ("么", 0.12), ("什", 0.08), ("什么", 0.08), ("怎", 0.08), ("怎么", 0.08), ("为什么", 0.02),
        ("多", 0.05), ("少", 0.03), ("几", 0.05), ("吗？", 0.08), ("请", 0.04), ("问", 0.05),
        ("请问", 0.04), ("^请", 0.03), ("好", 0.12), ("好的", 0.06), ("知道", 0.03), ("现在", 0.03),
        ("人", 0.05), ("点", 0.05), ("对", 0.03), ("大", 0.03), ("小", 0.03), ("时", 0.03),
        ("帮", 0.04), ("帮我", 0.03), ("麻烦", 0.02), ("谢", 0.05), ("谢谢", 0.05), ("嗯", 0.02),
    ]

    /// The share of each listed n-gram, by the hash `IntentNGrams` gives it.
    static let byHash: [UInt64: Double] = {
        var table: [UInt64: Double] = [:]
        for (ngram, share) in shares {
            var symbols = ngram.unicodeScalars.map(\.value)
            if ngram.count > 1, ngram.hasPrefix("^") { symbols[0] = IntentNGrams.boundary }
            if ngram.count > 1, ngram.hasSuffix("$") { symbols[symbols.count - 1] = IntentNGrams.boundary }
            var h = IntentNGrams.fnvOffset
            for s in symbols { h = IntentNGrams.extend(h, symbol: s) }
            table[h] = share
        }
        return table
    }()
}
