import Foundation
import Yams

/// Reading `services:` (the company systems a rule set may call) and `call:` steps (a flow's step,
/// or a rule's `call:`, which becomes a one-step flow named `rule:<id>`). docs/rules.md,
/// "Calling the company's systems".
extension RuleFileReader {
    static let serviceKeys = ["title", "base", "auth", "signing", "timeout", "sample", "retry", "note"]
    static let authKeys = ["bearer", "header", "basic"]
    static let callMethodKeys = CallSpec.Method.allCases.map(\.key)
    static let callStepKeys = ["call", "id"] + callMethodKeys + ["query", "body", "wait", "save", "map", "on", "note"]
    /// A rule's `call:` mapping: the step's keys, with the service under `service:`.
    static let ruleCallKeys = ["service", "id"] + callMethodKeys + ["query", "body", "wait", "save", "map", "on", "note"]
    static let branchKeys = ["reply", "goto", "cancel", "handoff", "if"]
    static let outcomeWords = ["ok", "error", "failed", "slow"]
    /// The passive reply must go out within WeChat's 5 seconds; Kefu keeps a margin (docs/serve.md, --budget-ms).
    static let maxWaitMs: Int64 = 4500

    // MARK: services

    mutating func readServices(_ node: Node, into spec: inout RuleSetSpec) {
        guard let entries = reader.mapping(node, "services", allowed: Self.keys(of: node)) else { return }
        for (name, nameNode, body) in entries {
            if let first = spec.services.first(where: { $0.name == name }) {
                reader.error("duplicate-service", nameNode, "service '\(name)' is already declared at \(first.location)", hint: "declare each service once, in one file")
                continue
            }
            if let service = readService(name, nameNode, body, directory: spec.directory) { spec.services.append(service) }
        }
    }

    static func isServiceName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    mutating func readService(_ name: String, _ nameNode: Node, _ body: Node, directory: String?) -> ServiceSpec? {
        let before = reader.diagnostics.count
        if !Self.isServiceName(name) {
            reader.error("bad-id", nameNode, "the service name '\(name)' must be one word of letters, digits, '-' or '_'", hint: "e.g. erp, crm, his")
        }
        // Keys that would hold a secret are refused before anything else, and never quoted back.
        let secretKeys = secretLookingKeys(body, at: "")
        for keyNode in secretKeys {
            reader.error("secret-in-rules", keyNode, "service '\(name)' has a key '\(keyNode.scalar?.string ?? "")' that would hold a secret; a rule file never holds one",
                         hint: "name the secret under auth: (e.g. auth: {bearer: \(name.uppercased().replacingOccurrences(of: "-", with: "_"))_TOKEN}) and give its value to the server as KEFU_SECRET_<NAME> or KEFU_SECRET_<NAME>_FILE")
        }
        let skipped = Set(secretKeys.compactMap { $0.scalar?.string })
        guard let pairs = reader.mapping(body, "service '\(name)'", allowed: Self.serviceKeys + skipped) else { return nil }
        var base: ServiceBase?, auth: ServiceAuth?, signing = ServiceSpec.defaultSigning, timeout = ServiceSpec.defaultTimeoutMs
        var title: String?, sample: Located<String>?, sampleBody: JSONValue?, attempts = ServiceSpec.defaultAttempts
        for (key, _, value) in pairs where !skipped.contains(key) {
            switch key {
            case "title": title = reader.string(value, "title")
            case "base":
                guard let text = reader.string(value, "base") else { continue }
                switch ServiceBase.parse(text.trimmingSpaces()) {
                case .success(let parsed): base = parsed
                case .failure(let problem):
                    // A user name or password in the URL is a secret too: the message never repeats the URL.
                    let shown = problem == .credentials ? "" : " '\(text)'"
                    reader.error(problem == .credentials ? "secret-in-rules" : "bad-base", value, "the base URL\(shown) of service '\(name)' \(problem.sentence)",
                                 hint: problem == .credentials ? "write auth: {basic: {user: kefu, password: \(Self.secretName(for: name, "PASSWORD"))}} and give the password as KEFU_SECRET_\(Self.secretName(for: name, "PASSWORD"))"
                                                               : "e.g. base: https://erp.example.com/api")
                }
            case "auth": auth = readAuth(value, service: name)
            case "signing": signing = secretName(value, "signing", service: name) ?? signing
            case "timeout": timeout = milliseconds(value, "timeout", max: ServiceSpec.maxTimeoutMs, code: "bad-duration",
                                                   hint: "at most \(ServiceSpec.maxTimeoutMs / 1000)s: WeChat stops retrying after 15 seconds") ?? timeout
            case "sample":
                guard let path = reader.string(value, "sample") else { continue }
                sample = Located(path, at: reader.location(value))
                sampleBody = readSample(path, value, directory: directory)
            case "retry":
                guard let n = reader.int(value, "retry") else { continue }
                if (1...20).contains(n) { attempts = n } else {
                    reader.error("bad-retry", value, "retry must be how many times a write is tried in all, from 1 to 20, not \(n)",
                                 hint: "e.g. retry: 8 (the default); 1 tries once and never again")
                }
            default: _ = reader.string(value, "note")
            }
        }
        if !pairs.contains(where: { $0.key == "base" }) {
            reader.error("missing-key", body, "service '\(name)' needs 'base', the address calls go to", hint: "e.g. base: https://erp.example.com/api")
        }
        guard reader.diagnostics.count == before, let base else { return nil }
        var service = ServiceSpec(name: name, title: title, base: base, auth: auth, signing: signing, timeoutMs: timeout, attempts: attempts,
                                  location: reader.location(nameNode))
        service.sample = sample
        service.sampleBody = sampleBody
        return service
    }

    static func secretName(for service: String, _ what: String) -> String {
        service.uppercased().replacingOccurrences(of: "-", with: "_") + "_" + what
    }

    /// Keys anywhere in a service that look like they hold a secret (`token:`, `password:`, `api_key:`,
    /// `secret:` …), except where the secret's NAME is written: `auth.basic.password` and the header
    /// names of `auth.header`.
    func secretLookingKeys(_ node: Node, at path: String) -> [Node] {
        guard case .mapping(let mapping) = node else {
            if case .sequence(let items) = node { return items.flatMap { secretLookingKeys($0, at: path + "[]") } }
            return []
        }
        var found: [Node] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { continue }
            let here = path.isEmpty ? key : path + "." + key
            if path == "auth.header" || here == "auth.basic.password" { continue }
            if Self.isSecretKey(key) { found.append(keyNode); continue }
            found += secretLookingKeys(value, at: here)
        }
        return found
    }

    static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased().replacingOccurrences(of: "-", with: "_")
        let words: Set<String> = ["token", "access_token", "password", "passwd", "pwd", "api_key", "apikey", "secret", "client_secret", "private_key", "key", "signing_key"]
        return words.contains(k) || k.hasSuffix("_token") || k.hasSuffix("_secret") || k.hasSuffix("_password")
    }

    /// `{bearer: NAME}`, `{header: {X-Api-Key: NAME}}`, `{basic: {user: kefu, password: NAME}}`.
    mutating func readAuth(_ node: Node, service: String) -> ServiceAuth? {
        let example = "auth: {bearer: \(Self.secretName(for: service, "TOKEN"))}, {header: {X-Api-Key: \(Self.secretName(for: service, "KEY"))}} or {basic: {user: kefu, password: \(Self.secretName(for: service, "PASSWORD"))}}"
        if case .scalar = node {
            // `auth: sk_live_…` or `auth: Bearer …`: never quoted back.
            reader.error("secret-in-rules", node, "auth of service '\(service)' must say how and name the secret, not be a text",
                         hint: "write " + example + "; the value goes to the server as KEFU_SECRET_<NAME> or KEFU_SECRET_<NAME>_FILE")
            return nil
        }
        guard let pairs = reader.mapping(node, "auth of service '\(service)'", allowed: Self.authKeys) else { return nil }
        guard pairs.count == 1, let (key, _, value) = pairs.first else {
            reader.error(pairs.isEmpty ? "missing-key" : "bad-auth", node,
                         pairs.isEmpty ? "auth of service '\(service)' is empty" : "auth of service '\(service)' has one form, not \(pairs.map(\.key).joined(separator: " and "))",
                         hint: "write " + example)
            return nil
        }
        switch key {
        case "bearer":
            return secretName(value, "auth.bearer", service: service).map { .bearer(secret: $0) }
        case "header":
            guard let fields = reader.mapping(value, "auth.header", allowed: Self.keys(of: value)) else { return nil }
            guard fields.count == 1, let (header, headerNode, secret) = fields.first else {
                reader.error("bad-auth", value, "auth.header names one header and its secret, e.g. {X-Api-Key: \(Self.secretName(for: service, "KEY"))}",
                             hint: "sign with one header; for more, ask the service for a bearer token")
                return nil
            }
            if header.isEmpty || !header.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) {
                reader.error("bad-auth", headerNode, "'\(header)' is not a header name", hint: "letters, digits and '-', e.g. X-Api-Key")
                return nil
            }
            return secretName(secret, "auth.header.\(header)", service: service).map { .header(name: header, secret: $0) }
        default:
            guard let fields = reader.mapping(value, "auth.basic", allowed: ["user", "password"]) else { return nil }
            var user: String?, password: String?
            for (field, _, v) in fields {
                if field == "user" { user = reader.string(v, "auth.basic.user") } else { password = secretName(v, "auth.basic.password", service: service) }
            }
            if !fields.contains(where: { $0.key == "user" }) || !fields.contains(where: { $0.key == "password" }) {
                reader.error("missing-key", value, "auth.basic needs user (as written) and password (the secret's name)",
                             hint: "e.g. basic: {user: kefu, password: \(Self.secretName(for: service, "PASSWORD"))}")
                return nil
            }
            guard let user, let password else { return nil }
            return .basic(user: user, secret: password)
        }
    }

    /// A secret's NAME (`ERP_TOKEN`: capitals, digits, `_`), whose value the server reads from
    /// `KEFU_SECRET_<NAME>` or the file named by `KEFU_SECRET_<NAME>_FILE`. Anything else is taken
    /// for a pasted secret: `secret-in-rules`, and the value is never repeated.
    mutating func secretName(_ node: Node, _ what: String, service: String) -> String? {
        guard case .scalar(let scalar) = node else {
            reader.error("wrong-type", node, "\(what) must be a secret's name such as \(Self.secretName(for: service, "TOKEN")), not \(YAMLReader.describe(node))",
                         hint: "the value goes to the server as KEFU_SECRET_<NAME> or KEFU_SECRET_<NAME>_FILE")
            return nil
        }
        let text = scalar.string
        if Self.isSecretName(text), !Self.looksLikeSecret(text) { return text }
        // A plain word written in small letters (erp_token) is a name written the wrong way, and safe to show.
        let word = !Self.looksLikeSecret(text) && !text.isEmpty && text.count <= 32
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0 == "_" || $0 == "-") }
        let suggestion = word ? text.uppercased().replacingOccurrences(of: "-", with: "_") : Self.secretName(for: service, "TOKEN")
        reader.error("secret-in-rules", node,
                     word ? "\(what) of service '\(service)' must be a secret's name in capitals, digits and '_', such as \(suggestion)"
                          : "\(what) of service '\(service)' looks like a secret itself; a rule file only names its secrets",
                     hint: "write \(what.split(separator: ".").last ?? ""): \(suggestion), and give the value to the server as KEFU_SECRET_\(suggestion) (or a file named by KEFU_SECRET_\(suggestion)_FILE)"
                        + (word ? "" : "; the value was in this file, so change the secret at the service too"))
        return nil
    }

    /// What a pasted secret looks like: a known prefix (`sk_`, `whsec_`, `Bearer `, a JWT's `eyJ`,
    /// an AWS key's `AKIA` …), spaces or base64 signs, or a long run of letters and digits without
    /// the `_` that names have.
    static func looksLikeSecret(_ text: String) -> Bool {
        let lower = text.lowercased()
        let prefixes = ["sk_", "sk-", "pk_", "rk_", "whsec_", "bearer ", "basic ", "token ", "ghp_", "gho_", "github_pat_", "xox", "eyj", "akia", "-----begin"]
        if prefixes.contains(where: { lower.hasPrefix($0) }) { return true }
        if text.contains(where: { " +/=.:".contains($0) }) { return true }
        let digits = text.filter(\.isNumber).count
        let hasLower = text.contains(where: \.isLowercase), hasUpper = text.contains(where: \.isUppercase)
        if text.count >= 16, digits > 0, !text.contains("_") { return true }
        if text.count >= 12, digits >= 2, hasLower, hasUpper || digits * 4 >= text.count { return true }
        return false
    }

    static func isSecretName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first), text.count <= 64 else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// `sample:` a JSON file relative to the rule-set folder (files given in memory: not read).
    mutating func readSample(_ path: String, _ node: Node, directory: String?) -> JSONValue? {
        if path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            reader.error("bad-sample", node, "sample must be a file inside the rule-set folder, not '\(path)'", hint: "e.g. sample: samples/erp-order.json")
            return nil
        }
        guard let directory else { return nil }
        let full = (directory.hasSuffix("/") ? directory : directory + "/") + path
        guard let data = FileManager.default.contents(atPath: full) else {
            reader.error("missing-sample", node, "the sample response '\(path)' is not in the rule-set folder", hint: "save a response of the service there as JSON, or remove sample:")
            return nil
        }
        guard let value = JSONValue.parse(data) else {
            reader.error("bad-sample", node, "the sample response '\(path)' is not JSON", hint: "save the service's answer as it comes (UTF-8 JSON), e.g. from curl")
            return nil
        }
        return value
    }

    /// `800ms`, `2s`, `1.5s` → milliseconds (1 … `max`).
    mutating func milliseconds(_ node: Node, _ what: String, max: Int64, code: String, hint: String) -> Int64? {
        guard let text = reader.string(node, what) else { return nil }
        guard let ms = Self.milliseconds(text), ms > 0 else {
            reader.error("bad-duration", node, "\(what) must be a duration such as 800ms, 2s or 1.5s, not '\(text)'", hint: "a number followed by ms or s")
            return nil
        }
        if ms > max {
            reader.error(code, node, "\(what) is \(text), longer than \(Self.describeMs(max))", hint: hint)
            return nil
        }
        return ms
    }

    static func milliseconds(_ text: String) -> Int64? {
        if text.hasSuffix("ms"), let n = Int64(text.dropLast(2)), n >= 0, n <= 86_400_000 { return n }
        if text.hasSuffix("s"), !text.hasSuffix("ms") {
            let number = text.dropLast()
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let seconds = Double(number), seconds <= 86_400 else { return nil }
            return Int64((seconds * 1000).rounded())
        }
        return nil
    }

    static func describeMs(_ ms: Int64) -> String { ms % 1000 == 0 ? "\(ms / 1000)s" : ms > 1000 ? "\(Double(ms) / 1000)s" : "\(ms)ms" }

    // MARK: call steps

    /// A `- call: SERVICE` step of a flow; its id is "" when not written (readFlow gives the default).
    mutating func readCallStep(_ node: Node, flow: String) -> StepSpec? {
        let before = reader.diagnostics.count
        let read = reader.mapping(node, "the call step of flow '\(flow)'", allowed: Self.callStepKeys)
        slowHint(since: before)
        guard let pairs = read else { return nil }
        guard let serviceNode = pairs.first(where: { $0.key == "call" })?.value, let service = reader.string(serviceNode, "call") else { return nil }
        return readCall(pairs, node: node, service: Located(service, at: reader.location(serviceNode)), flow: flow)
    }

    /// `slow:` beside `on:` instead of under it: say where it goes.
    mutating func slowHint(since before: Int) {
        guard let index = reader.diagnostics.indices.dropFirst(before).last(where: { reader.diagnostics[$0].code == "unknown-key" && reader.diagnostics[$0].message.hasPrefix("unknown key 'slow'") }) else { return }
        reader.diagnostics[index].hint = "slow: is one of the outcomes: write it under on:, e.g. on: {ok: …, error: …, slow: 正在为您查询，结果稍后发给您。}"
    }

    mutating func readCall(_ pairs: [(key: String, keyNode: Node, value: Node)], node: Node, service: Located<String>, flow: String) -> StepSpec? {
        let before = reader.diagnostics.count
        let methods = pairs.filter { Self.callMethodKeys.contains($0.key) }
        guard methods.count == 1, let (methodKey, _, pathNode) = methods.first, let method = CallSpec.Method(rawValue: methodKey.uppercased()) else {
            reader.error(methods.isEmpty ? "missing-key" : "several-methods", methods.dropFirst().first?.keyNode ?? node,
                         methods.isEmpty ? "the call to '\(service.value)' needs a method and path: get:, post:, put:, patch: or delete:"
                                         : "the call to '\(service.value)' makes one request, not \(methods.map(\.key).joined(separator: " and "))",
                         hint: "e.g. get: /orders/{{order}} or post: /tickets")
            return nil
        }
        guard let pathText = reader.string(pathNode, methodKey) else { return nil }
        if !pathText.hasPrefix("/") {
            reader.error("bad-path", pathNode, "the path of \(methodKey): must start with '/' (it goes below the service's base), not '\(pathText)'",
                         hint: "write only the path, e.g. \(methodKey): /orders/{{order}}; the host is the service's base:")
        } else if pathText.contains("?") || pathText.contains("#") {
            reader.error("bad-path", pathNode, "the path of \(methodKey): cannot carry a query or a fragment", hint: "put parameters under query:, e.g. query: {dept: '{{department}}'}")
        } else if pathText.contains("://") {
            reader.error("bad-path", pathNode, "the path of \(methodKey): is a path below the service's base, not a URL", hint: "declare the host as a service's base:")
        }
        var call = CallSpec(id: "", service: service, method: method, path: Located(Template(pathText), at: reader.location(pathNode)), location: reader.location(node))
        for variable in call.path.value.variables where variable.isEmpty {
            reader.error("bad-path", pathNode, "the path has an empty {{}}", hint: "name a slot inside, e.g. {{order}}")
        }
        for (key, keyNode, value) in pairs {
            switch key {
            case "id":
                guard let id = reader.string(value, "id") else { continue }
                if id.isEmpty || id.contains(where: { " \t:/{}".contains($0) }) {
                    reader.error("bad-id", value, "the call id '\(id)' must be one word without spaces, ':', '/' or braces", hint: "e.g. id: lookup-order")
                } else {
                    call.id = id
                }
            case "query":
                guard let fields = reader.mapping(value, "query", allowed: Self.keys(of: value)) else { continue }
                for (name, nameNode, v) in fields {
                    guard let text = scalarText(v, "query.\(name)") else { continue }
                    if Self.isSecretKey(name), !text.contains("{{") {
                        reader.error("secret-in-rules", nameNode, "query.\(name) would put a secret in the rule file (and in every URL that is logged)",
                                     hint: "authenticate with the service's auth: (a secret's name, read from KEFU_SECRET_<NAME>)")
                        continue
                    }
                    call.query.append((name, Template(text)))
                }
            case "body":
                if !method.isWrite {
                    reader.error("body-on-read", keyNode, "a GET has no body", hint: "send what the service needs to look up in the path or under query:, or use post: if it changes something")
                    continue
                }
                call.body = jsonTemplate(value, depth: 0)
            case "wait":
                call.waitMs = milliseconds(value, "wait", max: Self.maxWaitMs, code: "wait-over-budget",
                                           hint: "the passive reply must go out within WeChat's 5 seconds: wait at most 4.5s, and write on: {slow: …} for what to say while a slower call goes on (its result is sent later)")
            case "save":
                guard let fields = reader.mapping(value, "save", allowed: Self.keys(of: value)) else { continue }
                for (slot, slotNode, v) in fields {
                    if slot.isEmpty || slot.contains(where: { " \t{}.[]".contains($0) }) {
                        reader.error("bad-id", slotNode, "the slot name '\(slot)' must be one word without spaces, braces, '.' or '['", hint: "e.g. status, carrier, 状态")
                        continue
                    }
                    guard let text = reader.string(v, "save.\(slot)") else { continue }
                    switch JSONPath.parse(text) {
                    case .success(let path): call.save.append((slot, path, reader.location(slotNode)))
                    case .failure(let problem):
                        var at = reader.location(v)
                        at.column += problem.offset
                        reader.diagnostics.append(Diagnostic(.error, "bad-json-path", at: at, "save.\(slot): \(problem.message)",
                                                             hint: "a path starts at $ and goes down by .field, [0] (the first; [-1] the last) or [*] (every element), e.g. $.shipment.carrier"))
                    }
                }
            case "map":
                guard let fields = reader.mapping(value, "map", allowed: Self.keys(of: value)) else { continue }
                for (slot, slotNode, codes) in fields {
                    guard let entries = reader.mapping(codes, "map.\(slot)", allowed: Self.keys(of: codes)) else { continue }
                    if entries.isEmpty { reader.error("empty-value", codes, "map.\(slot) is empty", hint: "e.g. map: {\(slot): {SHIPPED: 已发货, CREATED: 待发货}}") }
                    var words: [String: String] = [:]
                    for (code, _, word) in entries { if let text = scalarText(word, "map.\(slot).\(code)") { words[code] = text } }
                    if !pairs.contains(where: { $0.key == "save" && Self.keys(of: $0.value).contains(slot) }) {
                        reader.error("map-not-saved", slotNode, "map.\(slot) turns codes of slot '\(slot)' into words, but this call does not save '\(slot)'",
                                     hint: Suggestions.closest(to: slot, in: call.save.map(\.slot)).map { "did you mean '\($0)'?" } ?? "add it under save:, e.g. save: {\(slot): $.\(slot)}")
                    }
                    call.map[slot] = words
                }
            case "on":
                readOutcomes(value, into: &call)
            case "note": _ = reader.string(value, "note")
            default: break  // call / service and the method: read above
            }
        }
        if !pairs.contains(where: { $0.key == "on" }) || (!call.branches.keys.contains(.error) && !(method.isWrite && call.branches.keys.contains(.failed))) {
            if reader.diagnostics.count == before {
                reader.error("call-without-error", pairs.first(where: { $0.key == "on" })?.value ?? node,
                             method.isWrite ? "the \(method.rawValue) to '\(service.value)' says nothing for when it cannot be made: it needs on: error: or failed:"
                                            : "the call to '\(service.value)' says nothing for when the system is down or answers something unexpected: it needs on: error:",
                             hint: "write what the customer sees then, e.g. error: 系统暂时忙，请稍后再试，或回复“人工”。" + (method.isWrite ? " (failed: runs when the retries ran out)" : ""))
            }
        }
        guard reader.diagnostics.count == before else { return nil }
        return StepSpec(kind: .call(call), label: call.id, ask: Located(Template(""), at: reader.location(node)), expectation: .text(1...500), retry: [],
                        maxAttempts: StepSpec.defaultMaxAttempts, onFail: .cancel, condition: [:], change: nil, location: reader.location(node))
    }

    /// The text of a scalar (query values, map words): numbers and words as written.
    mutating func scalarText(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            reader.error("wrong-type", node, "\(what) must be text, not \(YAMLReader.describe(node))", hint: "quote it if it contains ': ' or starts with '{'")
            return nil
        }
        return scalar.string
    }

    /// A body as YAML: mappings and lists as JSON objects and arrays; unquoted true/false, null and
    /// numbers as JSON's; any other text (and anything quoted) a string, with `{{slot}}` filled.
    mutating func jsonTemplate(_ node: Node, depth: Int) -> JSONTemplate? {
        if depth > 32 {
            reader.error("wrong-type", node, "the body is nested more than 32 deep", hint: "send a flatter body")
            return nil
        }
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            guard scalar.style == .plain || scalar.style == .any else { return .string(Template(text)) }
            if YAMLReader.isNull(node) { return .null }
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
            if Self.isJSONNumber(text), let n = Double(text) { return .number(n) }
            return .string(Template(text))
        case .sequence(let items):
            var out: [JSONTemplate] = []
            for item in items { if let v = jsonTemplate(item, depth: depth + 1) { out.append(v) } else { return nil } }
            return .array(out)
        case .mapping(let mapping):
            var out: [(key: String, value: JSONTemplate)] = []
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string else {
                    reader.error("wrong-type", keyNode, "keys of the body must be names", hint: "write name: value")
                    return nil
                }
                guard let v = jsonTemplate(value, depth: depth + 1) else { return nil }
                out.append((key, v))
            }
            return .object(out)
        case .alias:
            reader.error("wrong-type", node, "the body cannot use a YAML alias", hint: "write the value out")
            return nil
        }
    }

    /// JSON's number grammar (`-0.5`, `12`, `1e3`; not `+1`, `.5`, `012`, `0x1F`, `13800138000` is one).
    static func isJSONNumber(_ text: String) -> Bool {
        let c = Array(text.utf8)
        var i = 0
        func digits() -> Int { let s = i; while i < c.count, (48...57).contains(c[i]) { i += 1 }; return i - s }
        if i < c.count, c[i] == UInt8(ascii: "-") { i += 1 }
        guard i < c.count else { return false }
        if c[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < c.count, c[i] == UInt8(ascii: ".") { i += 1; if digits() == 0 { return false } }
        if i < c.count, c[i] == UInt8(ascii: "e") || c[i] == UInt8(ascii: "E") {
            i += 1
            if i < c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == c.count
    }

    // MARK: outcomes

    /// `on:` — ok, error, failed (writes), slow (a text), and statuses such as 404.
    mutating func readOutcomes(_ node: Node, into call: inout CallSpec) {
        guard case .mapping(let mapping) = node else {
            reader.error("wrong-type", node, "on must be a mapping of outcomes, not \(YAMLReader.describe(node))",
                         hint: "e.g. on: {ok: 订单状态：{{status}}, 404: 没有查到这个订单, error: 系统忙，请稍后再试}")
            return
        }
        if mapping.isEmpty { reader.error("empty-value", node, "on is empty", hint: "say at least what happens on error:") }
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                reader.error("wrong-type", keyNode, "the outcomes of on: are words or statuses", hint: "ok, error, failed, slow or a status such as 404")
                continue
            }
            if key == "slow" {
                call.slow = nonEmptyTemplate(value, "on.slow")
                if case .mapping = value { reader.diagnostics[reader.diagnostics.count - 1].hint = "slow: is only the text said while the call goes on, e.g. slow: 正在为您查询，结果稍后发给您。" }
                continue
            }
            guard let outcome = CallOutcome(key: key) else {
                let status = key.count == 3 && key.first.map { "12345".contains($0) } == true
                reader.error("unknown-outcome", keyNode, "'\(key)' is not an outcome of a call",
                             hint: status ? "write each status with its own branch, e.g. 404: or 409:; any other answer takes error:"
                                          : Suggestions.hint(for: key, among: Self.outcomeWords) + "; or a status such as 404")
                continue
            }
            if outcome == .failed, !call.method.isWrite {
                reader.error("failed-on-read", keyNode, "failed: runs when a write's retries ran out; a GET is not retried",
                             hint: "write what the customer sees when the lookup does not work under error:")
                continue
            }
            if let branches = readBranches(value, outcome: key) { call.branches[outcome] = Located(branches, at: reader.location(keyNode)) }
        }
    }

    /// One outcome's value: a text; a mapping {reply, goto, cancel, handoff, if}; or a list of
    /// those, the first whose if holds taken (only the last may go without if).
    mutating func readBranches(_ node: Node, outcome: String) -> [CallBranch]? {
        guard case .sequence(let items) = node else { return readBranch(node, outcome: outcome).map { [$0] } }
        if items.isEmpty {
            reader.error("empty-list", node, "on.\(outcome) is an empty list", hint: "write a text, or entries with if: and reply:")
            return nil
        }
        var branches: [CallBranch] = []
        for (index, item) in items.enumerated() {
            guard let branch = readBranch(item, outcome: outcome) else { continue }
            if index < items.count - 1, branch.condition.isEmpty, branch.comparisons.isEmpty {
                reader.error("branch-without-if", item, "entry \(index + 1) of on.\(outcome) has no if:, so the entries after it are never taken",
                             hint: "give it an if:, or move it to the end of the list (the last entry is what happens otherwise)")
            }
            branches.append(branch)
        }
        return branches.count == items.count ? branches : nil
    }

    mutating func readBranch(_ node: Node, outcome: String) -> CallBranch? {
        if case .scalar = node {
            return readReply(node).map { CallBranch(reply: $0, then: .next, location: reader.location(node)) }
        }
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "on.\(outcome)", allowed: Self.branchKeys) else { return nil }
        var branch = CallBranch(location: reader.location(node))
        if pairs.isEmpty {
            reader.error("empty-value", node, "on.\(outcome) is empty", hint: "e.g. {reply: 没有查到, goto: order}")
            return nil
        }
        let moves = pairs.filter { ["goto", "cancel", "handoff"].contains($0.key) }
        if moves.count > 1 {
            reader.error("several-moves", moves[1].keyNode, "on.\(outcome) can go one way, not \(moves.map(\.key).joined(separator: " and "))",
                         hint: "goto: asks a step again, cancel: ends the flow, handoff: transfers to a person")
            return nil
        }
        for (key, keyNode, value) in pairs {
            switch key {
            case "reply": branch.reply = readReply(value)
            case "goto":
                guard let slot = reader.string(value, "goto") else { continue }
                branch.then = .goto(slot)
            case "cancel", "handoff":
                let then: CallBranch.Then = key == "cancel" ? .cancel : .handoff
                if case .scalar(let scalar) = value, YAMLReader.yes.contains(scalar.string.lowercased()) {
                    branch.then = then
                } else if case .scalar(let scalar) = value, YAMLReader.no.contains(scalar.string.lowercased()) || YAMLReader.isNull(value) {
                    reader.error("wrong-type", value, "\(key) must be true or the text to say, not '\(scalar.string)'", hint: "remove \(key): to go on to the next step")
                } else if pairs.contains(where: { $0.key == "reply" }) {
                    reader.error("several-replies", keyNode, "on.\(outcome) has a reply: and a text under \(key):; say it once",
                                 hint: "write \(key): true beside reply:, or only \(key): 文字")
                } else if let text = nonEmptyTemplate(value, "\(key)") {
                    branch.reply = .text(text)
                    branch.then = then
                }
            default:
                let (condition, comparisons) = readIf(value)
                branch.condition = condition
                branch.comparisons = comparisons
            }
        }
        return reader.diagnostics.count == before ? branch : nil
    }

    /// `if:` — slot → a value, a list of values, or a comparison (`"> 10"`, `{not: [a, b]}`).
    mutating func readIf(_ value: Node) -> (condition: [String: [Located<String>]], comparisons: [String: SlotComparison]) {
        var condition: [String: [Located<String>]] = [:], comparisons: [String: SlotComparison] = [:]
        guard let conditions = reader.mapping(value, "if", allowed: Self.keys(of: value)) else { return ([:], [:]) }
        if conditions.isEmpty { reader.error("empty-value", value, "'if' is empty", hint: "e.g. if: {reason: 质量问题}") }
        for (slot, _, values) in conditions {
            if let comparison = readComparison(values, slot: slot) {
                comparisons[slot] = comparison
            } else if let list = reader.strings(values, "the values of if.\(slot)") {
                condition[slot] = list
            }
        }
        return (condition, comparisons)
    }

    // MARK: a rule's call

    /// `call: {service: erp, get: …, on: …}` of a rule: the one step of a flow named `rule:<id>`.
    mutating func readRuleCall(_ node: Node, ruleID: String?) -> FlowSpec? {
        let before = reader.diagnostics.count
        let read = reader.mapping(node, "the call of rule '\(ruleID ?? "?")'", allowed: Self.ruleCallKeys)
        slowHint(since: before)
        guard let pairs = read else {
            if case .scalar = node {
                reader.diagnostics[reader.diagnostics.count - 1].hint = "a rule's call is a mapping with the service under service:, e.g. call: {service: erp, get: /orders/{{order}}, on: {ok: …, error: …}}"
            }
            return nil
        }
        guard let serviceNode = pairs.first(where: { $0.key == "service" })?.value else {
            reader.error("missing-key", node, "the call of rule '\(ruleID ?? "?")' needs service: (which of services: it calls)", hint: "e.g. call: {service: erp, get: /orders/{{order}}, …}")
            return nil
        }
        guard let service = reader.string(serviceNode, "service"), var step = readCall(pairs, node: node, service: Located(service, at: reader.location(serviceNode)), flow: "rule:\(ruleID ?? "?")"),
              let ruleID else { return nil }
        if case .call(var call) = step.kind, call.id.isEmpty {
            call.id = "\(service)-\(call.method.key)"
            step.kind = .call(call)
            step.label = call.id
        }
        let name = Self.ruleFlowPrefix + ruleID
        return FlowSpec(name: name, title: ruleID, expires: FlowSpec.defaultExpiry, steps: [step],
                        done: Located(.text(Template("")), at: reader.location(node)), location: reader.location(node))
    }

    static let ruleFlowPrefix = "rule:"

    /// Gives call steps without an `id:` theirs (`<service>-<method>`, then -2, -3 … in the flow) and
    /// reports two steps with one id.
    mutating func nameCallSteps(_ flow: inout FlowSpec) {
        var taken: [String: SourceLocation] = [:]
        for step in flow.steps {
            guard let call = step.call, !call.id.isEmpty else { continue }
            if let first = taken[call.id] {
                reader.diagnostics.append(Diagnostic(.error, "duplicate-step-id", at: call.location, "flow '\(flow.name)' has two calls with id '\(call.id)' (the first at \(first))",
                                                     hint: "give each call of the flow its own id: (it is part of each write's idempotency key)"))
            }
            taken[call.id] = call.location
        }
        for index in flow.steps.indices {
            guard case .call(var call) = flow.steps[index].kind, call.id.isEmpty else { continue }
            let base = "\(call.service.value)-\(call.method.key)"
            var id = base, n = 2
            while taken[id] != nil { id = "\(base)-\(n)"; n += 1 }
            taken[id] = call.location
            call.id = id
            flow.steps[index].kind = .call(call)
            flow.steps[index].label = id
        }
    }
}
