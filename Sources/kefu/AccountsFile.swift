import Foundation
import KefuRules
import KefuServer
import KefuWeChat
import KefuWeChatAPI
import Yams

/// `kefu serve --accounts FILE`: several Official Accounts in one deployment (docs/serve.md, "Several accounts").
///
/// ```yaml
/// accounts:
///   - appid: wx0123456789abcdef
///     name: 示例商城
///     rules: ../Rules/shop          # relative to this file's folder
///     token: shop-wechat-token      # a secret NAME: KEFU_SECRET_SHOP_WECHAT_TOKEN or …_FILE holds the value
///     aes_key: shop-aes-key         # optional (secure mode)
///     appsecret: shop-appsecret     # optional (WeChat's API)
///     path: /wechat/wx0123456789abcdef   # optional; default /wechat/{appid}
///     mode: secure                  # optional: plaintext, compatible, secure (default: secure with aes_key)
/// ```
///
/// Secrets are named, never written: each name `shop-token` is read from `KEFU_SECRET_SHOP_TOKEN`
/// (upper case, `-` → `_`), or from the file `KEFU_SECRET_SHOP_TOKEN_FILE` names — the convention of
/// the rule sets' service secrets. Every problem is reported at once, as `file:line:col` diagnostics
/// that never repeat a secret's value.
enum AccountsFile {
    struct Failure: Error, CustomStringConvertible {
        let diagnostics: [Diagnostic]
        var description: String { diagnostics.map { $0.render() }.joined(separator: "\n") }
    }

    static let keys = ["appid", "name", "rules", "token", "aes_key", "previous_aes_key", "appsecret", "path", "mode", "gate"]
    static let secretKeys: Set<String> = ["token", "aes_key", "previous_aes_key", "appsecret"]
    static let reservedPaths: Set<String> = ["/healthz", "/readyz", "/status", "/metrics"]

    /// The accounts of `path`, with their secrets from `environment`. `apiBaseURL`: `--wechat-api`.
    static func load(path: String, apiBaseURL: String,
                     environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> [ServerConfiguration.Account] {
        var diagnostics: [Diagnostic] = []
        func report(_ code: String, _ mark: Mark?, _ message: String, hint: String? = nil) {
            diagnostics.append(Diagnostic(.error, code, at: SourceLocation(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1),
                                          message, hint: hint))
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            report("unreadable-file", nil, "the accounts file cannot be read", hint: "check the path given to --accounts (or KEFU_ACCOUNTS) and its permissions")
            throw Failure(diagnostics: diagnostics)
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let yaml as YamlError {
            var mark: Mark?
            switch yaml {
            case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): mark = m
            default: mark = nil
            }
            report("yaml-syntax", mark, "this is not valid YAML: \(Self.problem(yaml))", hint: "check the indentation and the quotes on this line and the one before")
            throw Failure(diagnostics: diagnostics)
        } catch {
            report("yaml-syntax", nil, "this is not valid YAML")
            throw Failure(diagnostics: diagnostics)
        }
        guard let root, case .mapping(let top) = root, let list = root["accounts"] else {
            report("no-accounts", root?.mark, "the file has no 'accounts:' list", hint: "start it with 'accounts:' and one '- appid: wx…' entry per Official Account (see docs/serve.md)")
            throw Failure(diagnostics: diagnostics)
        }
        for (key, _) in top where key.string != "accounts" {
            report("unknown-key", key.mark, "unknown key '\(key.string ?? "?")' at the top of the accounts file", hint: "the file holds one key, accounts:")
        }
        guard case .sequence(let entries) = list, !entries.isEmpty else {
            report("no-accounts", list.mark, "'accounts:' must be a list with at least one account", hint: "write one '- appid: wx…' entry per Official Account")
            throw Failure(diagnostics: diagnostics)
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let secretValues = Set(environment.filter { $0.key.hasPrefix(secretPrefix) && !$0.key.hasSuffix("_FILE") && $0.value.count >= 3 }.values)
        var accounts: [ServerConfiguration.Account] = []
        var seenAppIDs: [String: Int] = [:], seenPaths: [String: Int] = [:]
        for entry in entries {
            guard case .mapping(let fields) = entry.self else {
                report("not-a-mapping", entry.mark, "each account is a mapping (appid:, rules:, token: …)", hint: "start each account with '- appid: wx…' and indent its other keys under it")
                continue
            }
            for (key, _) in fields where !keys.contains(key.string ?? "") {
                let name = key.string ?? "?"
                let suggestion = name.lowercased().replacingOccurrences(of: "-", with: "_")
                report("unknown-key", key.mark, "unknown key '\(name)'",
                      hint: keys.contains(suggestion) ? "write it \(suggestion)" : "the keys of an account are: \(keys.joined(separator: ", "))")
            }
            func scalar(_ key: String) -> (value: String, mark: Mark?)? {
                guard let node = entry[key] else { return nil }
                guard let value = node.scalar?.string else {
                    report("not-a-scalar", node.mark, "'\(key)' must be a single value")
                    return nil
                }
                return (value, node.mark)
            }
            let label = scalar("name")?.value
            guard let appid = scalar("appid") else {
                report("missing-key", entry.mark, "this account has no appid", hint: "add 'appid: wx…' (the AppID under 设置与开发 → 基本配置)")
                continue
            }
            let who = label.map { "account \($0) (\(appid.value))" } ?? "account \(appid.value)"
            var bad = false
            if appid.value.range(of: #"^wx[0-9a-f]{16}$"#, options: .regularExpression) == nil {
                report("bad-appid", appid.mark, "'\(appid.value)' is not an AppID", hint: "an AppID is wx followed by 16 hex digits (wx0123456789abcdef); copy it from 设置与开发 → 基本配置")
                bad = true
            }
            let duplicate = seenAppIDs[appid.value] != nil
            if let first = seenAppIDs[appid.value] {
                report("duplicate-appid", appid.mark, "the appid \(appid.value) is already used by the account on line \(first)", hint: "each Official Account appears once; remove or correct one of them")
                bad = true
            } else {
                seenAppIDs[appid.value] = appid.mark?.line ?? 0
            }
            let webhookPath = scalar("path") ?? ("/wechat/" + appid.value, appid.mark)
            if !webhookPath.value.hasPrefix("/") || webhookPath.value.contains(where: { $0 == "?" || $0 == "#" || $0 == " " }) {
                report("bad-path", webhookPath.mark, "the path '\(webhookPath.value)' is not a URL path", hint: "write it like /wechat/\(appid.value), as in the console's 服务器地址 URL")
                bad = true
            } else if reservedPaths.contains(webhookPath.value) {
                report("reserved-path", webhookPath.mark, "the path \(webhookPath.value) is kefu serve's own", hint: "use /wechat/\(appid.value)")
                bad = true
            } else if let first = seenPaths[webhookPath.value], !(duplicate && entry["path"] == nil) {
                report("duplicate-path", webhookPath.mark, "the path \(webhookPath.value) is already the path of the account on line \(first)", hint: "give each account its own path (the default is /wechat/{appid})")
                bad = true
            } else {
                seenPaths[webhookPath.value] = webhookPath.mark?.line ?? 0
            }
            var rulesDirectory: String?
            if let rules = scalar("rules") {
                let resolved = rules.value.hasPrefix("/") ? rules.value : folder.appendingPathComponent(rules.value).standardized.path
                var isFolder: ObjCBool = false
                if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) || !isFolder.boolValue {
                    report("missing-rules", rules.mark, "the rule-set folder \(rules.value) does not exist (looked at \(resolved))",
                          hint: "paths are relative to the accounts file's folder; create the folder or correct the path")
                    bad = true
                } else {
                    rulesDirectory = resolved
                }
            } else {
                report("missing-key", entry.mark, "\(who) has no rules", hint: "add 'rules: FOLDER' (the account's rule-set folder, relative to this file)")
                bad = true
            }
            var gate: String?
            if let g = scalar("gate") {
                let resolved = g.value.hasPrefix("/") ? g.value : folder.appendingPathComponent(g.value).standardized.path
                if FileManager.default.fileExists(atPath: resolved) { gate = resolved } else {
                    report("missing-gate", g.mark, "the corpus \(g.value) does not exist (looked at \(resolved))", hint: "paths are relative to the accounts file's folder")
                    bad = true
                }
            }
            /// A secret named by `key`: its value from the environment, or a diagnostic.
            func secret(_ key: String, required: Bool) -> String? {
                guard let named = scalar(key) else {
                    if required {
                        report("missing-key", entry.mark, "\(who) has no \(key)",
                              hint: "add '\(key): NAME' and put the value in \(secretPrefix)NAME (or \(secretPrefix)NAME_FILE)")
                        bad = true
                    }
                    return nil
                }
                if let why = literalReason(key: key, value: named.value, knownValues: secretValues) {
                    report("literal-secret", named.mark, "\(key) holds what looks like the secret itself (\(why)), not a secret's name; a secret must never be written in this file",
                          hint: "remove it from the file (and from its history), put the value in the environment as \(secretPrefix)<NAME> or \(secretPrefix)<NAME>_FILE, and write NAME here, e.g. \(key): \(Self.exampleName(appid: appid.value, key: key)) with the value in \(variableName(Self.exampleName(appid: appid.value, key: key)))")
                    bad = true
                    return nil
                }
                let variable = variableName(named.value)
                switch read(variable, environment) {
                case .success(let value?): return value
                case .success(nil):
                    report("missing-secret", named.mark, "\(variable) is not set (the \(key) of \(who))",
                          hint: "set \(variable), or \(variable)_FILE to a file holding it (e.g. /run/secrets/\(named.value))")
                case .failure(let problem):
                    report("unusable-secret", named.mark, problem.sentence + " (the \(key) of \(who))", hint: "set exactly one of \(variable) and \(variable)_FILE, to the value")
                }
                bad = true
                return nil
            }
            let token = secret("token", required: true)
            func aesKey(_ key: String) -> EncodingAESKey? {
                guard let value = secret(key, required: false), let named = scalar(key) else { return nil }
                do { return try EncodingAESKey(value) } catch {
                    let detail: String = if case .invalidAESKey(let why) = error { why } else { "\(error)" }
                    report("bad-aes-key", named.mark, "the value of \(variableName(named.value)) is not an EncodingAESKey: \(detail)",
                           hint: "copy the 43-character EncodingAESKey (消息加解密密钥) of \(who) again from the console")
                    bad = true
                    return nil
                }
            }
            let aes = aesKey("aes_key"), previous = aesKey("previous_aes_key")
            let appSecret = secret("appsecret", required: false)
            var accepted: AcceptedModes = aes == nil && previous == nil ? .plaintext : .secure
            if let mode = scalar("mode") {
                if let chosen = AcceptedModes(rawValue: mode.value) {
                    accepted = chosen
                    if chosen != .plaintext, entry["aes_key"] == nil, entry["previous_aes_key"] == nil {
                        report("mode-needs-key", mode.mark, "mode \(mode.value) accepts encrypted pushes, but \(who) has no aes_key",
                              hint: "add 'aes_key: NAME' (its EncodingAESKey in \(secretPrefix)NAME), or use mode: plaintext")
                        bad = true
                    }
                } else {
                    report("bad-mode", mode.mark, "mode '\(mode.value)' is not one of plaintext, compatible, secure",
                          hint: "secure (encrypted only; the default with aes_key), compatible (only while switching the console), or plaintext")
                    bad = true
                }
            }
            guard !bad, let token, let rulesDirectory else { continue }
            var wechat = WeChatConfiguration(token: token, appID: appid.value, timestampToleranceSeconds: WeChatConfiguration.defaultTimestampTolerance)
            wechat.aesKey = aes
            wechat.previousAESKey = previous
            wechat.accepted = accepted
            let api = appSecret.map { secret in
                // A stand-in serves the QR images itself; WeChat serves them from mp.weixin.qq.com.
                let images = apiBaseURL == WeChatAPI.defaultBaseURL ? WeChatAPI.defaultQRImageBaseURL : apiBaseURL + "/cgi-bin/showqrcode"
                return WeChatAPIConfiguration(baseURL: apiBaseURL, appID: appid.value, secret: AppSecret(secret), qrImageBaseURL: images)
            }
            accounts.append(.init(id: AccountID(appid.value), name: label, path: webhookPath.value, rulesDirectory: rulesDirectory,
                                  wechat: wechat, api: api, gate: gate))
        }
        if !diagnostics.isEmpty { throw Failure(diagnostics: diagnostics.sorted()) }
        return accounts
    }

    static let secretPrefix = "KEFU_SECRET_"

    /// `shop-token` → `KEFU_SECRET_SHOP_TOKEN`.
    static func variableName(_ name: String) -> String {
        secretPrefix + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Why `value` looks like a secret rather than a secret's name (nil: a name). Names are letters,
    /// digits, `-` and `_`, start with a letter, are at most 64 characters and are not mixed-case; a
    /// value equal to a KEFU_SECRET_* variable's, a 43-character key or a 32-hex-digit AppSecret is a secret.
    static func literalReason(key: String, value: String, knownValues: Set<String>) -> String? {
        if knownValues.contains(value) { return "it equals the value of a KEFU_SECRET_ variable" }
        if value.count == 43, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return "43 letters and digits, like an EncodingAESKey" }
        if value.count == 32, value.allSatisfy({ $0.isHexDigit }) { return "32 hex digits, like an AppSecret" }
        guard value.range(of: #"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$"#, options: .regularExpression) != nil, value.count <= 64 else {
            return "a name is letters, digits, - and _, starting with a letter"
        }
        if value.contains(where: \.isUppercase), value.contains(where: \.isLowercase) { return "a name is not mixed-case" }
        return nil
    }

    static func exampleName(appid: String, key: String) -> String {
        "\(appid)-\(key.replacingOccurrences(of: "_", with: "-"))"
    }

    /// `variable` or the contents of `variable_FILE` (trailing newlines trimmed); nil when neither is set.
    /// Failures name the variable and the file, never the value.
    struct Unusable: Error { let sentence: String }

    static func read(_ variable: String, _ environment: [String: String]) -> Result<String?, Unusable> {
        let fileVariable = variable + "_FILE"
        switch (environment[variable], environment[fileVariable]) {
        case (nil, nil): return .success(nil)
        case (_?, _?): return .failure(Unusable(sentence: "\(variable) and \(fileVariable) are both set"))
        case (let value?, nil): return value.isEmpty ? .failure(Unusable(sentence: "\(variable) is set but empty")) : .success(value)
        case (nil, let file?):
            guard var text = try? String(contentsOfFile: file, encoding: .utf8) else {
                return .failure(Unusable(sentence: "\(fileVariable) names \(file), which cannot be read"))
            }
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text.isEmpty ? .failure(Unusable(sentence: "\(fileVariable) names \(file), which is empty")) : .success(text)
        }
    }

    static func problem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}
