import KefuDialogue
import KefuRules
import KefuWeChat

/// What one step of a case saw: the reply and the state after it.
public struct StepObservation: Sendable, Equatable {
    /// The reply in one line: its text, `[news] title`, `[transfer]`, `(no reply)`.
    public var reply: String
    public var type: Expectation.ReplyType
    /// Who answered (``Engine/Outcome/answeredBy``), and with it the rule that started or digressed in a flow.
    public var rules: [String]
    public var intent: String?
    public var flow: String?
    public var step: String?
    /// The index of the step the flow waits for (several steps may share a slot).
    public var stepIndex: Int?
    public var slots: [String: String]
    public var paused: Bool
    public var source: Engine.Outcome.Source
    /// What went out through the API during the step (``Expectation/sent(_:)``).
    public var sent: [String] = []
}

/// An expectation a step did not meet.
public struct StepFailure: Sendable, Equatable {
    /// Index of the step in the case.
    public var step: Int
    public var location: SourceLocation
    public var key: String
    public var expected: String
    public var actual: String
}

public struct CaseResult: Sendable {
    public var testCase: ConversationCase
    /// One per step; nil for `wait`.
    public var observations: [StepObservation?]
    public var failures: [StepFailure]
    /// The case could not run to its end (a protocol error with --wire, nothing to resend …).
    public var error: String?
    public var seconds: Double
    /// The scheduled messages the case sent (`FLOW/ID`), for coverage.
    public var scheduledSent: Set<String> = []
    /// The call outcome branches the case took (and `slow` where a result missed its wait), for coverage.
    public var callsTaken: Set<CallTaken> = []

    public var passed: Bool { failures.isEmpty && error == nil }
}

/// Runs conversation cases through the same engine and store path as `kefu serve` (``Simulator``),
/// each case on its own memory store and virtual clock, optionally through the XML protocol.
public struct CorpusRunner: Sendable {
    public let rules: CompiledRules
    /// Every step through WeChat's XML and signatures, encrypted in compatible and secure mode
    /// (``Simulator/Wire``); nil = straight to the engine.
    public var wire: SecurityMode?

    public init(rules: CompiledRules, wire: SecurityMode? = nil) {
        self.rules = rules
        self.wire = wire
    }

    public init(rules: CompiledRules, wire: Bool) {
        self.init(rules: rules, wire: wire ? .secure : nil)
    }

    /// Runs `cases`, `parallelism` at a time; results in the order of `cases`.
    public func run(_ cases: [ConversationCase], parallelism: Int = 2, progress: (@Sendable (Int) -> Void)? = nil) async -> [CaseResult] {
        await withTaskGroup(of: (Int, CaseResult).self) { group in
            var results = [CaseResult?](repeating: nil, count: cases.count)
            var next = 0
            var done = 0
            while next < min(max(parallelism, 1), cases.count) {
                let index = next, c = cases[index]
                group.addTask { (index, await self.run(c)) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                done += 1
                progress?(done)
                if next < cases.count {
                    let i = next, c = cases[i]
                    group.addTask { (i, await self.run(c)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    public func run(_ testCase: ConversationCase) async -> CaseResult {
        let started = ContinuousClock.now
        let clock = VirtualClock(testCase.start.unixTime(utcOffset: rules.settings.utcOffset))
        let mocks = SimulatedCalls(mocks: testCase.mocks, rules: rules)
        let simulator = Simulator(rules: rules, clock: clock, calls: mocks)
        if let wire { simulator.wire = .testAccount(wire) }
        var result = CaseResult(testCase: testCase, observations: [], failures: [], error: nil, seconds: 0)
        for (index, step) in testCase.steps.enumerated() {
            let user = step.user ?? testCase.user
            do {
                let outcome: Engine.Outcome
                switch step.action {
                case .say(let text): outcome = try await simulator.send(.text(.init(content: text)), from: user)
                case .event(let content): outcome = try await simulator.send(content, from: user)
                case .wait(let seconds):
                    try await simulator.wait(seconds: seconds)
                    result.observations.append(nil)
                    let sent = simulator.takeSent()
                    result.scheduledSent.formUnion(Self.scheduled(sent.sent))
                    result.failures += Self.checkSent(step, index: index, sent)
                    result.callsTaken.formUnion(simulator.takeCallsTaken())
                    result.failures += Self.checkCalls(step, index: index, mocks)
                    continue
                case .resend:
                    guard let again = try await simulator.resend() else {
                        throw RunError(description: "nothing to resend yet")
                    }
                    outcome = again
                }
                let session = try await simulator.session(of: (simulator.last?.fromUserName) ?? user)
                var observation = Self.observe(outcome, session, rules: rules, now: clock.now())
                let sent = simulator.takeSent()
                observation.sent = sent.sent.map(\.message.content.preview)
                result.scheduledSent.formUnion(Self.scheduled(sent.sent))
                if outcome.source == .remembered, case .resend = step.action,
                   let previous = result.observations.last(where: { $0 != nil }) ?? nil {
                    observation.rules = previous.rules  // the retry is answered by whoever answered the message
                }
                result.observations.append(observation)
                result.failures += Self.check(step, index: index, observation).filter { $0.key != "sent" } + Self.checkSent(step, index: index, sent)
                result.callsTaken.formUnion(simulator.takeCallsTaken())
                result.failures += Self.checkCalls(step, index: index, mocks)
            } catch {
                result.error = "step \(index + 1) (\(step.location)) \(step.summary): \(error)"
                break
            }
        }
        let elapsed = ContinuousClock.now - started
        result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return result
    }

    static func observe(_ outcome: Engine.Outcome, _ session: Session?, rules compiled: CompiledRules, now: Int64) -> StepObservation {
        var rules = outcome.answeredBy.isEmpty ? [] : [outcome.answeredBy]
        if let trigger = outcome.trigger, !rules.contains(trigger) { rules.append(trigger) }
        let (reply, type) = Self.describe(outcome.response)
        var step: String?
        if let progress = session?.flow, let flow = compiled.flow(named: progress.name), flow.steps.indices.contains(progress.step) {
            step = flow.steps[progress.step].name
        }
        return StepObservation(reply: reply, type: type, rules: rules, intent: outcome.intent, flow: session?.flow?.name, step: step,
                               stepIndex: session?.flow?.step, slots: session?.flow?.slots ?? [:],
                               paused: (session?.pausedUntil ?? 0) > now, source: outcome.source)
    }

    static func describe(_ response: PassiveResponse) -> (String, Expectation.ReplyType) {
        switch response {
        case .success, .empty: return ("(no reply)", .success)
        case .reply(let reply):
            switch reply.body {
            case .text(let text): return (text, .text)
            case .news(let articles): return ("[news] " + articles.map(\.title).joined(separator: " | "), .news)
            case .transferCustomerService(let account): return ("[transfer\(account.map { " → \($0)" } ?? "")]", .transfer)
            case .image(let id): return ("[image \(id)]", .image)
            case .voice(let id): return ("[voice \(id)]", .voice)
            case .video(let video): return ("[video \(video.mediaId)]", .video)
            case .music(let music): return ("[music \(music.title ?? "")]", .music)
            }
        }
    }

    static func check(_ step: CaseStep, index: Int, _ o: StepObservation) -> [StepFailure] {
        var failures: [StepFailure] = []
        func fail(_ e: Located<Expectation>, _ expected: String, _ actual: String) {
            failures.append(StepFailure(step: index, location: e.location, key: e.value.key, expected: expected, actual: actual))
        }
        for e in step.expectations {
            switch e.value {
            case .reply(let text): if o.reply != text { fail(e, text, o.type == .text ? o.reply : "\(o.type.rawValue): \(o.reply)") }
            case .contains(let parts):
                let missing = parts.filter { !o.reply.contains($0) }
                if !missing.isEmpty { fail(e, "contains " + missing.map { "“\($0)”" }.joined(separator: ", "), o.reply) }
            case .notContains(let parts):
                let present = parts.filter { o.reply.contains($0) }
                if !present.isEmpty { fail(e, "does not contain " + present.map { "“\($0)”" }.joined(separator: ", "), o.reply) }
            case .regex(let regex): if regex.firstMatch(in: Array(o.reply.utf8)) == nil { fail(e, "matches /\(regex.pattern)/", o.reply) }
            case .type(let type): if o.type != type { fail(e, type.rawValue, "\(o.type.rawValue): \(o.reply)") }
            case .rule(let rule): if !o.rules.contains(rule) { fail(e, rule, o.rules.isEmpty ? "nothing answered" : o.rules.joined(separator: ", ")) }
            case .intent(let intent): if o.intent != intent { fail(e, intent ?? "none", o.intent ?? "none") }
            case .flow(let flow): if o.flow != flow { fail(e, flow ?? "none", o.flow ?? "none") }
            case .step(let name): if o.step != name { fail(e, name, o.step ?? "no step (not in a flow)") }
            case .slots(let slots):
                let wrong = slots.keys.sorted().filter { (o.slots[$0] ?? "") != slots[$0] }  // '' = not filled
                if !wrong.isEmpty {
                    fail(e, wrong.map { "\($0)=\(slots[$0]!)" }.joined(separator: ", "),
                         wrong.map { "\($0)=\(o.slots[$0] ?? "(empty)")" }.joined(separator: ", "))
                }
            case .paused(let paused): if o.paused != paused { fail(e, paused ? "paused (handed to a human)" : "not paused", o.paused ? "paused" : "not paused") }
            case .sent, .calls: break  // checkSent, checkCalls
            }
        }
        return failures
    }

    static func scheduled(_ entries: [OutboxEntry]) -> [String] {
        entries.compactMap { entry in
            guard entry.message.kind == .scheduled, let flow = entry.message.flow, let name = entry.message.name else { return nil }
            return "\(flow)/\(name)"
        }
    }

    /// `calls:`: exactly these requests were made during the step, in order (every try). A request
    /// no mock answers fails the case whether or not the step checks calls: `kefu test` never calls out.
    static func checkCalls(_ step: CaseStep, index: Int, _ mocks: SimulatedCalls) -> [StepFailure] {
        let made = mocks.takeMade()
        var failures = mocks.takeUnmocked().map { request in
            StepFailure(step: index, location: step.location, key: "unmocked-call",
                        expected: "a mock for \(URLEncoding.decoded(request.summary)) (kefu test never calls a real service)",
                        actual: "no mock answers it; add to the case: mock: {\(request.service): [{\(request.method.key): \(URLEncoding.decoded(request.path)), status: 200, body: {…}}]}")
        }
        for e in step.expectations {
            guard case .calls(let expected) = e.value else { continue }
            let ok = expected.count == made.count && zip(expected, made).allSatisfy { $0.matches($1.request) }
            if !ok {
                let actual = made.isEmpty ? "none" : made.map { m in
                    URLEncoding.decoded(m.request.summary) + (m.request.body.map { " " + $0 } ?? "") + (m.attempt > 1 ? " (try \(m.attempt))" : "")
                }.joined(separator: ", ")
                failures.append(StepFailure(step: index, location: e.location, key: "calls",
                                            expected: expected.isEmpty ? "none" : expected.map(\.description).joined(separator: ", "), actual: actual))
            }
        }
        return failures
    }

    /// `sent:`: exactly these messages went out through the API during the step, in order. A message
    /// that was due but not sent is named with why (window closed, its time passed).
    static func checkSent(_ step: CaseStep, index: Int, _ outbox: (sent: [OutboxEntry], skipped: [OutboxEntry])) -> [StepFailure] {
        step.expectations.compactMap { e -> StepFailure? in
            guard case .sent(let expected) = e.value else { return nil }
            let actual = outbox.sent.map(\.message.content.preview)
            guard actual != expected else { return nil }
            var said = actual.isEmpty ? "nothing" : actual.map { "“\($0)”" }.joined(separator: ", ")
            if !outbox.skipped.isEmpty {
                said += "; not sent: " + outbox.skipped.map { "“\($0.message.content.preview)” (\($0.detail ?? $0.state.rawValue))" }.joined(separator: ", ")
            }
            return StepFailure(step: index, location: e.location, key: "sent",
                               expected: expected.isEmpty ? "nothing" : expected.map { "“\($0)”" }.joined(separator: ", "), actual: said)
        }
    }
}

struct RunError: Error, CustomStringConvertible {
    let description: String
}
