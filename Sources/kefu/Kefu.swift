import ArgumentParser

/// `kefu`: one tool for running and checking a WeChat Official Account's customer-service bot.
/// Each subcommand lives in its own file.
@main
struct Kefu: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kefu",
        abstract: "Rule-driven customer service for WeChat Official Accounts (公众号客服机器人).",
        discussion: """
            Secrets are read from the environment, never from the command line:
              KEFU_TOKEN             the Token (令牌) from the console
              KEFU_AES_KEY           the EncodingAESKey (secure and compatible mode)
              KEFU_PREVIOUS_AES_KEY  the EncodingAESKey before the last change
              KEFU_APPID             the AppID (wx…), needed with an EncodingAESKey and for the API
              KEFU_APPSECRET         the AppSecret (开发者密码): WeChat's API (late answers, reminders, menus, QR codes)
            """,
        version: "0.1.0",
        subcommands: [Serve.self, Lint.self, Explain.self, Match.self, Chat.self, TestCommand.self, Eval.self, WeChatCommand.self, MenuCommand.self, QRCommand.self, OutboxCommand.self, ReloadCommand.self, ReportCommand.self, ConsoleCommand.self]
    )
}
