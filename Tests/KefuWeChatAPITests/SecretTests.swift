import Foundation
@testable import KefuWeChatAPI
import Testing

@Suite("The AppSecret never shows")
struct SecretTests {
    @Test func descriptionsAreRedacted() {
        let secret = AppSecret("VerySecretValue_1234567890abcdef")
        let configuration = WeChatAPIConfiguration(appID: "wx1", secret: secret)
        for text in ["\(secret)", String(reflecting: secret), String(describing: configuration), String(reflecting: configuration),
                     "\(Mirror(reflecting: configuration).children.map { "\($0.label ?? ""): \($0.value)" })"] {
            #expect(!text.contains("VerySecretValue"), "\(text)")
        }
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("VerySecretValue"))
    }

    @Test func errorsAndLogsOfAWrongSecretDoNotContainIt() async throws {
        let standIn = try StandIn()
        let wrong = "WrongSecret_0123456789ABCDEFabcd"
        let logs = LogCapture()
        let alerts = Alerts()
        let client = standIn.client(configuration: standIn.configuration(secret: wrong), logs: logs, alerts: alerts)
        let error = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("你好"), to: "oSecretUser") }
        #expect(error.disposition == .operatorAction)
        #expect(error.whatToDo.contains("AppSecret"))
        #expect(alerts.all.count == 1)
        #expect(!logs.all.isEmpty)
        for text in [error.description, error.errmsg, error.whatToDo, String(reflecting: error)] + logs.all + alerts.all.map(\.description) {
            #expect(!text.contains(wrong), "\(text)")
        }
    }

    @Test func anErrmsgEchoingTheSecretIsScrubbed() {
        let secret = AppSecret("EchoedSecret_abcdefghijklmnop")
        let error = WeChatAPIError.wechat(api: "/cgi-bin/stable_token", errcode: 40125, errmsg: "invalid appsecret EchoedSecret_abcdefghijklmnop rid: 1-2-3",
                                          now: 0, tokenRequest: true).scrubbing(secret)
        #expect(!error.description.contains("EchoedSecret"))
        #expect(error.errmsg.contains("rid: 1-2-3"))
    }

    @Test func classification() {
        let ip = WeChatAPIError.wechat(api: "/x", errcode: 40164, errmsg: "invalid ip 47.96.1.2 ipv6 ::ffff:47.96.1.2, not in whitelist rid: 6671f0a3-5d1c1f6c-2b3a4c5d", now: 0)
        #expect(ip.whitelistIP == "47.96.1.2")
        #expect(ip.rid == "6671f0a3-5d1c1f6c-2b3a4c5d")
        #expect(WeChatAPIError.wechat(api: "/x", errcode: 40001, errmsg: "", now: 0).disposition == .token)
        #expect(WeChatAPIError.wechat(api: "/x", errcode: 40001, errmsg: "", now: 0, tokenRequest: true).disposition == .operatorAction)
        for code in [40125, 40013, 40243, 45009, 45011, 48001, 89503] {
            #expect(WeChatAPIError.wechat(api: "/x", errcode: code, errmsg: "", now: 0).disposition == .operatorAction, "\(code)")
        }
        for code in [45015, 45047, 40003, 40007, 43004, 43101, 47003, 45008] {
            #expect(WeChatAPIError.wechat(api: "/x", errcode: code, errmsg: "", now: 0).disposition == .final, "\(code)")
        }
        // 45009: the next 00:00 in Beijing (16:00 UTC).
        #expect(WeChatAPIError.wechat(api: "/x", errcode: 45009, errmsg: "", now: 1_767_225_600, tokenRequest: false).retryAt == 1_767_283_200)
        #expect(WeChatAPIError.wechat(api: "/x", errcode: 45011, errmsg: "", now: 1_767_225_659).retryAt == 1_767_225_660)
        #expect(RetryPolicy().delayMilliseconds(beforeRetry: 0) == 200)
        #expect(RetryPolicy().delayMilliseconds(beforeRetry: 2) == 800)
        #expect(RetryPolicy().delayMilliseconds(beforeRetry: 30) == 2_000)
    }
}
