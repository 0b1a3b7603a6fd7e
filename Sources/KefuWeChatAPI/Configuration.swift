import Foundation

/// The account's AppSecret (开发者密码). It never appears in descriptions, logs or errors: printing
/// it, interpolating it or dumping it shows `AppSecret(redacted)`. Only the token request reads it.
public struct AppSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "AppSecret(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
    public var isEmpty: Bool { value.isEmpty }
}

/// How often and how long a call is repeated when WeChat answers `-1` (system busy). Only a real
/// `-1` body is retried; a local failure never looks like `-1`.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (so at most `maxRetries + 1` calls).
    public var maxRetries: Int
    /// The first pause; each next one doubles, up to `maxDelayMilliseconds`.
    public var baseDelayMilliseconds: Int
    public var maxDelayMilliseconds: Int

    public init(maxRetries: Int = 3, baseDelayMilliseconds: Int = 200, maxDelayMilliseconds: Int = 2_000) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelayMilliseconds = max(0, baseDelayMilliseconds)
        self.maxDelayMilliseconds = max(0, maxDelayMilliseconds)
    }

    /// The pause before retry `n` (0-based): base·2^n, capped.
    public func delayMilliseconds(beforeRetry n: Int) -> Int {
        let factor = 1 << min(n, 20)
        return min(maxDelayMilliseconds, baseDelayMilliseconds.multipliedReportingOverflow(by: factor).partialValue)
    }
}

/// Where and as whom the client calls WeChat.
public struct WeChatAPIConfiguration: Sendable {
    /// WeChat's API host, or the stand-in's (`kefu serve --wechat-api URL`). No trailing slash needed.
    public var baseURL: String
    /// The AppID (wx…).
    public var appID: String
    public var secret: AppSecret
    /// Per HTTP exchange (connect, write, answer). A send that times out is reported as outcome unknown.
    public var requestTimeoutMilliseconds: Int
    public var retry: RetryPolicy
    /// Refresh the access token when fewer seconds than this are left (WeChat rolls the stable token
    /// in its last 300 s, so a token fetched in normal mode always has at least that).
    public var refreshMarginSeconds: Int64
    /// Force-refreshes of the stable token allowed per day and the least spacing between two (WeChat: 20, 30 s).
    public var forceRefreshPerDay: Int
    public var forceRefreshSpacingSeconds: Int64
    /// Where QR-code images are shown (`…/cgi-bin/showqrcode?ticket=`); the stand-in can serve its own.
    public var qrImageBaseURL: String

    public init(baseURL: String = WeChatAPI.defaultBaseURL, appID: String, secret: AppSecret,
                requestTimeoutMilliseconds: Int = 5_000, retry: RetryPolicy = RetryPolicy(),
                refreshMarginSeconds: Int64 = 300, forceRefreshPerDay: Int = 20, forceRefreshSpacingSeconds: Int64 = 30,
                qrImageBaseURL: String = WeChatAPI.defaultQRImageBaseURL) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.appID = appID
        self.secret = secret
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.retry = retry
        self.refreshMarginSeconds = refreshMarginSeconds
        self.forceRefreshPerDay = forceRefreshPerDay
        self.forceRefreshSpacingSeconds = forceRefreshSpacingSeconds
        self.qrImageBaseURL = qrImageBaseURL
    }
}
