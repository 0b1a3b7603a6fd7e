import ArgumentParser
import KefuRules

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a rule set answers one message: normalization step by step, every candidate, the winner and why the others lost.",
        discussion: """
              kefu explain Rules/shop "我要退貨！！"
              kefu explain Rules/shop --click MENU_CONTACT
            """
    )

    @OptionGroup var rules: RuleSetArgument
    @Argument(help: "The message, as a user would type it.") var message: String?
    @Option(help: "Explain a menu click with this key instead.") var click: String?
    @Option(help: ArgumentHelp("Explain a follow ('-' for a plain follow, else the QR scene).", valueName: "scene")) var subscribe: String?

    func validate() throws {
        guard [message != nil, click != nil, subscribe != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("Give a message, or one of --click and --subscribe.")
        }
    }

    func run() throws {
        let compiled = try rules.compile()
        let input: MatchInput
        if let message { input = .text(message) }
        else if let click { input = .event(.click(key: click)) }
        else { input = .event(.subscribe(scene: subscribe == "-" ? nil : subscribe)) }
        print(Explanation(compiled, input).render())
    }
}
