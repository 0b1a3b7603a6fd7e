import ArgumentParser
import Foundation
import KefuWeChat
import KefuWeChatAPI

/// The account's protocol settings, from the environment (secrets never come from flags, so they
/// never land in shell history or `ps`).
/// The one reader of secrets, for `kefu serve` and the `kefu wechat` tools: `KEFU_TOKEN`,
/// `KEFU_AES_KEY`, `KEFU_PREVIOUS_AES_KEY`, `KEFU_APPID`, each also as `NAME_FILE` (a file holding it,
/// e.g. /run/secrets/token), which wins over the variable.
enum AccountEnvironment {
    static func secret(_ name: String, in env: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let path = env[name + "_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("\(name)_FILE names '\(path)', which cannot be read.")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return env[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The account's settings. The tools open pushes captured at any time and in any mode, so they
    /// check no freshness and accept every mode; `kefu serve` sets its own policy on top.
    static func configuration(requireKey: Bool = false) throws -> WeChatConfiguration {
        guard let token = try secret("KEFU_TOKEN") else {
            throw ValidationError("KEFU_TOKEN is not set. Export the Token (令牌) shown in the WeChat console under 设置与开发 → 基本配置, or set KEFU_TOKEN_FILE.")
        }
        var configuration = WeChatConfiguration(token: token, appID: try secret("KEFU_APPID"), timestampToleranceSeconds: nil)
        do {
            configuration.aesKey = try secret("KEFU_AES_KEY").map { try EncodingAESKey($0) }
            configuration.previousAESKey = try secret("KEFU_PREVIOUS_AES_KEY").map { try EncodingAESKey($0) }
        } catch let error as WeChatError {
            throw ValidationError("KEFU_AES_KEY or KEFU_PREVIOUS_AES_KEY: \(error)")
        }
        configuration.accepted = configuration.aesKey == nil && configuration.previousAESKey == nil ? .plaintext : .compatible
        if (configuration.aesKey != nil || configuration.previousAESKey != nil), configuration.appID == nil {
            throw ValidationError("KEFU_APPID is not set. Secure and compatible mode need the AppID (wx…) as well as KEFU_AES_KEY.")
        }
        if requireKey, configuration.aesKey == nil {
            throw ValidationError("KEFU_AES_KEY is not set. Secure and compatible mode need the EncodingAESKey from the console.")
        }
        return configuration
    }
}

extension AccountEnvironment {
    /// WeChat's API, when KEFU_APPSECRET (or KEFU_APPSECRET_FILE) is set; it needs KEFU_APPID too.
    static func apiConfiguration(baseURL: String, in env: [String: String] = ProcessInfo.processInfo.environment) throws -> WeChatAPIConfiguration? {
        guard let appSecret = try secret("KEFU_APPSECRET", in: env) else { return nil }
        guard let appID = try secret("KEFU_APPID", in: env) else {
            throw ValidationError("KEFU_APPSECRET is set but KEFU_APPID is not. WeChat's API needs the AppID (wx…) shown under 设置与开发 → 基本配置.")
        }
        guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://") else {
            throw ValidationError("--wechat-api \(baseURL): give an http(s) address, e.g. https://api.weixin.qq.com")
        }
        // A stand-in serves the QR images itself; WeChat serves them from mp.weixin.qq.com.
        let images = baseURL == WeChatAPI.defaultBaseURL ? WeChatAPI.defaultQRImageBaseURL : baseURL + "/cgi-bin/showqrcode"
        return WeChatAPIConfiguration(baseURL: baseURL, appID: appID, secret: AppSecret(appSecret), qrImageBaseURL: images)
    }
}

extension SecurityMode: ExpressibleByArgument {}

/// Exit code 1 with the protocol error's own words and code.
struct ProtocolFailure: Error, CustomStringConvertible {
    let error: WeChatError
    var description: String { "error: \(error) (\(error.code))" }
}
