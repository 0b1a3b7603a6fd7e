import Yams

/// What a Chinese input method types where YAML needs ASCII punctuation — the full-width colon
/// '：', the full-width space '　', the full-width comma '，' and the enumeration comma '、' — and
/// regexes written in double quotes, where YAML reads the backslashes itself.
///
/// YAML either refuses such a file with a message that does not name the character ("did not
/// find expected key") or, worse, reads it silently as something else (`reply：好的` on the line
/// after `id: a` becomes part of the id). ``compose(_:file:)`` finds these characters, reports each
/// one by name at its line:col with the fix, *repairs* it in a copy of the text, and composes the
/// repaired copy, so that the rest of the file is still read and its other mistakes reported in
/// the same run. The file is still refused (its mistakes are errors); the repair only lets reading go on.
///
/// Two kinds of finds:
/// - sure ones, found by scanning the lines before parsing (outside comments, quotes and block
///   scalars): a full-width space in the indentation or after a list dash, and a full-width colon
///   right after a key written in ASCII (`reply：`, `{contains：`);
/// - the others (a Chinese key such as `内科：[感冒]`, a '，' between `{ }` entries, a double-quoted
///   regex), found when YAML stops: a candidate character on the lines around the error is taken
///   to be the cause only if repairing it moves the error on (or removes it).
package enum TypingMistakes {
    /// Columns inserted by repairs (a full-width space becomes two spaces, `key：value` becomes
    /// `key: value`): per line, the repaired-text columns after which characters were inserted.
    package struct ColumnShifts: Sendable {
        var inserted: [Int: [(column: Int, count: Int)]] = [:]

        mutating func insert(line: Int, after column: Int, count: Int) {
            // Later insertions on a line are given in repaired-text columns already.
            inserted[line, default: []].append((column, count))
        }

        /// The column in the file as written of `column` in the repaired text.
        package func original(line: Int, column: Int) -> Int {
            guard let list = inserted[line] else { return column }
            var result = column
            for (after, count) in list.sorted(by: { $0.column > $1.column }) where result > after {
                result = max(after, result - count)
            }
            return result
        }
    }

    /// The composed (repaired) document, the typing mistakes found, and the column shifts that map
    /// locations in the repaired text back to the file as written. `syntax` is the YAML error that
    /// remains after every repair (nil when the repaired text composes).
    package struct Result {
        package var root: Node?
        package var mistakes: [Diagnostic]
        package var syntax: YamlError?
        package var shifts: ColumnShifts
        package var lines: [[Unicode.Scalar]] = []
    }

    static let fullWidthColon: Unicode.Scalar = "\u{FF1A}"
    static let fullWidthSpace: Unicode.Scalar = "\u{3000}"
    static let fullWidthComma: Unicode.Scalar = "\u{FF0C}"
    static let enumerationComma: Unicode.Scalar = "\u{3001}"

    /// The keys of the rule language, for `{key：` inside a `{ }` mapping and `- key：` after a list dash.
    static let knownKeys: Set<String> = Set(RuleSetLoader.topLevelKeys + RuleSetLoader.ruleKeys + RuleSetLoader.interruptKeys
        + RuleSetLoader.conditionKeys + RuleSetLoader.replyKeys + RuleFileReader.flowKeys + RuleFileReader.slotStepKeys
        + RuleFileReader.confirmStepKeys + RuleFileReader.expectationKeys
        + RuleFileReader.serviceKeys + RuleFileReader.authKeys + RuleFileReader.callStepKeys + RuleFileReader.ruleCallKeys + RuleFileReader.branchKeys
        + RuleFileReader.outcomeWords
        + ["normalize", "intent_threshold", "timezone", "handoff_pause", "width", "case", "chinese", "punctuation", "emoji", "spaces",
           "media_id", "title", "description", "url", "hq_url", "thumb_media_id", "picurl", "kf_account", "examples", "min", "max"])

    /// Whether a word could be a key: ASCII letters, digits, '_' and '-', starting with a letter or '_'.
    static func isASCIIKey(_ word: ArraySlice<Unicode.Scalar>) -> Bool {
        guard let first = word.first, first.isASCII, first.properties.isAlphabetic || first == "_" else { return false }
        return word.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }

    package static func compose(_ text: String, file: String) -> Result {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        var shifts = ColumnShifts()
        var mistakes: [Diagnostic] = []
        for (line, column, kind) in scan(lines) {
            mistakes.append(diagnostic(kind, file: file, line: line + 1, column: column + 1, lines: lines, shifts: shifts))
            repair(kind, line: line, column: column, in: &lines, shifts: &shifts)
        }
        var attempts = 0
        while true {
            let repaired = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
            do {
                let root = try Yams.compose(yaml: repaired)
                return Result(root: root, mistakes: mistakes, syntax: nil, shifts: shifts, lines: lines)
            } catch let error as YamlError {
                attempts += 1
                guard attempts <= 12, let (position, context) = Self.position(of: error),
                      let found = cause(of: error, at: position, context: context, lines: lines) else {
                    return Result(root: nil, mistakes: mistakes, syntax: error, shifts: shifts)
                }
                mistakes.append(diagnostic(found.kind, file: file, line: found.line + 1, column: found.column + 1, lines: lines, shifts: shifts))
                lines = found.repaired
                shifts = found.shifts.merged(into: shifts)
            } catch {
                return Result(root: nil, mistakes: mistakes, syntax: nil, shifts: shifts)
            }
        }
    }

    enum Kind: Equatable {
        case colon, space, comma(Unicode.Scalar)
        /// A double-quoted text with a backslash YAML does not know (`"\d+"`); the column is the backslash.
        case doubleQuoted(escape: String, quoteColumn: Int)
    }

    // MARK: Sure finds, before parsing

    /// Full-width spaces in the indentation and full-width colons after ASCII keys, line by line
    /// (0-based line and column), skipping comments, quoted text and block scalars (`|`, `>`).
    static func scan(_ lines: [[Unicode.Scalar]]) -> [(Int, Int, Kind)] {
        var found: [(Int, Int, Kind)] = []
        var blockParent: Int?  // inside a block scalar: the indentation of the line that opened it
        for (index, line) in lines.enumerated() {
            let indent = line.prefix { $0 == " " }.count
            if let parent = blockParent {
                if line.allSatisfy({ $0 == " " || $0 == fullWidthSpace || $0 == "\t" || $0 == "\r" }) || indent > parent { continue }
                blockParent = nil
            }
            // Indentation and list dashes: '　' there is always a typing mistake.
            var i = 0
            while i < line.count, line[i] == " " || line[i] == fullWidthSpace || (line[i] == "-" && i + 1 < line.count && (line[i + 1] == " " || line[i + 1] == fullWidthSpace)) {
                if line[i] == fullWidthSpace { found.append((index, i, .space)) }
                i += 1
            }
            // A key written in ASCII followed by '：', at the start of the line or after '{' or ',' in a flow mapping.
            var keyStart: Int? = i
            var quote: Unicode.Scalar?
            var j = i
            while j < line.count {
                let c = line[j]
                if let q = quote {
                    if c == q { quote = nil }
                    j += 1
                    continue
                }
                if c == "#", j == 0 || line[j - 1] == " " { break }
                if (c == "'" || c == "\"") && (keyStart == j || (j > 0 && " [{,:".unicodeScalars.contains(line[j - 1]))) {
                    quote = c
                    keyStart = nil
                } else if c == fullWidthColon, let start = keyStart {
                    var word = line[start..<j]
                    while word.first == " " { word = word.dropFirst() }
                    while word.last == " " { word = word.dropLast() }
                    // A line of its own (`reply：好的`): any ASCII word is taken as a key; after a list dash or
                    // inside { } only the words of the rule language (`- VIP：优先` may be text).
                    let afterDash = start == i && line[..<i].contains("-")
                    if isASCIIKey(word), start == i && !afterDash ? word.count >= 2 : knownKeys.contains(String(String.UnicodeScalarView(word))) {
                        found.append((index, j, .colon))
                    }
                    keyStart = nil
                } else if c == "{" || c == "," {
                    keyStart = j + 1
                } else if c == ":" && (j + 1 == line.count || line[j + 1] == " ") {
                    keyStart = nil
                }
                j += 1
            }
            // A block scalar opens: `key: |`, `- >-`, `key: |2  # comment`.
            var end = line.count
            if let hash = (0..<line.count).first(where: { line[$0] == "#" && ($0 == 0 || line[$0 - 1] == " ") }) { end = hash }
            var tail = line[..<end]
            while let last = tail.last, last == " " || last == "\r" { tail = tail.dropLast() }
            var k = tail.endIndex - 1
            while k >= tail.startIndex, "+-0123456789".unicodeScalars.contains(tail[k]) { k -= 1 }
            if k >= tail.startIndex, tail[k] == "|" || tail[k] == ">", k == tail.startIndex || tail[k - 1] == " " {
                let before = tail[..<k].reversed().drop { $0 == " " }.first
                if before == nil || before == ":" || before == "-" { blockParent = indent }
            }
        }
        return found
    }

    // MARK: Finds where YAML stops

    static func position(of error: YamlError) -> (Mark, Mark?)? {
        switch error {
        case .scanner(let context, _, let mark, _), .parser(let context, _, let mark, _), .composer(let context, _, let mark, _):
            return (mark, context?.mark)
        default:
            return nil
        }
    }

    struct Found {
        var line: Int, column: Int, kind: Kind
        var repaired: [[Unicode.Scalar]]
        var shifts: ColumnShifts
    }

    /// The typing mistake that makes YAML stop at `mark`: the nearest candidate on the lines from
    /// the error's context (or two lines before it) to the error whose repair lets YAML get further.
    static func cause(of error: YamlError, at mark: Mark, context: Mark?, lines: [[Unicode.Scalar]]) -> Found? {
        let errorLine = min(max(mark.line - 1, 0), max(lines.count - 1, 0))
        guard !lines.isEmpty else { return nil }
        // A backslash YAML does not know inside double quotes: a regex in double quotes.
        if case .scanner(_, let problem, _, _) = error, problem.contains("unknown escape"), let quoteMark = context {
            let line = quoteMark.line - 1, quoteColumn = quoteMark.column - 1, column = mark.column - 1
            if lines.indices.contains(line), lines[line].indices.contains(column), lines[line].indices.contains(quoteColumn), lines[line][quoteColumn] == "\"" {
                var repaired = lines
                var escape = "\\"
                if column + 1 < lines[line].count { escape.unicodeScalars.append(lines[line][column + 1]) }
                if let close = singleQuoted(&repaired[line], from: quoteColumn) {
                    _ = close
                    return Found(line: line, column: column, kind: .doubleQuoted(escape: escape, quoteColumn: quoteColumn), repaired: repaired, shifts: ColumnShifts())
                }
                // The quotes cannot be swapped (the text has a quote in it): report it and stop reading there.
                return Found(line: line, column: column, kind: .doubleQuoted(escape: escape, quoteColumn: quoteColumn),
                             repaired: Array(lines[..<line]), shifts: ColumnShifts())
            }
        }
        let first = max(0, min(context.map { $0.line - 1 } ?? errorLine, errorLine - 2))
        var candidates: [(line: Int, column: Int, kind: Kind)] = []
        for line in first...errorLine {
            for (column, c) in lines[line].enumerated() {
                switch c {
                case fullWidthColon: candidates.append((line, column, .colon))
                case fullWidthSpace: candidates.append((line, column, .space))
                case fullWidthComma, enumerationComma: candidates.append((line, column, .comma(c)))
                default: break
                }
            }
        }
        // Nearest to the error first: the error's line (before its column first), then the lines above it.
        let errorColumn = mark.column - 1
        candidates.sort { a, b in
            func rank(_ c: (line: Int, column: Int, kind: Kind)) -> (Int, Int) {
                (errorLine - c.line, c.line == errorLine ? (c.column <= errorColumn ? errorColumn - c.column : 1000 + c.column) : -c.column)
            }
            return rank(a) < rank(b)
        }
        for candidate in candidates.prefix(8) {
            var repaired = lines
            var shifts = ColumnShifts()
            repair(candidate.kind, line: candidate.line, column: candidate.column, in: &repaired, shifts: &shifts)
            let text = repaired.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
            do {
                _ = try Yams.compose(yaml: text)
            } catch let after as YamlError {
                guard let (next, _) = position(of: after), (next.line, next.column) > (mark.line, mark.column) else { continue }
            } catch {
                continue
            }
            return Found(line: candidate.line, column: candidate.column, kind: candidate.kind, repaired: repaired, shifts: shifts)
        }
        return nil
    }

    /// Turns the double-quoted text opening at `open` into a single-quoted one (backslashes kept as
    /// written); nil when the text itself contains a quote.
    static func singleQuoted(_ line: inout [Unicode.Scalar], from open: Int) -> Int? {
        var k = open + 1
        while k < line.count {
            if line[k] == "\\", k + 1 < line.count, line[k + 1] == "\"" { return nil }
            if line[k] == "'" { return nil }
            if line[k] == "\"" {
                line[open] = "'"
                line[k] = "'"
                return k
            }
            k += 1
        }
        return nil
    }

    // MARK: Repairs and messages

    static func repair(_ kind: Kind, line: Int, column: Int, in lines: inout [[Unicode.Scalar]], shifts: inout ColumnShifts) {
        switch kind {
        case .space:
            lines[line].replaceSubrange(column...column, with: [" ", " "])
            shifts.insert(line: line + 1, after: column + 1, count: 1)
        case .colon, .comma:
            lines[line][column] = kind == .colon ? ":" : ","
            if column + 1 < lines[line].count, lines[line][column + 1] != " " {
                lines[line].insert(" ", at: column + 1)
                shifts.insert(line: line + 1, after: column + 1, count: 1)
            }
        case .doubleQuoted:
            break
        }
    }

    static func diagnostic(_ kind: Kind, file: String, line: Int, column: Int, lines: [[Unicode.Scalar]], shifts: ColumnShifts) -> Diagnostic {
        let at = SourceLocation(file: file, line: line, column: shifts.original(line: line, column: column))
        let written = lines.indices.contains(line - 1) ? lines[line - 1] : []
        switch kind {
        case .colon:
            var start = column - 1
            while start > 0, written[start - 1] != " ", written[start - 1] != "{", written[start - 1] != "," { start -= 1 }
            let key = String(String.UnicodeScalarView(written[start..<(column - 1)]))
            return Diagnostic(.error, "full-width-colon", at: at,
                              "'：' at line \(line), column \(at.column) is a full-width (Chinese) colon, so YAML does not see '\(key)' as a key",
                              hint: "type the ASCII colon ':' followed by a space: '\(key): …' (switch the input method to 英文/半角 for YAML punctuation)")
        case .space:
            return Diagnostic(.error, "full-width-space", at: at,
                              "'　' at line \(line), column \(at.column) is a full-width (Chinese) space; YAML indentation must be ASCII spaces",
                              hint: "replace it with ASCII spaces ' ' (switch the input method to 半角, or let the editor indent)")
        case .comma(let c):
            let name = c == enumerationComma ? "enumeration comma (顿号)" : "full-width (Chinese) comma"
            return Diagnostic(.error, "full-width-comma", at: at,
                              "'\(c)' at line \(line), column \(at.column) is a \(name); YAML separates the entries of { } and [ ] with the ASCII comma ','",
                              hint: "type ',' instead of '\(c)'")
        case .doubleQuoted(let escape, _):
            return Diagnostic(.error, "double-quoted-regex", at: at,
                              "'\(escape)' at line \(line), column \(at.column) is inside double quotes, where YAML reads backslashes itself and knows no '\(escape)'",
                              hint: "write regexes in single quotes: '\\d+' (in single quotes a backslash stays as written)")
        }
    }
}

extension TypingMistakes.ColumnShifts {
    /// These shifts (of a later repair) on top of `earlier` ones.
    func merged(into earlier: Self) -> Self {
        var result = earlier
        for (line, list) in inserted { result.inserted[line, default: []] += list }
        return result
    }
}

extension YAMLReader {
    /// Whether a sequence is written `[a, b]` (Yams does not keep the style of a composed sequence).
    func isFlowList(_ node: Node) -> Bool {
        guard case .sequence = node, let mark = node.mark, composedLines.indices.contains(mark.line - 1) else { return false }
        let line = composedLines[mark.line - 1]
        return line.indices.contains(mark.column - 1) && line[mark.column - 1] == "["
    }

    /// An unquoted entry of a `[ ]` list with '，' or '、' in it (`[订座，订位，订桌]` is one entry,
    /// “订座，订位，订桌”, to YAML): reported once per entry, at the first such comma, and split there,
    /// so that the rest of the rule set is checked with the entries the author meant. Nil when the
    /// entry has none (or is quoted: quoting keeps a comma that belongs to the text).
    package mutating func fullWidthSeparated(_ item: Node, _ text: String, in what: String) -> [Located<String>]? {
        guard case .scalar(let scalar) = item, scalar.style == .plain || scalar.style == .any,
              let first = text.unicodeScalars.firstIndex(where: { $0 == TypingMistakes.fullWidthComma || $0 == TypingMistakes.enumerationComma })
        else { return nil }
        let start = location(item)
        let scalars = Array(text.unicodeScalars)
        let offset = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: first)
        var at = start
        at.column += offset
        let comma = scalars[offset]
        let name = comma == TypingMistakes.enumerationComma ? "enumeration comma (顿号)" : "full-width (Chinese) comma"
        var parts: [Located<String>] = []
        var current = String.UnicodeScalarView(), currentStart = 0
        for (k, c) in scalars.enumerated() {
            if c == TypingMistakes.fullWidthComma || c == TypingMistakes.enumerationComma {
                parts.append(Located(String(current), at: SourceLocation(file: start.file, line: start.line, column: start.column + currentStart)))
                current = String.UnicodeScalarView()
                currentStart = k + 1
            } else if current.isEmpty && c == " " {
                currentStart = k + 1
            } else {
                current.append(c)
            }
        }
        parts.append(Located(String(current), at: SourceLocation(file: start.file, line: start.line, column: start.column + currentStart)))
        parts = parts.filter { !$0.value.allSatisfy(\.isWhitespace) }
        let meant = parts.map(\.value).joined(separator: ", ")
        diagnostics.append(Diagnostic(.error, "full-width-comma", at: at,
            "'\(comma)' at line \(at.line), column \(at.column) is a \(name), so '\(text)' is one entry of \(what), not \(parts.count): YAML separates [ ] entries only with the ASCII comma ','",
            hint: "use ASCII commas ',' in [ ] lists, or one item per line: [\(meant)]; if the comma belongs to the text, quote it: '\(text)'"))
        return parts
    }
}
