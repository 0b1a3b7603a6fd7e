import Foundation
import ArgumentParser
import KefuDialogue
import KefuRules
import KefuWeChat

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a rule set answers one message: normalization step by step, every candidate, the winner and why the others lost.",
        discussion: """
              kefu explain Rules/shop "我要退貨！！"
              kefu explain Rules/shop --click MENU_CONTACT
              kefu explain Rules/shop --subscribe store_beijing
              kefu explain Rules/shop --message-type image
              kefu explain Rules/restaurant "现在营业吗" --time "2026-12-01 23:50"
            """
    )

    @OptionGroup var rules: RuleSetArgument
    @Argument(help: "The message, as a user would type it.") var message: String?
    @Option(help: "Explain a menu click with this key instead.") var click: String?
    @Option(help: ArgumentHelp("Explain a follow ('-' for a plain follow, else the QR scene).", valueName: "scene")) var subscribe: String?
    @Option(help: ArgumentHelp("Explain a QR scan by a follower, with this scene.", valueName: "scene")) var scan: String?
    @Option(help: ArgumentHelp("Explain a menu link to this URL.", valueName: "url")) var view: String?
    @Option(help: ArgumentHelp("Explain a message of this kind: image, voice, video, shortvideo, link, file, location.", valueName: "kind"))
    var messageType: String?
    @Option(help: ArgumentHelp("The local time of the message, e.g. \"2026-12-01 10:00\" (default: now in the rule set's time zone): for open:/after_hours: and the dates a flow's first message fills.", valueName: "time"))
    var time: String?

    func validate() throws {
        guard [message != nil, click != nil, subscribe != nil, scan != nil, view != nil, messageType != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("Give a message, or one of --click, --subscribe, --scan, --view and --message-type.")
        }
        if let time, LocalTime(time) == nil { throw ValidationError("--time must look like \"2026-12-01 10:00\", not '\(time)'") }
        if let messageType, MessageKind(rawValue: messageType) == nil {
            throw ValidationError("--message-type must be one of: \(MessageKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        let compiled = try rules.compile()
        let input: MatchInput
        if let message { input = .text(message) }
        else if let click { input = .event(.click(key: click)) }
        else if let scan { input = .event(.scan(scene: scan)) }
        else if let view { input = .event(.view(url: view)) }
        else if let messageType { input = .message(MessageKind(rawValue: messageType)!) }
        else { input = .event(.subscribe(scene: subscribe == "-" ? nil : subscribe)) }
        let now = time.flatMap { LocalTime($0) } ?? LocalTime(unixTime: Int64(Date().timeIntervalSince1970), utcOffset: compiled.settings.utcOffset)
        print(Explanation(compiled, input, at: now).render())
        if let calls = Self.calls(compiled, input, at: now) { print(calls) }
    }

    /// The request the message would make (a flow that reaches a call step, a rule's call), as the
    /// server would send it, secrets and signatures redacted. Nothing is sent.
    static func calls(_ rules: CompiledRules, _ input: MatchInput, at now: LocalTime) -> String? {
        let content: InboundMessage.Content
        switch input {
        case .text(let text): content = .text(.init(content: text))
        case .event(.click(let key)): content = .event(.click(key: key))
        default: return nil
        }
        let time = now.unixTime(utcOffset: rules.settings.utcOffset)
        let message = InboundMessage(toUserName: "gh_explain", fromUserName: "o_explain_user", createTime: time, msgId: 1, content: content)
        let turn = Engine(rules: rules).handle(message, session: nil, now: time)
        guard let effect = turn.effects.compactMap(\.call).first, let service = rules.service(named: effect.request.service) else { return nil }
        return "\nThe call it makes (kefu explain sends nothing):\n" + ServiceRequestPreview.render(effect, service: service)
            .split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// A request as `kefu serve` would send it, for people: the URL, the headers with every secret
/// and signature replaced by the secret's name, the body.
enum ServiceRequestPreview {
    static func render(_ effect: CallEffect, service: ServiceSpec) -> String {
        let request = effect.request
        var lines = ["\(request.method.rawValue) \(service.base.description)\(request.target)"]
        switch service.auth {
        case .bearer(let secret)?: lines.append("Authorization: Bearer …redacted… (KEFU_SECRET_\(secret))")
        case .header(let name, let secret)?: lines.append("\(name): …redacted… (KEFU_SECRET_\(secret))")
        case .basic(let user, let secret)?: lines.append("Authorization: Basic …redacted… (\(user), KEFU_SECRET_\(secret))")
        case nil: break
        }
        lines.append("webhook-id: \(request.method.isWrite ? request.idempotencyKey : request.idempotencyKey + "-1")")
        lines.append("webhook-timestamp: <the time it is sent>")
        lines.append("webhook-signature: v1,…redacted… (KEFU_SECRET_\(service.signing))")
        if request.method.isWrite { lines.append("Idempotency-Key: \(request.idempotencyKey)") }
        if let body = request.body { lines.append("Content-Type: application/json"); lines.append(""); lines.append(body) }
        lines.append("")
        let wait = Double(effect.waitMs) / 1000
        lines.append(request.method.isWrite
            ? "A write: kept in the outbox with the turn, tried up to \(effect.attempts) times (timeout \(service.timeoutMs) ms each); the answer waits \(wait) s for it."
            : "A read: made while the customer waits, up to \(wait) s (timeout \(service.timeoutMs) ms); slower, and the result goes out as a customer-service message.")
        return lines.joined(separator: "\n")
    }
}
