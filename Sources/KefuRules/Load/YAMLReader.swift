import Yams

/// Reads values out of a composed YAML node tree, recording a ``Diagnostic`` (with the node's
/// file:line:col) for every value of the wrong shape instead of stopping at the first.
package struct YAMLReader {
    package let file: String
    package var diagnostics: [Diagnostic] = []
    /// Columns that repairs of typing mistakes inserted (see ``TypingMistakes``), mapped back here.
    package var shifts = TypingMistakes.ColumnShifts()
    /// The text that was composed (after those repairs), line by line, to tell `[ ]` lists from `- ` ones.
    package var composedLines: [[Unicode.Scalar]] = []

    package init(file: String) { self.file = file }

    package func location(_ node: Node?) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file, line: 1, column: 1) }
        // A quoted scalar's mark is its opening quote; point at its first character instead, so that
        // an offset inside the text (a regex error) lands on the right column.
        if case .scalar(let scalar)? = node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
            return SourceLocation(file: file, line: mark.line, column: shifts.original(line: mark.line, column: mark.column + 1))
        }
        return SourceLocation(file: file, line: mark.line, column: shifts.original(line: mark.line, column: mark.column))
    }

    package mutating func error(_ code: String, _ node: Node?, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, code, at: location(node), message, hint: hint))
    }

    package static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): "the text '\(s.string.prefix(40))'"
        case .mapping: "a mapping (key: value)"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The pairs of a mapping whose keys are all allowed; unknown keys are reported with a suggestion.
    /// (Duplicate keys never get here: Yams refuses them while composing, see `duplicate-key`.)
    package mutating func mapping(_ node: Node, _ what: String, allowed: [String]) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error("wrong-type", node, "\(what) must be a mapping (key: value), not \(Self.describe(node))",
                  hint: "write 'key: value' pairs, one per line, indented under it")
            return nil
        }
        var pairs: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error("wrong-type", keyNode, "keys of \(what) must be plain words", hint: "write key: value")
                continue
            }
            guard allowed.contains(key) else {
                error("unknown-key", keyNode, "unknown key '\(key)' in \(what)", hint: Suggestions.hint(for: key, among: allowed))
                continue
            }
            pairs.append((key, keyNode, value))
        }
        return pairs
    }

    package mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error("wrong-type", node, "\(what) must be text, not \(Self.describe(node))", hint: "write it as one line of text; quote it if it contains ': '")
            return nil
        }
        return scalar.string
    }

    /// One text or a list of texts. Unless the entries are `sentences` (retry:, in_order:), a
    /// '，' or '、' in an unquoted entry of a `[ ]` list is reported and taken as the separator it was
    /// meant to be (see ``fullWidthSeparated(_:_:in:)``).
    package mutating func strings(_ node: Node, _ what: String, sentences: Bool = false) -> [Located<String>]? {
        switch node {
        case .scalar(let scalar):
            return [Located(scalar.string, at: location(node))]
        case .sequence(let sequence):
            var values: [Located<String>] = []
            for item in sequence {
                guard let text = string(item, "each entry of \(what)") else { continue }
                if !sentences, isFlowList(node), let parts = fullWidthSeparated(item, text, in: what) {
                    values += parts
                } else {
                    values.append(Located(text, at: location(item)))
                }
            }
            if values.isEmpty, sequence.isEmpty {
                error("empty-list", node, "\(what) is an empty list", hint: "add at least one entry or remove the rule")
                return nil
            }
            return values
        default:
            error("wrong-type", node, "\(what) must be text or a list of texts, not \(Self.describe(node))", hint: "e.g. [发货, 几天到]")
            return nil
        }
    }

    /// The words accepted as yes and no, everywhere a rule file takes a yes or no.
    package static let yes: Set<String> = ["true", "yes", "on"]
    package static let no: Set<String> = ["false", "no", "off"]

    /// Whether the node is a plain YAML null (`~`, `null`, or nothing at all).
    package static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    package mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard let text = string(node, what) else { return nil }
        switch text.lowercased() {
        case let t where Self.yes.contains(t): return true
        case let t where Self.no.contains(t): return false
        default:
            error("wrong-type", node, "\(what) must be true or false, not '\(text)'", hint: "write true or false")
            return nil
        }
    }

    package mutating func int(_ node: Node, _ what: String) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = Int(text) else {
            error("wrong-type", node, "\(what) must be a whole number, not '\(text)'", hint: "e.g. 10; higher wins")
            return nil
        }
        return value
    }

    package mutating func double(_ node: Node, _ what: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = string(node, what) else { return nil }
        guard let value = Double(text), range.contains(value) else {
            error("wrong-type", node, "\(what) must be a number from \(range.lowerBound) to \(range.upperBound), not '\(text)'", hint: "e.g. 0.5")
            return nil
        }
        return value
    }

    package mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as: T.Type) -> T? where T.RawValue == String {
        guard let text = string(node, what) else { return nil }
        guard let value = T(rawValue: text) else {
            let choices = T.allCases.map(\.rawValue)
            error("unknown-value", node, "\(what) cannot be '\(text)'", hint: Suggestions.hint(for: text, among: choices))
            return nil
        }
        return value
    }
}
