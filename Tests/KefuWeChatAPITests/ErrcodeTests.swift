import Foundation
import KefuWeChatAPI
import Testing

@Suite("Each errcode class gets its handling, against the stand-in")
struct ErrcodeTests {
    static let send = "/cgi-bin/message/custom/send"

    @Test func busyIsRetriedThenSucceeds() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oBusyUser00000000000000000001"
        try await standIn.userWrites(user)
        try await standIn.fault(Self.send, kind: "errcode", ["errcode": -1, "count": 2])
        try await client.send(.text("忙的时候"), to: user)
        #expect(try await standIn.calls(Self.send) == 3)
        #expect(try await standIn.sent(to: user).count == 1)
    }

    @Test func busyForeverGivesUpAfterTheBound() async throws {
        let standIn = try StandIn()
        let client = standIn.client(configuration: standIn.configuration(retry: RetryPolicy(maxRetries: 3, baseDelayMilliseconds: 10, maxDelayMilliseconds: 40)))
        let user = "oBusyUser00000000000000000002"
        try await standIn.userWrites(user)
        try await standIn.fault(Self.send, kind: "errcode", ["errcode": -1, "count": 100])
        let error = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("一直忙"), to: user) }
        #expect(error.errcode == -1)
        #expect(error.disposition == .busy)
        #expect(error.isSafeToRepeat)
        #expect(try await standIn.calls(Self.send) == 4)
        #expect(try await standIn.sent(to: user).isEmpty)
    }

    @Test func outsideTheWindowAndOverQuotaAreFinalWithoutRetry() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oWindowUser000000000000000001"
        let closed = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("没有窗口"), to: user) }
        #expect(closed.errcode == 45015)
        #expect(closed.disposition == .final)
        #expect(try await standIn.calls(Self.send) == 1)
        try await standIn.userWrites(user)
        for n in 1...5 { try await client.send(.text("第\(n)条"), to: user) }
        let spent = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("第6条"), to: user) }
        #expect(spent.errcode == 45047)
        #expect(spent.disposition == .final)
        #expect(try await standIn.calls(Self.send) == 7)
        #expect(try await standIn.sent(to: user).count == 5)
    }

    @Test func theIPWhitelistErrorNamesTheAddress() async throws {
        let standIn = try StandIn(arguments: ["--allow-ip", "203.0.113.9"])
        let alerts = Alerts()
        let client = standIn.client(alerts: alerts)
        let error = try await #require(throws: WeChatAPIError.self) { _ = try await client.menu() }
        #expect(error.errcode == 40164)
        #expect(error.disposition == .operatorAction)
        #expect(error.whitelistIP == "127.0.0.1")
        #expect(error.whatToDo.contains("127.0.0.1"))
        #expect(error.rid != nil)
        #expect(alerts.all.map(\.errcode) == [40164])
        #expect(try await standIn.calls("/cgi-bin/menu/get") == 0)  // no token, no call
    }

    @Test func quotasReachTheAlertSinkWithWhenToTryAgain() async throws {
        let standIn = try StandIn(arguments: ["--quota", "/cgi-bin/qrcode/create=1/day", "--minute-quota", "/cgi-bin/menu/get=1"])
        let alerts = Alerts()
        let client = standIn.client(alerts: alerts)
        _ = try await client.createQRCode(scene: .id(7), expiresIn: 600)
        let daily = try await #require(throws: WeChatAPIError.self) { _ = try await client.createQRCode(scene: .id(8), expiresIn: 600) }
        #expect(daily.errcode == 45009)
        #expect(daily.disposition == .operatorAction)
        #expect(daily.whatToDo.contains("never resets"))
        let now = standIn.now
        #expect(try #require(daily.retryAt) > now && daily.retryAt! <= now + 86_400)
        // One call a minute: the second within the same minute is refused. Under load the two may fall on either
        // side of a minute boundary, so a call that succeeds starts the minute again (at most twice).
        var minute: WeChatAPIError?
        for _ in 0..<3 where minute == nil {
            do { _ = try await client.menu(); _ = try await client.menu() } catch let error as WeChatAPIError { minute = error }
        }
        let refused = try #require(minute)
        let then = standIn.now
        #expect(refused.errcode == 45011)
        #expect(try #require(refused.retryAt) % 60 == 0 && refused.retryAt! > then - 62 && refused.retryAt! <= then + 61)
        #expect(alerts.all.map(\.errcode) == [45009, 45011])
        _ = now
        #expect(try await standIn.calls("/cgi-bin/clear_quota") == 0)
        #expect(try await standIn.calls("/cgi-bin/qrcode/create") == 2)  // no retry
    }

    @Test func aSlowAnswerIsOutcomeUnknownAndWasDeliveredOnce() async throws {
        let standIn = try StandIn()
        let client = standIn.client(configuration: standIn.configuration(timeoutMilliseconds: 1_000))
        let user = "oSlowUser00000000000000000001"
        try await standIn.userWrites(user)
        _ = try await client.menu()  // the token first, so only the send is slow
        try await standIn.fault(Self.send, kind: "slow", ["delayMs": 2_500])
        let error = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("慢慢来"), to: user) }
        #expect(error.disposition == .outcomeUnknown)
        #expect(error.errcode == nil)
        #expect(!error.isSafeToRepeat)
        #expect(try await eventually { try await standIn.sent(to: user).count == 1 })
        try await Task.sleep(for: .milliseconds(1_800))  // past the stand-in's delay: nothing else arrives
        #expect(try await standIn.sent(to: user).count == 1)
        #expect(try await standIn.calls(Self.send) == 1)
    }

    @Test func aResetAfterTheEffectIsOutcomeUnknown() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oResetUser0000000000000000001"
        try await standIn.userWrites(user)
        _ = try await client.menu()
        try await standIn.fault(Self.send, kind: "reset", ["after": true])
        let error = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("断线"), to: user) }
        #expect(error.disposition == .outcomeUnknown)
        #expect(try await standIn.sent(to: user).count == 1)
        #expect(try await standIn.calls(Self.send) == 1)
    }

    @Test func aRefusedConnectionIsNotSent() async throws {
        // A port nothing listens on: the stand-in's, after it stopped.
        var standIn: StandIn? = try StandIn()
        let configuration = standIn!.configuration(timeoutMilliseconds: 800)
        standIn = nil
        let logs = LogCapture()
        let client = WeChatAPIClient(configuration: configuration, tokenStore: MemoryAccessTokenStore(), logger: logs.logger)
        let error = try await #require(throws: WeChatAPIError.self) { try await client.send(.text("你好"), to: "oNobody") }
        #expect(error.disposition == .notSent)
        #expect(error.isSafeToRepeat)
        #expect(error.errcode == nil)
        #expect(logs.all.contains { $0.contains("not-sent") })
    }
}
