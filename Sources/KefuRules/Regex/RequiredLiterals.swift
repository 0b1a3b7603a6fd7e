/// Finds text that every match of a pattern must contain, so that the keyword automaton can
/// propose the pattern only for messages that contain it ("prefilter proposes, PCRE2 confirms").
///
/// The result is a set of alternatives: a match must contain at least one of them. `nil` means
/// no literal is required (e.g. `\d{11}`), and the pattern is confirmed on every message; `lint`
/// reports those as slow. The analysis is conservative: whatever it does not understand (classes,
/// escapes such as `\d`, lookarounds, backreferences, optional parts) ends a literal run and is
/// never assumed to be present, so a proposed set can be too large but never miss a match.
///
/// Literal runs are also cut at any character the normalizer would remove (spaces, punctuation,
/// emoji): such a run, found in the character-mapped text the regex sees, then also stands, whole,
/// in the normalized text the automaton scans.
enum RequiredLiterals {
    /// `keep(c)` says whether a literal character survives normalization (false: cut the run there).
    static func extract(_ pattern: String, keep: @escaping (Character) -> Bool) -> [String]? {
        var parser = Parser(Array(pattern), keep: keep)
        guard let result = parser.alternation(), parser.i == parser.chars.count else { return nil }
        return result.map { Array(Set($0)).sorted() }
    }

    /// A required set: one of these strings must appear. Better = its shortest member is longer.
    typealias Required = [String]

    static func better(_ a: Required?, _ b: Required?) -> Required? {
        guard let a else { return b }
        guard let b else { return a }
        let sa = a.map(\.count).min() ?? 0, sb = b.map(\.count).min() ?? 0
        if sa != sb { return sa > sb ? a : b }
        return a.count <= b.count ? a : b
    }

    struct Parser {
        let chars: [Character]
        let keep: (Character) -> Bool
        var i = 0

        init(_ chars: [Character], keep: @escaping (Character) -> Bool) {
            self.chars = chars
            self.keep = keep
        }

        /// branch ('|' branch)*; nil if any branch requires nothing.
        mutating func alternation() -> Required?? {
            var branches: [Required?] = []
            guard let first = sequence() else { return nil }
            branches.append(first)
            while i < chars.count, chars[i] == "|" {
                i += 1
                guard let next = sequence() else { return nil }
                branches.append(next)
            }
            if branches.count == 1 { return .some(branches[0]) }
            var union: [String] = []
            for branch in branches {
                guard let branch else { return .some(nil) }
                union += branch
            }
            return .some(union)
        }

        /// Returns .some(best required set of this sequence) or nil on a syntax it cannot follow.
        mutating func sequence() -> Required?? {
            var best: Required? = nil
            var run = ""
            func endRun() {
                if !run.isEmpty { best = RequiredLiterals.better(best, [run]) }
                run = ""
            }
            while i < chars.count {
                let c = chars[i]
                if c == "|" || c == ")" { break }
                var atomLiteral: Character? = nil
                var atomRequired: Required? = nil
                switch c {
                case "(":
                    i += 1
                    if i < chars.count, chars[i] == "?" {
                        // (?: (?<name> (?P<name> (?'name' are groups; lookarounds and flags are skipped.
                        let rest = String(chars[i..<min(i + 4, chars.count)])
                        if rest.hasPrefix("?:") {
                            i += 2
                        } else if rest.hasPrefix("?<=") || rest.hasPrefix("?<!") || rest.hasPrefix("?=") || rest.hasPrefix("?!") {
                            // A lookaround asserts without consuming: nothing in it is required text.
                            guard skipGroup() else { return nil }
                            endRun()
                            continue
                        } else if rest.hasPrefix("?P<") || rest.hasPrefix("?<") || rest.hasPrefix("?'") {
                            i += rest.hasPrefix("?P<") ? 3 : 2
                            while i < chars.count, chars[i] != ">", chars[i] != "'" { i += 1 }
                            i += 1
                        } else {
                            // Inline flags such as (?i) or (?x): the literal reading may no longer hold.
                            return nil
                        }
                    }
                    guard let inner = alternation(), i < chars.count, chars[i] == ")" else { return nil }
                    i += 1
                    atomRequired = inner
                case "[":
                    guard skipClass() else { return nil }
                case "\\":
                    guard i + 1 < chars.count else { return nil }
                    let e = chars[i + 1]
                    i += 2
                    if e.isLetter || e.isNumber {
                        // \d \w \p{…} \x{…} \b \1 …: not a literal; skip a braced argument.
                        if i < chars.count, chars[i] == "{" { while i < chars.count, chars[i] != "}" { i += 1 }; i += 1 }
                        if e == "Q" { return nil }
                    } else {
                        atomLiteral = e
                    }
                case ".", "^", "$":
                    i += 1
                default:
                    atomLiteral = c
                    i += 1
                }
                // Quantifier?
                var minimum = 1
                var repeats = false
                if i < chars.count {
                    switch chars[i] {
                    case "?": minimum = 0; i += 1
                    case "*": minimum = 0; repeats = true; i += 1
                    case "+": repeats = true; i += 1
                    case "{":
                        var j = i + 1, digits = ""
                        while j < chars.count, chars[j].isNumber { digits.append(chars[j]); j += 1 }
                        if j < chars.count, chars[j] == "," || chars[j] == "}", !digits.isEmpty {
                            minimum = Int(digits) ?? 0
                            repeats = true
                            while j < chars.count, chars[j] != "}" { j += 1 }
                            i = j + 1
                        }
                    default: break
                    }
                    if i < chars.count, chars[i] == "?" || chars[i] == "+" { i += 1 }  // lazy / possessive
                }
                if let literal = atomLiteral, minimum >= 1, keep(literal) {
                    run.append(literal)
                    if repeats { endRun() }
                } else {
                    endRun()
                    if minimum >= 1, let required = atomRequired { best = RequiredLiterals.better(best, required) }
                }
            }
            endRun()
            return .some(best)
        }

        mutating func skipClass() -> Bool {
            i += 1
            if i < chars.count, chars[i] == "^" { i += 1 }
            if i < chars.count, chars[i] == "]" { i += 1 }
            while i < chars.count, chars[i] != "]" {
                if chars[i] == "\\" { i += 1 }
                i += 1
            }
            guard i < chars.count else { return false }
            i += 1
            return true
        }

        /// Skips a lookaround group and any quantifier after it.
        mutating func skipGroup() -> Bool {
            var depth = 1
            i += 1
            while i < chars.count, depth > 0 {
                switch chars[i] {
                case "\\": i += 1
                case "[": guard skipClass() else { return false }; continue
                case "(": depth += 1
                case ")": depth -= 1
                default: break
                }
                i += 1
            }
            return depth == 0
        }
    }
}
