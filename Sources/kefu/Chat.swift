import ArgumentParser
import Foundation
import KefuCorpus
import KefuDialogue
import KefuRules
import KefuWeChat

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a rule set in the terminal as a WeChat user: messages, events, waiting; shows each reply and the session.",
        discussion: """
            Type a message and press Enter. Lines starting with / are events and commands:

              /subscribe [scene]   follow (from a QR scene)      /scan SCENE     QR scan by a follower
              /click KEY           menu click                    /view URL       menu link
              /image  /video  /voice [recognised text]  /location [label]  /link URL   other messages
              /kf-close            the human agent closes the session (ends a handoff pause)
              /wait 31m            move the clock (s, m, h, d); due sessions are cleaned up as a server would
              /resend              WeChat's retry of the last message (same answer, no second effect)
              /session             show the session        /user NAME   talk as another user
              /time                show the clock          /help        this list       /quit

            Example:
              printf '我要退货\\nDD202406110001\\n/wait 31m\\n你好\\n' | kefu chat Rules/shop

            Calls to the rule set's services are answered by the mocks of case files (--mock Corpora/shop),
            or made for real against an endpoint you give (--service erp=http://127.0.0.1:9100/shop, secrets from
            KEFU_SECRET_<NAME> as for kefu serve). Without either, every call fails and takes its error branch.
            """
    )

    @OptionGroup var rules: RuleSetArgument
    @Option(help: "The user's OpenID.") var user = "o_chat_user"
    @Option(help: ArgumentHelp("Start the clock at this local time of the rule set (\"2026-11-25 10:00\"); default now.", valueName: "time"))
    var time: String?
    @Option(help: ArgumentHelp("Answer calls with the mock: of these case files or folders (as kefu test does).", valueName: "path"))
    var mock: [String] = []
    @Option(help: ArgumentHelp("Call this service for real at this base URL (repeatable): NAME=URL.", valueName: "name=url"))
    var service: [String] = []

    func run() async throws {
        let compiled = try rules.compile()
        let offset = compiled.settings.utcOffset
        var start = SystemClock().now()
        if let time {
            guard let parsed = LocalTime(time)?.unixTime(utcOffset: offset) else {
                throw ValidationError("--time must look like \"2026-11-25 10:00\", not '\(time)'")
            }
            start = parsed
        }
        let calls = RecordingRunner(try callRunner(compiled))
        let simulator = Simulator(rules: compiled, clock: VirtualClock(start), calls: calls)
        var user = self.user
        let interactive = isatty(0) == 1
        if interactive {
            print("kefu chat: \(compiled.rules.count) rules, \(compiled.flows.count) flows from \(rules.directory). /help for events and commands, /quit to leave.")
        }
        while true {
            if interactive { FileHandle.standardOutput.write(Data("你 > ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if !interactive { print("你 > \(line)") }
            do {
                if trimmed.hasPrefix("/") {
                    let parts = trimmed.dropFirst().split(separator: " ", maxSplits: 1).map(String.init)
                    let command = parts[0], argument = parts.count > 1 ? parts[1] : nil
                    switch command {
                    case "quit", "exit": return
                    case "help": print(Self.configuration.discussion)
                    case "user":
                        guard let argument else { print("  /user NAME"); continue }
                        user = argument
                        print("  now talking as \(user)")
                    case "time": print("  \(Self.format(simulator.clock.now(), utcOffset: offset))")
                    case "session": print(Self.describe(try await simulator.session(of: user), compiled))
                    case "wait":
                        guard let argument, let seconds = DurationText.seconds(argument) else { print("  /wait needs a duration such as 90s, 31m, 2h, 1d"); continue }
                        try await simulator.wait(seconds: seconds)
                        print("  ⏱ \(Self.format(simulator.clock.now(), utcOffset: offset))")
                        showSent(simulator, offset: offset)
                    case "resend":
                        guard let outcome = try await simulator.resend() else { print("  nothing to resend yet"); continue }
                        show(outcome, try await simulator.session(of: user), compiled)
                    default:
                        guard let content = Self.content(command, argument) else {
                            print("  unknown command /\(command); /help lists them")
                            continue
                        }
                        show(try await simulator.send(content, from: user), try await simulator.session(of: user), compiled)
                        showSent(simulator, offset: offset)
                    }
                } else {
                    show(try await simulator.send(.text(.init(content: line)), from: user), try await simulator.session(of: user), compiled)
                    showSent(simulator, offset: offset)
                }
            } catch {
                print("  error: \(error)")
            }
        }
    }

    /// The mocks (`--mock`), or the real services (`--service`), or nothing (every call fails).
    func callRunner(_ compiled: CompiledRules) throws -> any CallRunner {
        if !service.isEmpty { return try LiveServices.runner(compiled, overrides: service) }
        let mocks = try CorpusLoader.mocks(paths: mock)
        return SimulatedCalls(mocks: mocks, rules: compiled)
    }

    /// What the outbox sent through the (simulated) API meanwhile, and what it did not send and why.
    func showSent(_ simulator: Simulator, offset: Int64) {
        for (made, result) in (simulator.calls as? RecordingRunner)?.take() ?? [] {
            print("接口 ⇄ \(URLEncoding.decoded(made.summary))\(made.body.map { " " + $0 } ?? "") → \(result.map(\.summary) ?? "still waiting (the result comes later)")")
        }
        let (sent, skipped) = simulator.takeSent()
        for entry in sent {
            print("客服 ⇢ [\(Self.format(entry.updatedAt, utcOffset: offset)) \(entry.message.kind == .scheduled ? "scheduled" : "via API")] "
                  + entry.message.content.preview.replacingOccurrences(of: "\n", with: "\n       "))
        }
        for entry in skipped {
            print("       (not sent: \(entry.message.content.preview) — \(entry.detail ?? entry.state.rawValue))")
        }
    }

    func show(_ outcome: Engine.Outcome, _ session: Session?, _ rules: CompiledRules) {
        print("客服 < " + Self.reply(outcome.response).replacingOccurrences(of: "\n", with: "\n       "))
        var facts: [String] = []
        if !outcome.answeredBy.isEmpty { facts.append("by \(outcome.answeredBy)") }
        switch outcome.source {
        case .flow(_, let event): facts.append(event.summary)
        case .noReply(let reason): facts.append(reason)
        case .remembered: facts.append("the stored answer (a retry)")
        case .rule(_, let kind): facts.append(kind.rawValue)
        default: break
        }
        if let intent = outcome.intent { facts.append("intent \(intent)") }
        print("       (" + facts.joined(separator: "; ") + ")")
        print(Self.describe(session, rules))
    }

    static func reply(_ response: PassiveResponse) -> String {
        switch response {
        case .success: return "(no reply: success)"
        case .empty: return "(no reply)"
        case .reply(let reply):
            switch reply.body {
            case .text(let text): return text
            case .news(let articles): return "[图文 news] " + articles.map { $0.url.isEmpty ? $0.title : "\($0.title) — \($0.url)" }.joined(separator: " | ")
            case .transferCustomerService(let account): return "[转人工 transfer_customer_service\(account.map { " → \($0)" } ?? "")]"
            case .image(let id): return "[图片 image \(id)]"
            case .voice(let id): return "[语音 voice \(id)]"
            case .video(let video): return "[视频 video \(video.mediaId)]"
            case .music(let music): return "[音乐 music \(music.title ?? "")]"
            }
        }
    }

    static func describe(_ session: Session?, _ rules: CompiledRules) -> String {
        guard let session else { return "  [会话 session] none" }
        var parts: [String] = []
        if let progress = session.flow {
            let flow = rules.flow(named: progress.name)
            let step = flow.flatMap { $0.steps.indices.contains(progress.step) ? $0.steps[progress.step] : nil }
            let slots = progress.slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            parts.append("flow \(progress.name) · step \(step?.name ?? "confirm")\(progress.attempts > 0 ? " (wrong answers: \(progress.attempts))" : "")"
                         + " · slots {\(slots)} · expires \(format(progress.expiresAt, utcOffset: rules.settings.utcOffset))")
        }
        if let until = session.pausedUntil { parts.append("handed to a human until \(format(until, utcOffset: rules.settings.utcOffset))") }
        if let notice = session.notice { parts.append("owes notice “\(notice)”") }
        return "  [会话 session] " + (parts.isEmpty ? "none" : parts.joined(separator: "; "))
    }

    static func content(_ command: String, _ argument: String?) -> InboundMessage.Content? {
        switch command {
        case "subscribe": return .event(.subscribe(scene: argument, ticket: argument == nil ? nil : "chat-ticket"))
        case "unsubscribe": return .event(.unsubscribe)
        case "scan": return argument.map { .event(.scan(scene: $0, ticket: "chat-ticket")) }
        case "click": return argument.map { .event(.click(key: $0)) }
        case "view": return argument.map { .event(.view(url: $0, menuId: nil)) }
        case "image": return .image(.init(picURL: "https://mmbiz.qpic.cn/chat.jpg", mediaId: "chat_image_\(UInt32.random(in: 1000...9999))"))
        case "video": return .video(.init(mediaId: "chat_video", thumbMediaId: "chat_thumb"))
        case "voice": return .voice(.init(mediaId: "chat_voice", format: "amr", recognition: argument))
        case "location": return .location(.init(latitude: 31.23, longitude: 121.47, scale: 15, label: argument ?? "上海市黄浦区"))
        case "link": return argument.map { .link(.init(title: "链接", description: "", url: $0)) }
        case "kf-close": return .event(.kfCloseSession(kfAccount: "kf2001@gh_kefu"))
        default: return nil
        }
    }

    static func format(_ time: Int64, utcOffset: Int64) -> String {
        LocalTime(unixTime: time, utcOffset: utcOffset).description
    }
}

/// Remembers every try a rule set's calls made and what came of it, for `kefu chat` to show.
final class RecordingRunner: WrapsCallRunner, @unchecked Sendable {
    let runner: any CallRunner
    var inner: any CallRunner { runner }
    private let lock = NSLock()
    private var made: [(ServiceRequest, CallResult?)] = []

    init(_ runner: any CallRunner) { self.runner = runner }

    func take() -> [(ServiceRequest, CallResult?)] {
        lock.lock(); defer { lock.unlock() }
        defer { made = [] }
        return made
    }

    private func add(_ request: ServiceRequest, _ result: CallResult?) {
        lock.lock(); defer { lock.unlock() }
        made.append((request, result))
    }

    func attempt(_ request: ServiceRequest, attempt: Int, wait: Duration, at now: Int64,
                 late: @escaping @Sendable (CallResult) async -> Void) async -> CallResult? {
        let result = await runner.attempt(request, attempt: attempt, wait: wait, at: now) { [self] result in
            add(request, result)
            await late(result)
        }
        add(request, result)
        return result
    }
}
