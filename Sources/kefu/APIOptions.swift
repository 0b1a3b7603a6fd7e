import ArgumentParser
import Foundation
import KefuServer
import KefuStore
import KefuWeChatAPI
import Logging

/// What the commands that call WeChat's API share: the account from the environment (KEFU_APPID,
/// KEFU_APPSECRET or KEFU_APPSECRET_FILE), the store whose access token `kefu serve` shares, the API address.
struct APIOptions: ParsableArguments {
    @Option(help: "The store kefu serve uses (it shares the access token): sqlite:PATH or memory.")
    var store = "sqlite:kefu-data/kefu.sqlite"
    @Option(name: .customLong("wechat-api"), help: "WeChat's API address (a stand-in's, for tests and demos).")
    var wechatAPI = WeChatAPI.defaultBaseURL

    /// The client, and the SQLite store when there is one (QR codes are recorded there).
    func client() throws -> (WeChatAPIClient, SQLiteStore?) {
        guard let configuration = try AccountEnvironment.apiConfiguration(baseURL: wechatAPI) else {
            throw ValidationError("KEFU_APPSECRET is not set. Export the AppSecret (开发者密码) from 设置与开发 → 基本配置, or set KEFU_APPSECRET_FILE to a file holding it; KEFU_APPID too.")
        }
        guard let choice = ServerConfiguration.StoreChoice(store) else { throw ValidationError("--store \(store): use sqlite:PATH or memory.") }
        var sqlite: SQLiteStore?
        let tokens: any AccessTokenStore
        switch choice {
        case .memory: tokens = MemoryAccessTokenStore()
        case .sqlite(let path):
            do { sqlite = try SQLiteStore(path: path, exclusive: false) } catch { throw APIFailure("The store \(path) cannot be opened: \(error)") }
            tokens = sqlite!
        }
        var logger = Logger(label: "kefu.wechat-api") { _ in StreamLogHandler.standardError(label: "kefu.wechat-api") }
        logger.logLevel = .error
        return (WeChatAPIClient(configuration: configuration, tokenStore: tokens, logger: logger), sqlite)
    }

    /// The failure in the words an operator acts on.
    static func failure(_ error: WeChatAPIError) -> APIFailure {
        APIFailure("\(error.errcode.map { "WeChat errcode \($0)" } ?? error.disposition.rawValue): \(error.errmsg)\n\(error.whatToDo)")
    }
}
