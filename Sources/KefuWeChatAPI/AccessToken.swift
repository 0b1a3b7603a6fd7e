import AsyncHTTPClient
import Foundation
import Logging
import Synchronization

/// An access token and its life, as kept in the shared store.
public struct AccessTokenRecord: Sendable, Codable, Equatable, CustomStringConvertible {
    public var token: String
    /// Unix seconds: the fetch time plus WeChat's `expires_in` (never an assumed 7200).
    public var expiresAt: Int64
    public var fetchedAt: Int64

    public init(token: String, expiresAt: Int64, fetchedAt: Int64) {
        self.token = token
        self.expiresAt = expiresAt
        self.fetchedAt = fetchedAt
    }

    /// The token's first 6 characters and an ellipsis (for logs and tools).
    public var maskedToken: String { token.count <= 6 ? "…" : String(token.prefix(6)) + "…" }

    public func secondsLeft(at now: Int64) -> Int64 { expiresAt - now }

    public var description: String { "AccessTokenRecord(\(maskedToken), expiresAt: \(expiresAt), fetchedAt: \(fetchedAt))" }
}

/// Where an account's access token is shared by every process of the account (SQLite now; a later
/// PostgreSQL store implements the same protocol). Both writes are compare-and-set, so a process
/// never overwrites a token another process saved after it last looked.
public protocol AccessTokenStore: Sendable {
    /// The stored token of `appID` (it may be expired: the caller decides).
    func accessToken(for appID: String) async throws -> AccessTokenRecord?
    /// Saves `record` only if the stored token is still `expected` (nil: none stored, or the stored
    /// one is expired at `record.fetchedAt`). Returns what is stored afterwards: `record`, or the
    /// token another process saved first.
    func saveAccessToken(_ record: AccessTokenRecord, for appID: String, replacing expected: String?) async throws -> AccessTokenRecord
    /// Marks `token` expired only if it is still the stored one (compare-and-expire). True when it was.
    func expireAccessToken(_ token: String, for appID: String) async throws -> Bool
}

/// A store in this process's memory (one process, tests).
public actor MemoryAccessTokenStore: AccessTokenStore {
    private var records: [String: AccessTokenRecord] = [:]

    public init() {}

    public func accessToken(for appID: String) -> AccessTokenRecord? { records[appID] }

    public func saveAccessToken(_ record: AccessTokenRecord, for appID: String, replacing expected: String?) -> AccessTokenRecord {
        let stored = records[appID]
        let matches: Bool
        if let expected {
            matches = stored?.token == expected
        } else {
            matches = stored.map { $0.expiresAt <= record.fetchedAt } ?? true
        }
        if matches { records[appID] = record; return record }
        return stored ?? record
    }

    public func expireAccessToken(_ token: String, for appID: String) -> Bool {
        guard var stored = records[appID], stored.token == token else { return false }
        stored.expiresAt = 0
        records[appID] = stored
        return true
    }
}

/// The account's access token for this process: `POST /cgi-bin/stable_token` in normal mode, one
/// refresh at a time (callers arriving during a refresh wait for it), refreshed when fewer than
/// `refreshMarginSeconds` are left, read from the shared store before fetching so that every
/// process of the account uses one token. The per-message path reads memory only.
public actor AccessTokenProvider {
    public nonisolated let appID: String
    private let configuration: WeChatAPIConfiguration
    private let store: any AccessTokenStore
    private let transport: Transport
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let alert: @Sendable (WeChatAPIError) -> Void

    private var current: AccessTokenRecord?
    private var refreshing: Task<AccessTokenRecord, any Error>?
    private var forcedAt: [Int64] = []
    private let fetchCount = Atomic<Int>(0)
    private let forceCount = Atomic<Int>(0)

    public init(configuration: WeChatAPIConfiguration, store: any AccessTokenStore, httpClient: HTTPClient = .shared,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "kefu.wechat-api"), alert: @escaping @Sendable (WeChatAPIError) -> Void = { _ in }) {
        self.appID = configuration.appID
        self.configuration = configuration
        self.store = store
        self.transport = Transport(http: httpClient, timeoutMilliseconds: configuration.requestTimeoutMilliseconds)
        self.clock = clock
        self.logger = logger
        self.alert = alert
    }

    /// Token requests this process made to WeChat (normal and forced). For a metric: it stays flat
    /// while messages flow.
    public nonisolated var fetches: Int { fetchCount.load(ordering: .relaxed) }
    /// Of those, `force_refresh: true` requests.
    public nonisolated var forcedRefreshes: Int { forceCount.load(ordering: .relaxed) }

    /// A token with more than the margin left: from memory, else the store, else WeChat.
    public func token() async throws -> AccessTokenRecord {
        if let current, isFresh(current, at: clock()) { return current }
        return try await refresh(rejecting: nil)
    }

    /// The token to retry with after WeChat refused `token` (40001/40014/42001): expires it in the
    /// store only if it is still the stored one, then reads the store (another process may have a
    /// newer one) or fetches once. Never loops.
    public func token(afterRejecting token: String) async throws -> AccessTokenRecord {
        if let current, current.token != token, isFresh(current, at: clock()) { return current }
        return try await refresh(rejecting: token)
    }

    /// The token as it is now, without fetching (for tools): memory, else the store.
    public func peek() async throws -> AccessTokenRecord? {
        if let current { return current }
        return try await store.accessToken(for: appID)
    }

    private func isFresh(_ record: AccessTokenRecord, at now: Int64) -> Bool {
        record.expiresAt - now >= configuration.refreshMarginSeconds
    }

    private func refresh(rejecting rejected: String?) async throws -> AccessTokenRecord {
        if let running = refreshing {
            let record = try await running.value
            // A refresh that started before the rejection can hand back the rejected token: one own refresh then.
            guard let rejected, record.token == rejected else { return record }
            if let again = refreshing, again != running { return try await again.value }
        }
        let task = Task { try await self.performRefresh(rejecting: rejected) }
        refreshing = task
        defer { if refreshing == task { refreshing = nil } }
        return try await task.value
    }

    private func performRefresh(rejecting rejected: String?) async throws -> AccessTokenRecord {
        let now = clock()
        var stored = try await store.accessToken(for: appID)
        if let stored, stored.token != rejected, isFresh(stored, at: now) {
            logger.debug("access token read from the store", metadata: ["token": "\(stored.maskedToken)", "left": "\(stored.expiresAt - now)"])
            current = stored
            return stored
        }
        if let rejected, stored?.token == rejected {
            _ = try await store.expireAccessToken(rejected, for: appID)
            stored = nil
        }
        let expected = stored.flatMap { $0.expiresAt > now ? $0.token : nil }
        var fetched = try await fetch(force: false)
        if let rejected, fetched.token == rejected {
            if canForce(at: now) {
                forcedAt.append(now)
                logger.warning("WeChat handed back the token it had just refused; force-refreshing the stable token",
                               metadata: ["token": "\(fetched.maskedToken)", "forcedToday": "\(forcedAt.count)"])
                fetched = try await fetch(force: true)
            } else {
                logger.error("WeChat handed back the token it had just refused and the force-refresh budget is spent (20 a day, 30 s apart)",
                             metadata: ["token": "\(fetched.maskedToken)"])
            }
        }
        let saved = try await store.saveAccessToken(fetched, for: appID, replacing: expected)
        if saved != fetched {
            logger.info("another process saved a token first; using it", metadata: ["token": "\(saved.maskedToken)"])
        }
        current = saved
        return saved
    }

    private func canForce(at now: Int64) -> Bool {
        forcedAt.removeAll { $0 <= now - 86_400 }
        guard forcedAt.count < configuration.forceRefreshPerDay else { return false }
        if let last = forcedAt.last, now - last < configuration.forceRefreshSpacingSeconds { return false }
        return true
    }

    struct TokenRequest: Encodable {
        let grant_type = "client_credential"
        let appid: String
        let secret: String
        let force_refresh: Bool
    }

    /// One token request (with the `-1` retries of the policy).
    private func fetch(force: Bool) async throws -> AccessTokenRecord {
        let api = "/cgi-bin/stable_token"
        let body = try WeChatJSON.encode(TokenRequest(appid: configuration.appID, secret: configuration.secret.value, force_refresh: force))
        var attempt = 0
        while true {
            fetchCount.add(1, ordering: .relaxed)
            if force { forceCount.add(1, ordering: .relaxed) }
            let answer: WeChatAnswer
            do {
                let raw = try await transport.exchange(api: api, method: .POST, url: configuration.baseURL + api,
                                                       contentType: "application/json; charset=utf-8", body: body)
                answer = try WeChatAnswer(raw, api: api)
            } catch let error as WeChatAPIError {
                let error = error.scrubbing(configuration.secret)
                logger.error("access token request failed", metadata: ["error": "\(error)"])
                throw error
            }
            let now = clock()
            if let code = answer.errcode, code != 0 {
                let error = WeChatAPIError.wechat(api: api, errcode: code, errmsg: answer.errmsg, now: now, tokenRequest: true)
                    .scrubbing(configuration.secret)
                if code == -1, attempt < configuration.retry.maxRetries {
                    try await Task.sleep(for: .milliseconds(configuration.retry.delayMilliseconds(beforeRetry: attempt)))
                    attempt += 1
                    continue
                }
                logger.error("access token request refused", metadata: ["errcode": "\(code)", "error": "\(error)"])
                if error.disposition == .operatorAction { alert(error) }
                throw error
            }
            guard let token = answer.string("access_token"), !token.isEmpty, let life = answer.int("expires_in"), life > 0 else {
                throw WeChatAPIError.invalid(api: api, "The token answer has no access_token or expires_in.")
            }
            let record = AccessTokenRecord(token: token, expiresAt: now + life, fetchedAt: now)
            logger.info("access token fetched", metadata: ["token": "\(record.maskedToken)", "expiresIn": "\(life)", "force": "\(force)"])
            return record
        }
    }
}
