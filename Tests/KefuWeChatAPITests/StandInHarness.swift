import AsyncHTTPClient
import Foundation
import KefuTestSupport
import KefuWeChatAPI
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A running `wechat-standin` on a free loopback port (stopped when released), its control API,
/// and a clock that follows the stand-in's.
final class StandIn: Sendable {
    static let appID = "wxSTANDIN0000000001"
    static let secret = "StandInSecret0123456789abcdefABCD"
    static let start: Int64 = 1_767_225_600  // 2026-01-01 00:00 UTC

    /// The process, started and stopped by the shared harness (KefuTestSupport's StandInServer).
    nonisolated(unsafe) private let server: StandInServer
    let url: String
    /// The stand-in's clock as last read, and when (our monotonic seconds) it was read.
    private let clockBase = Mutex<(standIn: Int64, local: Double)>((0, 0))

    init(arguments: [String] = [], secret: String = StandIn.secret) throws {
        server = try StandInServer(["--appid", Self.appID] + arguments, environment: ["KEFU_APPSECRET": secret], now: Self.start)
        url = server.base
        clockBase.withLock { $0 = (Self.start, Self.monotonic) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static var monotonic: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The stand-in's time now (as last read, plus the time since).
    var now: Int64 {
        let base = clockBase.withLock { $0 }
        return base.standIn + Int64(Self.monotonic - base.local)
    }

    var clock: @Sendable () -> Int64 { { [self] in self.now } }

    func syncClock() async throws {
        let answer = try await get("/standin/clock")
        guard let now = (answer["now"] as? NSNumber)?.int64Value else { throw Failure("clock: \(answer)") }
        clockBase.withLock { $0 = (now, Self.monotonic) }
    }

    func advance(_ seconds: Int64) async throws {
        _ = try await post("/standin/clock", ["advance": seconds])
        try await syncClock()
    }

    // MARK: - Control API

    func get(_ path: String) async throws -> [String: Any] {
        try await request(path, method: .GET, body: nil)
    }

    @discardableResult
    func post(_ path: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        try await request(path, method: .POST, body: try JSONSerialization.data(withJSONObject: body))
    }

    private func request(_ path: String, method: HTTPMethod, body: Data?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] else {
            throw Failure("\(path): not a JSON object")
        }
        return object
    }

    /// Calls of a WeChat path the stand-in has counted (also the failed ones).
    func calls(_ path: String) async throws -> Int {
        let stats = try await get("/standin/stats")
        return ((stats["calls"] as? [String: Any])?[path] as? NSNumber)?.intValue ?? 0
    }

    func stat(_ key: String) async throws -> Int {
        (try await get("/standin/stats")[key] as? NSNumber)?.intValue ?? 0
    }

    /// What the stand-in delivered (succeeded calls only), in order.
    func sent(to openid: String? = nil) async throws -> [[String: Any]] {
        let answer = try await get("/standin/sent" + (openid.map { "?touser=\($0)" } ?? ""))
        return answer["messages"] as? [[String: Any]] ?? []
    }

    /// Opens `openid`'s customer-service window (a message: 5 sends within 48 h).
    func userWrites(_ openid: String) async throws {
        try await post("/standin/interaction", ["openid": openid, "kind": "message"])
    }

    func fault(_ path: String, kind: String, _ extra: [String: Any] = [:]) async throws {
        try await post("/standin/fault", ["path": path, "kind": kind].merging(extra) { $1 })
    }

    // MARK: - Clients

    func configuration(timeoutMilliseconds: Int = 5_000, retry: RetryPolicy = RetryPolicy(maxRetries: 3, baseDelayMilliseconds: 20, maxDelayMilliseconds: 200),
                       secret: String = StandIn.secret) -> WeChatAPIConfiguration {
        WeChatAPIConfiguration(baseURL: url, appID: Self.appID, secret: AppSecret(secret), requestTimeoutMilliseconds: timeoutMilliseconds, retry: retry)
    }

    func client(store: any AccessTokenStore = MemoryAccessTokenStore(), configuration: WeChatAPIConfiguration? = nil,
                logs: LogCapture? = nil, alerts: Alerts? = nil) -> WeChatAPIClient {
        WeChatAPIClient(configuration: configuration ?? self.configuration(), tokenStore: store, clock: clock,
                        logger: logs?.logger ?? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                        alert: { error in alerts?.record(error) })
    }
}

/// The errors a client reported to its alert sink.
final class Alerts: Sendable {
    private let errors = Mutex<[WeChatAPIError]>([])
    func record(_ error: WeChatAPIError) { errors.withLock { $0.append(error) } }
    var all: [WeChatAPIError] { errors.withLock { $0 } }
}

/// Every log line (message and metadata) a logger wrote, at every level.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "capture") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let error = event.error.map { " error=\($0)" } ?? ""
            capture.lines.withLock { $0.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))\(error)") }
        }
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
