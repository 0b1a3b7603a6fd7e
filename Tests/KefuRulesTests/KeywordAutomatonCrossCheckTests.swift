import Testing
@testable import KefuRules

/// Randomized cross-checks of the automaton (prefilter, character-level and byte-level scans) against
/// a naive search: every occurrence of every pattern, overlapping, in order of their end.
@Suite("Keyword automaton cross-checks")
struct KeywordAutomatonCrossCheckTests {
    /// Every (pattern, start, end), sorted by end, then by start descending (longest first), then id:
    /// the order the automaton reports in.
    static func naive(_ patterns: [[UInt8]], _ text: [UInt8]) -> [[Int]] {
        var found: [[Int]] = []
        for (id, p) in patterns.enumerated() where !p.isEmpty && p.count <= text.count {
            for start in 0...(text.count - p.count) where text[start..<(start + p.count)].elementsEqual(p) {
                found.append([id, start, start + p.count])
            }
        }
        return found.sorted { ($0[2], $0[1]) < ($1[2], $1[1]) || ($0[2], $0[1]) == ($1[2], $1[1]) && $0[0] < $1[0] }
    }

    /// The automaton's matches in the order reported.
    static func scanned(_ automaton: KeywordAutomaton, _ text: [UInt8]) -> [[Int]] {
        automaton.matches(in: text).map { [$0.pattern, $0.start, $0.end] }
    }

    static func sortedByEnd(_ m: [[Int]]) -> Bool {
        zip(m, m.dropFirst()).allSatisfy { $0[2] <= $1[2] }
    }

    /// Units texts and patterns are built from.
    static let ascii: [[UInt8]] = "abcxyz #1-".utf8.map { [$0] }
    static let cjk: [[UInt8]] = ["退", "货", "运", "费", "发", "票", "款", "式"].map { Array($0.utf8) }
    static let other: [[UInt8]] = ["é", "😀", "𠀋"].map { Array($0.utf8) }
    /// Stray bytes: continuation bytes, lead bytes without their continuations, bytes never in UTF-8.
    static let invalid: [[UInt8]] = [[0x80], [0xBF], [0xE9], [0xE9, 0x80], [0xF0, 0x9F], [0xC3], [0xFF], [0xC0, 0x80]]

    static func string(_ units: [[UInt8]], _ length: Int, _ rng: inout SeededGenerator) -> [UInt8] {
        var s: [UInt8] = []
        for _ in 0..<length { s += units.randomElement(using: &rng)! }
        return s
    }

    struct Mix: Sendable, CustomTestStringConvertible {
        let name: String
        let patternUnits: Int  // 0 ascii, 1 cjk, 2 mixed, 3 mixed with invalid bytes
        let textUnits: Int
        var testDescription: String { name }
    }

    static func units(_ kind: Int) -> [[UInt8]] {
        switch kind {
        case 0: ascii
        case 1: cjk
        case 2: ascii.prefix(4) + cjk.prefix(4) + other
        default: ascii.prefix(3) + cjk.prefix(4) + other.prefix(1) + invalid
        }
    }

    @Test("random pattern sets agree with a naive search", arguments: [
        Mix(name: "ascii", patternUnits: 0, textUnits: 0),
        Mix(name: "cjk", patternUnits: 1, textUnits: 1),
        Mix(name: "mixed", patternUnits: 2, textUnits: 2),
        Mix(name: "cjk patterns, text with invalid utf-8", patternUnits: 1, textUnits: 3),
        Mix(name: "invalid utf-8 in patterns and text", patternUnits: 3, textUnits: 3),
    ])
    func random(mix: Mix) {
        var rng = SeededGenerator(seed: 1_000 + UInt64(mix.patternUnits * 10 + mix.textUnits))
        let patternUnits = Self.units(mix.patternUnits), textUnits = Self.units(mix.textUnits)
        for round in 0..<300 {
            var builder = KeywordAutomatonBuilder()
            // Many patterns (the prefilter on) or few; short ones of 1–2 units; shared prefixes and suffixes.
            let many = round % 2 == 0
            var base: [[UInt8]] = []
            for _ in 0..<(many ? Int.random(in: 20...80, using: &rng) : Int.random(in: 1...6, using: &rng)) {
                let length = round % 5 == 0 ? Int.random(in: 1...2, using: &rng) : Int.random(in: 2...5, using: &rng)
                base.append(Self.string(patternUnits, length, &rng))
            }
            var patterns = base
            for p in base.prefix(8) {
                patterns.append(p + Self.string(patternUnits, 1, &rng))  // shares a prefix
                patterns.append(Self.string(patternUnits, 1, &rng) + p)  // shares a suffix
            }
            if round % 7 == 0 { patterns.append(Array(patterns[0].prefix(1))) }  // a one-byte pattern
            for p in patterns { builder.add(p) }
            let automaton = builder.build()
            let length = [0, 1, 2, 5, 11, 20, 40, 120, 600][round % 9]
            var text = Self.string(textUnits, length, &rng)
            // Plant a few patterns so matches are not rare.
            for _ in 0..<Int.random(in: 0...3, using: &rng) where !text.isEmpty {
                let p = patterns.randomElement(using: &rng)!
                let at = Int.random(in: 0...text.count, using: &rng)
                text.insert(contentsOf: p, at: at)
            }
            let found = Self.scanned(automaton, text)
            let expected = Self.naive(builder.patterns, text)
            #expect(found.sorted { $0.lexicographicallyPrecedes($1) } == expected.sorted { $0.lexicographicallyPrecedes($1) },
                    "\(mix.name) round \(round): \(builder.patterns.count) patterns, text \(text)")
            #expect(Self.sortedByEnd(found), "\(mix.name) round \(round): not in end order")
            // Character-level exactly when no pattern starts or ends inside a character (the one-byte
            // prefix of a Chinese character added every 7th round does).
            let whole = builder.patterns.allSatisfy { KeywordAutomatonBuilder.characters($0) != nil }
            #expect(automaton.characterLevel == whole)
            if mix.patternUnits < 3, round % 7 != 0 { #expect(whole) }
        }
    }

    @Test("patterns that start or end inside a character make the scan byte-level, and still match")
    func partialCharacters() {
        let cases: [[[UInt8]]] = [
            [[0x80, 0x80], Array("退货".utf8)],  // starts with a continuation byte
            [[0xE9], Array("运费".utf8)],  // a lead byte alone at the end
            [Array("退".utf8) + [0xE8, 0xB4], Array("货".utf8)],  // ends inside a character
        ]
        var rng = SeededGenerator(seed: 5)
        for patterns in cases {
            var builder = KeywordAutomatonBuilder()
            for p in patterns { builder.add(p) }
            let automaton = builder.build()
            #expect(!automaton.characterLevel)
            for _ in 0..<200 {
                let text = Self.string(Self.cjk + Self.invalid + [patterns[0]], Int.random(in: 0...30, using: &rng), &rng)
                #expect(Self.scanned(automaton, text) == Self.naive(builder.patterns, text), "patterns \(patterns) text \(text)")
            }
        }
        var builder = KeywordAutomatonBuilder()
        builder.add([0xE9, 0x41])  // a stray lead byte before ASCII: decided by the pattern itself
        builder.add(Array("货".utf8) + [0x80])
        #expect(builder.build().characterLevel)
    }

    @Test("large pattern sets (hashed rows, the dense root) on long texts")
    func large() {
        var rng = SeededGenerator(seed: 99)
        let units = Self.cjk + Self.other + Self.ascii.prefix(3)
        var builder = KeywordAutomatonBuilder()
        for _ in 0..<3_000 { builder.add(Self.string(units, Int.random(in: 1...4, using: &rng), &rng)) }
        let automaton = builder.build()
        #expect(automaton.characterLevel)
        for length in [0, 3, 50, 2_000] {
            let text = Self.string(units + Self.invalid, length, &rng)
            let found = Self.scanned(automaton, text)
            #expect(found.sorted { $0.lexicographicallyPrecedes($1) } == Self.naive(builder.patterns, text).sorted { $0.lexicographicallyPrecedes($1) })
            #expect(Self.sortedByEnd(found))
        }
    }
}
