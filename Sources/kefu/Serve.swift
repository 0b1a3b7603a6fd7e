import ArgumentParser
import KefuConsole
import KefuCorpus
import Foundation
import KefuPostgres
import KefuRules
import KefuServer
import KefuStore
import KefuWeChat
import KefuWeChatAPI
import Logging
import Yams

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the webhook that answers the Official Account's messages.",
        discussion: """
            Secrets come from the environment (or from files named by *_FILE variables), never from flags:
              KEFU_TOKEN, KEFU_AES_KEY, KEFU_PREVIOUS_AES_KEY, KEFU_APPID   (or KEFU_TOKEN_FILE=/run/secrets/token …)
              KEFU_APPSECRET (or KEFU_APPSECRET_FILE) turns on WeChat's API: late answers, later parts of a
              reply and scheduled messages go out as customer-service or template messages (docs/wechat-api.md).
            Settings come from flags, else from --config FILE (YAML with the same names: host, port,
            path, rules, budget-ms, watch, log-format, max-body-bytes, timestamp-tolerance, mode,
            memory-budget-mb, log-retention, header-timeout, body-timeout, idle-timeout, max-connections, wechat-api,
            admin, console-users), else defaults.
              KEFU_TOKEN=… kefu serve --rules Rules/shop --port 8080
            Send SIGHUP to reload the rule set (kept if it does not compile); /healthz, /readyz on the webhook's port.
            The console, /status and /metrics are on the admin listener (--admin, default 127.0.0.1:8081), after
            sign-in: --console-users FILE (kefu console add-user) or KEFU_ADMIN_TOKEN / KEFU_ADMIN_TOKEN_FILE
            (also Authorization: Bearer <token> for Prometheus). docs/console.md.
            Several Official Accounts in one process: --accounts FILE (or KEFU_ACCOUNTS) instead of --rules; each
            account's appid, rule set, path and secret names (KEFU_SECRET_<NAME>) are in the file (docs/serve.md).
              kefu serve --accounts deploy/accounts.sample.yaml
            """
    )

    @Option(help: "The rule-set folder.") var rules: String?
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port (default 8080).") var port: Int?
    @Option(help: "The webhook path configured in the WeChat console (default /wechat).") var path: String?
    @Option(help: "Where answered messages, sessions and the conversation log live: sqlite:PATH (default sqlite:kefu-data/kefu.sqlite), memory, or postgres://USER@HOST:PORT/DATABASE — shared by several instances; the password from KEFU_STORE_PASSWORD_FILE (or the URL). Also KEFU_STORE.")
    var store: String?
    @Option(name: .customLong("store-wait"), help: "With PostgreSQL: seconds to wait at start for the database to be reachable (default 0: fail at once, naming it).")
    var storeWait: Double?
    @Option(name: .customLong("budget-ms"), help: "Answer success if a message takes longer (default 4500).") var budgetMilliseconds: Int?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (default 65536).") var maxBodyBytes: Int?
    @Option(name: .customLong("timestamp-tolerance"), help: "Refuse requests signed more than this many seconds away from our clock (default 300; off turns the check off — unsafe).")
    var timestampTolerance: String?
    @Option(help: "Which pushes are accepted: plaintext, compatible (plaintext and encrypted: only while switching the console), secure (encrypted only). Default: secure with KEFU_AES_KEY, else plaintext.")
    var mode: String?
    @Option(name: .customLong("memory-budget-mb"), help: "Memory for remembering answered messages and signed queries over the replay window (default 128; about 64 bytes per message over the window).")
    var memoryBudgetMegabytes: Int?
    @Option(name: .customLong("log-retention"), help: "Delete conversation-log lines older than this: 180d (default), 12h, 30m …, or off.")
    var logRetention: String?
    @Flag(help: "Reload the rule set when its files change.") var watch = false
    @Option(name: .customLong("log-format"), help: "text or json.") var logFormat: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info (one line per message), notice, warning, error.") var logLevel: String?
    @Option(help: ArgumentHelp("Conversation tests (a case file or folder) every rule set must pass: at start, and on reload (a failing rule set is refused; the old one keeps serving).", valueName: "corpus"))
    var gate: String?
    @Option(help: "A YAML file with settings (flags win).") var config: String?
    @Option(name: .customLong("test-delay-ms"), help: .hidden) var testDelayMilliseconds: Int?
    @Option(name: .customLong("wechat-api"), help: "WeChat's API address (default https://api.weixin.qq.com; a stand-in's for tests and demos). Used when KEFU_APPSECRET is set.")
    var wechatAPI: String?
    @Option(name: .customLong("header-timeout"), help: "Seconds a request head may take to arrive; then the connection is closed (default 10).")
    var headerTimeout: Double?
    @Option(name: .customLong("body-timeout"), help: "Seconds a request body may take after its head; then 408 and the connection is closed (default 10).")
    var bodyTimeout: Double?
    @Option(name: .customLong("idle-timeout"), help: "Seconds a keep-alive connection may wait for its next request (default 60).")
    var idleTimeout: Double?
    @Option(name: .customLong("max-connections"), help: "Most connections open at once; beyond it the longest-idle one is closed, or the new one gets 503 (default 512, lowered to fit the open-file limit).")
    var maxConnections: Int?
    @Option(help: ArgumentHelp("Call this service of the rule set at this base URL instead of the one its services: gives (repeatable), e.g. erp=http://127.0.0.1:9100/shop. Secrets: KEFU_SECRET_<NAME> or KEFU_SECRET_<NAME>_FILE.", valueName: "name=url"))
    var service: [String] = []
    @Option(help: ArgumentHelp("Several Official Accounts: a YAML file listing each one's appid, rule set, path and secret names (docs/serve.md, \"Several accounts\"); also KEFU_ACCOUNTS. Instead of --rules.", valueName: "file"))
    var accounts: String?

    @Option(help: ArgumentHelp("The admin listener (the console, /status, /metrics): HOST:PORT (default 127.0.0.1:8081; port 0: any free port), or off.", valueName: "host:port"))
    var admin: String?
    @Option(help: ArgumentHelp("Conversation tests (a file or folder, repeatable) the console's 试一试 page runs on the live rule set (default: --gate's).", valueName: "path"))
    var corpus: [String] = []
    @Option(name: .customLong("console-users"), help: ArgumentHelp("The console's users file (NAME:ROLE:HASH lines, written by `kefu console add-user`); also KEFU_CONSOLE_USERS.", valueName: "file"))
    var consoleUsers: String?

    func run() async throws {
        let file = try Self.readConfig(config)
        func setting<T>(_ flag: T?, _ key: String, _ parse: (String) -> T?) throws -> T? {
            if let flag { return flag }
            guard let raw = file[key] else { return nil }
            guard let value = parse(raw) else { throw ValidationError("\(config ?? "config"): '\(key)' cannot be '\(raw)'") }
            return value
        }
        let accountsFile = try setting(accounts, "accounts", { $0 }) ?? ProcessInfo.processInfo.environment["KEFU_ACCOUNTS"].flatMap { $0.isEmpty ? nil : $0 }
        if accountsFile != nil {
            for (flag, given) in [("--rules", try setting(rules, "rules", { $0 }) != nil), ("--path", try setting(path, "path", { $0 }) != nil),
                                  ("--mode", try setting(mode, "mode", { $0 }) != nil), ("--gate", try setting(gate, "gate", { $0 }) != nil)] where given {
                throw ValidationError("\(flag) is for one account; with --accounts each account's rules, path, mode and gate are in the accounts file.")
            }
        }
        guard let rulesDirectory = try accountsFile.map({ _ in "" }) ?? setting(rules, "rules", { $0 }) else {
            throw ValidationError("Give the rule set: --rules DIR (or 'rules:' in --config), or several accounts: --accounts FILE.")
        }
        var storeChoice: ServerConfiguration.StoreChoice?
        if let text = try setting(store, "store", { $0 }) ?? StoreArgument.fromEnvironment {
            storeChoice = try StoreArgument.parse(text)
        }
        // With an accounts file the secrets are each account's (KEFU_SECRET_<NAME>); KEFU_TOKEN … are not read.
        var wechat = accountsFile == nil ? try Self.wechatConfiguration()
            : WeChatConfiguration(token: "", appID: nil, timestampToleranceSeconds: WeChatConfiguration.defaultTimestampTolerance)
        if let max = try setting(maxBodyBytes, "max-body-bytes", { Int($0) }) { wechat.maxBodyBytes = max }
        if let tolerance = try setting(timestampTolerance, "timestamp-tolerance", { $0 == "off" ? "off" : (Int64($0).flatMap { $0 > 0 ? $0 : nil }).map(String.init) }) {
            wechat.timestampToleranceSeconds = tolerance == "off" ? nil : Int64(tolerance)
        }
        if let text = try setting(mode, "mode", { AcceptedModes(rawValue: $0) == nil ? nil : $0 }) {
            wechat.accepted = AcceptedModes(rawValue: text)!
            if wechat.accepted != .plaintext, wechat.aesKey == nil {
                throw ValidationError("--mode \(text) accepts encrypted pushes, but KEFU_AES_KEY is not set. Set KEFU_AES_KEY and KEFU_APPID, or use --mode plaintext.")
            }
        }
        var configuration = ServerConfiguration(rulesDirectory: rulesDirectory, wechat: wechat)
        if let mb = try setting(memoryBudgetMegabytes, "memory-budget-mb", { Int($0).flatMap { $0 > 0 ? $0 : nil } }) {
            configuration.memoryBudget = .init(megabytes: mb)
        }
        if let text = try setting(logRetention, "log-retention", { $0 == "off" || (DurationText.seconds($0) ?? 0) > 0 ? $0 : nil }) {
            configuration.logRetention = text == "off" ? nil : .seconds(DurationText.seconds(text)!)
        }
        configuration.host = try setting(host, "host", { $0 }) ?? configuration.host
        configuration.port = try setting(port, "port", { Int($0) }) ?? configuration.port
        configuration.path = try setting(path, "path", { $0.hasPrefix("/") ? $0 : nil }) ?? configuration.path
        if let ms = try setting(budgetMilliseconds, "budget-ms", { Int($0) }) { configuration.budget = .milliseconds(ms) }
        configuration.watch = watch || (file["watch"].map { ["true", "yes", "on"].contains($0.lowercased()) } ?? false)
        let format = try setting(logFormat, "log-format", { ServerConfiguration.LogFormat(rawValue: $0) == nil ? nil : $0 }) ?? "text"
        configuration.logFormat = ServerConfiguration.LogFormat(rawValue: format) ?? .text
        configuration.testDelay = testDelayMilliseconds.map { .milliseconds($0) }
        let apiBaseURL = try setting(wechatAPI, "wechat-api", { $0 }) ?? WeChatAPI.defaultBaseURL
        if let accountsFile {
            guard apiBaseURL.hasPrefix("https://") || apiBaseURL.hasPrefix("http://") else {
                throw ValidationError("--wechat-api \(apiBaseURL): give an http(s) address, e.g. https://api.weixin.qq.com")
            }
            do {
                configuration.accounts = try AccountsFile.load(path: accountsFile, apiBaseURL: apiBaseURL)
            } catch {
                printDiagnostics(error.diagnostics, sources: [:])  // no source lines: they could show a secret written by mistake
                let n = error.diagnostics.count
                throw StartFailure("The accounts file \(accountsFile) has \(n) error\(n == 1 ? "" : "s"); nothing was started.")
            }
            configuration.rulesDirectory = configuration.accounts[0].rulesDirectory
        } else {
            configuration.api = try AccountEnvironment.apiConfiguration(baseURL: apiBaseURL)
        }
        if let storeChoice { configuration.store = storeChoice }
        if let wait = try setting(storeWait, "store-wait", { Double($0) }) {
            guard wait >= 0, wait <= 3600 else { throw ValidationError("--store-wait \(wait): give seconds from 0 to 3600.") }
            configuration.storeWait = .milliseconds(Int64(wait * 1000))
        }
        for pair in service {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--service takes NAME=URL, e.g. erp=http://127.0.0.1:9100/shop, not '\(pair)'") }
            switch ServiceBase.parse(parts[1]) {
            case .success(let base): configuration.serviceOverrides[parts[0]] = base
            case .failure(let error): throw ValidationError("--service \(parts[0]): the URL \(error.sentence)")
            }
        }
        configuration.gate = try setting(gate, "gate", { $0 })
        func seconds(_ flag: Double?, _ key: String) throws -> Duration? {
            guard let value = try setting(flag, key, { Double($0) }) else { return nil }
            guard value > 0, value <= 86_400 else {
                let shown = abs(value) < 1e15 && value == value.rounded() ? String(Int(value)) : String(value)
                throw ValidationError("--\(key) \(shown): give a number of seconds above 0 (at most 86400), e.g. 10 or 0.5.")
            }
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        configuration.headerTimeout = try seconds(headerTimeout, "header-timeout") ?? configuration.headerTimeout
        configuration.bodyTimeout = try seconds(bodyTimeout, "body-timeout") ?? configuration.bodyTimeout
        configuration.idleTimeout = try seconds(idleTimeout, "idle-timeout") ?? configuration.idleTimeout
        if let max = try setting(maxConnections, "max-connections", { Int($0) }) {
            guard max >= 1 else { throw ValidationError("--max-connections \(max): give at least 1.") }
            configuration.maxConnections = max
        }

        let adminText = try setting(admin, "admin", { $0 == "off" || AdminListener.parseAddress($0) != nil ? $0 : nil }) ?? "127.0.0.1:8081"
        if let admin, adminText != "off", AdminListener.parseAddress(admin) == nil {
            throw ValidationError("--admin \(admin): give HOST:PORT (e.g. 127.0.0.1:8081) or off.")
        }
        for path in corpus where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--corpus \(path): no such file or folder (give the conversation tests the console's 试一试 page runs).")
        }
        configuration.consoleCorpus = corpus
        let usersFile = try setting(consoleUsers, "console-users", { $0 }) ?? ProcessInfo.processInfo.environment["KEFU_CONSOLE_USERS"].flatMap { $0.isEmpty ? nil : $0 }

        let json = configuration.logFormat == .json
        LoggingSystem.bootstrap { label in
            json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        }
        var logger = Logger(label: "kefu")
        let level = try setting(logLevel, "log-level", { Logger.Level(rawValue: $0) == nil ? nil : $0 }) ?? "info"
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        if let address = AdminListener.parseAddress(adminText) {
            do {
                let token = try AdminToken.fromEnvironment()
                let authenticator = try Authenticator(usersPath: usersFile, token: token, logger: logger)
                configuration.admin = AdminListener(host: address.host, port: address.port, authenticator: authenticator)
            } catch {
                throw StartFailure("The console's sign-in cannot be set up, so nothing was started: \(error)")
            }
        }
        let server: KefuServer
        do {
            server = try KefuServer(configuration, logger: logger)
        } catch let error as RuleSetError {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw StartFailure("The rule set \(rulesDirectory) has errors; nothing was started.")
        } catch let error as WeChatError {
            throw StartFailure("\(error)")
        } catch let error as ServicesUnavailable {
            throw StartFailure("The rule set's services cannot be called, so nothing was started: \(error.description)")
        } catch let error as ProcessLock.InUse {
            throw StartFailure(error.description)
        } catch let error as CorpusError {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw StartFailure("The corpus \(configuration.gate ?? "") given to --gate has errors; nothing was started.")
        } catch {
            throw StartFailure("The store \(configuration.store) cannot be opened: \(error)")
        }
        do {
            try await server.prepareStore()
        } catch {
            throw StartFailure("\(error)")
        }
        if accountsFile != nil {
            let ignored = ["KEFU_TOKEN", "KEFU_AES_KEY", "KEFU_PREVIOUS_AES_KEY", "KEFU_APPID", "KEFU_APPSECRET"].filter {
                ProcessInfo.processInfo.environment[$0] != nil || ProcessInfo.processInfo.environment[$0 + "_FILE"] != nil
            }
            if !ignored.isEmpty {
                logger.warning("\(ignored.joined(separator: ", ")) \(ignored.count == 1 ? "is" : "are") set but ignored: with --accounts each account's secrets are named in the accounts file (KEFU_SECRET_<NAME>)")
            }
        }
        if let reason = await server.checkGate() {
            throw StartFailure("The rule set \(rulesDirectory) fails its corpus (--gate): \(reason). Nothing was started.")
        }
        let modes = switch wechat.accepted {
        case .plaintext: "plaintext"
        case .compatible: "plaintext and encrypted (compatible: only while switching the console)"
        case .secure: "encrypted only (secure and compatible envelopes)"
        }
        if wechat.timestampToleranceSeconds == nil {
            logger.warning("--timestamp-tolerance off: a signed query seen once can be replayed with any message once its window in memory ends")
        }
        if wechat.accepted == .compatible {
            logger.warning("--mode compatible accepts plaintext pushes, which only a body-less signature protects; use it only while switching the console")
        }
        for account in server.accounts {
            var logger = logger
            logger[metadataKey: "account"] = .string(account.id.rawValue)
            if let api = account.configuration.api {
                logger.notice("WeChat's API is on: late answers, later parts of replies and scheduled messages go out through it",
                              metadata: ["api": .string(api.baseURL), "appid": .string(api.appID)])
            } else if let rules = account.rules?.engine.rules, rules.flows.contains(where: { !$0.schedule.isEmpty }) || !rules.mediaFiles.isEmpty {
                logger.warning("the rule set schedules messages or replies with media files, but \(accountsFile == nil ? "KEFU_APPSECRET is not set" : "the account has no appsecret"): those need WeChat's API, so they wait in the outbox and are not sent")
            }
        }
        let startupLogger = logger
        let configured = configuration
        try await server.run { port in
            for account in server.accounts {
                let c = account.configuration
                var metadata: Logger.Metadata = [
                    "url": .string("http://\(configured.host):\(port)\(c.path)"), "rules": .string(c.rulesDirectory),
                    "ruleCount": .string("\(account.rules?.status.ruleCount ?? 0)"), "port": .string("\(port)"),
                    "modes": .string(accountsFile == nil ? modes : c.wechat.accepted.rawValue)]
                if accountsFile != nil { metadata["account"] = .string(account.id.rawValue); metadata["name"] = account.name.map { .string($0) } }
                if account.live != nil {
                    startupLogger.notice("kefu serve is listening", metadata: metadata)
                } else {
                    startupLogger.error("kefu serve is listening, but this account is not served (503) until its rule set is fixed and reloaded: \(account.downReason ?? "")", metadata: metadata)
                }
            }
        }
    }

    /// Secrets from KEFU_* variables, or from the files KEFU_*_FILE names; freshness and modes at their
    /// secure defaults (300 s; secure-only with a key), which flags and the config file may change.
    static func wechatConfiguration() throws -> WeChatConfiguration {
        var configuration = try AccountEnvironment.configuration()
        configuration.timestampToleranceSeconds = WeChatConfiguration.defaultTimestampTolerance
        configuration.accepted = configuration.aesKey == nil && configuration.previousAESKey == nil ? .plaintext : .secure
        return configuration
    }

    /// A flat YAML mapping of settings; secrets are refused here.
    static func readConfig(_ path: String?) throws -> [String: String] {
        guard let path else { return [:] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("--config \(path) cannot be read.") }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ValidationError("--config \(path): \(error)") }
        guard let node, case .mapping(let mapping) = node else { return [:] }
        let known = ["host", "port", "path", "rules", "store", "gate", "budget-ms", "watch", "log-format", "log-level", "max-body-bytes", "timestamp-tolerance",
                     "mode", "memory-budget-mb", "log-retention", "header-timeout", "body-timeout", "idle-timeout", "max-connections", "wechat-api", "accounts",
                     "store-wait", "admin", "console-users"]
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { continue }
            if ["token", "aes-key", "admin-token", "admin_token", "password", "aes_key", "encoding-aes-key", "appsecret", "app-secret", "app_secret", "secret"].contains(name.lowercased()) {
                throw ValidationError("\(path): '\(name)' is a secret; put it in the environment (KEFU_TOKEN, KEFU_AES_KEY, KEFU_APPSECRET, or their *_FILE forms) instead of a file that may be committed.")
            }
            guard known.contains(name) else { throw ValidationError("\(path): unknown setting '\(name)'; known: \(known.joined(separator: ", "))") }
            result[name] = value.scalar?.string
        }
        return result
    }
}

/// A start that failed for a reason other than how the command was written (a broken rule set, a
/// failing gate, a store in use): printed as an error and exit status 1, without the usage text
/// that exit status 64 (`ValidationError`) stands for.
struct StartFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
