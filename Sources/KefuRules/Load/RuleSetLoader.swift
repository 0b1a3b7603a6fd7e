import Foundation
import Yams

/// Reads a rule set: a folder of `.yaml` / `.yml` files (subfolders included, sorted by path).
///
/// Every problem of form is collected with its file:line:col and a hint; if there is any, the
/// loader throws ``RuleSetError`` with all of them and returns nothing, so a broken file never
/// yields a partial rule set.
public enum RuleSetLoader {
    static let topLevelKeys = ["settings", "rules", "intents", "flows", "interrupts", "events", "default", "hours", "facts", "menu", "services"]
    static let ruleKeys = ["id", "when", "reply", "flow", "call", "priority", "note"]
    static let interruptKeys = ["id", "when", "action", "reply", "priority", "note"]
    static let conditionKeys = ["exact", "contains", "regex", "intent", "subscribe", "scan", "click", "view", "message"]
    /// Written beside a condition in `when:`; not conditions of their own.
    static let hoursConditionKeys = ["open", "after_hours"]
    static let replyKeys = ["text", "random", "in_order", "image", "voice", "video", "music", "news", "transfer", "messages"]

    /// What to do with a rule file that looks unfinished: not empty, and its last line has no
    /// newline at its end. That is how a file looks while an editor or `cp` is still writing it
    /// (and how some editors save a complete file), so only a reload refuses it.
    public enum UnfinishedFiles: Sendable {
        /// Load it (starting the server, `kefu chat`, `kefu test`: nothing live to protect).
        case accept
        /// Load it with an `unfinished-file` warning (`kefu lint`).
        case warn
        /// Refuse it with an `unfinished-file` error (a reload), except a file whose text is the
        /// same as in `unchanged` (the text the live rule set was read from: not being written now).
        case refuse(unlessUnchangedFrom: [String: String])
    }

    /// Loads every rule file under `directory`.
    public static func load(directory: String) throws(RuleSetError) -> RuleSetSpec {
        try load(directory: directory, unfinished: .accept).spec
    }

    /// Loads every rule file under `directory`, treating files that look unfinished as `unfinished`
    /// says. Errors are thrown all at once (an unfinished file's error with whatever else its cut-off
    /// text causes, in file order); `warnings` are the `.warn` ones of a rule set that loads.
    public static func load(directory: String, unfinished: UnfinishedFiles) throws(RuleSetError) -> (spec: RuleSetSpec, warnings: [Diagnostic]) {
        let root = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RuleSetError([Diagnostic(.error, "no-rule-set", at: SourceLocation(file: directory, line: 1, column: 1),
                                           "'\(directory)' is not a folder", hint: "pass the folder that holds the rule files, e.g. Rules/shop")])
        }
        var files: [(path: String, text: String)] = []
        var problems: [Diagnostic] = []
        var unfinishedFiles: [Diagnostic] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var paths: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.lastPathComponent.hasPrefix(".") { enumerator?.skipDescendants(); continue }
            if ["yaml", "yml"].contains(url.pathExtension) { paths.append(url.path) }
        }
        for path in paths.sorted() {
            let display = Self.displayPath(path, directory: directory)
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append(Diagnostic(.error, "unreadable-file", at: SourceLocation(file: display, line: 1, column: 1), "cannot read the file"))
                continue
            }
            guard let text = String(validating: data, as: UTF8.self) else {
                if let cut = Self.cutCharacter(data, file: display) {
                    problems.append(cut)
                } else {
                    problems.append(Diagnostic(.error, "not-utf8", at: SourceLocation(file: display, line: 1, column: 1),
                                               "the file is not UTF-8 text", hint: "save it as UTF-8 (most editors: File → Save with Encoding → UTF-8)"))
                }
                continue
            }
            files.append((display, text))
            switch unfinished {
            case .accept: break
            case .warn: if let d = unfinishedFile(display, text, severity: .warning) { unfinishedFiles.append(d) }
            case .refuse(let unchanged):
                if unchanged[display] != text, let d = unfinishedFile(display, text, severity: .error) { unfinishedFiles.append(d) }
            }
        }
        if paths.isEmpty {
            problems.append(Diagnostic(.error, "no-rule-files", at: SourceLocation(file: directory, line: 1, column: 1),
                                       "the folder has no .yaml files", hint: "rule files end in .yaml or .yml"))
        }
        // The other files are read even when one cannot be, so that every error shows at once.
        let (spec, diagnostics) = read(files: files, directory: directory)
        if !problems.isEmpty || !diagnostics.isEmpty {
            throw RuleSetError.partial(spec, problems + unfinishedFiles + diagnostics, complete: problems.isEmpty)
        }
        if unfinishedFiles.contains(where: { $0.severity == .error }) { throw RuleSetError(unfinishedFiles) }
        return (spec, unfinishedFiles)
    }

    static let publishHint = "save it again, or publish by writing a temp file in the same folder and renaming it (see docs/serve.md)"

    /// The `unfinished-file` diagnostic of a non-empty text whose last line has no newline, at the end of that line.
    package static func unfinishedFile(_ file: String, _ text: String, severity: Diagnostic.Severity) -> Diagnostic? {
        guard let last = text.utf8.last, last != UInt8(ascii: "\n") else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let at = SourceLocation(file: file, line: lines.count, column: (lines.last?.count ?? 0) + 1)
        if severity == .error {
            return Diagnostic(.error, "unfinished-file", at: at,
                              "the file ends in the middle of a line (line \(lines.count) has no newline at its end) — it may still be being written",
                              hint: publishHint + "; if the file is complete, press Enter after its last line and save")
        }
        return Diagnostic(.warning, "unfinished-file", at: at,
                          "the last line (\(lines.count)) has no newline at its end; a running kefu serve refuses to reload such a file, because a file still being written looks the same",
                          hint: "press Enter after the last line and save")
    }

    /// The diagnostic of a file that is UTF-8 up to a character cut off at its very end (a copy caught
    /// mid-write), or nil if the file is not UTF-8 elsewhere.
    static func cutCharacter(_ data: Data, file: String) -> Diagnostic? {
        let bytes = [UInt8](data)
        // The start of the last character: at most 3 continuation bytes (10xxxxxx) back.
        var start = bytes.count - 1
        while start > 0, bytes.count - start < 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0, start < bytes.count else { return nil }
        let lead = bytes[start]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        guard lead & 0xC0 == 0xC0, length > bytes.count - start, let text = String(validating: bytes[..<start], as: UTF8.self) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return Diagnostic(.error, "unfinished-file", at: SourceLocation(file: file, line: lines.count, column: (lines.last?.count ?? 0) + 1),
                          "the file ends in the middle of a character (\(bytes.count - start) of its \(length) UTF-8 bytes) — it may still be being written",
                          hint: publishHint)
    }

    static func displayPath(_ path: String, directory: String) -> String {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let resolvedBase = URL(fileURLWithPath: base).standardizedFileURL.path + "/"
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        if standardized.hasPrefix(resolvedBase) { return base + standardized.dropFirst(resolvedBase.count) }
        return path
    }

    /// Parses rule files given as (path, text), in this order. Media files named in replies are
    /// looked for under `directory`; without one, only their paths are checked (not the files).
    public static func parse(files: [(path: String, text: String)], directory: String? = nil) throws(RuleSetError) -> RuleSetSpec {
        let (spec, diagnostics) = read(files: files, directory: directory)
        if !diagnostics.isEmpty { throw RuleSetError.partial(spec, diagnostics, complete: true) }
        return spec
    }

    /// The rules, intents and flows of the files that read without an error, and the errors.
    static func read(files: [(path: String, text: String)], directory: String? = nil) -> (RuleSetSpec, [Diagnostic]) {
        var spec = RuleSetSpec()
        spec.directory = directory
        var diagnostics: [Diagnostic] = []
        var ruleIDs: [String: SourceLocation] = [:]
        var intentNames: [String: SourceLocation] = [:]
        for (path, text) in files {
            spec.sources[path] = text
            var file = RuleFileReader(reader: YAMLReader(file: path))
            file.read(text, into: &spec, ruleIDs: &ruleIDs, intentNames: &intentNames)
            diagnostics += file.reader.diagnostics
        }
        // Interrupts come after every rule in declaration order, whichever file declares them.
        for index in spec.rules.indices where spec.rules[index].interrupt != nil { spec.rules[index].order += 1_000_000 }
        spec.rules.sort { $0.order < $1.order }
        for index in spec.rules.indices { spec.rules[index].order = index }
        diagnostics += RuleFileReader.checkReferences(spec)
        for table in spec.hours {
            if let fact = spec.facts.locations[table.name] {
                diagnostics.append(Diagnostic(.error, "duplicate-fact", at: table.location, "'\(table.name)' names both an hours table and a fact (\(fact))",
                                              hint: "give them different names: {{\(table.name)}} in a reply must mean one thing"))
            }
            spec.facts.hoursSummaries[table.name] = table.weekSummary
        }
        return (spec, diagnostics)
    }
}

/// Reads one file into the spec.
package struct RuleFileReader {
    var reader: YAMLReader

    mutating func read(_ text: String, into spec: inout RuleSetSpec, ruleIDs: inout [String: SourceLocation], intentNames: inout [String: SourceLocation]) {
        // Full-width colons, spaces and commas, and double-quoted regexes, are reported and repaired
        // so that the rest of the file is read too (TypingMistakes.swift).
        let composed = TypingMistakes.compose(text, file: reader.file)
        reader.diagnostics += composed.mistakes
        reader.shifts = composed.shifts
        reader.composedLines = composed.lines
        if let error = composed.syntax {
            var diagnostic = Self.syntaxDiagnostic(error, file: reader.file, text: text)
            diagnostic.location.column = composed.shifts.original(line: diagnostic.location.line, column: diagnostic.location.column)
            reader.diagnostics.append(diagnostic)
            return
        }
        guard let root = composed.root else { return }  // an empty file is fine
        guard let pairs = reader.mapping(root, "a rule file", allowed: RuleSetLoader.topLevelKeys) else { return }
        for (key, keyNode, value) in pairs {
            switch key {
            case "settings":
                if let previous = spec.settings.location {
                    reader.error("duplicate-settings", keyNode, "settings are already given in \(previous)", hint: "keep one settings block per rule set")
                } else {
                    readSettings(value, into: &spec.settings)
                    spec.settings.location = reader.location(keyNode)
                }
            case "rules":
                guard case .sequence(let list) = value else {
                    reader.error("wrong-type", value, "rules must be a list (each rule starts with '- id:'), not \(YAMLReader.describe(value))",
                                 hint: "write each rule as an item: '  - id: name' on its own line")
                    continue
                }
                for item in list {
                    guard let (rule, callFlow) = readRule(item) else { continue }
                    if add(rule, to: &spec, ids: &ruleIDs), let callFlow { spec.flows.append(callFlow) }
                }
            case "intents":
                guard let intents = reader.mapping(value, "intents", allowed: Self.keys(of: value)) else { continue }
                for (name, nameNode, body) in intents {
                    if name == RuleFileReader.noneIntent {
                        readNoneIntent(nameNode, body, into: &spec)
                        continue
                    }
                    if let first = intentNames[name] {
                        reader.error("duplicate-intent", nameNode, "intent '\(name)' is already defined at \(first)", hint: "merge the examples into one intent")
                        continue
                    }
                    guard let intent = readIntent(name, nameNode, body) else { continue }
                    intentNames[name] = intent.location
                    spec.intents.append(intent)
                }
            case "flows":
                guard let flows = reader.mapping(value, "flows", allowed: Self.keys(of: value)) else { continue }
                for (name, nameNode, body) in flows {
                    if let first = spec.flows.first(where: { $0.name == name }) {
                        reader.error("duplicate-flow", nameNode, "flow '\(name)' is already defined at \(first.location)", hint: "give each flow its own name")
                        continue
                    }
                    if let flow = readFlow(name, nameNode, body) { spec.flows.append(flow) }
                }
            case "interrupts":
                guard case .sequence(let list) = value else {
                    reader.error("wrong-type", value, "interrupts must be a list (each starts with '- when:'), not \(YAMLReader.describe(value))",
                                 hint: "e.g. - {when: {exact: [取消, 算了]}, action: cancel}")
                    continue
                }
                for item in list {
                    if let rule = readInterrupt(item, taken: ruleIDs) { add(rule, to: &spec, ids: &ruleIDs) }
                }
            case "events":
                guard let events = reader.mapping(value, "events", allowed: ["subscribe"]) else { continue }
                for (_, eventNode, body) in events {
                    if let previous = spec.subscribeReply {
                        reader.error("duplicate-reply", eventNode, "the subscribe reply is already given in \(previous.location)", hint: "keep one subscribe reply per rule set")
                    } else if let reply = readReply(body) {
                        spec.subscribeReply = Located(reply, at: reader.location(eventNode))
                    }
                }
            case "menu":
                if let previous = spec.menuDeclaredAt {
                    reader.error("duplicate-menu", keyNode, "the menu is already given in \(previous)",
                                 hint: "an account has one menu: keep one menu: section in the rule set")
                } else {
                    spec.menuDeclaredAt = reader.location(keyNode)
                    spec.menu = readMenu(value, at: keyNode)
                }
            case "services": readServices(value, into: &spec)
            case "hours": readHours(value, into: &spec)
            case "facts": readFacts(value, into: &spec.facts)
            case "default":
                if let previous = spec.defaultReply {
                    reader.error("duplicate-reply", keyNode, "the default reply is already given in \(previous.location)", hint: "keep one default per rule set")
                } else if let reply = readReply(value) {
                    spec.defaultReply = Located(reply, at: reader.location(keyNode))
                }
            default:
                break
            }
        }
    }

    /// Appends a rule or interrupt unless its id is taken (rules and interrupts share one namespace).
    @discardableResult
    mutating func add(_ rule: RuleSpec, to spec: inout RuleSetSpec, ids: inout [String: SourceLocation]) -> Bool {
        if let first = ids[rule.id] {
            let what = rule.interrupt == nil ? "rule id" : "id"
            reader.diagnostics.append(Diagnostic(.error, "duplicate-id", at: rule.location, "\(what) '\(rule.id)' is already used at \(first)",
                                                 hint: "give each rule and interrupt its own id"))
            return false
        }
        var rule = rule
        ids[rule.id] = rule.location
        rule.order = spec.rules.count
        spec.rules.append(rule)
        return true
    }

    static func keys(of node: Node) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.compactMap { $0.key.scalar?.string }
    }

    /// `text`, when given, lets an error at the very end of the file say that the file ends inside
    /// the list, mapping or quoted text its context opened (a file cut off while being written).
    package static func syntaxDiagnostic(_ error: YamlError, file: String, text: String? = nil) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        let hint = "check indentation (spaces, not tabs), and quote text that contains ': ', '#', or starts with '*', '&', '{' or '['"
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            if let context, let text, Self.onlySpaceAfter(mark, in: text), let opened = Self.opened(by: context.text) {
                // libyaml puts the end of a file without a final newline on the line after its last one.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let end = mark.line > lines.count ? SourceLocation(file: file, line: lines.count, column: (lines.last?.count ?? 0) + 1) : at(mark)
                return Diagnostic(.error, "yaml-syntax", at: end,
                                  "YAML syntax: the file ends inside the \(opened) that opens at line \(context.mark.line), column \(context.mark.column) "
                                    + "(\(problem)) — it may still be being written",
                                  hint: "if it is complete, close what opens there; else " + RuleSetLoader.publishHint)
            }
            let where_ = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return Diagnostic(.error, "yaml-syntax", at: at(mark), "YAML syntax: \(problem)\(where_)", hint: hint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(.error, "duplicate-key", at: at(context.mark),
                              "\(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears twice in the same mapping",
                              hint: "keep one of them; to list several values, use a list: [a, b]")
        case .reader(let problem, let offset, _, _):
            return Diagnostic(.error, "yaml-syntax", at: SourceLocation(file: file, line: 1, column: 1),
                              "YAML cannot be read: \(problem)\(offset.map { " at byte \($0)" } ?? "")", hint: hint)
        default:
            return Diagnostic(.error, "yaml-syntax", at: SourceLocation(file: file, line: 1, column: 1), "YAML: \(error)", hint: hint)
        }
    }

    /// What a YAML error's context ("while parsing a flow sequence") left open, for people.
    static func opened(by context: String) -> String? {
        if context.contains("flow sequence") { return "[ … ] list" }
        if context.contains("flow mapping") { return "{ … } mapping" }
        if context.contains("quoted scalar") { return "quoted text" }
        return nil
    }

    /// Whether nothing but spaces and line breaks follows `mark` (1-based line and column) in `text`.
    static func onlySpaceAfter(_ mark: Mark, in text: String) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return mark.line > lines.count }
        let rest = lines[mark.line - 1].dropFirst(max(mark.column - 1, 0))
        return (rest + lines.dropFirst(mark.line).joined(separator: "\n")).allSatisfy(\.isWhitespace)
    }

    // MARK: Settings

    mutating func readSettings(_ node: Node, into settings: inout Settings) {
        guard let pairs = reader.mapping(node, "settings", allowed: ["normalize", "intent_threshold", "timezone", "handoff_pause", "confirm_words", "deny_words", "builtin_none"]) else { return }
        for (key, _, value) in pairs {
            switch key {
            case "normalize":
                guard let steps = reader.mapping(value, "normalize", allowed: ["width", "case", "chinese", "punctuation", "emoji", "spaces"]) else { continue }
                var options = settings.normalization
                for (step, _, v) in steps {
                    switch step {
                    case "width": options.width = reader.bool(v, "normalize.width") ?? options.width
                    case "case": options.caseFold = reader.bool(v, "normalize.case") ?? options.caseFold
                    case "chinese": options.chinese = reader.choice(v, "normalize.chinese", as: NormalizationOptions.ChineseForm.self) ?? options.chinese
                    case "punctuation": options.punctuation = reader.choice(v, "normalize.punctuation", as: NormalizationOptions.Treatment.self) ?? options.punctuation
                    case "emoji": options.emoji = reader.choice(v, "normalize.emoji", as: NormalizationOptions.Treatment.self) ?? options.emoji
                    default: options.spaces = reader.choice(v, "normalize.spaces", as: NormalizationOptions.Spaces.self) ?? options.spaces
                    }
                }
                settings.normalization = options
            case "timezone":
                if let offset = readUTCOffset(value) { settings.utcOffset = offset }
            case "handoff_pause":
                if let seconds = duration(value, "handoff_pause") { settings.handoffPause = seconds }
            case "confirm_words": settings.confirmWords = reader.strings(value, "confirm_words")?.map(\.value) ?? []
            case "deny_words": settings.denyWords = reader.strings(value, "deny_words")?.map(\.value) ?? []
            case "builtin_none":
                settings.builtinNone = reader.bool(value, "builtin_none") ?? settings.builtinNone
            default:
                settings.intentThreshold = reader.double(value, "intent_threshold", in: 0...1)
            }
        }
    }

    // MARK: Rules

    /// A rule, and for a rule with `call:` the one-step flow it starts (`rule:<id>`).
    mutating func readRule(_ node: Node) -> (RuleSpec, FlowSpec?)? {
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "a rule", allowed: RuleSetLoader.ruleKeys) else { return nil }
        var id: String?, condition: Condition?, reply: RuleReply?, priority = 0, flow: Located<String>?, hoursCondition: HoursCondition?
        var callNode: (key: Node, value: Node)?
        var replyLocation = reader.location(node)
        for (key, keyNode, value) in pairs {
            switch key {
            case "id":
                if let text = reader.string(value, "id") {
                    if text.isEmpty || text.contains(where: { $0 == " " || $0 == "\t" }) {
                        reader.error("bad-id", value, "the rule id '\(text)' must be one word without spaces", hint: "use letters, digits, '-' or '_', e.g. shipping-time")
                    } else {
                        id = text
                    }
                }
            case "when":
                condition = readCondition(value)
                hoursCondition = readHoursCondition(value)
            case "reply":
                reply = readReply(value)
                replyLocation = reader.location(keyNode)
            case "flow": flow = reader.string(value, "flow").map { Located($0, at: reader.location(value)) }
            case "call": callNode = (keyNode, value)
            case "priority": priority = reader.int(value, "priority") ?? 0
            default: _ = reader.string(value, "note")
            }
        }
        var callFlow: FlowSpec?
        if let callNode {
            if flow != nil || reply != nil {
                reader.error("several-replies", callNode.key, "rule '\(id ?? "?")' has call: and \(flow != nil ? "flow:" : "reply:"); a rule that calls a service answers with its on: branches",
                             hint: flow != nil ? "put the call as a step of flow '\(flow!.value)' (- call: …), or remove flow:" : "say it in the call's on: branches (ok:, error: …), or remove reply:")
            } else if let made = readRuleCall(callNode.value, ruleID: id) {
                callFlow = made
                flow = Located(made.name, at: reader.location(callNode.key))
            }
        }
        // A misspelt key was reported with "did you mean"; do not also report the key it stands for as missing.
        let misspelt = Set(Self.keys(of: node).compactMap { Suggestions.closest(to: $0, in: RuleSetLoader.ruleKeys) })
        let hasID = pairs.contains { $0.key == "id" } || misspelt.contains("id")
        let hasWhen = pairs.contains { $0.key == "when" } || misspelt.contains("when")
        let hasReply = pairs.contains { $0.key == "reply" || $0.key == "flow" || $0.key == "call" } || misspelt.contains("reply") || misspelt.contains("flow")
        if !hasID { reader.error("missing-key", node, "a rule needs an 'id'", hint: "add 'id: some-name' as the first line of the rule") }
        if !hasWhen { reader.error("missing-key", node, "rule '\(id ?? "?")' needs 'when' (what it answers)", hint: "e.g. when: {contains: [发货, 几天到]}") }
        if !hasReply { reader.error("missing-key", node, "rule '\(id ?? "?")' needs 'reply' (what it says), 'flow' (the flow it starts) or 'call' (a service it calls)", hint: "e.g. reply: 现货订单 48 小时内发货") }
        if flow != nil, callNode == nil, let reply, !reply.isText {
            reader.error("wrong-type", node, "rule '\(id ?? "?")' starts a flow, so its reply must be text (it is said before the first question)",
                         hint: "write the text, or remove reply: and let the flow's first question answer")
        }
        guard reader.diagnostics.count == before, let id, let condition, reply != nil || flow != nil else { return nil }
        return (RuleSpec(id: id, condition: condition, reply: reply, flow: flow, hoursCondition: hoursCondition, priority: priority,
                         location: reader.location(node), replyLocation: replyLocation, order: 0), callFlow)
    }

    mutating func readCondition(_ node: Node) -> Condition? {
        guard var pairs = reader.mapping(node, "'when'", allowed: RuleSetLoader.conditionKeys + RuleSetLoader.hoursConditionKeys) else { return nil }
        let timed = pairs.filter { RuleSetLoader.hoursConditionKeys.contains($0.key) }
        pairs.removeAll { RuleSetLoader.hoursConditionKeys.contains($0.key) }
        if pairs.isEmpty, let first = timed.first {
            reader.error("missing-key", first.keyNode, "'\(first.key)' says when the rule answers, but 'when' has no condition saying what it answers",
                         hint: "add one beside it, e.g. when: {contains: [人工], \(first.key): \(first.value.scalar?.string ?? "营业时间")}")
            return nil
        }
        guard pairs.count == 1 else {
            if pairs.isEmpty, case .mapping(let written) = node, !written.isEmpty {
                return nil  // its keys were already reported as unknown
            }
            if pairs.count > 1 {
                reader.error("several-conditions", node, "'when' has \(pairs.count) conditions (\(pairs.map(\.key).joined(separator: ", "))); a rule has one",
                             hint: "split it into one rule per condition, or list several keywords under one key")
            } else {
                reader.error("missing-key", node, "'when' is empty", hint: "e.g. when: {contains: [发货, 几天到]}")
            }
            return nil
        }
        let (key, _, value) = pairs[0]
        switch key {
        case "exact": return reader.strings(value, "exact").map(Condition.exact)
        case "contains": return reader.strings(value, "contains").map(Condition.contains)
        case "regex": return reader.strings(value, "regex").map(Condition.regex)
        case "intent": return reader.string(value, "intent").map { .intent(Located($0, at: reader.location(value))) }
        case "subscribe", "scan":
            let scenes: [Located<String>]?
            if case .scalar(let scalar) = value, YAMLReader.yes.union(["any"]).contains(scalar.string.lowercased()) {
                scenes = nil
            } else if case .scalar(let scalar) = value, YAMLReader.no.contains(scalar.string.lowercased()) || YAMLReader.isNull(value) {
                reader.error("unknown-value", value, "\(key) cannot be '\(scalar.string)'",
                             hint: "write \(key): true for any \(key == "subscribe" ? "follow" : "scan"), or list the QR scenes: [store_1, store_2]")
                return nil
            } else {
                guard let list = reader.strings(value, key) else { return nil }
                scenes = list
            }
            return key == "subscribe" ? .subscribe(scenes: scenes) : .scan(scenes: scenes)
        case "click": return reader.strings(value, "click").map(Condition.click)
        case "view": return reader.strings(value, "view").map(Condition.view)
        default:
            guard let kinds = reader.strings(value, "message") else { return nil }
            var result: [Located<MessageKind>] = []
            for kind in kinds {
                if let known = MessageKind(rawValue: kind.value) {
                    result.append(Located(known, at: kind.location))
                } else {
                    reader.diagnostics.append(Diagnostic(.error, "unknown-value", at: kind.location, "message cannot be '\(kind.value)'",
                                                         hint: Suggestions.hint(for: kind.value, among: MessageKind.allCases.map(\.rawValue))))
                }
            }
            return result.count == kinds.count ? .message(result) : nil
        }
    }

    // MARK: Intents

    mutating func readIntent(_ name: String, _ nameNode: Node, _ body: Node) -> IntentSpec? {
        let examplesNode: Node
        var negativesNode: Node?
        if case .sequence = body {
            examplesNode = body
        } else if case .scalar = body {
            reader.error("wrong-type", body, "intent '\(name)' must list its examples, not be a single text",
                         hint: "write \(name): [我要退货, 怎么退款] or \(name): {examples: [...]}")
            return nil
        } else {
            guard let pairs = reader.mapping(body, "intent '\(name)'", allowed: ["examples", "not"]) else { return nil }
            guard let examples = pairs.first(where: { $0.key == "examples" }) else {
                reader.error("missing-key", body, "intent '\(name)' needs 'examples'", hint: "list a few ways customers say it: examples: [我要退货, 怎么退款]")
                return nil
            }
            examplesNode = examples.value
            if let not = pairs.first(where: { $0.key == "not" }) { negativesNode = not.value }
        }
        guard let examples = reader.strings(examplesNode, "the examples of intent '\(name)'") else { return nil }
        var intent = IntentSpec(name: name, examples: examples, location: reader.location(nameNode))
        if let negativesNode {
            guard let negatives = readNegatives(negativesNode, of: name, examples: examples) else { return nil }
            intent.negatives = negatives
        }
        return intent
    }

    /// The reserved intent name whose examples no intent may answer.
    static let noneIntent = "none"

    /// `not:` of an intent: texts (one or a list), none of them also one of its examples.
    mutating func readNegatives(_ node: Node, of name: String, examples: [Located<String>]) -> [Located<String>]? {
        guard let negatives = reader.strings(node, "the 'not' examples of intent '\(name)'") else { return nil }
        let own = Set(examples.map(\.value))
        var ok = true
        for negative in negatives where own.contains(negative.value) {
            reader.diagnostics.append(Diagnostic(.error, "intent-not-conflict", at: negative.location,
                "“\(negative.value)” is both an example and a 'not' example of intent '\(name)'", hint: "remove it from one of the two lists"))
            ok = false
        }
        return ok ? negatives : nil
    }

    /// `intents: none:` — messages no intent may answer: a list, or {examples: [...]}.
    mutating func readNoneIntent(_ nameNode: Node, _ body: Node, into spec: inout RuleSetSpec) {
        var examplesNode = body
        if case .mapping = body {
            guard let pairs = reader.mapping(body, "intent 'none'", allowed: ["examples"]) else { return }
            guard let examples = pairs.first(where: { $0.key == "examples" }) else {
                reader.error("missing-key", body, "'none' needs 'examples'", hint: "list messages no intent may answer: examples: [你好, 谢谢, 老板在吗]")
                return
            }
            examplesNode = examples.value
        } else if case .scalar = body {
            reader.error("wrong-type", body, "'none' must list its messages, not be a single text",
                         hint: "write none: [你好, 谢谢, 老板在吗] — messages no intent may answer")
            return
        }
        guard let examples = reader.strings(examplesNode, "the examples of 'none'") else { return }
        spec.noneExamples += examples
    }

    // MARK: Replies

    mutating func readReply(_ node: Node) -> RuleReply? {
        if case .scalar(let scalar) = node {
            if YAMLReader.isNull(node) || scalar.string.allSatisfy(\.isWhitespace) {
                reader.error("empty-value", node, "the reply is empty; WeChat shows an error for an empty message",
                             hint: "write the text to send, or remove the rule")
                return nil
            }
            return .text(Template(scalar.string))
        }
        guard let pairs = reader.mapping(node, "a reply", allowed: RuleSetLoader.replyKeys) else { return nil }
        guard pairs.count == 1 else {
            reader.error(pairs.isEmpty ? "missing-key" : "several-replies", node,
                         pairs.isEmpty ? "the reply is empty" : "a reply has one form, not \(pairs.map(\.key).joined(separator: " and "))",
                         hint: "use random: to pick one, in_order: to join texts into one message, or messages: to send several messages")
            return nil
        }
        let (key, _, value) = pairs[0]
        switch key {
        case "text":
            return reader.string(value, "text").map { .text(Template($0)) }
        case "random":
            guard case .sequence(let items) = value, !items.isEmpty else {
                reader.error("wrong-type", value, "random must be a non-empty list of replies", hint: "e.g. random: [您好！, 在的，请讲～]")
                return nil
            }
            let replies = items.compactMap { readReply($0) }
            return replies.count == items.count ? .random(replies) : nil
        case "messages":
            guard case .sequence(let items) = value, items.count >= 2 else {
                reader.error("wrong-type", value, "messages must be a list of at least two replies, each sent as a message of its own",
                             hint: "e.g. messages: [这是尺码表：, {image: {file: media/size-chart.png}}]; for one message write the reply itself")
                return nil
            }
            if items.count > 5 {
                reader.error("too-many-messages", value, "messages has \(items.count) replies; WeChat allows 5 customer-service messages after a customer's message (3 after a menu click), and the first is the passive reply",
                             hint: "keep at most 4 (or 3 for a menu button), or put texts together with in_order:")
                return nil
            }
            var replies: [RuleReply] = []
            for item in items {
                guard let reply = readReply(item) else { continue }
                switch reply {
                case .messages:
                    reader.error("wrong-type", item, "messages cannot hold another messages list", hint: "write its replies in this list")
                case .transfer:
                    reader.error("transfer-in-messages", item, "a transfer cannot be one of several messages: WeChat transfers only in the passive reply",
                                 hint: "make the transfer the rule's whole reply, and say the text in the handoff rule's flow or beforehand")
                default: replies.append(reply)
                }
            }
            return replies.count == items.count ? .messages(replies) : nil
        case "in_order":
            guard case .sequence = value else {
                reader.error("wrong-type", value, "in_order must be a list of texts", hint: "e.g. in_order: [第一段, 第二段]")
                return nil
            }
            guard let texts = reader.strings(value, "in_order", sentences: true) else { return nil }
            return .inOrder(texts.map { Template($0.value) })
        case "image", "voice":
            var idNode = value
            if case .mapping = value {
                guard let fields = reader.mapping(value, key, allowed: ["media_id", "file"]) else { return nil }
                guard fields.count == 1, let field = fields.first else {
                    reader.error("missing-key", value, fields.isEmpty ? "\(key) needs media_id or file" : "\(key) has both media_id and file; it sends one of them",
                                 hint: "name a file of the rule set, {file: media/\(key == "image" ? "size-chart.png" : "guide.mp3")}, or paste a media_id from 素材管理")
                    return nil
                }
                if field.key == "file" {
                    guard let path = mediaFilePath(field.value, key) else { return nil }
                    return .mediaFile(.init(kind: key == "image" ? .image : .voice, path: path))
                }
                idNode = field.value
            }
            guard let id = mediaId(idNode, key) else { return nil }
            return key == "image" ? .image(mediaId: id) : .voice(mediaId: id)
        case "video":
            guard let fields = reader.mapping(value, "video", allowed: ["media_id", "file", "title", "description"]) else { return nil }
            let sources = fields.filter { $0.key == "media_id" || $0.key == "file" }
            guard sources.count == 1, let source = sources.first else {
                reader.error("missing-key", value, sources.isEmpty ? "video needs media_id or file" : "video has both media_id and file; it sends one of them",
                             hint: "name a file of the rule set, file: media/install.mp4, or paste the media_id from 素材管理")
                return nil
            }
            let title = optionalTemplate(fields, "title"), description = optionalTemplate(fields, "description")
            if source.key == "file" {
                guard let path = mediaFilePath(source.value, "video") else { return nil }
                return .mediaFile(.init(kind: .video, path: path, title: title, description: description))
            }
            guard let id = mediaId(source.value, "video") else { return nil }
            return .video(mediaId: id, title: title, description: description)
        case "music":
            guard let fields = reader.mapping(value, "music", allowed: ["title", "description", "url", "hq_url", "thumb_media_id"]) else { return nil }
            guard let thumbNode = fields.first(where: { $0.key == "thumb_media_id" })?.value else {
                reader.error("missing-key", value, "music needs thumb_media_id (WeChat requires a thumbnail)", hint: "upload a thumbnail image and paste its media_id")
                return nil
            }
            guard let thumb = mediaId(thumbNode, "music thumbnail") else { return nil }
            return .music(.init(title: optionalTemplate(fields, "title"), description: optionalTemplate(fields, "description"),
                                url: fields.first { $0.key == "url" }.flatMap { reader.string($0.value, "url") },
                                hqURL: fields.first { $0.key == "hq_url" }.flatMap { reader.string($0.value, "hq_url") },
                                thumbMediaId: thumb))
        case "news":
            let items: [Node]
            if case .sequence(let list) = value { items = Array(list) } else { items = [value] }
            var articles: [RuleReply.NewsArticle] = []
            for item in items {
                guard let fields = reader.mapping(item, "a news article", allowed: ["title", "description", "url", "picurl"]) else { continue }
                guard let title = optionalTemplate(fields, "title") else {
                    reader.error("missing-key", item, "a news article needs a title", hint: "add title: …")
                    continue
                }
                articles.append(.init(title: title, description: optionalTemplate(fields, "description"),
                                      url: fields.first { $0.key == "url" }.flatMap { reader.string($0.value, "url") },
                                      picURL: fields.first { $0.key == "picurl" }.flatMap { reader.string($0.value, "picurl") }))
            }
            guard !items.isEmpty, articles.count == items.count else {
                if items.isEmpty { reader.error("empty-list", value, "news needs at least one article", hint: "add {title: …, url: …}") }
                return nil
            }
            return .news(articles)
        default:  // transfer
            if case .scalar(let scalar) = value {
                let text = scalar.string
                if YAMLReader.yes.contains(text.lowercased()) { return .transfer(kfAccount: nil) }
                if text.contains("@") { return .transfer(kfAccount: text) }
                reader.error("wrong-type", value, "transfer must be true or an agent account such as kf2001@gh_…, not '\(text)'", hint: "write transfer: true")
                return nil
            }
            guard let fields = reader.mapping(value, "transfer", allowed: ["kf_account"]) else { return nil }
            guard let field = fields.first, let account = reader.string(field.value, "kf_account") else { return .transfer(kfAccount: nil) }
            guard account.contains("@") else {
                reader.error("wrong-type", field.value, "kf_account must be an agent account such as kf2001@gh_…, not '\(account)'",
                             hint: "copy the account from 客服功能 → 客服管理")
                return nil
            }
            return .transfer(kfAccount: account)
        }
    }

    mutating func optionalTemplate(_ fields: [(key: String, keyNode: Node, value: Node)], _ key: String) -> Template? {
        fields.first { $0.key == key }.flatMap { reader.string($0.value, key) }.map(Template.init)
    }

    /// `file:` of an image, voice or video reply: a path inside the rule-set folder (whether the
    /// file is there, and what it holds, is checked when the rule set is compiled: MediaFileChecks).
    mutating func mediaFilePath(_ node: Node, _ what: String) -> Located<String>? {
        guard let path = reader.string(node, "the \(what) file") else { return nil }
        if path.trimmingSpaces().isEmpty {
            reader.error("empty-value", node, "the \(what) file is empty", hint: "write the file's path from the rule-set folder, e.g. media/size-chart.png")
            return nil
        }
        return Located(path, at: reader.location(node))
    }

    mutating func mediaId(_ node: Node, _ what: String) -> String? {
        guard let id = reader.string(node, "\(what) media_id") else { return nil }
        let lowered = id.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            reader.error("media-url", node, "\(what) needs a media_id, not a URL",
                         hint: "passive replies can only reference uploaded material: upload it under 素材管理 (or with the material API) and paste its media_id")
            return nil
        }
        if id.isEmpty { reader.error("empty-value", node, "\(what) media_id is empty", hint: "paste the media_id from 素材管理") }
        return id.isEmpty ? nil : id
    }
}
