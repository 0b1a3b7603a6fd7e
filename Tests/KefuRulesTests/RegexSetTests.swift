import CPCRE2
import Foundation
import Testing
@testable import KefuRules

/// The combined scan of all regexes (RegexSet): it must propose every pattern PCRE2 matches (it may
/// propose more), and through `match()` the rules reported must be exactly PCRE2's.
@Suite("Combined regex scan")
struct RegexSetTests {
    /// A set over `patterns` (all must be readable) and its proposals for `text`.
    struct Scan {
        let set: RegexSet
        let regexes: [PatternRegex]

        init(_ patterns: [String], caseless: Bool = true, wideGaps: Bool = true, cutGaps: Bool = true, capacityBytes: Int = 8 << 20) throws {
            let oracle = ASCIIOracle()
            var builder = RegexNFABuilder()
            for p in patterns {
                let node = try RegexSuperset.parse(p, caseless: caseless, oracle: oracle, wideGaps: wideGaps, cutGaps: cutGaps)
                let added = builder.add(node)
                #expect(added, "\(p) too large")
            }
            set = RegexSet(nfa: RegexNFA(builder), count: patterns.count, capacityBytes: capacityBytes)
            regexes = try patterns.map { try PatternRegex($0, caseless: caseless) }
        }

        func proposed(_ text: String) -> Set<Int>? {
            var found: [Int32] = []
            let bytes = Array(text.utf8)
            let complete = bytes.withUnsafeBufferPointer { set.propose($0, into: &found) }
            return complete ? Set(found.map(Int.init)) : nil
        }

        func reference(_ text: String) -> Set<Int> {
            let bytes = Array(text.utf8)
            return Set(regexes.indices.filter { regexes[$0].firstMatch(in: bytes) != nil })
        }
    }

    /// (pattern, texts PCRE2 matches, texts neither PCRE2 nor the scan matches): every construct the scan reads.
    static let constructs: [(String, [String], [String])] = [
        ("订单", ["我的订单", "订单"], ["订", "单订"]),
        ("退(货|款)", ["退货", "要退款"], ["退", "货款"]),
        ("(?:DD|SO)\\d{3}", ["dd123", "SO999x"], ["DD12", "so-123", "xx123"]),
        ("a?b", ["b", "ab"], ["a", "c"]),
        ("ab*c", ["ac", "abbbc"], ["ab", "abd"]),
        ("(ab)+c", ["abc", "ababc"], ["ac", "abac"]),
        ("x{2,3}", ["xx", "xxxx"], ["x", "xyx"]),
        ("x{2}", ["axxb"], ["xyx"]),
        ("y{3,}", ["yyy", "yyyyy"], ["yy"]),
        ("[a-c]z", ["az", "Cz"], ["dz", "z"]),
        ("[^a-c]z", ["dz", "订z"], ["az", "z"]),
        ("[日号]", ["5日", "号"], ["月"]),
        ("[\\x{1F600}-\\x{1F64F}]", ["好😂", "😀"], ["🎉", "好"]),
        ("[一-龥]{2}", ["你好"], ["a好", "ab"]),
        ("\\d{3}", ["123", "１２３", "a1234"], ["12", "订单号", "1二3"]),
        ("\\D", ["a", "订"], ["", "123"]),
        ("\\w+@", ["a@", "订@"], ["@", " @"]),
        ("\\s+x", [" x", "\tx"], ["x", "ax"]),
        ("\\S", ["a", "订"], [" ", ""]),
        ("\\h\\v", [" \n"], [" x"]),
        ("\\p{Han}", ["汉"], ["", "abc"]),
        ("\\P{Han}x", ["ax"], ["x"]),
        ("[[:digit:]]x", ["1x"], ["ax", "订x"]),
        ("[[:alpha:]]9", ["a9"], ["19", "_9"]),
        ("a.c", ["abc", "a订c", "a😂c"], ["ac", "abbc"]),
        ("^你好$", ["你好", "你好\n"], ["你好吗", "嗨你好"]),
        ("^\\d+$", ["123"], ["12a", "a12"]),
        ("(?m)^b", ["a\nb", "b"], ["a"]),
        ("a$|^b", ["xa", "bx"], ["ax", "xb"]),
        ("\\Aq", ["qa"], ["aq"]),
        ("q\\z", ["aq"], ["qa"]),
        ("\\bok\\b", ["ok", "is ok."], ["o k"]),
        ("(?=订)订单", ["订单"], ["订"]),
        ("(?<!不)满意", ["满意", "很满意"], ["满"]),
        ("(?i)vip", ["VIP", "vIp"], ["v1p"]),
        ("(?-i)abc", ["abc"], ["ABC"]),
        ("k", ["K", "\u{212A}"], ["x"]),
        ("s", ["S", "\u{017F}"], ["x"]),
        ("(?<order>DD\\d{2})", ["dd12"], ["dd1"]),
        ("(?P<n>a)(?P=n)", ["aa"], ["b"]),
        ("(a)\\1", ["aa"], ["b"]),
        ("(?'x'a)\\k<x>", ["aa"], ["b"]),
        ("(?>ab|a)c", ["abc", "ac"], ["ab"]),
        ("a++b", ["aab"], ["b"]),
        ("a*?b", ["b"], ["a"]),
        ("\\Qa.b\\E+", ["a.bb"], ["axb"]),
        ("\\x41\\x{4e00}\\t\\n\\.", ["A一\t\n."], ["A一\t\nx"]),
        ("\\cA", ["\u{01}"], ["A"]),
        ("\\R", ["\r\n", "\n"], ["x"]),
        ("\\X", ["é"], [""]),
        ("a\\Kb", ["ab"], ["a"]),
        ("(?#note)订", ["订"], ["单"]),
        ("(?|a|b)c", ["ac", "bc"], ["cc"]),
        ("[\\d.]+元", ["12.5元"], ["元"]),
        ("[]a]x", ["]x", "ax"], ["bx"]),
        ("[^]a]x", ["bx"], ["ax", "]x"]),
        ("[a\\-z]", ["-"], ["b"]),
        ("x*", ["", "abc"], []),
        ("", ["", "a"], []),
        ("预约.{0,6}(明天|后天)", ["预约明天", "预约一下明天"], ["预", "明天"]),
        ("\\S+[省市]\\S{1,10}路", ["北京市朝阳路"], ["北京路", "市路"]),
        ("订单[:：]?\\s*\\d{3}", ["订单： 123", "订单\u{3000}123"], ["订单是123", "订单"]),
    ]

    @Test("every construct the scan reads: no PCRE2 match is missed, and the plain non-matches are not proposed")
    func constructsRead() throws {
        for (pattern, matching, notMatching) in Self.constructs {
            let scan = try Scan([pattern])
            for text in matching {
                #expect(scan.reference(text) == [0], "PCRE2 should match \(pattern) in \(text.debugDescription)")
                #expect(scan.proposed(text) == [0], "\(pattern) not proposed for \(text.debugDescription)")
            }
            for text in notMatching {
                #expect(scan.reference(text).isEmpty, "PCRE2 should not match \(pattern) in \(text.debugDescription)")
                #expect(scan.proposed(text) == [], "\(pattern) proposed for \(text.debugDescription)")
            }
        }
    }

    @Test("case-sensitive rule sets: letters are not folded")
    func caseSensitive() throws {
        let scan = try Scan(["abc", "[A-Z]\\d", "(?i)x"], caseless: false)
        #expect(scan.proposed("ABC") == [])
        #expect(scan.proposed("abc") == [0])
        #expect(scan.proposed("a1") == [])
        #expect(scan.proposed("Q1") == [1])
        #expect(scan.proposed("X") == [2])
        let inline = try Scan(["a(?i)b", "(?i:a)b", "(a(?i)b|c)"], caseless: false)
        #expect(inline.proposed("aB") == [0, 2])
        #expect(inline.proposed("AB") == [])
        #expect(inline.proposed("Ab") == [1])
        #expect(inline.proposed("C") == [2])
        for text in ["aB", "AB", "Ab", "C", "ab"] { #expect(inline.reference(text) == inline.proposed(text), "\(text)") }
    }

    @Test("patterns the scan does not read say why", arguments: [
        ("(?x) a b", "(?x)"),
        ("(a)(?(1)b|c)", "condition"),
        ("(a|b(?1))", "recursion"),
        ("(?R)?x", "recursion"),
        ("(*UTF)abc", "control verb"),
        ("a(?C1)b", "callout"),
        ("(a)\\g<1>", "subroutine"),
        ("a{,3}", "repeat count"),
        ("x{y", "repeat count"),
    ] as [(String, String)])
    func unsupported(pattern: String, says: String) throws {
        _ = try? PatternRegex(pattern, caseless: true)
        #expect(throws: RegexSuperset.Unsupported.self) { try RegexSuperset.parse(pattern, caseless: true, oracle: ASCIIOracle()) }
        do {
            _ = try RegexSuperset.parse(pattern, caseless: true, oracle: ASCIIOracle())
        } catch {
            #expect(error.reason.contains(says), "\(pattern): \(error.reason)")
        }
    }

    @Test("UTF-8 ranges: every scalar of a range, and no other, is spelled by its byte sequences")
    func utf8Ranges() {
        let ranges: [ClosedRange<UInt32>] = [0x80...0x10FFFF, 0x4E00...0x9FA5, 0x7FF...0x800, 0xFFFF...0x10000, 0x1F600...0x1F64F, 0x3A5...0x1234]
        for range in ranges {
            var sequences: [[(UInt8, UInt8)]] = []
            UTF8Ranges.sequences(range.lowerBound, range.upperBound, into: &sequences)
            func spelled(_ v: UInt32) -> Bool {
                let bytes = UTF8Ranges.encode(v)
                return sequences.contains { s in s.count == bytes.count && zip(s, bytes).allSatisfy { $0.0 <= $1 && $1 <= $0.1 } }
            }
            for v in [range.lowerBound, range.upperBound, (range.lowerBound + range.upperBound) / 2] { #expect(spelled(v)) }
            var probe: UInt32 = 0x80
            while probe <= 0x10FFFF {
                #expect(spelled(probe) == range.contains(probe), "\(String(probe, radix: 16)) in \(range)")
                probe += 0x3F7
            }
            if range.lowerBound > 0x80 { #expect(!spelled(range.lowerBound - 1)) }
            if range.upperBound < 0x10FFFF { #expect(!spelled(range.upperBound + 1)) }
        }
    }

    /// Every scalar PCRE2 (UTF, UCP) matches with `pattern`, beyond ASCII.
    static func pcreMatches(_ pattern: String, caseless: Bool = false, upTo: UInt32 = 0x10FFFF) throws -> [UInt32] {
        let regex = try PatternRegex("^" + pattern, caseless: caseless)
        var found: [UInt32] = []
        var v: UInt32 = 0x80
        while v <= upTo {
            if let scalar = Unicode.Scalar(v), regex.firstMatch(in: Array(String(scalar).utf8)) != nil { found.append(v) }
            v += 1
        }
        return found
    }

    @Test("\\d beyond ASCII holds every decimal digit PCRE2 knows")
    func digits() throws {
        let beyond = ScalarSet.digitsBeyondASCII
        for v in try Self.pcreMatches("\\d") {
            #expect(beyond.ranges.contains { $0.contains(v) }, "U+\(String(v, radix: 16)) is a digit to PCRE2")
        }
        for v: UInt32 in [0x4E00, 0x3002, 0xFF0C, 0x1F602, 0x2764, 0xAC00] { #expect(!beyond.ranges.contains { $0.contains(v) }) }
    }

    @Test("\\s beyond ASCII holds every space PCRE2 knows (\\h and \\v are part of it)")
    func spaces() throws {
        let beyond = ScalarSet.spacesBeyondASCII
        for v in try Self.pcreMatches("[\\s\\h\\v]") {
            #expect(beyond.ranges.contains { $0.contains(v) }, "U+\(String(v, radix: 16)) is a space to PCRE2")
        }
        #expect(!beyond.ranges.contains { $0.contains(0x4E00) })
    }

    @Test("gaps end the superset: what follows a gap is left to PCRE2", arguments: [
        ("预约.*明天", "预约"), ("退款.{0,10}(多久|几天)", "退款"), ("(a)\\1b", "a"), ("\\S+x\\S*y", "\\Sx"), (".*x", "x"),
        ("(ab.*c|d)e", "(?:ab|d)"), ("a(.*b)?c", "a"), ("a\\d+b", "a\\d+b"), ("a[a-z]*b", "a[a-z]*b"), ("a.{0,3}b", "a.{0,3}b"),
    ] as [(String, String)])
    func gapsCut(pattern: String, same: String) throws {
        let cut = try Scan([pattern])
        let expected = try Scan([same], cutGaps: false)
        var r = SeededGenerator(seed: 99)
        let texts = ["预约", "退款", "a", "ab", "abx", "d", "\\Sx", "x", "我x", "a1b", "azb", "a12b"]
            + (0..<300).map { _ in (0..<Int.random(in: 0...6, using: &r)).map { _ in ["a", "b", "c", "d", "x", "y", "e", "1", "预约", "退款", "我", " "].randomElement(using: &r)! }.joined() }
        for text in texts { #expect(cut.proposed(text) == expected.proposed(text), "\(pattern) on \(text.debugDescription)") }
    }

    @Test("with case folding only K and S have look-alikes beyond ASCII")
    func caseLookalikes() throws {
        #expect(try Self.pcreMatches("[a-z]", caseless: true) == [0x017F, 0x212A])
    }

    static let alphabet: [String] = ["a", "b", "A", "B", "k", "K", "s", "1", "2", "9", "１", "订", "单", "号", "退", "款", "😂", "🎉", " ", "\n", ".", "-", "é", "\u{212A}"]

    static func randomPattern(_ r: inout SeededGenerator, depth: Int = 0) -> String {
        func atom(_ r: inout SeededGenerator) -> String {
            let literals = ["a", "b", "A", "k", "s", "1", "订", "单", "号", "退", "款", "😂", "é", "\\.", "-", " "]
            switch Int.random(in: 0..<22, using: &r) {
            case 0...6: return literals.randomElement(using: &r)!
            case 7: return ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\h"].randomElement(using: &r)!
            case 8: return "."
            case 9: return ["[ab1]", "[^a订]", "[a-k]", "[订单号]", "[\\d.]", "[^\\d]", "[\\x{1F600}-\\x{1F64F}]", "[[:alpha:]]", "[A-Z]"].randomElement(using: &r)!
            case 10: return depth < 2 ? "(" + randomPattern(&r, depth: depth + 1) + ")" : "a"
            case 11: return depth < 2 ? "(?:" + randomPattern(&r, depth: depth + 1) + "|" + randomPattern(&r, depth: depth + 1) + ")" : "b"
            case 12: return ["\\b", "^", "$", "(?=a)", "(?!b)", "(?<=订)", "\\B"].randomElement(using: &r)!
            case 13: return ["(?i)", "(?-i)", "(?m)"].randomElement(using: &r)!
            case 14: return "\\p{Han}"
            case 15: return depth < 2 ? "(?i:" + randomPattern(&r, depth: depth + 1) + ")" : "k"
            default: return literals.randomElement(using: &r)!
            }
        }
        var out = ""
        for _ in 0..<Int.random(in: 1...4, using: &r) {
            let a = atom(&r)
            out += a
            if a.hasPrefix("(?i)") || a.hasPrefix("(?-i)") || a.hasPrefix("(?m)") { continue }
            if ["^", "$", "\\b", "\\B"].contains(a) || a.hasPrefix("(?=") || a.hasPrefix("(?!") || a.hasPrefix("(?<=") { continue }
            switch Int.random(in: 0..<10, using: &r) {
            case 0: out += "?"
            case 1: out += "*"
            case 2: out += "+"
            case 3: out += "{\(Int.random(in: 0...2, using: &r)),\(Int.random(in: 2...3, using: &r))}"
            default: break
            }
        }
        if Int.random(in: 0..<8, using: &r) == 0 { out += "|" + randomPattern(&r, depth: depth + 1) }
        if depth == 0, Int.random(in: 0..<12, using: &r) == 0 { out = "(" + out + ")\\1" }
        return out
    }

    static func randomText(_ r: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...10, using: &r)).map { _ in alphabet.randomElement(using: &r)! }.joined()
    }

    @Test("randomized: the scan proposes a superset of what PCRE2 matches", arguments: [true, false])
    func randomized(caseless: Bool) throws {
        var r = SeededGenerator(seed: caseless ? 17 : 71)
        var checked = 0, exact = 0
        for _ in 0..<60 {
            var patterns: [String] = []
            while patterns.count < 20 {
                let p = Self.randomPattern(&r)
                if (try? PatternRegex(p, caseless: caseless)) != nil { patterns.append(p) }
            }
            let scan = try Scan(patterns, caseless: caseless)
            for _ in 0..<150 {
                let text = Self.randomText(&r)
                let reference = scan.reference(text)
                guard let proposed = scan.proposed(text) else { Issue.record("gave up on \(text.debugDescription)"); continue }
                #expect(reference.isSubset(of: proposed), "missed \(reference.subtracting(proposed).map { patterns[$0] }) in \(text.debugDescription)")
                checked += 1
                if reference == proposed { exact += 1 }
            }
        }
        #expect(checked == 60 * 150)
        #expect(exact * 10 > checked * 2, "the scan proposes too much: exact for \(exact) of \(checked)")
    }

    @Test("randomized through match(): the regex rules reported are exactly those PCRE2 matches")
    func randomizedRules() throws {
        var r = SeededGenerator(seed: 2024)
        for round in 0..<8 {
            var patterns: [String] = []
            while patterns.count < 25 {
                let p = Self.randomPattern(&r)
                if (try? PatternRegex(p, caseless: true)) != nil, !p.contains("'") { patterns.append(p) }
            }
            // one pattern the scan cannot read, which stays on the old path
            patterns.append("(?x) 订 单")
            let yaml = "rules:\n" + patterns.enumerated().map { "  - id: r\($0.offset)\n    when: {regex: '\($0.element)'}\n    reply: x\n" }.joined()
            let rules = try compileRules(yaml)
            #expect(rules.regexes.last?.notCombined != nil)
            for _ in 0..<200 {
                let text = Self.randomText(&r) + (round % 2 == 0 ? "ＡＢ１" : "")
                let mapped = Array(rules.mapped(text).utf8)
                let expected = Set(rules.regexes.filter { $0.regex.firstMatch(in: mapped) != nil }.map(\.rule))
                let got = Set(rules.match(.text(text)).candidates.filter { $0.kind == .regex }.map(\.rule))
                #expect(got == expected, "\(text.debugDescription)")
            }
        }
    }

    @Test("a tiny cache starts over and, filled too often by one message, gives up (the caller falls back)")
    func cacheCap() throws {
        let patterns = ["预约.{0,3}(明天|后天)", "\\d{4}-\\d{2}", "a[bc]{1,6}d", "(退|换).{0,2}货"]
        let small = try Scan(patterns, capacityBytes: 4096)
        let roomy = try Scan(patterns)
        var r = SeededGenerator(seed: 5)
        var gaveUp = 0
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...40, using: &r)).map { _ in ["预约", "明天", "1", "-", "a", "b", "d", "退", "货", "x"].randomElement(using: &r)! }.joined()
            #expect(roomy.proposed(text).map { small.reference(text).isSubset(of: $0) } == true)
            if let p = small.proposed(text) { #expect(small.reference(text).isSubset(of: p), "\(text)") } else { gaveUp += 1 }
        }
        #expect(small.set.statistics.resets > 0)
        #expect(small.set.statistics.giveUps == gaveUp)

        // through match(): a rule set whose scan gives up on every message still reports PCRE2's rules
        let yaml = "rules:\n" + patterns.enumerated().map { "  - id: r\($0.offset)\n    when: {regex: '\($0.element)'}\n    reply: x\n" }.joined()
        let rules = try compileRules(yaml)
        let starved = RegexSet(nfa: rules.regexSet!.nfa, count: patterns.count, capacityBytes: 1)
        var fallback = rules
        fallback.regexSet = starved
        for text in ["预约明天", "2024-12 换货", "abcbd", "退x货", "nothing"] {
            let expected = Set(rules.regexes.filter { $0.regex.firstMatch(in: Array(rules.mapped(text).utf8)) != nil }.map(\.rule))
            #expect(Set(fallback.match(.text(text)).candidates.map(\.rule)) == expected, "\(text)")
        }
        #expect(starved.statistics.giveUps > 0)
    }

    /// The benchmark's data (BENCH_DATA, or ../shared/bench-data from the package).
    static var benchData: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = ProcessInfo.processInfo.environment["BENCH_DATA"] ?? root.deletingLastPathComponent().appendingPathComponent("shared/bench-data").path
        return FileManager.default.fileExists(atPath: folder + "/messages-100k.txt") ? folder : nil
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The benchmark's patterns through the same check as a rule set: regex-100, and regex-1000 as scripts/bench generates it.
    static func benchPatterns(_ name: String) throws -> [String]? {
        guard let data = benchData else { return nil }
        if name == "regex-100" { return lines(data + "/regex-100.txt") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-regex-1000-\(getpid()).txt").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("Benchmarks/peers/gen_regex_1000.py").path, data + "/keywords-10k.txt", out]
        try process.run()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: out) }
        return process.terminationStatus == 0 ? lines(out) : nil
    }

    @Test("the benchmark's patterns on a sample of its messages: the rules reported are exactly PCRE2's", .enabled(if: benchData != nil),
          arguments: ["regex-100", "regex-1000"])
    func benchmarkPatterns(name: String) throws {
        guard let patterns = try Self.benchPatterns(name) else { return }
        let yaml = "rules:\n" + patterns.enumerated().map { "  - id: r\($0.offset)\n    when: {regex: '\($0.element.replacingOccurrences(of: "'", with: "''"))'}\n    reply: x\n" }.joined()
        let rules = try compileRules(yaml)
        #expect(rules.regexes.allSatisfy { $0.notCombined == nil }, "\(rules.regexes.filter { $0.notCombined != nil }.map { ($0.regex.pattern, $0.notCombined!) })")
        let messages = Self.lines(Self.benchData! + "/messages-100k.txt")
        var matched = 0
        for text in Swift.stride(from: 0, to: messages.count, by: 50).map({ messages[$0] }) {
            let mapped = Array(rules.mapped(text).utf8)
            let expected = Set(rules.regexes.filter { $0.regex.firstMatch(in: mapped) != nil }.map(\.rule))
            let got = Set(rules.match(.text(text)).candidates.map(\.rule))
            #expect(got == expected, "\(text)")
            matched += expected.count
        }
        #expect(matched > 0)
        #expect(rules.regexScanStatistics.giveUps == 0)
    }
}
