import Foundation
import KefuDialogue
import KefuPostgres
import KefuRules
import KefuStore
import KefuWeChat
import KefuWeChatAPI

/// Everything `kefu serve` needs, gathered from flags, a config file and the environment
/// (secrets from the environment or files only). See `kefu serve --help`.
public struct ServerConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable { case text, json }

    public var host = "127.0.0.1"
    public var port = 8080
    /// The path WeChat posts to (the console's 服务器地址 URL path).
    public var path = "/wechat"
    public var rulesDirectory: String
    public var wechat: WeChatConfiguration
    /// Answer `success` if a message takes longer than this (WeChat waits 5 s, then retries).
    public var budget: Duration = .milliseconds(4_500)
    /// When the turn claimed the passive reply just as the budget ran out, how much longer the
    /// request waits for its commit (the 5 s WeChat allows minus the budget, less a margin).
    public var commitGrace: Duration = .milliseconds(300)
    /// WeChat's server API (the AppSecret from KEFU_APPSECRET / KEFU_APPSECRET_FILE; the address from
    /// --wechat-api): the outbox, late answers and scheduled messages go through it. Nil: no API —
    /// only passive replies, and what the outbox holds waits.
    public var api: WeChatAPIConfiguration?
    /// Builds the client for the rule set's `services:` (nil: the HTTP client with the secrets of
    /// the environment, `KEFU_SECRET_<NAME>`; tests and `kefu chat` give their own).
    public var serviceTransport: ServiceCalls.Make?
    /// `--service NAME=URL`: a base per service in place of the rule set's (a staging system, the sample backend on another port).
    public var serviceOverrides: [String: ServiceBase] = [:]
    /// With the API client: an answer that misses the budget is sent as customer-service messages.
    public var sendsLateAnswers: Bool { api != nil }
    /// How often the outbox worker looks for due messages (it is also woken when a turn queues one).
    public var outboxInterval: Duration = .seconds(1)
    /// How long an answered message (and the signed query that brought it) is remembered, so that
    /// WeChat's retries and any replay get the stored answer: derived from the freshness window — a
    /// query accepted at most `tolerance` s from its timestamp can come again until `2 × tolerance`
    /// after the first delivery — plus a minute; never under 60 s.
    public var deduplicationWindowSeconds: Int64 {
        max(60, 2 * (wechat.timestampToleranceSeconds ?? 0) + 60)
    }
    /// Memory for remembering answers and queries over that window; past it the oldest go early
    /// (the store is then asked on disk and a replay of a forgotten query is refused only by the
    /// freshness window), counted in `kefu_memory_budget_drops_total`.
    public var memoryBudget = MemoryBudget(megabytes: 128)
    /// Conversation-log lines older than this are deleted by the clean-up (nil: kept forever).
    public var logRetention: Duration? = .seconds(180 * 86_400)
    /// Reload the rule set when its files change (checked every `watchInterval`); SIGHUP always reloads.
    public var watch = false
    public var watchInterval: Duration = .seconds(2)
    public var logFormat = LogFormat.text
    /// How often the clean-up runs: old answers and queries are forgotten, old log lines deleted (a
    /// few small batches each time, so the writer is never held long) and due sessions tidied.
    public var cleanupInterval: Duration = .seconds(5)
    /// Where answered messages and the conversation log are kept.
    public var store = StoreChoice.sqlite(path: "kefu-data/kefu.sqlite")

    /// The memory the webhook may use to remember answered messages and accepted queries.
    public struct MemoryBudget: Sendable, Equatable {
        public var megabytes: Int
        /// Measured (`KefuBench remember`: resident memory per entry over a million, with the
        /// dictionaries' spare capacity): 23.5 and 40.2 bytes. About 64 bytes per message in all, so
        /// the default 128 MB holds a 660 s window at about 3,000 messages/s.
        public static let bytesPerAnswer = 24, bytesPerQuery = 40
        public init(megabytes: Int) { self.megabytes = max(megabytes, 1) }
        /// Half the budget each.
        public var answerEntries: Int { megabytes << 19 / Self.bytesPerAnswer }
        public var replayEntries: Int { megabytes << 19 / Self.bytesPerQuery }
    }

    public enum StoreChoice: Sendable, Equatable {
        /// Nothing survives a restart (tests, trials).
        case memory
        /// The embedded default: one SQLite file.
        case sqlite(path: String)

        /// PostgreSQL, shared by every instance of a deployment.
        case postgres(PostgresLocation)

        /// `memory`, `sqlite:PATH`, or a path ending in .sqlite / .db.
        public init?(_ text: String) {
            if text == "memory" { self = .memory }
            else if text.hasPrefix("sqlite:") { self = .sqlite(path: String(text.dropFirst("sqlite:".count))) }
            else if text.hasSuffix(".sqlite") || text.hasSuffix(".db") { self = .sqlite(path: text) }
            else { return nil }
        }

        /// Also `postgres://USER@HOST:PORT/DATABASE` (the password from `passwordFile`, KEFU_STORE_PASSWORD_FILE, or the URL).
        public static func parse(_ text: String, passwordFile: String?) throws -> StoreChoice? {
            if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
                return .postgres(try PostgresLocation(text, passwordFile: passwordFile))
            }
            return StoreChoice(text)
        }
    }
    /// With PostgreSQL: how often the instance looks for a reload asked of every instance (`kefu reload`, SIGHUP or --watch on another).
    public var reloadPoll: Duration = .seconds(2)
    /// With PostgreSQL: how long the start waits for the database to be reachable (zero: it fails at once, naming it).
    public var storeWait: Duration = .zero
    /// A corpus (case file or folder) every rule set must pass before it goes live: at start and on reload.
    public var gate: String?
    /// Fault injection for tests only: every message takes at least this long to answer.
    public var testDelay: Duration?
    /// A request head must be complete this long after the connection opens (or after its first byte following a
    /// keep-alive pause); otherwise the connection is closed (408 if part of a head came).
    public var headerTimeout: Duration = .seconds(10)
    /// A request body must be complete this long after its head; otherwise 408 and the connection is closed.
    public var bodyTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// The most connections open at once; nil: ``defaultMaxConnections``, lowered to what the descriptor limit allows.
    public var maxConnections: Int?
    public static let defaultMaxConnections = 512
    /// The admin listener's connection limit (a few support leads' browsers; its timeouts are the webhook's).
    public static let adminMaxConnections = 64
    /// `--accounts FILE`: several Official Accounts in one process, each with its own path, secrets,
    /// rule set and store. Empty: one account, from the fields above (`path`, `rulesDirectory`, `wechat`, `api`, `gate`).
    public var accounts: [Account] = []
    /// Opens one account's store (nil: ``openStore(for:)``'s default from ``store``). Account id in, store out:
    /// the hook another store (PostgreSQL, one database with an account column) plugs into.
    public var openStore: (@Sendable (AccountID) throws -> any ConversationStore)?

    /// The admin listener (the console, /status, /metrics); nil: none (`kefu serve` turns it on at 127.0.0.1:8081 unless `--admin off`).
    public var admin: AdminListener?
    /// Conversation test files or folders the console's 试一试 runs (`--corpus`; empty: the gate's, if any).
    public var consoleCorpus: [String] = []

    public init(rulesDirectory: String, wechat: WeChatConfiguration) {
        self.rulesDirectory = rulesDirectory
        self.wechat = wechat
    }
}

/// Which Official Account: its appid (wx…). In single-account mode (no --accounts) the configured
/// KEFU_APPID, else `default`; it labels that account's metrics and log lines and names its store rows.
public struct AccountID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// Single-account mode without KEFU_APPID.
    public static let unnamed = AccountID("default")
    public var description: String { rawValue }
    public static func < (a: AccountID, b: AccountID) -> Bool { a.rawValue < b.rawValue }
}

extension ServerConfiguration {
    /// One Official Account of the accounts file (`kefu serve --accounts`).
    public struct Account: Sendable {
        public var id: AccountID
        /// For logs and /status (示例商城).
        public var name: String?
        /// Its webhook path (default /wechat/{appid}).
        public var path: String
        public var rulesDirectory: String
        /// Its token, AES keys and accepted modes (freshness and body limit: the process's).
        public var wechat: WeChatConfiguration
        /// Its AppSecret's API client settings (nil: no API for this account).
        public var api: WeChatAPIConfiguration?
        /// A corpus its rule set must pass (at start and on reload).
        public var gate: String?

        public init(id: AccountID, name: String? = nil, path: String, rulesDirectory: String, wechat: WeChatConfiguration,
                    api: WeChatAPIConfiguration? = nil, gate: String? = nil) {
            self.id = id; self.name = name; self.path = path; self.rulesDirectory = rulesDirectory
            self.wechat = wechat; self.api = api; self.gate = gate
        }
    }

    /// The id of the one account of single-account mode: KEFU_APPID, else `default`.
    public var singleAccountID: AccountID { wechat.appID.map(AccountID.init) ?? .unnamed }

    /// The accounts this process serves, each with the configuration its parts see: in single-account
    /// mode this configuration itself; with an accounts file, a copy per account with its path,
    /// secrets, rule set, gate and store (`<folder of --store>/<appid>.sqlite`), and an equal share
    /// of the memory budget.
    public var hostedAccounts: [(id: AccountID, name: String?, configuration: ServerConfiguration)] {
        guard !accounts.isEmpty else { return [(singleAccountID, nil, self)] }
        return accounts.map { account in
            var c = self
            c.accounts = []
            c.path = account.path
            c.rulesDirectory = account.rulesDirectory
            var wechat = account.wechat
            wechat.maxBodyBytes = self.wechat.maxBodyBytes
            wechat.timestampToleranceSeconds = self.wechat.timestampToleranceSeconds
            c.wechat = wechat
            c.api = account.api
            c.gate = account.gate
            c.memoryBudget = MemoryBudget(megabytes: memoryBudget.megabytes / accounts.count)
            if case .sqlite(let path) = store {
                // One file per account, next to the configured one: one process owns each file.
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
                c.store = .sqlite(path: folder.appendingPathComponent(account.id.rawValue + ".sqlite").path)
            }
            return (account.id, account.name, c)
        }
    }

    /// The store of one account: ``openStore`` if set, else ``store``: a MemoryStore, or the SQLite file
    /// (exclusive: this process's memory is the authority for what it writes; see SQLiteStore).
    public func openStore(for account: AccountID) throws -> any ConversationStore {
        if let openStore { return try openStore(account) }
        switch store {
        case .memory: return MemoryStore()
        case .sqlite(let path):
            return try SQLiteStore(path: path, exclusive: true, window: deduplicationWindowSeconds,
                                   maxRememberedAnswers: memoryBudget.answerEntries)
        case .postgres(let location):
            // KefuServer shares one database (one pool) between its accounts through `openStore`; alone, each gets its own.
            return PostgresStore(database: PostgresDatabase(location), account: account.rawValue, window: deduplicationWindowSeconds)
        }
    }
}
