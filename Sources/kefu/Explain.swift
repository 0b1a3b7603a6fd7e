import Foundation
import ArgumentParser
import KefuRules

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
    }
}
