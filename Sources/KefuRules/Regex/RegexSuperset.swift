import CPCRE2

/// Reads a PCRE2 pattern (compiled by ``PatternRegex`` with UTF, UCP and, when the rule set folds
/// case, CASELESS) as a *superset* language for the combined scan of all regexes (``RegexSet``):
/// in every text where PCRE2 finds a match, the superset finds one too (not necessarily the other
/// way round). The scan only proposes; PCRE2 then confirms and reads the captures, so being too
/// wide costs a PCRE2 call, being too narrow would lose a match. Hence:
///
/// - assertions (`\b`, `\B`, `\G`, `\K`, lookarounds, `^`/`$` in multiline mode) match the empty
///   text; `^` and `\A` hold at the start only; a `$`, `\Z` or `\z` that ends the pattern holds at
///   the end or before a final newline; any other `$` is empty;
/// - backreferences match any text; atomic groups, possessive and lazy repeats read as plain ones;
/// - `.` is any character (also a newline); `\d` is an ASCII digit or any non-ASCII character outside
///   the blocks that hold no decimal digits (CJK, kana, hangul, emoji, symbols); `\w`, `\s`, `\p{…}`,
///   POSIX classes and negated classes are exact on ASCII (PCRE2 itself says which ASCII characters
///   they hold) and take any non-ASCII character;
/// - with case folding, a letter also takes the other case (and K, S their Unicode look-alikes
///   U+212A, U+017F); a non-ASCII character that has case takes any non-ASCII character;
/// - a repeat with a bound above ``maxCount`` loses it (`\d{11,13}` reads as `\d{4,}`: counting
///   digits one by one for many patterns at once multiplies the automaton's states), and, when
///   `wideGaps`, a gap of any characters (`.{0,12}`) reads as `.*`;
/// - when `cutGaps`, the pattern ends at its first gap (``cut(_:first:)``).
///
/// What it cannot read stays on the old path (required literals, then PCRE2): inline `x` mode,
/// conditions, recursion and subroutine calls, control verbs, callouts, and a few rare spellings;
/// ``Unsupported/reason`` says which, for `kefu lint`.
enum RegexSuperset {
    indirect enum Node: Equatable, Sendable {
        case empty
        case set(ScalarSet)
        /// `\C`: one byte.
        case anyByte
        case concat([Node])
        case alt([Node])
        case rep(Node, min: Int, max: Int?)
        /// `^` / `\A` without multiline: the start of the text.
        case begin
        /// A `$` that ends the pattern: the end of the text, or before a final newline.
        case end
        /// A `$` still to be placed (becomes `.end` when it ends the pattern, else `.empty`).
        case dollar

        static let anyText = Node.rep(.set(.anyCharacter), min: 0, max: nil)
    }

    struct Unsupported: Error, Equatable {
        /// What the pattern uses, for a support lead: "a condition (?(…)…)".
        let reason: String
    }

    /// Bounded repeats above this lose their bound (a superset, and a smaller automaton).
    static let maxCount = 4

    /// The superset of `pattern`, or what keeps it out of the combined scan.
    static func parse(_ pattern: String, caseless: Bool, oracle: ASCIIOracle, wideGaps: Bool = true, cutGaps: Bool = true) throws(Unsupported) -> Node {
        var parser = Parser(Array(pattern.unicodeScalars), oracle: oracle, wideGaps: wideGaps)
        var flags = Parser.Flags(caseless: caseless, multiline: false)
        let node = try parser.alternation(&flags)
        guard parser.i == parser.s.count else { throw Unsupported(reason: "a ')' without its '('") }
        let placed = place(node, last: true)
        return cutGaps ? cut(placed).node : placed
    }

    /// Whether `node` is a gap: a repeat of a broad set (any character, `\S`, `\w`, a backreference…)
    /// that may span more than three characters.
    static func isGap(_ node: Node) -> Bool {
        guard case .rep(let inner, _, let max) = node, max.map({ $0 > 3 }) ?? true else { return false }
        switch inner {
        case .set(let set): return set.isBroad
        case .anyByte: return true
        default: return false
        }
    }

    /// Ends the pattern at its first gap: a text that holds a match of `A gap B` holds one of `A`, so
    /// `A` is a superset (PCRE2 confirms the rest). The automaton then no longer remembers, through
    /// any amount of Chinese text, that it saw `A` (states that multiply across patterns). A gap that
    /// starts the pattern keeps one character (`\S+x` holds `\Sx`) or goes (`.*x`). `cut` says whether
    /// the node was cut short (then what follows it is dropped too).
    static func cut(_ node: Node, first: Bool = true) -> (node: Node, cut: Bool) {
        switch node {
        case .concat(let items):
            var kept: [Node] = []
            for item in items {
                if isGap(item) {
                    if first, kept.isEmpty, case .rep(let inner, let min, _) = item {
                        if min > 0 { kept.append(inner) }
                        continue
                    }
                    return (.concat(kept), true)
                }
                let (inner, wasCut) = cut(item, first: first && kept.isEmpty)
                if wasCut {
                    if case .rep(_, 0, _) = item { return (.concat(kept), true) }
                    kept.append(inner)
                    return (.concat(kept), true)
                }
                kept.append(inner)
            }
            return (.concat(kept), false)
        case .alt(let branches):
            var anyCut = false
            let cutBranches = branches.map { branch in
                let (inner, wasCut) = cut(branch, first: first)
                anyCut = anyCut || wasCut
                return inner
            }
            return (.alt(cutBranches), anyCut)
        case .rep(let inner, let min, let max):
            if isGap(node) { return (first && min > 0 ? inner : .empty, true) }
            let (cutInner, wasCut) = cut(inner, first: first)
            if wasCut { return (min > 0 ? cutInner : .empty, true) }
            return (.rep(inner, min: min, max: max), false)
        default:
            return (node, false)
        }
    }

    /// Turns `.dollar` into `.end` where it ends the pattern, else into `.empty` (a superset).
    static func place(_ node: Node, last: Bool) -> Node {
        switch node {
        case .dollar: return last ? .end : .empty
        case .concat(let items):
            return .concat(items.enumerated().map { place($0.element, last: last && $0.offset == items.count - 1) })
        case .alt(let branches): return .alt(branches.map { place($0, last: last) })
        case .rep(let inner, let min, let max): return .rep(place(inner, last: false), min: min, max: max)
        default: return node
        }
    }

    struct Parser {
        let s: [Unicode.Scalar]
        let oracle: ASCIIOracle
        let wideGaps: Bool
        var i = 0

        struct Flags {
            var caseless: Bool
            var multiline: Bool
        }

        init(_ s: [Unicode.Scalar], oracle: ASCIIOracle, wideGaps: Bool) {
            self.s = s
            self.oracle = oracle
            self.wideGaps = wideGaps
        }

        func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < s.count ? s[i + offset] : nil }
        func text(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(s[range])) }

        mutating func alternation(_ flags: inout Flags) throws(Unsupported) -> Node {
            var branches = [try sequence(&flags)]
            while peek() == "|" {
                i += 1
                branches.append(try sequence(&flags))
            }
            return branches.count == 1 ? branches[0] : .alt(branches)
        }

        mutating func sequence(_ flags: inout Flags) throws(Unsupported) -> Node {
            var items: [Node] = []
            while let c = peek(), c != "|", c != ")" {
                var atoms: [Node]
                switch c {
                case "(":
                    guard let group = try group(&flags) else {
                        // (?i) or a comment: nothing to repeat; a quantifier here would be read differently.
                        if let q = peek(), "*+?{".unicodeScalars.contains(q) { throw Unsupported(reason: "a repeat right after an option setting or comment") }
                        continue
                    }
                    atoms = [group]
                case "[":
                    atoms = [.set(try bracket(flags))]
                case "\\":
                    atoms = try escape(flags)
                    if atoms.isEmpty { continue }  // \E, or an empty \Q\E
                case ".":
                    i += 1
                    atoms = [.set(.anyCharacter)]
                case "^":
                    i += 1
                    atoms = [flags.multiline ? .empty : .begin]
                case "$":
                    i += 1
                    atoms = [flags.multiline ? .empty : .dollar]
                case "{":
                    throw Unsupported(reason: "a '{' that is not a repeat count (write \\{ for the character)")
                case "*", "+", "?":
                    throw Unsupported(reason: "a repeat with nothing before it")
                default:
                    i += 1
                    atoms = [.set(literal(c, flags))]
                }
                let last = atoms.removeLast()
                items += atoms
                items.append(try quantified(last))
            }
            return items.count == 1 ? items[0] : .concat(items)
        }

        mutating func quantified(_ atom: Node) throws(Unsupported) -> Node {
            guard let c = peek() else { return atom }
            var min = 0, max: Int? = nil
            switch c {
            case "?": max = 1; i += 1
            case "*": i += 1
            case "+": min = 1; i += 1
            case "{":
                var j = i + 1
                func number() -> Int? {
                    var value = 0, digits = 0
                    while j < s.count, ("0"..."9").contains(s[j]) {
                        value = Swift.min(value * 10 + Int(s[j].value - 0x30), 100_000); digits += 1; j += 1
                    }
                    return digits > 0 ? value : nil
                }
                guard let low = number() else { throw Unsupported(reason: "a '{' that is not a repeat count (write \\{ for the character)") }
                var high: Int? = low
                if j < s.count, s[j] == "," {
                    j += 1
                    high = number()
                }
                guard j < s.count, s[j] == "}" else { throw Unsupported(reason: "a '{' that is not a repeat count (write \\{ for the character)") }
                i = j + 1
                min = low; max = high
            default:
                return atom
            }
            if let q = peek(), q == "?" || q == "+" { i += 1 }  // lazy, possessive: same texts somewhere
            if let q = peek(), "*+?{".unicodeScalars.contains(q) { throw Unsupported(reason: "two repeats in a row") }
            switch atom {
            case .empty, .dollar, .begin, .end:
                return min == 0 ? .empty : atom
            default: break
            }
            if let m = max, m > RegexSuperset.maxCount { max = nil }
            if min > RegexSuperset.maxCount { min = RegexSuperset.maxCount }
            if wideGaps, max.map({ $0 > 4 }) ?? false, atom == .set(.anyCharacter) { max = nil }
            if min == 1, max == 1 { return atom }
            return .rep(atom, min: min, max: max)
        }

        /// At "(": a group's superset, or nil for an option setting such as (?i) or a comment.
        mutating func group(_ flags: inout Flags) throws(Unsupported) -> Node? {
            i += 1
            var inner = flags
            func body(_ parser: inout Parser, _ inner: inout Flags) throws(Unsupported) -> Node {
                let node = try parser.alternation(&inner)
                guard parser.peek() == ")" else { throw Unsupported(reason: "a '(' without its ')'") }
                parser.i += 1
                return node
            }
            if peek() == "*" { throw Unsupported(reason: "a control verb such as (*SKIP) or (*UTF)") }
            guard peek() == "?" else { return try body(&self, &inner) }
            i += 1
            guard let c = peek() else { throw Unsupported(reason: "a '(' without its ')'") }
            switch c {
            case ":", "|", ">":
                i += 1
                return try body(&self, &inner)
            case "=", "!":
                i += 1
                _ = try body(&self, &inner)  // read and dropped: an assertion
                return .empty
            case "<" where peek(1) == "=" || peek(1) == "!":
                i += 2
                _ = try body(&self, &inner)
                return .empty
            case "<", "'":
                let close: Unicode.Scalar = c == "<" ? ">" : "'"
                try skipName(close)
                return try body(&self, &inner)
            case "P":
                i += 1
                switch peek() {
                case "<":
                    try skipName(">")
                    return try body(&self, &inner)
                case "=":
                    try skipName(")")
                    return Node.anyText  // a backreference
                default:
                    throw Unsupported(reason: "a recursion or subroutine call such as (?P>name)")
                }
            case "#":
                while let q = peek(), q != ")" { i += 1 }
                guard peek() == ")" else { throw Unsupported(reason: "a '(' without its ')'") }
                i += 1
                return nil
            case "(":
                throw Unsupported(reason: "a condition (?(…)…)")
            case "C":
                throw Unsupported(reason: "a callout (?C)")
            case "R", "&", "+", "0"..."9":
                throw Unsupported(reason: "a recursion or subroutine call such as (?R) or (?1)")
            case "-" where peek(1).map({ ("0"..."9").contains($0) }) ?? false:
                throw Unsupported(reason: "a recursion or subroutine call such as (?-1)")
            case "*":
                throw Unsupported(reason: "a non-atomic assertion (?*…)")
            default:
                // Option letters: (?i) (?-i) (?^) (?i:…); x and anything unknown are not read.
                var on = true
                var changed = flags
                while let q = peek(), q != ")", q != ":" {
                    switch q {
                    case "-": on = false
                    case "^": changed.caseless = false; changed.multiline = false
                    case "i": changed.caseless = on
                    case "m": changed.multiline = on
                    case "s", "n", "U", "J": break
                    case "x": throw Unsupported(reason: "the (?x) option (spaces and # comments in the pattern)")
                    default: throw Unsupported(reason: "the option (?\(q)…)")
                    }
                    i += 1
                }
                guard let end = peek() else { throw Unsupported(reason: "a '(' without its ')'") }
                i += 1
                if end == ")" {
                    flags = changed  // for the rest of the enclosing group, its later branches too
                    return nil
                }
                inner = changed
                return try body(&self, &inner)
            }
        }

        /// Skips `<name>` or `'name'` (at the opening character) up to `close`.
        mutating func skipName(_ close: Unicode.Scalar) throws(Unsupported) {
            i += 1
            while let q = peek(), q != close { i += 1 }
            guard peek() == close else { throw Unsupported(reason: "a group name without its end") }
            i += 1
        }

        /// A literal character under `flags`.
        func literal(_ c: Unicode.Scalar, _ flags: Flags) -> ScalarSet {
            var set = ScalarSet()
            if c.isASCII {
                set.insertASCII(UInt8(c.value))
                if flags.caseless {
                    let v = UInt8(c.value)
                    if (0x41...0x5A).contains(v) { set.insertASCII(v + 0x20) }
                    if (0x61...0x7A).contains(v) { set.insertASCII(v - 0x20) }
                }
            } else if flags.caseless, ScalarSet.hasCase(c.value) {
                set = oracle.ascii(of: "\\x{\(String(c.value, radix: 16))}", caseless: true)
                set.anyNonASCII = true
            } else {
                set.insert(c.value...c.value)
            }
            if flags.caseless { set.addCaseLookalikes() }
            return set
        }

        /// At "\\" outside a class: the atoms it stands for (several for \Q…\E).
        mutating func escape(_ flags: Flags) throws(Unsupported) -> [Node] {
            let start = i
            i += 1
            guard let e = peek() else { throw Unsupported(reason: "a '\\' at the end") }
            i += 1
            switch e {
            case "d":
                var set = oracle.ascii(of: "\\d", caseless: flags.caseless)
                set.formUnion(.digitsBeyondASCII)
                return [.set(set)]
            case "s", "h", "v":
                var set = oracle.ascii(of: "\\\(e)", caseless: flags.caseless)
                set.formUnion(.spacesBeyondASCII)
                return [.set(set)]
            case "D", "w", "W", "S", "H", "V", "N":
                var set = oracle.ascii(of: "\\\(e)", caseless: flags.caseless)
                set.anyNonASCII = true
                return [.set(set)]
            case "p", "P":
                if peek() == "{" {
                    while let q = peek(), q != "}" { i += 1 }
                    guard peek() == "}" else { throw Unsupported(reason: "a \\p{…} without its '}'") }
                    i += 1
                } else {
                    i += 1
                }
                var set = oracle.ascii(of: text(start..<i), caseless: flags.caseless)
                set.anyNonASCII = true
                return [.set(set)]
            case "R":
                var vertical = oracle.ascii(of: "\\v", caseless: false)
                vertical.anyNonASCII = true
                return [.alt([.concat([.set(.ascii(0x0D)), .set(.ascii(0x0A))]), .set(vertical)])]
            case "X": return [.rep(.set(.anyCharacter), min: 1, max: nil)]
            case "C": return [.anyByte]
            case "b", "B", "G", "K": return [.empty]
            case "A": return [.begin]
            case "z", "Z": return [flags.multiline ? .empty : .dollar]
            case "E": return []
            case "Q":
                var atoms: [Node] = []
                while i < s.count {
                    if s[i] == "\\", peek(1) == "E" { i += 2; break }
                    atoms.append(.set(literal(s[i], flags)))
                    i += 1
                }
                return atoms
            case "1"..."9":
                while let q = peek(), ("0"..."9").contains(q) { i += 1 }
                return [Node.anyText]
            case "g":
                if peek() == "<" || peek() == "'" { throw Unsupported(reason: "a subroutine call such as \\g<1>") }
                if peek() == "{" {
                    while let q = peek(), q != "}" { i += 1 }
                    i += 1
                } else {
                    if peek() == "-" || peek() == "+" { i += 1 }
                    while let q = peek(), ("0"..."9").contains(q) { i += 1 }
                }
                return [Node.anyText]
            case "k":
                guard let open = peek(), let close: Unicode.Scalar = ["<": ">", "'": "'", "{": "}"][open] else {
                    throw Unsupported(reason: "a \\k without a group name")
                }
                try skipName(close)
                return [Node.anyText]
            default:
                i = start
                guard let value = try characterEscape() else { throw Unsupported(reason: "the escape \\\(e)") }
                return [.set(literal(value, flags))]
            }
        }

        /// At "\\": an escape that stands for one character (\x{…}, \n, \., …), consumed; nil otherwise (not consumed).
        mutating func characterEscape() throws(Unsupported) -> Unicode.Scalar? {
            let start = i
            guard let e = peek(1) else { return nil }
            i += 2
            func hex(_ count: Int?) -> UInt32? {
                var value: UInt32 = 0, digits = 0
                while let q = peek(), let d = q.properties.isASCIIHexDigit ? UInt32(String(q), radix: 16) : nil, count.map({ digits < $0 }) ?? true {
                    value = value &* 16 &+ d; digits += 1; i += 1
                    if value > 0x10FFFF { return nil }
                }
                return value
            }
            func octal(_ count: Int?) -> UInt32? {
                var value: UInt32 = 0, digits = 0
                while let q = peek(), ("0"..."7").contains(q), count.map({ digits < $0 }) ?? true {
                    value = value * 8 + (q.value - 0x30); digits += 1; i += 1
                    if value > 0x10FFFF { return nil }
                }
                return value
            }
            var value: UInt32?
            switch e {
            case "x":
                if peek() == "{" {
                    i += 1
                    value = hex(nil)
                    guard peek() == "}" else { i = start; return nil }
                    i += 1
                } else {
                    value = hex(2)
                }
            case "o":
                guard peek() == "{" else { i = start; return nil }
                i += 1
                value = octal(nil)
                guard peek() == "}" else { i = start; return nil }
                i += 1
            case "0": value = octal(2)
            case "a": value = 0x07
            case "e": value = 0x1B
            case "f": value = 0x0C
            case "n": value = 0x0A
            case "r": value = 0x0D
            case "t": value = 0x09
            case "c":
                guard let q = peek(), q.isASCII, q.value >= 0x20, q.value < 0x7F else { i = start; return nil }
                i += 1
                var v = q.value
                if (0x61...0x7A).contains(v) { v -= 0x20 }
                value = v ^ 0x40
            default:
                if e.isASCII, e.properties.isAlphabetic || ("0"..."9").contains(e) { i = start; return nil }
                value = e.value
            }
            guard let value, let scalar = Unicode.Scalar(value) else { i = start; return nil }
            return scalar
        }

        /// At "[": the class as a set of characters.
        mutating func bracket(_ flags: Flags) throws(Unsupported) -> ScalarSet {
            let start = i
            i += 1
            var negated = false
            if peek() == "^" { negated = true; i += 1 }
            var beyond = ScalarSet()  // what the class holds beyond ASCII (when not negated)
            var first = true
            while let c = peek(), c != "]" || first {
                first = false
                // One item: a POSIX class, an escape, or a character (maybe the start of a range).
                var single: Unicode.Scalar?
                if c == "[", let q = peek(1), q == ":" || q == "." || q == "=" {
                    guard q == ":" else { throw Unsupported(reason: "a collating element [.….] or [=…=]") }
                    var j = i + 2
                    while j + 1 < s.count, !(s[j] == ":" && s[j + 1] == "]") { j += 1 }
                    guard j + 1 < s.count else { throw Unsupported(reason: "a '[' without its ']'") }
                    let name = text(i + 2..<j)
                    i = j + 2
                    switch name {
                    case "digit": beyond.formUnion(.digitsBeyondASCII)
                    case "space", "blank": beyond.formUnion(.spacesBeyondASCII)
                    default: beyond.anyNonASCII = true
                    }
                    continue
                } else if c == "\\" {
                    guard let e = peek(1) else { throw Unsupported(reason: "a '[' without its ']'") }
                    switch e {
                    case "d":
                        beyond.formUnion(.digitsBeyondASCII); i += 2; continue
                    case "s", "h", "v":
                        beyond.formUnion(.spacesBeyondASCII); i += 2; continue
                    case "D", "w", "W", "S", "H", "V":
                        beyond.anyNonASCII = true; i += 2; continue
                    case "p", "P":
                        i += 2
                        if peek() == "{" {
                            while let q = peek(), q != "}" { i += 1 }
                            i += 1
                        } else {
                            i += 1
                        }
                        beyond.anyNonASCII = true
                        continue
                    case "b":
                        single = "\u{08}"; i += 2
                    case "Q", "E", "N", "R", "X":
                        throw Unsupported(reason: "\\\(e) inside [ ]")
                    default:
                        guard let value = try characterEscape() else { throw Unsupported(reason: "the escape \\\(e) inside [ ]") }
                        single = value
                    }
                } else {
                    single = c
                    i += 1
                }
                guard let low = single else { continue }
                var high = low
                if peek() == "-", let after = peek(1), after != "]" {
                    let save = i
                    i += 1
                    var end: Unicode.Scalar?
                    if after == "\\" {
                        if peek(1) == "b" { end = "\u{08}"; i += 2 } else { end = try characterEscape() }
                    } else if after == "[" {
                        end = nil
                    } else {
                        end = after; i += 1
                    }
                    if let end, end.value >= low.value { high = end } else { i = save }
                }
                if high.value >= 0x80 {
                    let lower = Swift.max(low.value, 0x80)
                    if flags.caseless, ScalarSet.rangeHasCase(lower...high.value) {
                        beyond.anyNonASCII = true
                    } else {
                        beyond.insert(lower...high.value)
                    }
                }
            }
            guard peek() == "]" else { throw Unsupported(reason: "a '[' without its ']'") }
            i += 1
            var set = oracle.ascii(of: text(start..<i), caseless: flags.caseless)
            if negated {
                set.anyNonASCII = true
            } else {
                set.formUnion(beyond)
            }
            if flags.caseless { set.addCaseLookalikes() }
            return set
        }
    }
}

/// A set of Unicode scalars: ASCII exactly (two 64-bit words), beyond ASCII as sorted ranges or "any".
struct ScalarSet: Hashable, Sendable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    /// Disjoint, sorted ranges, all at or above U+0080.
    var ranges: [ClosedRange<UInt32>] = []
    var anyNonASCII = false

    static let anyCharacter = ScalarSet(low: .max, high: .max, ranges: [], anyNonASCII: true)
    static func ascii(_ byte: UInt8) -> ScalarSet { var s = ScalarSet(); s.insertASCII(byte); return s }

    /// Beyond ASCII, every decimal digit (Unicode Nd) and more: all but the blocks that hold none
    /// (and, by the Unicode roadmap, will hold none): symbols and punctuation, CJK, kana, hangul,
    /// private use, fullwidth forms other than ０–９, emoji. A test checks it against PCRE2's \d.
    static let digitsBeyondASCII: ScalarSet = {
        let excluded: [ClosedRange<UInt32>] = [
            0x2000...0x2BFF, 0x2E00...0xA4CF, 0xAC00...0xD7AF, 0xD800...0xF8FF, 0xF900...0xFAFF, 0xFE30...0xFE6F,
            0xFF00...0xFF0F, 0xFF1A...0xFFEF, 0x1F000...0x1FAFF, 0x20000...0x3FFFF, 0xE0000...0x10FFFF,
        ]
        var set = ScalarSet()
        var next: UInt32 = 0x80
        for range in excluded {
            if range.lowerBound > next { set.ranges.append(next...(range.lowerBound - 1)) }
            next = range.upperBound + 1
        }
        if next <= 0x10FFFF { set.ranges.append(next...0x10FFFF) }
        return set
    }()

    /// Beyond ASCII, every space PCRE2's \s, \h or \v may take (Unicode Z, NEL, the Mongolian vowel
    /// separator) and more: Latin-1, general punctuation, the ideographic space, U+FEFF. A test checks it against PCRE2.
    static let spacesBeyondASCII = ScalarSet(ranges: [0x80...0xFF, 0x1680...0x1680, 0x180E...0x180E, 0x2000...0x206F, 0x3000...0x3000, 0xFEFF...0xFEFF])

    /// Whether this set takes every character of a CJK text (then a repeat of it is a gap that
    /// spans whatever the customer wrote).
    var isBroad: Bool { anyNonASCII }

    func containsASCII(_ b: UInt8) -> Bool { b < 64 ? low & (1 << UInt64(b)) != 0 : high & (1 << UInt64(b - 64)) != 0 }
    mutating func insertASCII(_ b: UInt8) {
        if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
    }

    mutating func insert(_ range: ClosedRange<UInt32>) {
        var lower = range.lowerBound
        while lower < 0x80, lower <= range.upperBound { insertASCII(UInt8(lower)); lower += 1 }
        guard lower <= range.upperBound else { return }
        ranges.append(lower...range.upperBound)
        merge()
    }

    mutating func formUnion(_ other: ScalarSet) {
        low |= other.low
        high |= other.high
        anyNonASCII = anyNonASCII || other.anyNonASCII
        ranges += other.ranges
        merge()
    }

    mutating func merge() {
        if anyNonASCII { ranges = []; return }
        guard ranges.count > 1 else { return }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = [ranges[0]]
        for r in ranges.dropFirst() {
            let last = out[out.count - 1]
            if r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...Swift.max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        ranges = out
    }

    /// With case folding PCRE2 also matches U+212A KELVIN SIGN for k and U+017F LONG S for s.
    mutating func addCaseLookalikes() {
        if containsASCII(0x6B) || containsASCII(0x4B) { insert(0x212A...0x212A) }
        if containsASCII(0x73) || containsASCII(0x53) { insert(0x017F...0x017F) }
    }

    /// Whether case folding may pair this scalar with another.
    static func hasCase(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        let p = scalar.properties
        return p.isCased || p.changesWhenCaseMapped || p.changesWhenCaseFolded
    }

    static func rangeHasCase(_ range: ClosedRange<UInt32>) -> Bool {
        if range.count > 0x30000 { return true }
        return range.contains { hasCase($0) }
    }
}

/// Asks PCRE2 which ASCII characters a class, escape or character holds (compiled as the rule set's
/// regexes are, UTF and UCP), so that the ASCII half of every set is exact by construction.
/// Answers are cached: rule sets repeat `\d`, `[:：]` and the like. Used at compile time only.
final class ASCIIOracle {
    private var cache: [String: ScalarSet] = [:]
    private let data: OpaquePointer

    init() { data = pcre2_match_data_create_8(1, nil) }
    deinit { pcre2_match_data_free_8(data) }

    func ascii(of snippet: String, caseless: Bool) -> ScalarSet {
        let key = (caseless ? "i" : "-") + snippet
        if let known = cache[key] { return known }
        var set = ScalarSet()
        var options = UInt32(PCRE2_UTF | PCRE2_UCP)
        if caseless { options |= UInt32(PCRE2_CASELESS) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(snippet.utf8)
        if let code = pcre2_compile_8(bytes, bytes.count, options, &errorCode, &errorOffset, nil) {
            defer { pcre2_code_free_8(code) }
            var subject: UInt8 = 0
            for b in 0..<128 {
                subject = UInt8(b)
                let rc = withUnsafePointer(to: &subject) { pcre2_match_8(code, $0, 1, 0, UInt32(PCRE2_ANCHORED), data, nil) }
                if rc > 0 { set.insertASCII(UInt8(b)) }
            }
        } else {
            set.low = .max; set.high = .max  // cannot happen for text PCRE2 compiled in context; stay wide
        }
        cache[key] = set
        return set
    }
}
