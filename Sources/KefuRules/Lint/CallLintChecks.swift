/// `save:` paths checked against the service's `sample:` response: a path that finds nothing
/// there is most likely misspelt (or the sample is out of date).
struct SavePathNotInSampleCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let services = Dictionary(rules.spec.services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for flow in rules.flows {
            for step in flow.steps {
                guard let call = step.call, let service = services[call.service.value], let sample = service.sampleBody else { continue }
                for entry in call.save {
                    guard let miss = Self.miss(entry.path.steps[...], in: sample, at: "$") else { continue }
                    found.append(Diagnostic(.warning, "save-path-not-in-sample", at: entry.location,
                        "save.\(entry.slot): \(entry.path.source) finds nothing in the sample of service '\(service.name)' (\(service.sample?.value ?? "")): \(miss)",
                        hint: "check the spelling against the sample; if the service really answers so, update \(service.sample?.value ?? "the sample")"))
                }
            }
        }
        return found
    }

    /// Nil when the path finds a value; else what the sample has where it stopped.
    static func miss(_ steps: ArraySlice<JSONPath.Step>, in value: JSONValue, at prefix: String) -> String? {
        guard let step = steps.first else { return nil }
        let rest = steps.dropFirst()
        switch (step, value) {
        case (.field(let name), .object(let fields)):
            guard let next = fields[name] else {
                let names = fields.keys.sorted()
                return "\(prefix) has no field '\(name)'" + (names.isEmpty ? " (it is an empty object)" : " (it has \(names.prefix(12).joined(separator: ", "))\(names.count > 12 ? " …" : ""))")
                    + (Suggestions.closest(to: name, in: names).map { "; did you mean '\($0)'?" } ?? "")
            }
            return miss(rest, in: next, at: prefix + Self.fieldText(name))
        case (.index(let n), .array(let items)):
            let i = n < 0 ? items.count + n : n
            guard items.indices.contains(i) else { return "\(prefix) is a list of \(items.count), which has no [\(n)]" }
            return miss(rest, in: items[i], at: prefix + "[\(n)]")
        case (.every, .array(let items)):
            guard !items.isEmpty else { return "\(prefix) is an empty list, so [*] finds nothing in the sample" }
            var first: String?
            for item in items {
                guard let problem = miss(rest, in: item, at: prefix + "[*]") else { return nil }
                first = first ?? problem
            }
            return first
        case (.field(let name), _):
            return "\(prefix) is \(Self.describe(value)), not an object with a field '\(name)'"
        case (.index, _), (.every, _):
            return "\(prefix) is \(Self.describe(value)), not a list"
        }
    }

    static func fieldText(_ name: String) -> String {
        name.contains(where: { " .[]".contains($0) }) ? "['\(name)']" : ".\(name)"
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "the value \(b)"
        case .number: "the number \(value.json)"
        case .string(let s): "the text \"\(s.prefix(30))\""
        case .array(let a): "a list of \(a.count)"
        case .object(let o): "an object (\(o.keys.sorted().prefix(8).joined(separator: ", ")))"
        }
    }
}

/// A service no call uses: probably a call names it wrongly, or it is left over.
struct ServiceNotCalledCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        let called = Set(rules.flows.flatMap { $0.steps.compactMap { $0.call?.service.value } })
        return rules.spec.services.filter { !called.contains($0.name) }.map { service in
            Diagnostic(.warning, "service-not-called", at: service.location, "service '\(service.name)' is declared but no call uses it",
                       hint: "call it from a flow step (- call: \(service.name)) or a rule (call: {service: \(service.name), …}), or remove it")
        }
    }
}

/// Timings of a call that cannot work as written: a `wait:` longer than the service's timeout (the
/// request gives up first), and a flow that expires before its call's request can end.
struct CallTimingCheck: LintCheck {
    func run(_ rules: CompiledRules) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let services = Dictionary(rules.spec.services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for flow in rules.flows {
            for step in flow.steps {
                guard let call = step.call, let service = services[call.service.value] else { continue }
                if let wait = call.waitMs, wait > service.timeoutMs {
                    found.append(Diagnostic(.warning, "wait-over-timeout", at: SourceSearch.key("wait", under: call.location, in: rules.spec.sources) ?? call.location,
                        "the call '\(call.id)' waits \(RuleFileReader.describeMs(wait)), but service '\(service.name)' gives up after \(RuleFileReader.describeMs(service.timeoutMs))",
                        hint: "lower wait:, or raise the service's timeout:"))
                }
                if flow.expires * 1000 < service.timeoutMs {
                    found.append(Diagnostic(.warning, "expires-before-call", at: call.location,
                        "\(CallChecks.displayName(flow)) expires after \(DurationText.describe(flow.expires)), before the call '\(call.id)' may be answered (timeout \(RuleFileReader.describeMs(service.timeoutMs)))",
                        hint: "give the flow a longer expires:"))
                }
            }
        }
        return found
    }
}
