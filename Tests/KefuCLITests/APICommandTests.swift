import Foundation
import KefuTestSupport
import Testing

/// The commands that talk to WeChat's API (`kefu menu diff|push|pull|delete`, `kefu qr`, `kefu lint
/// --store`), run as an operator runs them, against the stand-in.
@Suite("kefu menu and kefu qr against the stand-in", .serialized)
struct APICommandTests {
    static let shop = TestSupport.root.appendingPathComponent("Rules/shop").path

    static func kefu(_ arguments: [String], _ standIn: StandInServer) throws -> TestSupport.Output {
        try TestSupport.run(TestSupport.kefu, arguments + ["--wechat-api", standIn.base],
                            environment: ["KEFU_APPID": StandInServer.appID, "KEFU_APPSECRET": StandInServer.secret], mergeErrors: true)
    }

    @Test("menu: diff before a push lists it all (exit 1); push; then diff shows no difference; pull prints it back as rule-file YAML; delete")
    func menu() throws {
        let standIn = try StandInServer()
        let store = ["--store", "memory"]
        let before = try Self.kefu(["menu", "diff", Self.shop] + store, standIn)
        #expect(before.status == 1 && before.out.contains("WeChat has no menu"), "\(before.out)")
        let push = try Self.kefu(["menu", "push", Self.shop] + store, standIn)
        #expect(push.status == 0, "\(push.out)")
        let live = try #require(try standIn.get("/standin/menu").json["menu"] as? [String: Any])
        #expect((live["button"] as? [[String: Any]])?.count == 3)
        let after = try Self.kefu(["menu", "diff", Self.shop] + store, standIn)
        #expect(after.status == 0 && after.out.contains("no difference"), "\(after.out)")
        let pulled = try Self.kefu(["menu", "pull"] + store, standIn)
        #expect(pulled.status == 0 && pulled.out.contains("{name: 订单状态, click: MENU_ORDER_STATUS}"), "\(pulled.out)")
        // The pulled YAML is a menu the rule language reads back to the same menu.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-pulled-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "default: 好的\nrules:\n  - {id: any-button, when: {click: '*'}, reply: 好的}\n"
            .write(to: folder.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        try pulled.out.write(to: folder.appendingPathComponent("pulled-menu.yaml"), atomically: true, encoding: .utf8)
        let again = try Self.kefu(["menu", "diff", folder.path] + store, standIn)
        #expect(again.status == 0 && again.out.contains("no difference"), "\(again.out)")

        let delete = try Self.kefu(["menu", "delete"] + store, standIn)
        #expect(delete.status == 0)
        #expect(try Self.kefu(["menu", "diff", Self.shop] + store, standIn).status == 1)
    }

    @Test("a menu WeChat refuses names its errcode and what to do; a missing AppSecret is a clear error")
    func refusals() throws {
        let standIn = try StandInServer()
        let noSecret = try TestSupport.run(TestSupport.kefu, ["menu", "push", Self.shop, "--store", "memory", "--wechat-api", standIn.base],
                                          environment: ["KEFU_APPID": StandInServer.appID], mergeErrors: true)
        #expect(noSecret.status != 0 && noSecret.out.contains("KEFU_APPSECRET is not set"), "\(noSecret.out)")
        let wrong = try TestSupport.run(TestSupport.kefu, ["menu", "push", Self.shop, "--store", "memory", "--wechat-api", standIn.base],
                                        environment: ["KEFU_APPID": StandInServer.appID, "KEFU_APPSECRET": "wrong-secret-value"], mergeErrors: true)
        #expect(wrong.status == 1 && wrong.out.contains("40125"), "\(wrong.out)")
        #expect(!wrong.out.contains("wrong-secret-value"), "the AppSecret never appears in an error")
    }

    @Test("qr create records the code; lint --store then warns only about the scenes without one")
    func qrCodes() throws {
        let standIn = try StandInServer()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-qr-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = "sqlite:" + folder.appendingPathComponent("kefu.sqlite").path
        let made = try Self.kefu(["qr", "create", "--scene", "store_beijing", "--permanent", "--store", store], standIn)
        #expect(made.status == 0 && made.out.contains("ticket:") && made.out.contains("/cgi-bin/showqrcode?ticket="), "\(made.out)")
        let image = try #require(made.out.split(separator: "\n").first { $0.hasPrefix("image:") }.map { String($0.dropFirst(6)).trimmingCharacters(in: .whitespaces) })
        #expect(try Curl.call("GET", image).status == 200, "the image URL shows the code")
        let lint = try TestSupport.run(TestSupport.kefu, ["lint", Self.shop, "--store", store], mergeErrors: true)
        #expect(lint.out.contains("scene 'store_shanghai'") && !lint.out.contains("scene 'store_beijing'"), "\(lint.out)")
        let tooLong = try Self.kefu(["qr", "create", "--scene", "x", "--expires", "31d", "--store", store], standIn)
        #expect(tooLong.status != 0 && tooLong.out.contains("at most 30 days"), "\(tooLong.out)")
    }
}
