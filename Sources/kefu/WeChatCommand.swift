import ArgumentParser
import Foundation
import KefuServer
import KefuStore
import KefuWeChat
import KefuWeChatAPI
import Logging

struct WeChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wechat",
        abstract: "Sign, simulate and inspect WeChat pushes, and check the API access token (tools for setting up an account).",
        subcommands: [Sign.self, Push.self, Open.self, Token.self]
    )
}

extension WeChatCommand {
    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the signature WeChat would send for a timestamp and nonce.",
            discussion: """
                With --encrypt, prints the msg_signature over that <Encrypt> text instead.
                  KEFU_TOKEN=AAAAA kefu wechat sign --timestamp 1714036504 --nonce 1514711492
                """
        )
        @Option(help: "The request's timestamp (Unix seconds).") var timestamp: String
        @Option(help: "The request's nonce.") var nonce: String
        @Option(name: .customLong("encrypt"), help: ArgumentHelp("The <Encrypt> text, for msg_signature.", valueName: "base64"))
        var encrypted: String?

        func run() throws {
            let configuration = try AccountEnvironment.configuration()
            print(Signature.compute([configuration.token, timestamp, nonce] + (encrypted.map { [$0] } ?? [])))
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a curl command that delivers a signed push, as WeChat would send it.",
            discussion: """
                  kefu wechat push --text 你好
                  kefu wechat push --mode secure --click MENU_CONTACT --url http://127.0.0.1:8080/wechat
                  kefu wechat push --subscribe qr_store_7
                """
        )
        @Option(help: "Where kefu serve listens.") var url = "http://127.0.0.1:8080/wechat"
        @Option(help: "plaintext, compatible or secure (the last two need KEFU_AES_KEY and KEFU_APPID). Default: secure when KEFU_AES_KEY is set (what kefu serve accepts by default), else plaintext.")
        var mode: SecurityMode?
        @Option(help: "The user's OpenID.") var from = "oKefuTestUser000000000000000"
        @Option(help: "The Official Account's original ID.") var to = "gh_kefu_test"
        @Option(help: "Send a text message.") var text: String?
        @Option(help: "Send a menu click with this key.") var click: String?
        @Option(help: ArgumentHelp("Send a follow event; '-' for a plain follow, else the QR scene.", valueName: "scene")) var subscribe: String?

        func validate() throws {
            let chosen = [text != nil, click != nil, subscribe != nil].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("Choose exactly one of --text, --click and --subscribe.") }
        }

        func run() throws {
            let configuration = try AccountEnvironment.configuration(requireKey: mode != nil && mode != .plaintext)
            let mode = self.mode ?? (configuration.aesKey == nil ? .plaintext : .secure)
            let now = Int64(Date().timeIntervalSince1970)
            let content: InboundMessage.Content
            if let text {
                content = .text(.init(content: text))
            } else if let click {
                content = .event(.click(key: click))
            } else {
                content = .event(.subscribe(scene: subscribe == "-" ? nil : subscribe, ticket: nil))
            }
            let message = InboundMessage(toUserName: to, fromUserName: from, createTime: now,
                                         msgId: content.msgType == "event" ? nil : UInt64(now) * 1000 + UInt64.random(in: 0..<1000),
                                         content: content)
            do {
                let (query, body) = try WeChatPlatform(configuration).push(message, mode: mode, timestamp: now, nonce: String(UInt32.random(in: 1...UInt32.max)))
                var components = URLComponents(string: url)
                components?.queryItems = query.parameters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
                let quoted = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "'", with: "'\\''")
                print("curl -sS -X POST -H 'Content-Type: text/xml' --data-binary '\(quoted)' '\(components?.string ?? url)'")
            } catch {
                throw ProtocolFailure(error: error)
            }
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check and decode one push: its query and body, as the server would.",
            discussion: """
                Reads the POST body from standard input and reports why a push would be refused:
                  kefu wechat open --query 'signature=…&timestamp=…&nonce=…&encrypt_type=aes&msg_signature=…' < body.xml
                """
        )
        @Option(help: "The request's query string (after the '?').") var query: String

        func run() throws {
            let configuration = try AccountEnvironment.configuration()
            var parameters: [String: String] = [:]
            for item in URLComponents(string: "?" + query)?.queryItems ?? [] { parameters[item.name] = item.value ?? "" }
            let body = Array(FileHandle.standardInput.readDataToEndOfFile())
            do {
                let endpoint = try WeChatEndpoint(configuration)
                let opened = try endpoint.open(body, query: try SignedQuery(parameters), now: Int64(Date().timeIntervalSince1970))
                let message = opened.message
                print("ok: \(opened.mode.rawValue) mode\(opened.key.map { ", \($0.rawValue) key" } ?? "")")
                print("MsgType: \(message.msgType)")
                if case .event(let event) = message.content { print("Event: \(event.name)") }
                print("From: \(message.fromUserName)")
                print("To: \(message.toUserName)")
                print("CreateTime: \(message.createTime)")
                for (name, text) in message.fields.leafFields where !["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event"].contains(name) {
                    print("\(name): \(text)")
                }
                print("Deduplication key: \(message.deduplicationKey)")
            } catch {
                throw ProtocolFailure(error: error)
            }
        }
    }
}

extension WeChatCommand {
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Get the account's access token as kefu serve would: from the shared store, else from WeChat.",
            discussion: """
                Reads KEFU_APPID and KEFU_APPSECRET (or KEFU_APPSECRET_FILE). Prints the token masked, the
                seconds it has left and whether this call fetched it (a fresh token in the store is used as is).
                  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu wechat token --store sqlite:kefu-data/kefu.sqlite
                """
        )
        @Option(help: "The store that shares the token with kefu serve: sqlite:PATH or memory.")
        var store = "sqlite:kefu-data/kefu.sqlite"
        @Option(name: .customLong("wechat-api"), help: "WeChat's API address (a stand-in's, for tests).")
        var wechatAPI = WeChatAPI.defaultBaseURL

        func run() async throws {
            guard let appID = try AccountEnvironment.secret("KEFU_APPID") else {
                throw ValidationError("KEFU_APPID is not set. Export the AppID (wx…) shown under 设置与开发 → 基本配置.")
            }
            guard let secret = try AccountEnvironment.secret("KEFU_APPSECRET") else {
                throw ValidationError("KEFU_APPSECRET is not set. Export the AppSecret (开发者密码) from 设置与开发 → 基本配置, or set KEFU_APPSECRET_FILE to a file holding it.")
            }
            let (tokens, _) = try await APIOptions.tokenStore(store, appID: appID)
            var logger = Logger(label: "kefu.wechat-api") { _ in StreamLogHandler.standardError(label: "kefu.wechat-api") }
            logger.logLevel = .error
            let configuration = WeChatAPIConfiguration(baseURL: wechatAPI, appID: appID, secret: AppSecret(secret))
            let provider = AccessTokenProvider(configuration: configuration, store: tokens, logger: logger)
            do {
                let record = try await provider.token()
                print("token: \(record.maskedToken)")
                print("seconds left: \(record.secondsLeft(at: Int64(Date().timeIntervalSince1970)))")
                print("fetched: \(provider.fetches > 0 ? "yes (this call asked WeChat)" : "no (a fresh token was in the store)")")
            } catch let error as WeChatAPIError {
                throw APIFailure("\(error.errcode.map { "WeChat errcode \($0)" } ?? error.disposition.rawValue): \(error.errmsg)\n\(error.whatToDo)")
            }
        }
    }
}

/// Exit code 1 with what failed and what to do.
struct APIFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { "error: \(message)" }
}
