import Yams

/// Reading `flows:`, `interrupts:` and the durations and offsets of settings.
extension RuleFileReader {
    static let flowKeys = ["title", "expires", "on_expire", "start", "cancelled", "steps", "done", "schedule", "cancel_schedule", "note"]
    static let scheduleKeys = ["id", "before", "after", "of", "text", "template", "note"]
    static let templateKeys = ["id", "url", "miniprogram", "data"]
    static let slotStepKeys = ["slot", "label", "ask", "expect", "retry", "refuse", "max_attempts", "on_fail", "if", "note"]
    static let confirmStepKeys = ["confirm", "change", "retry", "strict", "max_attempts", "on_fail", "if", "note"]
    static let expectationWords = ["mobile", "date", "datetime", "text", "number"]
    static let expectationKeys = ["regex", "choice", "number", "text", "media", "mobile", "date", "datetime"]

    // MARK: Flows

    mutating func readFlow(_ name: String, _ nameNode: Node, _ body: Node) -> FlowSpec? {
        let before = reader.diagnostics.count
        if name.isEmpty || name.contains(where: { $0 == " " || $0 == "\t" }) || name.hasPrefix(Self.ruleFlowPrefix) {
            reader.error("bad-id", nameNode, name.hasPrefix(Self.ruleFlowPrefix) ? "the flow name '\(name)' cannot start with 'rule:', which names the flow of a rule's call:"
                                                                                 : "the flow name '\(name)' must be one word without spaces", hint: "use letters, digits, '-' or '_', e.g. after-sales")
        }
        guard let pairs = reader.mapping(body, "flow '\(name)'", allowed: Self.flowKeys) else { return nil }
        var flow = FlowSpec(name: name, title: name, expires: FlowSpec.defaultExpiry, steps: [],
                            done: Located(.text(Template("")), at: reader.location(nameNode)), location: reader.location(nameNode))
        var hasDone = false, hasSteps = false
        for (key, keyNode, value) in pairs {
            switch key {
            case "title": flow.title = reader.string(value, "title") ?? name
            case "expires": flow.expires = duration(value, "expires") ?? flow.expires
            case "on_expire": flow.onExpire = nonEmptyTemplate(value, "on_expire")
            case "start": flow.start = nonEmptyTemplate(value, "start")
            case "cancelled": flow.cancelled = nonEmptyTemplate(value, "cancelled")
            case "done":
                hasDone = true
                if let reply = readReply(value) { flow.done = Located(reply, at: reader.location(keyNode)) }
            case "steps":
                hasSteps = true
                guard case .sequence(let items) = value else {
                    reader.error("wrong-type", value, "steps must be a list (each starts with '- slot:' or '- confirm:'), not \(YAMLReader.describe(value))",
                                 hint: "e.g.\n  - slot: phone\n    ask: 请留下手机号\n    expect: mobile")
                    continue
                }
                if items.isEmpty { reader.error("empty-flow", value, "flow '\(name)' has no steps", hint: "add at least one step: - {slot: …, ask: …}") }
                for item in items { if let step = readStep(item, flow: name) { flow.steps.append(step) } }
            case "schedule":
                guard case .sequence(let items) = value else {
                    reader.error("wrong-type", value, "schedule must be a list of messages to send later, not \(YAMLReader.describe(value))",
                                 hint: "e.g.\n  - before: 24h\n    of: time\n    text: 提醒您：明天 {{time}} 就诊")
                    continue
                }
                for item in items { if let entry = readSchedule(item, flow: name) { flow.schedule.append(entry) } }
            case "cancel_schedule": flow.cancelSchedule = reader.strings(value, "cancel_schedule") ?? []
            default: _ = reader.string(value, "note")
            }
        }
        nameCallSteps(&flow)
        if !hasSteps { reader.error("empty-flow", body, "flow '\(name)' needs steps", hint: "add steps: with at least one - {slot: …, ask: …}") }
        if !hasDone { reader.error("missing-key", body, "flow '\(name)' needs 'done' (what is said when every step is answered)",
                                   hint: "e.g. done: 已为您登记，订单 {{order}}") }
        return reader.diagnostics.count == before ? flow : nil
    }

    mutating func readStep(_ node: Node, flow: String) -> StepSpec? {
        let before = reader.diagnostics.count
        let keys = Self.keys(of: node)
        let isConfirm = keys.contains("confirm")
        if keys.contains("call"), !isConfirm, !keys.contains("slot") { return readCallStep(node, flow: flow) }
        guard let pairs = reader.mapping(node, "a step of flow '\(flow)'", allowed: isConfirm ? Self.confirmStepKeys : Self.slotStepKeys) else { return nil }
        if !isConfirm, !keys.contains("slot") {
            reader.error("missing-key", node, "a step of flow '\(flow)' needs 'slot' (the name of what it asks for), 'confirm' or 'call'",
                         hint: "e.g. - slot: phone\n    ask: 请留下手机号\n    expect: mobile")
            return nil
        }
        var step = StepSpec(kind: .confirm, label: "", ask: Located(Template(""), at: reader.location(node)),
                            expectation: .text(1...500), retry: [], maxAttempts: StepSpec.defaultMaxAttempts, onFail: .cancel,
                            condition: [:], change: nil, location: reader.location(node))
        var hasAsk = isConfirm
        for (key, keyNode, value) in pairs {
            switch key {
            case "slot":
                guard let name = reader.string(value, "slot") else { continue }
                if name.isEmpty || name.contains(where: { " \t{}".contains($0) }) {
                    reader.error("bad-id", value, "the slot name '\(name)' must be one word without spaces or braces", hint: "e.g. phone, order, 手机号")
                }
                step.kind = .slot(name)
                if step.label.isEmpty { step.label = name }
            case "label": step.label = reader.string(value, "label") ?? step.label
            case "ask":
                hasAsk = true
                if let text = nonEmptyTemplate(value, "ask") { step.ask = Located(text, at: reader.location(keyNode)) }
            case "confirm":
                if let text = nonEmptyTemplate(value, "confirm") { step.ask = Located(text, at: reader.location(keyNode)) }
            case "change": step.change = nonEmptyTemplate(value, "change")
            case "expect": if let e = readExpectation(value) { step.expectation = e }
            case "retry":
                if let texts = reader.strings(value, "retry", sentences: true) { step.retry = texts.map { Template($0.value) } }
            case "max_attempts":
                if let n = reader.int(value, "max_attempts") {
                    if n < 1 { reader.error("bad-expectation", value, "max_attempts must be at least 1, not \(n)", hint: "e.g. max_attempts: 3") }
                    step.maxAttempts = n
                }
            case "on_fail": if let failure = readFailure(value) { step.onFail = failure }
            case "if":
                (step.condition, step.comparisons) = readIf(value)
            case "refuse":
                guard let pairs = reader.mapping(value, "refuse", allowed: StepRefusal.kinds) else { continue }
                for (kind, _, text) in pairs { if let template = nonEmptyTemplate(text, "refuse.\(kind)") { step.refusals[kind] = template } }
            case "strict": step.strict = reader.bool(value, "strict") ?? false
            default: _ = reader.string(value, "note")
            }
        }
        if isConfirm { step.label = "确认" }
        if !hasAsk { reader.error("missing-key", node, "step '\(step.slot ?? "?")' of flow '\(flow)' needs 'ask' (the question)", hint: "e.g. ask: 请留下您的手机号") }
        return reader.diagnostics.count == before ? step : nil
    }

    /// One entry of `schedule:`: when (`before:` + `of:`, or `after:`) and what (`text:` or `template:`).
    mutating func readSchedule(_ node: Node, flow: String) -> ScheduleSpec? {
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "a scheduled message of flow '\(flow)'", allowed: Self.scheduleKeys) else { return nil }
        var id: String?, offset: Int64?, anchorSlot: String?, isBefore = false, message: ScheduleSpec.Message?
        var whenCount = 0, whatCount = 0
        for (key, _, value) in pairs {
            switch key {
            case "id": id = reader.string(value, "schedule id")
            case "before", "after":
                whenCount += 1
                isBefore = key == "before"
                offset = duration(value, key)
            case "of": anchorSlot = reader.string(value, "of")
            case "text":
                whatCount += 1
                message = nonEmptyTemplate(value, "text").map(ScheduleSpec.Message.text)
            case "template":
                whatCount += 1
                message = readTemplateMessage(value).map(ScheduleSpec.Message.template)
            default: _ = reader.string(value, "note")
            }
        }
        let example = "e.g. - before: 24h\n    of: time\n    text: 提醒您：{{time}} 就诊"
        if whenCount != 1 {
            reader.error(whenCount == 0 ? "missing-key" : "bad-schedule", node,
                         whenCount == 0 ? "a scheduled message needs 'before:' (with 'of:' a date-time slot) or 'after:' (after the flow is done)"
                                        : "a scheduled message has one time, 'before:' or 'after:', not both", hint: example)
        }
        if whatCount != 1 {
            reader.error(whatCount == 0 ? "missing-key" : "bad-schedule", node,
                         whatCount == 0 ? "a scheduled message needs 'text:' or 'template:' (what to send)"
                                        : "a scheduled message sends one thing, 'text:' or 'template:', not both", hint: example)
        }
        if isBefore, anchorSlot == nil {
            reader.error("missing-key", node, "'before:' needs 'of:', the slot whose date and time it counts back from", hint: "e.g. of: time")
        }
        if !isBefore, whenCount == 1, anchorSlot != nil {
            reader.error("bad-schedule", node, "'after:' counts from the end of the flow and takes no 'of:'",
                         hint: "to count back from a slot's date-time write 'before:'; to send some time after the flow write only 'after:'")
        }
        guard reader.diagnostics.count == before, let offset, let message else { return nil }
        let anchor: ScheduleSpec.Anchor = isBefore ? .before(slot: anchorSlot ?? "") : .afterDone
        let defaultID = isBefore ? "before-\(DurationText.describe(offset))-\(anchorSlot ?? "")" : "after-\(DurationText.describe(offset))"
        return ScheduleSpec(id: id ?? defaultID, anchor: anchor, offset: offset, message: message, location: reader.location(node))
    }

    /// `template: {id: TEMPLATE_ID, url: …, miniprogram: {appid, pagepath}, data: {key: 值, …}}`.
    mutating func readTemplateMessage(_ node: Node) -> TemplateMessageSpec? {
        guard let pairs = reader.mapping(node, "template", allowed: Self.templateKeys) else { return nil }
        var spec = TemplateMessageSpec(templateID: "", data: [])
        var hasID = false, hasData = false
        for (key, _, value) in pairs {
            switch key {
            case "id":
                hasID = true
                spec.templateID = reader.string(value, "template.id") ?? ""
                if spec.templateID.isEmpty || spec.templateID.contains(" ") {
                    reader.error("bad-template", value, "template.id must be the template's ID from the WeChat console (模板ID), one word",
                                 hint: "copy it from 广告与服务 → 模板消息 → 我的模板")
                }
            case "url": spec.url = nonEmptyTemplate(value, "template.url")
            case "miniprogram":
                guard let fields = reader.mapping(value, "template.miniprogram", allowed: ["appid", "pagepath"]) else { continue }
                var appID = "", path = ""
                for (field, _, v) in fields { if field == "appid" { appID = reader.string(v, "appid") ?? "" } else { path = reader.string(v, "pagepath") ?? "" } }
                if appID.isEmpty { reader.error("missing-key", value, "template.miniprogram needs 'appid'", hint: "the linked mini program's AppID (wx…)") }
                spec.miniprogram = (appID, path)
            case "data":
                hasData = true
                guard let fields = reader.mapping(value, "template.data", allowed: Self.keys(of: value)) else { continue }
                if fields.isEmpty { reader.error("empty-value", value, "template.data is empty", hint: "give a value for each key of the template, e.g. thing1: '{{department}}'") }
                for (field, _, v) in fields { if let text = nonEmptyTemplate(v, "template.data.\(field)") { spec.data.append((field, text)) } }
            default: break
            }
        }
        if !hasID { reader.error("missing-key", node, "template needs 'id' (the template's ID from the WeChat console)", hint: "e.g. id: TM00001") }
        if !hasData { reader.error("missing-key", node, "template needs 'data' (a value for each of the template's keys)", hint: "e.g. data: {thing1: '{{department}}', time2: '{{time}}'}") }
        return spec
    }

    mutating func nonEmptyTemplate(_ node: Node, _ what: String) -> Template? {
        guard let text = reader.string(node, what) else { return nil }
        if text.allSatisfy(\.isWhitespace) {
            reader.error("empty-value", node, "\(what) is empty", hint: "write the text, or remove \(what):")
            return nil
        }
        return Template(text)
    }

    mutating func readFailure(_ node: Node) -> StepSpec.Failure? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "cancel": return .cancel
            case "handoff": return .handoff
            default:
                reader.error("unknown-value", node, "on_fail cannot be '\(scalar.string)'",
                             hint: "write cancel, handoff, or {reply: 文字}" + (Suggestions.closest(to: scalar.string, in: ["cancel", "handoff"]).map { " (did you mean '\($0)'?)" } ?? ""))
                return nil
            }
        }
        guard let pairs = reader.mapping(node, "on_fail", allowed: ["reply"]), let pair = pairs.first else { return nil }
        return nonEmptyTemplate(pair.value, "on_fail.reply").map(StepSpec.Failure.reply)
    }

    mutating func readExpectation(_ node: Node) -> StepExpectation? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "mobile": return .mobile
            case "date": return .date(requireTime: false)
            case "datetime": return .date(requireTime: true)
            case "text": return .text(1...500)
            case "number": return .number(Int.min...Int.max)
            default:
                reader.error("unknown-value", node, "expect cannot be '\(scalar.string)'",
                             hint: Suggestions.hint(for: scalar.string, among: Self.expectationWords) + "; or a mapping such as {choice: [是, 否]}, {regex: '…'}, {media: image}")
                return nil
            }
        }
        guard let pairs = reader.mapping(node, "expect", allowed: Self.expectationKeys) else { return nil }
        guard pairs.count == 1 else {
            reader.error(pairs.isEmpty ? "missing-key" : "bad-expectation", node,
                         pairs.isEmpty ? "expect is empty" : "expect has one form, not \(pairs.map(\.key).joined(separator: " and "))",
                         hint: "e.g. expect: mobile, or expect: {choice: [内科, 外科]}")
            return nil
        }
        let (key, _, value) = pairs[0]
        switch key {
        case "mobile":
            return .mobile
        case "date", "datetime":
            return readDateLimits(value, key).map { .date(requireTime: key == "datetime", limits: $0) }
        case "regex":
            guard let pattern = reader.string(value, "expect.regex") else { return nil }
            do {
                return .regex(try PatternRegex(pattern, caseless: true))
            } catch {
                reader.diagnostics.append(.badRegex(error, patternAt: reader.location(value)))
                return nil
            }
        case "number", "text":
            var low = key == "number" ? Int.min : 1, high = key == "number" ? Int.max : 500
            if !(YAMLReader.isNull(value) || value.scalar.map({ YAMLReader.yes.contains($0.string) }) == true) {
                guard let bounds = reader.mapping(value, "expect.\(key)", allowed: ["min", "max"]) else { return nil }
                for (bound, _, v) in bounds {
                    guard let n = reader.int(v, "expect.\(key).\(bound)") else { return nil }
                    if bound == "min" { low = n } else { high = n }
                }
            }
            if key == "text", low < 0 {
                reader.error("bad-expectation", value, "text length cannot be negative (min: \(low))", hint: "min: 1 accepts any non-empty answer")
                return nil
            }
            guard low <= high else {
                reader.error("bad-expectation", value, "expect.\(key) can never be met: min \(low) is more than max \(high)", hint: "swap them, or raise max")
                return nil
            }
            return key == "number" ? .number(low...high) : .text(max(low, 1)...high)
        case "choice":
            var choices: [StepExpectation.Choice] = []
            switch value {
            case .sequence:
                guard let options = reader.strings(value, "expect.choice") else { return nil }
                choices = options.map { .init(value: $0.value) }
            case .mapping:
                guard let options = reader.mapping(value, "expect.choice", allowed: Self.keys(of: value)) else { return nil }
                for (option, _, words) in options {
                    if YAMLReader.isNull(words) { choices.append(.init(value: option)); continue }
                    if case .sequence(let list) = words, list.isEmpty { choices.append(.init(value: option)); continue }
                    guard let list = reader.strings(words, "the words of choice '\(option)'") else { return nil }
                    choices.append(.init(value: option, words: list.map(\.value)))
                }
            default:
                reader.error("wrong-type", value, "expect.choice must list the options, not \(YAMLReader.describe(value))",
                             hint: "e.g. {choice: [内科, 外科]} or {choice: {质量问题: [坏了, 破损], 发错货: []}}")
                return nil
            }
            if choices.count < 2 {
                reader.error("bad-expectation", value, "a choice needs at least two options, not \(choices.count)",
                             hint: "with one option there is nothing to choose: use expect: text, or a confirm step")
                return nil
            }
            if let empty = choices.first(where: { $0.value.allSatisfy(\.isWhitespace) }) {
                reader.error("bad-expectation", value, "a choice option is empty ('\(empty.value)')", hint: "name every option")
                return nil
            }
            return .choice(choices)
        default:  // media
            guard let kinds = reader.strings(value, "expect.media") else { return nil }
            var result: [MessageKind] = []
            for kind in kinds {
                guard let known = MessageKind(rawValue: kind.value) else {
                    reader.diagnostics.append(Diagnostic(.error, "bad-expectation", at: kind.location, "expect.media cannot be '\(kind.value)'",
                                                         hint: Suggestions.hint(for: kind.value, among: MessageKind.allCases.map(\.rawValue))))
                    return nil
                }
                result.append(known)
            }
            return .media(result)
        }
    }

    // MARK: Interrupts

    mutating func readInterrupt(_ node: Node, taken: [String: SourceLocation]) -> RuleSpec? {
        let before = reader.diagnostics.count
        guard let pairs = reader.mapping(node, "an interrupt", allowed: RuleSetLoader.interruptKeys) else { return nil }
        var id: String?, condition: Condition?, reply: RuleReply?, priority = 0, action: InterruptAction?, hoursCondition: HoursCondition?
        var replyLocation = reader.location(node)
        for (key, keyNode, value) in pairs {
            switch key {
            case "id": id = reader.string(value, "id")
            case "when":
                condition = readCondition(value)
                hoursCondition = readHoursCondition(value)
                if let c = condition, !(c.isText || c.kind == "click") {
                    reader.error("wrong-type", value, "an interrupt answers what the customer says or clicks, not '\(c.kind)'",
                                 hint: "use exact, contains, regex, intent or click")
                }
            case "action": action = reader.choice(value, "action", as: InterruptAction.self)
            case "reply":
                reply = readReply(value)
                replyLocation = reader.location(keyNode)
            case "priority": priority = reader.int(value, "priority") ?? 0
            default: _ = reader.string(value, "note")
            }
        }
        if !pairs.contains(where: { $0.key == "when" }) { reader.error("missing-key", node, "an interrupt needs 'when'", hint: "e.g. when: {exact: [取消, 算了]}") }
        if !pairs.contains(where: { $0.key == "action" }) { reader.error("missing-key", node, "an interrupt needs 'action': cancel or handoff", hint: "e.g. action: cancel") }
        if action == .handoff, let reply, reply != .transfer(kfAccount: nil), !Self.isTransfer(reply) {
            reader.error("wrong-type", node, "a handoff interrupt replies with the transfer to a human; it cannot also say something",
                         hint: "remove reply:, or use reply: {transfer: kf2001@gh_…} to pick an agent")
        }
        guard reader.diagnostics.count == before, let condition, let action else { return nil }
        var name = id ?? action.rawValue
        if id == nil, taken[name] != nil {
            var n = 2
            while taken["\(action.rawValue)-\(n)"] != nil { n += 1 }
            name = "\(action.rawValue)-\(n)"
        }
        return RuleSpec(id: name, condition: condition, reply: reply, interrupt: action, hoursCondition: hoursCondition, priority: priority,
                        location: reader.location(node), replyLocation: replyLocation, order: 0)
    }

    static func isTransfer(_ reply: RuleReply) -> Bool {
        if case .transfer = reply { true } else { false }
    }

    // MARK: Durations and offsets

    /// `90s`, `30m`, `2h`, `1d` → seconds.
    mutating func duration(_ node: Node, _ what: String) -> Int64? {
        guard let text = reader.string(node, what) else { return nil }
        if let seconds = DurationText.seconds(text), seconds > 0 { return seconds }
        reader.error("bad-duration", node, "\(what) must be a duration such as 90s, 30m, 2h or 1d, not '\(text)'",
                     hint: "a whole number followed by s (seconds), m (minutes), h (hours) or d (days)")
        return nil
    }

    /// `+08:00`, `+8`, `-05:30`, `UTC` → seconds east of UTC.
    mutating func readUTCOffset(_ node: Node) -> Int64? {
        guard let text = reader.string(node, "timezone") else { return nil }
        if text == "UTC" || text == "Z" { return 0 }
        if text == "Asia/Shanghai" || text == "Asia/Hong_Kong" || text == "Asia/Taipei" || text == "Asia/Macau" { return 8 * 3600 }
        var rest = Substring(text)
        if let sign = rest.first, sign == "+" || sign == "-" {
            rest = rest.dropFirst()
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            if (1...2).contains(parts.count), let h = Int64(parts[0]), (0...14).contains(h),
               let m = parts.count == 2 ? Int64(parts[1]) : 0, [0, 30, 45].contains(m) {
                return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
            }
        }
        reader.error("unknown-value", node, "timezone must be a UTC offset such as '+08:00', not '\(text)'",
                     hint: "mainland China, Hong Kong and Taiwan are '+08:00' (the default); quote it in YAML")
        return nil
    }
}
