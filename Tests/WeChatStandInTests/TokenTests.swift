import Foundation
import Testing

/// The token authority on the stand-in's clock (spec §2, §10).
@Suite("wechat-standin: access tokens", .serialized)
struct TokenTests {
    @Test("/cgi-bin/token mints each call; the previous token lives 300 s more, then 40001; a token's end is 42001")
    func basicTokens() throws {
        let server = try StandInServer()
        let first = try server.get("/cgi-bin/token?grant_type=client_credential&appid=\(StandInServer.appID)&secret=\(StandInServer.secret)")
        #expect(first.status == 200 && first.contentType == "application/json; encoding=utf-8")
        #expect(first.json["expires_in"] as? Int == 7200)
        #expect(first.json["errcode"] == nil, "token success has no errcode: \(first.text)")
        let a = try #require(first.json["access_token"] as? String)
        #expect(a.count >= 100)
        #expect(try server.probe(a) == 46003, "a fresh token works (no menu yet)")
        let b = try server.token()
        #expect(a != b)
        try server.advance(299)
        #expect(try server.probe(a) == 46003, "the previous token still works within 300 s")
        try server.advance(1)
        #expect(try server.probe(a) == 40001)
        let superseded = try server.get("/cgi-bin/menu/get?access_token=\(a)")
        #expect((superseded.json["errmsg"] as? String)?.hasPrefix("invalid credential, access_token is invalid or not latest rid: ") == true, "\(superseded.text)")
        #expect(try server.probe(b) == 46003)
        try server.advance(7200 - 300 - 1)
        #expect(try server.probe(b) == 46003, "one second before its end")
        try server.advance(1)
        #expect(try server.probe(b) == 42001, "an unsuperseded token simply expires")
        #expect(try server.probe("garbage") == 40014)
        #expect(try server.get("/cgi-bin/menu/get").errcode == 41001)
        let stats = try server.get("/standin/stats").json
        #expect(stats["tokensMinted"] as? Int == 2)
        #expect((stats["calls"] as? [String: Any])?["/cgi-bin/token"] as? Int == 2)
    }

    @Test("fetch errors: 40013 wrong appid, 40125 wrong secret, 40002 grant_type, 43002 GET on stable_token, 40164 outside the allow-list")
    func fetchErrors() throws {
        let server = try StandInServer()
        #expect(try server.get("/cgi-bin/token?grant_type=client_credential&appid=wxOTHER&secret=\(StandInServer.secret)").errcode == 40013)
        #expect(try server.get("/cgi-bin/token?grant_type=client_credential&appid=\(StandInServer.appID)&secret=wrong").errcode == 40125)
        #expect(try server.get("/cgi-bin/token?grant_type=password&appid=\(StandInServer.appID)&secret=\(StandInServer.secret)").errcode == 40002)
        #expect(try server.post("/cgi-bin/stable_token", json: ["grant_type": "client_credential", "appid": StandInServer.appID, "secret": "wrong"]).errcode == 40125)
        let get = try server.get("/cgi-bin/stable_token")
        #expect(get.errcode == 43002 && get.status == 200)
        #expect(try server.get("/standin/stats").json["tokensMinted"] as? Int == 0)

        let fenced = try StandInServer(["--allow-ip", "10.9.8.7"])
        let refused = try fenced.get("/cgi-bin/token?grant_type=client_credential&appid=\(StandInServer.appID)&secret=\(StandInServer.secret)")
        #expect(refused.errcode == 40164)
        #expect((refused.json["errmsg"] as? String)?.hasPrefix("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: ") == true, "\(refused.text)")
        let allowed = try StandInServer(["--allow-ip", "127.0.0.1"])
        #expect(try allowed.stable().json["access_token"] is String)
    }

    @Test("stable_token: normal mode hands out the current token and rolls it in its last 300 s; force rotates 30 s apart, 20 a day")
    func stableTokens() throws {
        let server = try StandInServer()
        let s1 = try #require(try server.stable().json["access_token"] as? String)
        try server.advance(100)
        let again = try server.stable().json
        #expect(again["access_token"] as? String == s1)
        #expect(again["expires_in"] as? Int == 7100, "the remaining life")
        try server.advance(6800)  // 300 s left: rolled
        let rolled = try server.stable().json
        let s2 = try #require(rolled["access_token"] as? String)
        #expect(s2 != s1 && rolled["expires_in"] as? Int == 7200)
        #expect(try server.probe(s1) == 46003, "the old token lives out its last 300 s")
        try server.advance(300)
        #expect(try server.probe(s1) == 42001)

        // Force: rotates, and the previous token stops at once.
        let s3 = try #require(try server.stable(force: true).json["access_token"] as? String)
        #expect(s3 != s2)
        #expect(try server.probe(s2) == 40001)
        try server.advance(29)
        #expect(try server.stable(force: true).json["access_token"] as? String == s3, "within 30 s: unchanged")
        try server.advance(1)
        let s4 = try #require(try server.stable(force: true).json["access_token"] as? String)
        #expect(s4 != s3)
        // 2 forces so far today; 18 more are allowed, the 21st is not.
        var last = s4
        for _ in 0..<18 {
            try server.advance(30)
            last = try #require(try server.stable(force: true).json["access_token"] as? String)
        }
        try server.advance(30)
        #expect(try server.stable(force: true).json["access_token"] as? String == last, "the 21st force of the day is refused")
        let stats = try server.get("/standin/stats").json
        #expect(stats["forceRefreshes"] as? Int == 20)
    }

    @Test("the two families never invalidate each other; /standin/rotate cuts both at once and normal mode then mints anew")
    func familiesAndRotate() throws {
        let server = try StandInServer()
        let stable = try #require(try server.stable().json["access_token"] as? String)
        let basic = try server.token()
        _ = try server.token()
        _ = try server.stable(force: true)
        try server.advance(300)
        #expect(try server.probe(basic) == 40001)
        #expect(try server.probe(stable) == 40001, "force-refreshed")

        let server2 = try StandInServer()
        let s = try #require(try server2.stable().json["access_token"] as? String)
        let b = try server2.token()
        _ = try server2.token()  // supersedes b, not s
        #expect(try server2.probe(s) == 46003)
        _ = try server2.stable(force: true)  // supersedes s, not the basic family
        let b2 = try server2.token()
        _ = try server2.stable(force: true)
        #expect(try server2.probe(b2) == 46003)
        #expect(try server2.probe(b) == 46003, "still within its 300 s")

        #expect(try server2.post("/standin/rotate", "").status == 200)
        #expect(try server2.probe(b2) == 40001)
        let current = try #require(try server2.stable().json)
        let fresh = try #require(current["access_token"] as? String)
        #expect(current["expires_in"] as? Int == 7200)
        #expect(try server2.probe(fresh) == 46003)
    }
}
