/// One finding about a rule set: an error (the rule set cannot be used) or a warning (it can,
/// but probably does not do what its author meant). Diagnostics are values; ``render(source:)``
/// is the one place that turns them into text.
public struct Diagnostic: Sendable, Hashable, Comparable {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning
        public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
    }

    public var severity: Severity
    /// A stable identifier of the check (`unknown-key`, `shadowed-rule`, …), for editors and CI filters.
    public var code: String
    public var location: SourceLocation
    public var message: String
    /// What to do about it.
    public var hint: String?

    public init(_ severity: Severity, _ code: String, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.code = code
        self.location = location
        self.message = message
        self.hint = hint
    }

    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        (a.location, a.severity, a.message) < (b.location, b.severity, b.message)
    }

    /// `faq.yaml:12:9: error: unknown key 'repy' [unknown-key]`, the source line with a caret under
    /// the column, and the hint.
    public func render(source: String? = nil) -> String {
        var text = "\(location): \(severity.rawValue): \(message) [\(code)]"
        if let source {
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
            if location.line >= 1, location.line <= lines.count {
                let line = lines[location.line - 1]
                text += "\n    \(line)\n    " + caretLine(line, column: location.column)
            }
        }
        if let hint { text += "\n    hint: \(hint)" }
        return text
    }

    /// Spaces up to the column, keeping tabs and widening for CJK characters so the caret lines up.
    private func caretLine(_ line: Substring, column: Int) -> String {
        var pad = ""
        for character in line.prefix(max(column - 1, 0)) {
            if character == "\t" { pad += "\t"; continue }
            let wide = character.unicodeScalars.first.map { $0.value >= 0x1100 && Self.isWide($0.value) } ?? false
            pad += wide ? "  " : " "
        }
        return pad + "^"
    }

    private static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v) || (0x20000...0x3FFFD).contains(v)
    }
}

/// Thrown when a rule set has errors: all of them, in file order. Nothing is compiled from a rule
/// set with an error, so a broken file can never yield a partial rule set.
public struct RuleSetError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    /// What did load, for `kefu lint` to check as well (see ``PartialRuleSet``); never used to answer.
    package var loaded: PartialRuleSet?
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics.sorted() }
    package init(_ diagnostics: [Diagnostic], loaded: PartialRuleSet?) {
        self.diagnostics = diagnostics.sorted()
        self.loaded = loaded
    }
    public var description: String { diagnostics.map { $0.render() }.joined(separator: "\n") }
}

extension Diagnostic {
    /// A pattern PCRE2 refused, pointing at the character where it gave up.
    static func badRegex(_ error: PatternRegex.CompileError, patternAt location: SourceLocation) -> Diagnostic {
        var at = location
        at.column += error.offset
        return Diagnostic(.error, "bad-regex", at: at, "regex does not compile: \(error.message) (at character \(error.offset) of the pattern)",
                          hint: "PCRE2 syntax; in YAML, put patterns in single quotes so backslashes stay as written")
    }
}
