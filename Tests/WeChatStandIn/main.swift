// wechat-standin: a stand-in for WeChat's API server, for tests and demos. It is NOT WeChat.
// The command line and control API: docs/standin.md.
import Foundation
import Hummingbird
import KefuWeChat
import Logging

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("wechat-standin: error: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(Options.usage)
    exit(0)
}
let options: Options
do { options = try Options(arguments: arguments) } catch { fail("\(error)\n\(Options.usage)") }

let secret: String
let webhook: Webhook?
do {
    guard let value = try Options.secret("KEFU_APPSECRET") else {
        fail("KEFU_APPSECRET is not set: export the AppSecret the stand-in should accept (or KEFU_APPSECRET_FILE=path)")
    }
    secret = value
    if let url = options.webhook {
        guard let token = try Options.secret("KEFU_TOKEN") else {
            fail("--webhook needs KEFU_TOKEN (or KEFU_TOKEN_FILE): the Token the pushes are signed with")
        }
        let key: EncodingAESKey?
        do { key = try Options.secret("KEFU_AES_KEY").map { try EncodingAESKey($0) } } catch { fail("KEFU_AES_KEY: \(error)") }
        let configuration = WeChatConfiguration(token: token, appID: options.appID, aesKey: key)
        do { webhook = Webhook(url: url, platform: try WeChatPlatform(configuration)) } catch { fail("\(error)") }
    } else {
        webhook = nil
    }
} catch {
    fail("\(error)")
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

FileHandle.standardError.write(Data("""
    wechat-standin: a STAND-IN for WeChat's API server, for tests and demos. This is NOT WeChat: \
    nothing sent here reaches anyone. AppID \(options.appID); pushes \(webhook.map { "to \($0.url)\($0.encrypted ? " (encrypted)" : "")" } ?? "off").

    """.utf8))

let state = StandIn(StandIn.Settings(appID: options.appID, appSecret: secret, allowedIPs: Set(options.allowedIPs),
                                     dailyQuotas: options.dailyQuotas, minuteQuotas: options.minuteQuotas, startNow: options.now))
let host = options.host
let app = Application(
    router: Routes(state: state, webhook: webhook).router(),
    configuration: .init(address: .hostname(host, port: options.port), serverName: "wechat-standin"),
    onServerRunning: { channel in
        // One write, unbuffered: tests and scripts read this line to learn the port.
        FileHandle.standardOutput.write(Data("wechat-standin listening on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
    },
    logger: Logger(label: "wechat-standin"))
do {
    try await app.runService()
} catch {
    fail("\(error)")
}
