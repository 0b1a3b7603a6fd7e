import Yams

/// Reading what describes the business rather than the conversation: `hours:` tables, `facts:`,
/// `if:` comparisons and the limits of date steps.
extension RuleFileReader {
    static let hoursDayWords = "每天, 工作日, 周末, 周一 … 周日 (or 星期一, 礼拜一), ranges 周一至周五, lists 周六、周日, a date 2026-12-25, or closed"

    // MARK: hours

    mutating func readHours(_ node: Node, into spec: inout RuleSetSpec) {
        guard let tables = reader.mapping(node, "hours", allowed: Self.keys(of: node)) else { return }
        for (name, nameNode, body) in tables {
            if let first = spec.hours.first(where: { $0.name == name }) {
                reader.error("duplicate-hours", nameNode, "hours '\(name)' is already defined at \(first.location)", hint: "give each hours table its own name")
                continue
            }
            if let table = readHoursTable(name, nameNode, body) { spec.hours.append(table) }
        }
    }

    mutating func readHoursTable(_ name: String, _ nameNode: Node, _ body: Node) -> OpeningHours? {
        let before = reader.diagnostics.count
        guard let entries = reader.mapping(body, "hours '\(name)'", allowed: Self.keys(of: body)) else { return nil }
        var table = OpeningHours(name: name, location: reader.location(nameNode))
        if entries.isEmpty { reader.error("empty-value", body, "hours '\(name)' is empty", hint: "e.g. 周一至周五: 09:00-18:00") }
        for (key, keyNode, value) in entries {
            if key == "closed" || key == "休息日" || key == "节假日" {
                guard let dates = reader.strings(value, "hours '\(name)' \(key)") else { continue }
                for date in dates {
                    if let day = Self.calendarDay(date.value) { table.dates[day.ordinal] = [] } else {
                        reader.diagnostics.append(Diagnostic(.error, "bad-date", at: date.location, "'\(date.value)' is not a date",
                                                             hint: "write dates as 2026-12-25"))
                    }
                }
                continue
            }
            guard let spans = readSpans(value, "hours '\(name)' \(key)") else { continue }
            if let day = Self.calendarDay(key) {
                table.dates[day.ordinal] = spans
            } else if let weekdays = Self.weekdays(key) {
                for weekday in weekdays { table.weekly[weekday - 1] = spans }
            } else {
                reader.error("bad-hours", keyNode, "'\(key)' in hours '\(name)' names no day", hint: "write \(Self.hoursDayWords)")
            }
        }
        return reader.diagnostics.count == before ? table : nil
    }

    /// `08:00-12:00, 13:30-17:30`, a list of such spans, or 休息 / closed.
    mutating func readSpans(_ node: Node, _ what: String) -> [OpeningHours.Span]? {
        let texts: [Located<String>]
        if case .sequence = node { guard let list = reader.strings(node, what) else { return nil }; texts = list } else {
            guard let text = reader.string(node, what) else { return nil }
            texts = [Located(text, at: reader.location(node))]
        }
        var spans: [OpeningHours.Span] = []
        for text in texts {
            let value = text.value.trimmingSpaces()
            if ["休息", "不营业", "closed", "false", "停诊"].contains(value.lowercased()) { continue }
            for part in value.split(whereSeparator: { ",，、;；".contains($0) }) {
                guard let span = Self.span(part.trimmingSpaces()) else {
                    reader.diagnostics.append(Diagnostic(.error, "bad-hours", at: text.location, "\(what): '\(part.trimmingSpaces())' is not a time span",
                                                         hint: "write spans as 08:00-12:00 (24-hour, an end before the start runs past midnight), several separated by commas, or 休息"))
                    return nil
                }
                spans.append(span)
            }
        }
        return spans.sorted { $0.start < $1.start }
    }

    static func span(_ text: String) -> OpeningHours.Span? {
        let parts = text.split(whereSeparator: { "-–—~～至到".contains($0) }).map { $0.trimmingSpaces() }
        guard parts.count == 2, let start = clockMinutes(parts[0]), let end = clockMinutes(parts[1]), start < 1440, start != end else { return nil }
        return OpeningHours.Span(start: start, end: end > start ? end : end + 1440)
    }

    /// "8:00", "08:30", "24:00" → minutes since midnight.
    static func clockMinutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), parts[1].count == 2, (0...24).contains(h), (0...59).contains(m),
              h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    static func calendarDay(_ text: String) -> CalendarDay? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...CalendarDay.daysIn(month: m, year: y)).contains(d) else { return nil }
        return CalendarDay(year: y, month: m, day: d)
    }

    static let weekdayNumbers: [Character: Int] = ["一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7]

    /// 每天, 工作日, 周末, 周三, 星期三, 礼拜三, 周一至周五, 周六、周日 → weekdays 1…7.
    static func weekdays(_ text: String) -> [Int]? {
        switch text {
        case "每天", "每日", "天天", "daily": return Array(1...7)
        case "工作日", "weekdays": return Array(1...5)
        case "周末", "weekend": return [6, 7]
        default: break
        }
        func one(_ word: Substring) -> Int? {
            var w = word.trimmingSpaces()
            for prefix in ["星期", "礼拜", "周"] where w.hasPrefix(prefix) { w = String(w.dropFirst(prefix.count)); break }
            guard w.count == 1, let n = weekdayNumbers[w.first!] else { return nil }
            return n
        }
        for separator in ["至", "到", "-", "~", "～", "—"] where text.contains(separator) {
            let ends = text.components(separatedBy: separator)
            guard ends.count == 2, let a = one(Substring(ends[0])), let b = one(Substring(ends[1])), a <= b else { return nil }
            return Array(a...b)
        }
        var days: [Int] = []
        for part in text.split(whereSeparator: { "、,，和".contains($0) }) {
            guard let n = one(part) else { return nil }
            days.append(n)
        }
        return days.isEmpty ? nil : days
    }

    // MARK: facts

    mutating func readFacts(_ node: Node, into facts: inout Facts) {
        guard let entries = reader.mapping(node, "facts", allowed: Self.keys(of: node)) else { return }
        for (name, nameNode, value) in entries {
            if let first = facts.locations[name] {
                reader.error("duplicate-fact", nameNode, "fact '\(name)' is already defined at \(first)", hint: "write each fact once")
                continue
            }
            if name.contains(where: { ".[]{} ".contains($0) }) {
                reader.error("bad-id", nameNode, "the fact name '\(name)' cannot contain '.', '[', ']', braces or spaces", hint: "e.g. 热线, 门店, hotline")
                continue
            }
            switch value {
            case .scalar:
                if let text = reader.string(value, "fact '\(name)'") { facts.values[name] = text; facts.locations[name] = reader.location(nameNode) }
            case .mapping:
                guard let rows = reader.mapping(value, "fact table '\(name)'", allowed: Self.keys(of: value)) else { continue }
                var table: [String: [String: String]] = [:]
                var ok = true
                for (row, _, fields) in rows {
                    guard let pairs = reader.mapping(fields, "row '\(row)' of fact table '\(name)'", allowed: Self.keys(of: fields)) else { ok = false; continue }
                    var values: [String: String] = [:]
                    for (field, _, v) in pairs { if let text = reader.string(v, "\(name)[\(row)].\(field)") { values[field] = text } else { ok = false } }
                    table[row] = values
                }
                if ok { facts.tables[name] = table; facts.locations[name] = reader.location(nameNode) }
            default:
                reader.error("wrong-type", value, "fact '\(name)' must be a text or a table of rows, not \(YAMLReader.describe(value))",
                             hint: "e.g. 热线: 400-820-1234, or 门店: {国贸店: {地址: …, 电话: …}}")
            }
        }
    }

    // MARK: if comparisons

    static let comparisonWords: [(String, SlotComparison.Operator)] = [
        (">=", .greaterOrEqual), ("<=", .lessOrEqual), (">", .greater), ("<", .less), ("≥", .greaterOrEqual), ("≤", .lessOrEqual),
        ("不少于", .greaterOrEqual), ("至少", .greaterOrEqual), ("不超过", .lessOrEqual), ("不多于", .lessOrEqual), ("最多", .lessOrEqual),
        ("超过", .greater), ("大于", .greater), ("多于", .greater), ("晚于", .greater), ("小于", .less), ("少于", .less), ("不到", .less),
        ("早于", .less), ("not ", .not), ("不是", .not),
    ]

    /// `"> 10"`, `超过 10`, `">= 2026-12-20"`, `not 望京店`, `{not: [a, b]}` → a comparison; nil for a plain value or list.
    mutating func readComparison(_ node: Node, slot: String) -> SlotComparison? {
        if case .mapping = node {
            guard let pairs = reader.mapping(node, "if.\(slot)", allowed: ["not"]), let pair = pairs.first,
                  let values = reader.strings(pair.value, "if.\(slot).not") else { return nil }
            return SlotComparison(op: .not, operands: values.map(\.value), location: reader.location(node))
        }
        guard case .scalar(let scalar) = node else { return nil }
        let text = scalar.string.trimmingSpaces()
        guard let (word, op) = Self.comparisonWords.first(where: { text.hasPrefix($0.0) }) else { return nil }
        let operand = String(text.dropFirst(word.count)).trimmingSpaces()
        if operand.isEmpty {
            reader.error("bad-condition", node, "if.\(slot): '\(text)' has nothing to compare with", hint: "e.g. \(slot): \"> 10\" or \(slot): 超过 10")
            return nil
        }
        if op != .not, Double(operand) == nil, !SlotComparison.isDate(operand), !SlotComparison.isTime(operand) {
            reader.error("bad-condition", node, "if.\(slot): '\(operand)' is not a number, a date (2026-12-20) or a time (18:00), so '\(word)' cannot compare with it",
                         hint: "compare numbers (party: 超过 10), dates (time: \">= 2026-12-20\") or times (time: \">= 18:00\"); for a choice write the value itself")
            return nil
        }
        return SlotComparison(op: op, operands: [operand], location: reader.location(node))
    }

    // MARK: date limits

    /// `{within: 30d, hours: 门诊时间, past: allow}` under `date:` / `datetime:`.
    mutating func readDateLimits(_ node: Node, _ key: String) -> DateLimits? {
        if YAMLReader.isNull(node) || node.scalar.map({ YAMLReader.yes.contains($0.string) }) == true { return DateLimits() }
        guard let pairs = reader.mapping(node, "expect.\(key)", allowed: ["within", "hours", "past"]) else { return nil }
        var limits = DateLimits()
        for (name, _, value) in pairs {
            switch name {
            case "within":
                guard let text = reader.string(value, "expect.\(key).within") else { return nil }
                let days = text.hasSuffix("天") ? Int(text.dropLast().trimmingSpaces()) : text.hasSuffix("d") ? Int(text.dropLast()) : nil
                guard let days, days >= 0, days <= 3660 else {
                    reader.error("bad-duration", value, "expect.\(key).within must be a number of days such as 30d or 30天, not '\(text)'",
                                 hint: "whole days from today: within: 0d accepts only today")
                    return nil
                }
                limits.withinDays = days
            case "hours": limits.hours = reader.string(value, "expect.\(key).hours")
            default:
                guard let text = reader.string(value, "expect.\(key).past") else { return nil }
                guard text == "allow" || text == "refuse" else {
                    reader.error("unknown-value", value, "expect.\(key).past cannot be '\(text)'", hint: "write past: allow (a day already gone is accepted) or past: refuse (the default)")
                    return nil
                }
                limits.allowPast = text == "allow"
            }
        }
        return limits
    }
}

extension RuleFileReader {
    /// `open: 营业时间` or `after_hours: 营业时间` beside the condition of `when:` (already checked for form by readCondition).
    mutating func readHoursCondition(_ node: Node) -> HoursCondition? {
        guard case .mapping(let mapping) = node else { return nil }
        var found: [HoursCondition] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string, RuleSetLoader.hoursConditionKeys.contains(key), let name = reader.string(value, key) else { continue }
            found.append(HoursCondition(hours: Located(name, at: reader.location(value)), whenClosed: key == "after_hours"))
        }
        if found.count > 1 {
            reader.error("several-conditions", node, "'when' has both open and after_hours; a rule answers at one of those times",
                         hint: "write two rules: one with open:, one with after_hours:")
            return nil
        }
        return found.first
    }

    /// Names that point elsewhere in the rule set (hours tables, fact tables), checked once every file is read.
    static func checkReferences(_ spec: RuleSetSpec) -> [Diagnostic] {
        var found: [Diagnostic] = []
        let tables = spec.hours.map(\.name)
        func hint(_ name: String) -> String {
            tables.isEmpty ? "declare it under hours:, e.g. hours: {\(name): {周一至周五: 09:00-18:00}}" : Suggestions.hint(for: name, among: tables)
        }
        for rule in spec.rules {
            guard let condition = rule.hoursCondition, !tables.contains(condition.hours.value) else { continue }
            found.append(Diagnostic(.error, "unknown-hours", at: condition.hours.location,
                                    "rule '\(rule.id)' says \(condition.key): \(condition.hours.value), but no hours table has that name", hint: hint(condition.hours.value)))
        }
        for flow in spec.flows {
            for step in flow.steps {
                for key in Array(step.condition.keys) + Array(step.comparisons.keys) {
                    guard let reference = Facts.Reference(key) else { continue }
                    let problem = RuleSetCompiler.factProblem(key, names: Set(flow.slots), spec.facts) ?? "no fact table is named '\(reference.name)'"
                    if !problem.isEmpty {
                        found.append(Diagnostic(.error, "unknown-fact", at: step.location, "the if of step '\(step.slot ?? "confirm")' in flow '\(flow.name)' reads \(key): \(problem)",
                                                hint: RuleSetCompiler.factHint(key, spec.facts)))
                    }
                }
                guard case .date(_, let limits) = step.expectation, let name = limits.hours, !tables.contains(name) else { continue }
                if let reference = Facts.Reference(name), let table = spec.facts.tables[reference.name] {
                    // Per branch: every row's field must name a table.
                    for (row, fields) in table.sorted(by: { $0.key < $1.key }) {
                        guard let field = reference.field, let value = fields[field] else {
                            found.append(Diagnostic(.error, "unknown-fact", at: step.location,
                                "step '\(step.slot ?? "")' of flow '\(flow.name)' takes its hours from \(name), but row '\(row)' of facts '\(reference.name)' has no '\(reference.field ?? "")'",
                                hint: "add \(reference.field ?? "a field") to every row, naming an hours table"))
                            continue
                        }
                        if !tables.contains(value) {
                            found.append(Diagnostic(.error, "unknown-hours", at: spec.facts.locations[reference.name] ?? step.location,
                                "facts '\(reference.name)' row '\(row)' says \(field): \(value), but no hours table has that name", hint: hint(value)))
                        }
                    }
                    continue
                }
                found.append(Diagnostic(.error, "unknown-hours", at: step.location,
                                        "step '\(step.slot ?? "")' of flow '\(flow.name)' checks hours '\(name)', but no hours table has that name", hint: hint(name)))
            }
        }
        return found
    }
}
