import Foundation
import KefuTestSupport
import Testing

/// Runs the built `kefu` with a controlled environment (PATH and `environment` only).
func kefu(_ arguments: [String], environment: [String: String] = [:], input: String = "", workingDirectory: URL? = nil) throws -> (status: Int32, out: String, err: String) {
    let r = try TestSupport.run(TestSupport.kefu, arguments, environment: environment, input: Data(input.utf8), workingDirectory: workingDirectory)
    return (r.status, r.out, r.err)
}

@Suite("kefu wechat")
struct WeChatCommandTests {
    static let secureAccount = [
        "KEFU_TOKEN": "SwiftBotToken2024", "KEFU_APPID": "wx3f2a1b4c5d6e7f80",
        "KEFU_AES_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    ]

    @Test("kefu --help runs and lists its commands")
    func help() throws {
        let result = try kefu(["--help"])
        #expect(result.status == 0)
        #expect(result.out.contains("USAGE: kefu <subcommand>"))
        #expect(result.out.contains("wechat"))
        #expect(result.out.contains("KEFU_TOKEN"))
    }

    @Test("sign prints the official documentation's signature")
    func sign() throws {
        let result = try kefu(["wechat", "sign", "--timestamp", "1714036504", "--nonce", "1514711492"], environment: ["KEFU_TOKEN": "AAAAA"])
        #expect(result.status == 0)
        #expect(result.out == "f464b24fc39322e44b38aa78f5edd27bd1441696\n")
    }

    @Test("a missing token is a clear error, not a crash")
    func missingToken() throws {
        let result = try kefu(["wechat", "sign", "--timestamp", "1", "--nonce", "2"])
        #expect(result.status != 0)
        #expect(result.err.contains("KEFU_TOKEN is not set"))
    }

    @Test("an EncodingAESKey of the wrong length is named")
    func badKey() throws {
        var env = Self.secureAccount
        env["KEFU_AES_KEY"] = "tooShort"
        let result = try kefu(["wechat", "push", "--text", "hi", "--mode", "secure"], environment: env)
        #expect(result.status != 0)
        #expect(result.err.contains("it has 8 characters; it must have exactly 43"))
    }

    @Test("open decodes the secure-mode vector, and names a bad signature")
    func open() throws {
        let envelope = "<xml><ToUserName><![CDATA[gh_5d2b8e4c1a7f]]></ToUserName><Encrypt><![CDATA[AD5cwADzxzmIu+nzNPqxhyupO7tCDd4xR1U2A+Jlcxm5276WdkSj3wBmecdq+VtFWSl28jv9Yt17oor4qq5XZE9rFdEob1aC45Leo1JwG0bsizDqOjJ1Z6IkI1DbW67ZYS6FJKfYh4eq1ziRirSf5BcWytgOEKscCKtarzWiMWSO4qzngkRlrr6sDq3S1RU62Hbul3cBrFTsreyKGeA7DLcW/eNprcwv1maCYYrB8r+T4JJGZziztmuubOQvtBcI77viGlRIaGrg6Lewji6kdycyTZzWf/zCa7w9ZYadpKCIOwfoeCM9UdTYc6C+MBm0J5Z8kJdaVF5mJuPbl95qbJ8teUciNO52eUTSa8lx0BhoADUPRvknuSYJqM3/WeWYg2bo6/Ak/ZE80PoMr2PldGTdf4sjgh3pPx3hea+9JHE=]]></Encrypt></xml>"
        let query = "signature=deda2b06fe9d59f9350f2a2c39ece0c02b6f300f&timestamp=1718000000&nonce=1830464542&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&encrypt_type=aes&msg_signature=37f16ac9a3516cf10ccfca75b5766fdf50fbc12b"
        let result = try kefu(["wechat", "open", "--query", query], environment: Self.secureAccount, input: envelope)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("ok: secure mode, current key"))
        #expect(result.out.contains("MsgType: text"))
        #expect(result.out.contains("Content: hello"))
        let bad = try kefu(["wechat", "open", "--query", query.replacingOccurrences(of: "msg_signature=37", with: "msg_signature=00")],
                           environment: Self.secureAccount, input: envelope)
        #expect(bad.status == 1)
        #expect(bad.err.contains("msg_signature does not match"))
        #expect(bad.err.contains("-40001"))
    }

    @Test("push prints a curl command whose body and query open again")
    func pushThenOpen() throws {
        let push = try kefu(["wechat", "push", "--mode", "compatible", "--text", "我要退货 it's 😀"], environment: Self.secureAccount)
        #expect(push.status == 0, "\(push.err)")
        let line = push.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("curl -sS -X POST"))
        // Recover body and query from the printed command.
        let bodyStart = try #require(line.range(of: "--data-binary '"))
        let urlStart = try #require(line.range(of: "' 'http", options: .backwards))
        let body = String(line[bodyStart.upperBound..<urlStart.lowerBound]).replacingOccurrences(of: "'\\''", with: "'")
        let url = String(line[line.index(urlStart.lowerBound, offsetBy: 3)...].dropLast())
        let query = try #require(URLComponents(string: url)?.percentEncodedQuery)
        let opened = try kefu(["wechat", "open", "--query", query], environment: Self.secureAccount, input: body)
        #expect(opened.status == 0, "\(opened.err)")
        #expect(opened.out.contains("ok: compatible mode, current key"))
        #expect(opened.out.contains("Content: 我要退货 it's 😀"))
    }
}
