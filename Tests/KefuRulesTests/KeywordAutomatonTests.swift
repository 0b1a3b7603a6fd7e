import Testing
@testable import KefuRules

/// One table of cases for the automaton, and a randomized comparison with a naive scan.
@Suite("Keyword automaton")
struct KeywordAutomatonTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let patterns: [String]
        let text: String
        /// (pattern index, start, end) in bytes, sorted.
        let expected: [[Int]]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "basic", patterns: ["he", "she", "his", "hers"], text: "ushers", expected: [[0, 2, 4], [1, 1, 4], [3, 2, 6]]),
        Case(name: "overlapping and nested", patterns: ["a", "aa", "aaa"], text: "aaa",
             expected: [[0, 0, 1], [0, 1, 2], [0, 2, 3], [1, 0, 2], [1, 1, 3], [2, 0, 3]]),
        Case(name: "chinese", patterns: ["退货", "退货运费", "运费"], text: "我要退货运费",
             expected: [[0, 6, 12], [1, 6, 18], [2, 12, 18]]),
        Case(name: "no match", patterns: ["物流"], text: "我要退货", expected: []),
        Case(name: "empty text", patterns: ["a"], text: "", expected: []),
        Case(name: "pattern equals text", patterns: ["发票"], text: "发票", expected: [[0, 0, 6]]),
        Case(name: "failure through shared utf-8 prefix bytes", patterns: ["退款", "款式"], text: "退款式",
             expected: [[0, 0, 6], [1, 3, 9]]),
        Case(name: "regression-001 suffix output inherited", patterns: ["bcd", "c"], text: "abcd", expected: [[0, 1, 4], [1, 2, 3]]),
    ]

    static func naive(_ patterns: [[UInt8]], _ text: [UInt8]) -> [[Int]] {
        var found: [[Int]] = []
        for (id, p) in patterns.enumerated() where !p.isEmpty && p.count <= text.count {
            for start in 0...(text.count - p.count) where Array(text[start..<(start + p.count)]) == p {
                found.append([id, start, start + p.count])
            }
        }
        return found.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test("table", arguments: cases)
    func table(c: Case) {
        var builder = KeywordAutomatonBuilder()
        for p in c.patterns { builder.add(Array(p.utf8)) }
        let automaton = builder.build()
        let found = automaton.matches(in: Array(c.text.utf8)).map { [$0.pattern, $0.start, $0.end] }.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(found == c.expected, "patterns \(c.patterns) in “\(c.text)”")
        #expect(found == Self.naive(c.patterns.map { Array($0.utf8) }, Array(c.text.utf8)))
    }

    @Test("random patterns and texts agree with a naive scan (seeded)")
    func randomized() {
        var rng = SeededGenerator(seed: 42)
        let alphabet: [String] = ["a", "b", "c", "退", "货", "运", "费", "😀"]
        for _ in 0..<300 {
            let patterns = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                (0..<Int.random(in: 1...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            }
            let text = (0..<Int.random(in: 0...30, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            var builder = KeywordAutomatonBuilder()
            var ids: [Int] = []
            for p in patterns { ids.append(builder.add(Array(p.utf8))!) }
            let automaton = builder.build()
            let found = automaton.matches(in: Array(text.utf8)).map { [$0.pattern, $0.start, $0.end] }.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(found == Self.naive(builder.patterns, Array(text.utf8)), "patterns \(patterns) text “\(text)”")
        }
    }

    @Test("with the prefilter on (mostly long patterns, a few short ones): still every match, at any position and text length")
    func randomizedWithPrefilter() {
        var rng = SeededGenerator(seed: 7)
        let alphabet: [String] = ["退", "货", "运", "费", "a", "#", "😀", "发"]
        for round in 0..<400 {
            var patterns = (0..<Int.random(in: 24...60, using: &rng)).map { _ in
                (0..<Int.random(in: 2...4, using: &rng)).map { _ in ["退", "货", "运", "费", "发"].randomElement(using: &rng)! }.joined()
            }
            if round % 3 == 0 { patterns.append(["C#", "a", "#货"].randomElement(using: &rng)!) }  // short ones
            let text = (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            var builder = KeywordAutomatonBuilder()
            for p in patterns { builder.add(Array(p.utf8)) }
            let automaton = builder.build()
            #expect(automaton.hasPrefilter)
            let found = automaton.matches(in: Array(text.utf8)).map { [$0.pattern, $0.start, $0.end] }.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(found == Self.naive(builder.patterns, Array(text.utf8)), "patterns \(patterns) text “\(text)”")
        }
    }

    @Test("duplicates share an id; empty patterns are refused")
    func duplicates() {
        var builder = KeywordAutomatonBuilder()
        #expect(builder.add(Array("发票".utf8)) == 0)
        #expect(builder.add(Array("物流".utf8)) == 1)
        #expect(builder.add(Array("发票".utf8)) == 0)
        #expect(builder.add([]) == nil)
        #expect(builder.build().patternCount == 2)
    }
}
