import ArgumentParser
import Foundation
import KefuWeChat

/// The account's protocol settings, from the environment (secrets never come from flags, so they
/// never land in shell history or `ps`).
enum AccountEnvironment {
    static func configuration(requireKey: Bool = false) throws -> WeChatConfiguration {
        let env = ProcessInfo.processInfo.environment
        guard let token = env["KEFU_TOKEN"], !token.isEmpty else {
            throw ValidationError("KEFU_TOKEN is not set. Export the Token (令牌) shown in the WeChat console under 设置与开发 → 基本配置.")
        }
        var configuration = WeChatConfiguration(token: token, appID: env["KEFU_APPID"].flatMap { $0.isEmpty ? nil : $0 })
        do {
            if let key = env["KEFU_AES_KEY"], !key.isEmpty { configuration.aesKey = try EncodingAESKey(key) }
            if let key = env["KEFU_PREVIOUS_AES_KEY"], !key.isEmpty { configuration.previousAESKey = try EncodingAESKey(key) }
        } catch {
            throw ValidationError("KEFU_AES_KEY or KEFU_PREVIOUS_AES_KEY: \(error)")
        }
        if (configuration.aesKey != nil || configuration.previousAESKey != nil), configuration.appID == nil {
            throw ValidationError("KEFU_APPID is not set. Secure and compatible mode need the AppID (wx…) as well as KEFU_AES_KEY.")
        }
        if requireKey, configuration.aesKey == nil {
            throw ValidationError("KEFU_AES_KEY is not set. Secure and compatible mode need the EncodingAESKey from the console.")
        }
        return configuration
    }
}

extension SecurityMode: ExpressibleByArgument {}

/// Exit code 1 with the protocol error's own words and code.
struct ProtocolFailure: Error, CustomStringConvertible {
    let error: WeChatError
    var description: String { "error: \(error) (\(error.code))" }
}
