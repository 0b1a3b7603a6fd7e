import ArgumentParser
import Foundation
import KefuPostgres
import KefuServer
import KefuStore
import KefuWeChatAPI
import Logging

/// What the commands that call WeChat's API share: the account from the environment (KEFU_APPID,
/// KEFU_APPSECRET or KEFU_APPSECRET_FILE), the store whose access token `kefu serve` shares, the API address.
struct APIOptions: ParsableArguments {
    @Option(help: "The store kefu serve uses (it shares the access token): sqlite:PATH, memory or postgres://USER@HOST:PORT/DATABASE (password: KEFU_STORE_PASSWORD_FILE).")
    var store = "sqlite:kefu-data/kefu.sqlite"
    @Option(name: .customLong("wechat-api"), help: "WeChat's API address (a stand-in's, for tests and demos).")
    var wechatAPI = WeChatAPI.defaultBaseURL

    /// The client, and the SQLite store when there is one (QR codes are recorded there).
    func client() async throws -> (WeChatAPIClient, SQLiteStore?) {
        guard let configuration = try AccountEnvironment.apiConfiguration(baseURL: wechatAPI) else {
            throw ValidationError("KEFU_APPSECRET is not set. Export the AppSecret (开发者密码) from 设置与开发 → 基本配置, or set KEFU_APPSECRET_FILE to a file holding it; KEFU_APPID too.")
        }
        let (tokens, sqlite) = try await Self.tokenStore(store, appID: configuration.appID)
        var logger = Logger(label: "kefu.wechat-api") { _ in StreamLogHandler.standardError(label: "kefu.wechat-api") }
        logger.logLevel = .error
        return (WeChatAPIClient(configuration: configuration, tokenStore: tokens, logger: logger), sqlite)
    }

    /// The store whose access token `kefu serve` shares, from `--store` (and the SQLite store, if it is one).
    static func tokenStore(_ text: String, appID: String) async throws -> (any AccessTokenStore, SQLiteStore?) {
        switch try StoreArgument.parse(text) {
        case .memory: return (MemoryAccessTokenStore(), nil)
        case .sqlite(let path):
            do {
                let sqlite = try SQLiteStore(path: path, exclusive: false)
                return (sqlite, sqlite)
            } catch { throw APIFailure("The store \(path) cannot be opened: \(error)") }
        case .postgres(let location):
            // The token every instance shares lives in the database (one row per appid).
            let database = PostgresDatabase(location)
            do { try await database.prepare(register: false) } catch { throw APIFailure("\(error)") }
            return (PostgresStore(database: database, account: appID), nil)
        }
    }

    /// The failure in the words an operator acts on.
    static func failure(_ error: WeChatAPIError) -> APIFailure {
        APIFailure("\(error.errcode.map { "WeChat errcode \($0)" } ?? error.disposition.rawValue): \(error.errmsg)\n\(error.whatToDo)")
    }
}
