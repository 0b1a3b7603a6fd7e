import Foundation
import KefuDialogue
import KefuRules
import KefuWeChat
import Yams

/// Reads conversation-test files: each a YAML document with `cases:`. Every problem is reported
/// with its file:line:col and what to write instead; a broken file yields no cases at all.
public enum CorpusLoader {
    static let caseKeys = ["name", "start", "user", "steps", "mock", "note"]
    static let actionKeys = ["say", "event", "wait", "resend"]
    static let expectationKeys = ["reply", "contains", "not_contains", "regex", "type", "rule", "intent", "flow", "step", "slots", "paused", "sent", "calls"]
    static let eventWords = ["subscribe", "unsubscribe", "image", "voice", "video", "shortvideo", "location", "link", "file", "kf_close"]
    static let eventKeys = ["subscribe", "scan", "click", "view", "voice", "location", "link", "image"]

    /// The `.yaml` / `.yml` files under each path (a file or a folder), sorted, without repeats.
    public static func files(in paths: [String]) throws(CorpusError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CorpusError([Diagnostic(.error, "no-corpus", at: SourceLocation(file: path, line: 1, column: 1),
                                              "'\(path)' does not exist", hint: "pass a case file or a folder of them, e.g. Corpora/shop")])
            }
            if !isDirectory.boolValue { files.append(path); continue }
            let base = path.hasSuffix("/") ? path : path + "/"
            let enumerator = FileManager.default.enumerator(atPath: path)
            var found: [String] = []
            while let relative = enumerator?.nextObject() as? String {
                if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                if relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") { found.append(base + relative) }
            }
            if found.isEmpty {
                throw CorpusError([Diagnostic(.error, "no-corpus", at: SourceLocation(file: path, line: 1, column: 1),
                                              "the folder has no .yaml case files", hint: "case files end in .yaml or .yml")])
            }
            files += found.sorted()
        }
        var seen: Set<String> = []
        return files.filter { seen.insert($0).inserted }
    }

    /// Loads every case of the files under `paths`.
    public static func load(paths: [String]) throws(CorpusError) -> [ConversationCase] {
        var sources: [(String, String)] = []
        for file in try files(in: paths) {
            guard let data = FileManager.default.contents(atPath: file), let text = String(validating: data, as: UTF8.self) else {
                throw CorpusError([Diagnostic(.error, "unreadable-file", at: SourceLocation(file: file, line: 1, column: 1),
                                              "cannot read the file as UTF-8 text", hint: "save it as UTF-8")])
            }
            sources.append((file, text))
        }
        return try parse(files: sources)
    }

    /// The `mock:` of case files (the file-level ones and every case's), for `kefu chat --mock`.
    public static func mocks(paths: [String]) throws(CorpusError) -> [SimulatedCalls.Mock] {
        var mocks: [SimulatedCalls.Mock] = []
        for c in try load(paths: paths) { for m in c.mocks where !mocks.contains(m) { mocks.append(m) } }
        return mocks
    }

    /// Parses case files given as (path, text).
    public static func parse(files: [(path: String, text: String)]) throws(CorpusError) -> [ConversationCase] {
        var cases: [ConversationCase] = []
        var diagnostics: [Diagnostic] = []
        for (path, text) in files {
            var reader = CaseFileReader(reader: YAMLReader(file: path))
            cases += reader.read(text)
            diagnostics += reader.reader.diagnostics
        }
        if !diagnostics.isEmpty { throw CorpusError(diagnostics) }
        return cases
    }
}

struct CaseFileReader {
    var reader: YAMLReader

    mutating func read(_ text: String) -> [ConversationCase] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            reader.diagnostics.append(RuleFileReader.syntaxDiagnostic(error, file: reader.file))
            return []
        } catch {
            reader.error("yaml-syntax", nil, "YAML syntax: \(error)", hint: "check indentation (spaces, not tabs) and quote text that contains ': ' or '#'")
            return []
        }
        guard let root else { return [] }
        guard let top = reader.mapping(root, "a case file", allowed: ["cases", "mock", "note"]) else { return [] }
        // A file's mock: answers in every case of the file, after the case's own.
        let shared = top.first(where: { $0.key == "mock" }).map { readMocks($0.value) } ?? []
        guard let casesNode = top.first(where: { $0.key == "cases" })?.value else {
            if CaseFileReader.keys(of: root).contains(where: { !["cases", "mock", "note"].contains($0) }) { return [] }  // the misspelling was reported
            reader.error("missing-key", root, "a case file needs 'cases:', a list of conversations", hint: "cases:\n  - name: …\n    steps:\n      - say: 你好")
            return []
        }
        guard case .sequence(let list) = casesNode else {
            reader.error("wrong-type", casesNode, "cases must be a list (each starts with '- name:')", hint: "cases:\n  - name: …")
            return []
        }
        return list.compactMap { node in
            guard var c = readCase(node) else { return nil }
            c.mocks += shared
            return c
        }
    }

    mutating func readCase(_ node: Node) -> ConversationCase? {
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "a case", allowed: CorpusLoader.caseKeys) else { return nil }
        var result = ConversationCase(name: "", location: reader.location(node), start: .default, user: ConversationCase.defaultUser, steps: [])
        for (key, _, value) in pairs {
            switch key {
            case "name": result.name = reader.string(value, "name") ?? ""
            case "start":
                guard let text = reader.string(value, "start") else { continue }
                if let time = LocalTime(text) { result.start = time } else {
                    reader.error("bad-time", value, "start must be a local date and time such as 2026-11-25 10:00, not '\(text)'",
                                 hint: "YYYY-MM-DD HH:MM in the rule set's time zone")
                }
            case "user": result.user = reader.string(value, "user") ?? result.user
            case "mock": result.mocks = readMocks(value)
            case "steps":
                guard case .sequence(let steps) = value, !steps.isEmpty else {
                    reader.error("wrong-type", value, "steps must be a non-empty list", hint: "steps:\n  - say: 你好\n    contains: 您好")
                    continue
                }
                result.steps = steps.compactMap { readStep($0) }
            default: _ = reader.string(value, "note")
            }
        }
        if !pairs.contains(where: { $0.key == "name" }) { reader.error("missing-key", node, "a case needs a 'name'", hint: "name: 售后登记：质量问题带照片") }
        if !pairs.contains(where: { $0.key == "steps" }) { reader.error("missing-key", node, "case '\(result.name)' needs 'steps'", hint: "steps:\n  - say: 你好") }
        return reader.diagnostics.count == before ? result : nil
    }

    /// `mock: {erp: [{get: /orders/DD1, status: 200, body: {…}, delay: 6s}], his: […]}`.
    mutating func readMocks(_ node: Node) -> [SimulatedCalls.Mock] {
        guard let services = reader.mapping(node, "mock", allowed: Self.keys(of: node)) else { return [] }
        var mocks: [SimulatedCalls.Mock] = []
        let methods = CallSpec.Method.allCases.map(\.key)
        for (service, _, list) in services {
            let items: [Node]
            if case .sequence(let s) = list { items = Array(s) } else if case .mapping = list { items = [list] } else {
                reader.error("wrong-type", list, "mock.\(service) must list how the service answers, not \(YAMLReader.describe(list))",
                             hint: "e.g. mock:\n  \(service):\n    - {get: /orders/DD202406110001, status: 200, body: {status: SHIPPED}}")
                continue
            }
            for item in items {
                guard let fields = reader.mapping(item, "a mock of \(service)", allowed: methods + ["status", "body", "delay", "unreachable", "note"]) else { continue }
                let given = fields.filter { methods.contains($0.key) }
                guard given.count == 1, let method = CallSpec.Method(rawValue: given[0].key.uppercased()), let path = reader.string(given[0].value, given[0].key) else {
                    reader.error("missing-key", item, "a mock names one request: get:, post:, put:, patch: or delete: with its path",
                                 hint: "e.g. - {get: /orders/DD202406110001, status: 200, body: {status: SHIPPED}}")
                    continue
                }
                var mock = SimulatedCalls.Mock(service: service, method: method, path: path)
                for (key, _, value) in fields where !methods.contains(key) {
                    switch key {
                    case "status":
                        if let n = reader.int(value, "status") {
                            if (100...599).contains(n) { mock.status = n } else {
                                reader.error("bad-value", value, "status must be an HTTP status from 100 to 599, not \(n)", hint: "e.g. status: 404")
                            }
                        }
                    case "body": mock.body = Self.json(value)
                    case "delay":
                        if let text = reader.string(value, "delay") {
                            if let seconds = DurationText.seconds(text) { mock.delay = seconds } else {
                                reader.error("bad-duration", value, "delay must be a duration such as 2s or 6s, not '\(text)'",
                                             hint: "how long the service takes to answer, on the case's clock")
                            }
                        }
                    case "unreachable": mock.unreachable = reader.bool(value, "unreachable") ?? false
                    default: _ = reader.string(value, "note")
                    }
                }
                mocks.append(mock)
            }
        }
        return mocks
    }

    /// `calls: [erp GET /orders/DD1, {call: tickets POST /tickets, body: {order_no: DD1}}]`.
    mutating func readExpectedCalls(_ node: Node) -> [ExpectedCall]? {
        guard case .sequence(let items) = node else {
            if let one = reader.string(node, "calls") { return [ExpectedCall(summary: one)] }
            return nil
        }
        var calls: [ExpectedCall] = []
        for item in items {
            if case .mapping = item {
                guard let fields = reader.mapping(item, "an expected call", allowed: ["call", "body"]) else { continue }
                var call = ExpectedCall(summary: "")
                for (key, _, value) in fields {
                    if key == "call" { call.summary = reader.string(value, "call") ?? "" } else { call.body = Self.json(value) }
                }
                if call.summary.isEmpty { reader.error("missing-key", item, "an expected call needs 'call:'", hint: "e.g. {call: tickets POST /tickets, body: {order_no: DD202406110001}}") }
                calls.append(call)
            } else if let text = reader.string(item, "calls") {
                calls.append(ExpectedCall(summary: text))
            }
        }
        return calls
    }

    /// A YAML value as JSON (scalars: numbers and booleans as YAML reads them, the rest text).
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if YAMLReader.isNull(node) { return .null }
            if scalar.style == .plain {
                if let b = Bool(scalar.string) { return .bool(b) }
                if let n = Double(scalar.string), scalar.string.first.map({ $0.isNumber || $0 == "-" }) == true { return .number(n) }
            }
            return .string(scalar.string)
        case .sequence(let items): return .array(items.map(json))
        case .mapping(let pairs): return .object(Dictionary(pairs.map { (($0.key.scalar?.string ?? ""), json($0.value)) }, uniquingKeysWith: { _, b in b }))
        case .alias: return .null
        }
    }

    mutating func readStep(_ node: Node) -> CaseStep? {
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "a step", allowed: CorpusLoader.actionKeys + ["user", "note"] + CorpusLoader.expectationKeys) else { return nil }
        let actions = pairs.filter { CorpusLoader.actionKeys.contains($0.key) }
        guard actions.count == 1 else {
            reader.error(actions.isEmpty ? "missing-key" : "several-actions", node,
                         actions.isEmpty ? "a step needs one action: say, event, wait or resend"
                                         : "a step has one action, not \(actions.map(\.key).joined(separator: " and "))",
                         hint: "split it into one step per action, e.g. - say: 你好")
            return nil
        }
        var step = CaseStep(action: .resend, user: nil, expectations: [], location: reader.location(node), summary: "")
        let (key, _, value) = actions[0]
        switch key {
        case "say":
            guard let text = reader.string(value, "say") else { return nil }
            step.action = .say(text)
            step.summary = "say “\(text)”"
        case "event":
            guard let (content, summary) = readEvent(value) else { return nil }
            step.action = .event(content)
            step.summary = "event \(summary)"
        case "wait":
            guard let text = reader.string(value, "wait") else { return nil }
            guard let seconds = DurationText.seconds(text) else {
                reader.error("bad-duration", value, "wait must be a duration such as 90s, 31m, 2h or 1d, not '\(text)'",
                             hint: "a whole number followed by s, m, h or d")
                return nil
            }
            step.action = .wait(seconds)
            step.summary = "wait \(text)"
        default:
            if case .scalar(let scalar) = value, !YAMLReader.isNull(value), !YAMLReader.yes.contains(scalar.string.lowercased()) {
                reader.error("wrong-type", value, "resend takes no value other than true, not '\(scalar.string)'",
                             hint: "write resend: true, or remove the step")
                return nil
            }
            step.action = .resend
            step.summary = "resend (WeChat's retry of the previous message)"
        }
        if case .wait = step.action, let checked = pairs.first(where: { CorpusLoader.expectationKeys.contains($0.key) && $0.key != "sent" && $0.key != "calls" }) {
            reader.error("wrong-type", checked.keyNode, "a wait step has no reply to check, so '\(checked.key)' would never be tested",
                         hint: "put the expectation on the next step that says or does something; a wait step can check only sent: (what the API sent meanwhile) and calls: (the calls made meanwhile)")
            return nil
        }
        for (key, keyNode, value) in pairs where !CorpusLoader.actionKeys.contains(key) {
            let at = reader.location(keyNode)
            switch key {
            case "user": step.user = reader.string(value, "user")
            case "note": _ = reader.string(value, "note")
            case "reply": if let t = reader.string(value, "reply") { step.expectations.append(Located(.reply(t), at: at)) }
            case "contains": if let t = reader.strings(value, "contains") { step.expectations.append(Located(.contains(t.map(\.value)), at: at)) }
            case "not_contains": if let t = reader.strings(value, "not_contains") { step.expectations.append(Located(.notContains(t.map(\.value)), at: at)) }
            case "regex":
                guard let pattern = reader.string(value, "regex") else { continue }
                do { step.expectations.append(Located(.regex(try PatternRegex(pattern, caseless: false)), at: at)) } catch {
                    reader.error("bad-regex", value, "regex does not compile: \(error.message) (at character \(error.offset))",
                                 hint: "PCRE2 syntax; put the pattern in single quotes")
                }
            case "type":
                if let t = reader.choice(value, "type", as: Expectation.ReplyType.self) { step.expectations.append(Located(.type(t), at: at)) }
            case "rule": if let t = reader.string(value, "rule") { step.expectations.append(Located(.rule(t), at: at)) }
            case "intent": if let t = reader.string(value, "intent") { step.expectations.append(Located(.intent(t == "none" ? nil : t), at: at)) }
            case "flow": if let t = reader.string(value, "flow") { step.expectations.append(Located(.flow(t == "none" ? nil : t), at: at)) }
            case "step": if let t = reader.string(value, "step") { step.expectations.append(Located(.step(t), at: at)) }
            case "slots":
                guard let slots = reader.mapping(value, "slots", allowed: CaseFileReader.keys(of: value)) else { continue }
                var values: [String: String] = [:]
                for (slot, _, v) in slots { if let text = reader.string(v, "slot \(slot)") { values[slot] = text } }
                step.expectations.append(Located(.slots(values), at: at))
            case "calls":
                if let calls = readExpectedCalls(value) { step.expectations.append(Located(.calls(calls), at: at)) }
            case "sent":
                if case .sequence(let items) = value, items.isEmpty { step.expectations.append(Located(.sent([]), at: at)); continue }
                if let t = reader.strings(value, "sent", sentences: true) { step.expectations.append(Located(.sent(t.map(\.value)), at: at)) }
            default: if let b = reader.bool(value, "paused") { step.expectations.append(Located(.paused(b), at: at)) }
            }
        }
        return reader.diagnostics.count == before ? step : nil
    }

    static func keys(of node: Node) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.compactMap { $0.key.scalar?.string }
    }

    /// `event: subscribe`, `{subscribe: store_1}`, `{scan: x}`, `{click: KEY}`, `{view: URL}`, `image`,
    /// `{voice: 识别的文字}`, `location`, `{location: 标签}`, `{link: URL}`, `unsubscribe`, `kf_close`.
    mutating func readEvent(_ node: Node) -> (InboundMessage.Content, String)? {
        if case .scalar(let scalar) = node {
            let word = scalar.string
            switch word {
            case "subscribe": return (.event(.subscribe(scene: nil, ticket: nil)), "subscribe")
            case "unsubscribe": return (.event(.unsubscribe), "unsubscribe")
            case "image": return (.image(.init(picURL: "https://mmbiz.qpic.cn/test.jpg", mediaId: "test_image_media_id")), "image")
            case "voice": return (.voice(.init(mediaId: "test_voice_media_id", format: "amr")), "voice")
            case "video": return (.video(.init(mediaId: "test_video_media_id", thumbMediaId: "test_thumb")), "video")
            case "shortvideo": return (.shortVideo(.init(mediaId: "test_video_media_id", thumbMediaId: "test_thumb")), "shortvideo")
            case "location": return (.location(.init(latitude: 31.2304, longitude: 121.4737, scale: 15, label: "上海市黄浦区")), "location")
            case "link": return (.link(.init(title: "链接", description: "", url: "https://example.com/")), "link")
            case "file": return (.file(.init(title: "文件.pdf", description: "")), "file")
            case "kf_close": return (.event(.kfCloseSession(kfAccount: "kf2001@test")), "kf_close")
            default:
                reader.error("unknown-value", node, "event cannot be '\(word)'",
                             hint: Suggestions.hint(for: word, among: CorpusLoader.eventWords) + "; or {click: KEY}, {scan: SCENE}, {subscribe: SCENE}, {view: URL}, {voice: 识别的文字}")
                return nil
            }
        }
        guard let pairs = reader.mapping(node, "event", allowed: CorpusLoader.eventKeys) else { return nil }
        guard pairs.count == 1, let (key, _, value) = pairs.first else {
            if pairs.count > 1 { reader.error("several-actions", node, "an event step has one event", hint: "e.g. event: {click: MENU_BOOK}") }
            else if CaseFileReader.keys(of: node).isEmpty { reader.error("missing-key", node, "event is empty", hint: "e.g. event: {click: MENU_BOOK}") }
            return nil  // an unknown key was reported with a suggestion
        }
        guard let argument = reader.string(value, "event.\(key)") else { return nil }
        switch key {
        case "subscribe": return (.event(.subscribe(scene: argument, ticket: "test_ticket")), "subscribe \(argument)")
        case "scan": return (.event(.scan(scene: argument, ticket: "test_ticket")), "scan \(argument)")
        case "click": return (.event(.click(key: argument)), "click \(argument)")
        case "view": return (.event(.view(url: argument, menuId: nil)), "view \(argument)")
        case "voice": return (.voice(.init(mediaId: "test_voice_media_id", format: "amr", recognition: argument)), "voice “\(argument)”")
        case "location": return (.location(.init(latitude: 31.2304, longitude: 121.4737, scale: 15, label: argument)), "location \(argument)")
        case "image": return (.image(.init(picURL: "https://mmbiz.qpic.cn/test.jpg", mediaId: argument)), "image \(argument)")
        default: return (.link(.init(title: "链接", description: "", url: argument)), "link \(argument)")
        }
    }
}
