import Foundation
import KefuStore
import KefuTestSupport
import KefuWeChatAPI
import Testing

@Suite("The shared access token, against the stand-in")
struct AccessTokenTests {
    @Test func sixteenCallersAtExpiryCauseExactlyOneFetch() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        #expect(try await client.menu() == nil)  // no menu yet (46003); the first token
        #expect(try await standIn.calls("/cgi-bin/stable_token") == 1)
        try await standIn.advance(7_300)  // past the token's life
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { _ = try await client.menu() } }
            try await group.waitForAll()
        }
        #expect(try await standIn.calls("/cgi-bin/stable_token") == 2)
        #expect(try await standIn.calls("/cgi-bin/menu/get") == 17)  // no call was refused and retried
        #expect(client.tokenFetches == 2)
    }

    @Test func refreshesEarlyAndOnlyThen() async throws {
        let standIn = try StandIn()
        let store = MemoryAccessTokenStore()
        let client = standIn.client(store: store)
        _ = try await client.menu()
        let first = try #require(try await store.accessToken(for: StandIn.appID))
        #expect(first.expiresAt - first.fetchedAt > 300)
        for _ in 0..<5 { _ = try await client.menu() }
        #expect(client.tokenFetches == 1)  // the per-call path reads memory only
        try await standIn.advance(first.expiresAt - standIn.now - 200)  // 200 s left: inside the 300 s margin
        _ = try await client.menu()
        #expect(client.tokenFetches == 2)
        let second = try #require(try await store.accessToken(for: StandIn.appID))
        #expect(second.token != first.token)
        #expect(second.expiresAt - standIn.now > 300)
        #expect(try await standIn.calls("/cgi-bin/menu/get") == 7)
    }

    @Test func aForcedRotationRecoversWithOneRetryAndOneFetch() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        let user = "oRotationUser0000000000000001"
        try await standIn.userWrites(user)
        try await client.send(.text("第一条"), to: user)
        try await standIn.post("/standin/rotate")
        try await client.send(.text("换了令牌之后"), to: user)
        #expect(try await standIn.calls("/cgi-bin/message/custom/send") == 3)  // 1, then the refused one and its one retry
        #expect(try await standIn.calls("/cgi-bin/stable_token") == 2)
        #expect(client.tokenFetches == 2)
        let sent = try await standIn.sent(to: user)
        #expect(sent.count == 2)
    }

    @Test func aTokenRefusedTwiceIsNotRetriedAgain() async throws {
        let standIn = try StandIn()
        let client = standIn.client()
        _ = try await client.menu()
        try await standIn.fault("/cgi-bin/menu/get", kind: "errcode", ["errcode": 40001, "count": 5])
        let error = try await #require(throws: WeChatAPIError.self) { _ = try await client.menu() }
        #expect(error.errcode == 40001)
        #expect(error.disposition == .token)
        #expect(try await standIn.calls("/cgi-bin/menu/get") == 3)  // the first, the refused one, one retry: never a loop
        #expect(client.tokenFetches <= 3)  // one refetch (plus at most one force-refresh when the same token came back)
    }

    @Test func twoStoresOnOneFileNeverOverwriteEachOther() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-token-\(UUID().uuidString)/kefu.sqlite").path
        let a = try SQLiteStore(path: path)
        let b = try SQLiteStore(path: path)
        let appID = "wxCAS"
        let one = AccessTokenRecord(token: "TOKEN-ONE", expiresAt: 10_000, fetchedAt: 1_000)
        let two = AccessTokenRecord(token: "TOKEN-TWO", expiresAt: 10_100, fetchedAt: 1_100)
        #expect(try await a.saveAccessToken(one, for: appID, replacing: nil) == one)
        // B looked when there was none: its save must not replace A's.
        #expect(try await b.saveAccessToken(two, for: appID, replacing: nil) == one)
        #expect(try await b.saveAccessToken(two, for: appID, replacing: "SOMETHING-ELSE") == one)
        // Compare-and-expire touches only the token that failed.
        #expect(try await b.expireAccessToken("TOKEN-TWO", for: appID) == false)
        #expect(try await a.accessToken(for: appID) == one)
        #expect(try await b.expireAccessToken("TOKEN-ONE", for: appID) == true)
        #expect(try await a.accessToken(for: appID)?.expiresAt == 0)
        // Expired: a save replacing nil now succeeds.
        #expect(try await b.saveAccessToken(two, for: appID, replacing: nil) == two)
        #expect(try await a.accessToken(for: appID) == two)
        let three = AccessTokenRecord(token: "TOKEN-THREE", expiresAt: 10_200, fetchedAt: 1_200)
        #expect(try await a.saveAccessToken(three, for: appID, replacing: "TOKEN-TWO") == three)
    }

    @Test func twoProcessesShareOneToken() async throws {
        let standIn = try StandIn(arguments: [])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-token-\(UUID().uuidString)")
        let path = folder.appendingPathComponent("kefu.sqlite").path
        _ = try SQLiteStore(path: path)  // created as kefu serve would
        let environment = ["KEFU_APPID": StandIn.appID, "KEFU_APPSECRET": StandIn.secret]
        let arguments = ["wechat", "token", "--store", "sqlite:" + path, "--wechat-api", standIn.url]
        async let first = Task.detached { try TestSupport.run(TestSupport.kefu, arguments, environment: environment) }.value
        async let second = Task.detached { try TestSupport.run(TestSupport.kefu, arguments, environment: environment) }.value
        let outputs = try await [first, second]
        for output in outputs {
            #expect(output.status == 0, "\(output.out)\(output.err)")
            #expect(output.out.contains("token: "))
            #expect(output.out.contains("seconds left: "))
        }
        #expect(try await standIn.stat("tokensMinted") == 1)
        let stored = try #require(try await SQLiteStore(path: path).accessToken(for: StandIn.appID))
        for output in outputs { #expect(output.out.contains("token: \(stored.maskedToken)")) }
        // A third process finds the fresh token in the store and asks WeChat nothing.
        let calls = try await standIn.calls("/cgi-bin/stable_token")
        let third = try TestSupport.run(TestSupport.kefu, arguments, environment: environment)
        #expect(third.status == 0, "\(third.err)")
        #expect(third.out.contains("fetched: no"))
        #expect(try await standIn.calls("/cgi-bin/stable_token") == calls)
        #expect(try await SQLiteStore(path: path).accessToken(for: StandIn.appID) == stored)
    }

    @Test func theCLIExplainsAWrongSecretWithoutShowingIt() async throws {
        let standIn = try StandIn()
        let wrong = "WrongSecretValue9876543210zyxwv"
        let output = try TestSupport.run(TestSupport.kefu, ["wechat", "token", "--store", "memory", "--wechat-api", standIn.url],
                                         environment: ["KEFU_APPID": StandIn.appID, "KEFU_APPSECRET": wrong])
        #expect(output.status == 1)
        #expect(output.err.contains("AppSecret"), "\(output.err)")
        #expect(!output.err.contains(wrong) && !output.out.contains(wrong))
    }
}
