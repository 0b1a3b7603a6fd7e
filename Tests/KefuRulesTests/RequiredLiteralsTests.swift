import Testing
@testable import KefuRules

@Suite("Regex prefilter literals")
struct RequiredLiteralsTests {
    static func keepAll(_ c: Character) -> Bool { !c.isWhitespace && !c.isPunctuation }

    @Test("required literals", arguments: [
        ("订单", ["订单"]),
        ("(?<order>DD\\d{12})", ["DD"]),
        ("退货|退款", ["退款", "退货"]),
        ("(退货|退款)原因", ["原因"]),
        ("我要(退货|退款)", ["我要"]),
        ("(退货|退款)", ["退款", "退货"]),
        ("\\d{11}", nil),
        ("a?b", ["b"]),
        ("ab*c", ["a"]),
        ("(?:发票)+", ["发票"]),
        ("[abc]订单号", ["订单号"]),
        ("订单\\s*(?<n>\\d+)", ["订单"]),
        ("(?i)abc", nil),
        ("x|\\d+", nil),
        ("(?=订单)\\w+", nil),
        ("订单号.{0,3}查询", ["订单号"]),
        ("a-b", ["a"]),
    ] as [(String, [String]?)])
    func extract(pattern: String, expected: [String]?) {
        #expect(RequiredLiterals.extract(pattern, keep: Self.keepAll) == expected, "\(pattern)")
    }

    @Test("a proposed regex is never missed: every PCRE2 match contains one of its literals")
    func soundness() throws {
        let patterns = ["(?<order>DD\\d{12})", "(退货|退款)原因", "我要(退货|退款)?吗", "a+b{2,}c", "订单\\s*号?(\\d+)", "(ab|cd)+e"]
        let texts = ["dd202406110001", "DD202406110001", "退款原因", "我要吗", "我要退货吗", "abbc", "aabbbc", "订单 12", "订单号3", "abcde", "cdabe", "xyz"]
        for pattern in patterns {
            let regex = try PatternRegex(pattern, caseless: true)
            let literals = RequiredLiterals.extract(pattern, keep: Self.keepAll)
            for text in texts {
                let lowered = text.lowercased()
                guard regex.firstMatch(in: Array(lowered.utf8)) != nil, let literals else { continue }
                #expect(literals.contains { lowered.contains($0.lowercased()) }, "\(pattern) matched “\(text)” without any of \(literals)")
            }
        }
    }
}
