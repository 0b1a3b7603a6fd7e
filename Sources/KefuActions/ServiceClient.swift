import AsyncHTTPClient
import Foundation
import KefuDialogue
import KefuRules
import NIOCore
import NIOHTTP1
import Synchronization

/// Makes service requests over HTTP(S): one try per `send`, to the service's host only, with its
/// auth, Kefu's signature (docs/signing.md), `Idempotency-Key` on writes, the service's timeout for
/// the whole request (connecting included), redirects not followed, and answers of at most 64 KiB.
/// It never throws: whatever goes wrong is a ``CallResult`` (`.timeout`, `.network(why)`), and a
/// request it refuses to make (a path that climbs out of the base, a host that changed, CR/LF) is
/// `.network(why)` without anything sent.
public final class ServiceClient: ServiceTransport {
    /// The largest answer read; a larger one is `.network("the answer is larger than 64 KiB")`.
    public static let maxAnswerBytes = 64 * 1024
    public static let userAgent = "kefu/1"
    /// What ``describe(_:attempt:)`` shows in place of a secret or a signature.
    public static let redacted = "…redacted…"

    private let services: [String: ServiceSpec]
    private let bases: [String: ServiceBase]
    private let secrets: ServiceSecrets
    private let http: HTTPClient
    private let ownsClient: Bool
    private let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - overrides: a base per service name in place of the declared one (`kefu chat --service NAME=URL`);
    ///     names that are not services are ignored.
    ///   - httpClient: nil to own a client made with ``httpConfiguration()`` (shut down by ``shutdown()``);
    ///     a shared one must be made with that configuration too (it does not follow redirects,
    ///     fails a refused connection at once, and does not decompress).
    ///   - clock: Unix seconds, for `webhook-timestamp`.
    public init(services: [ServiceSpec], secrets: ServiceSecrets, overrides: [String: ServiceBase] = [:], httpClient: HTTPClient? = nil,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        var byName: [String: ServiceSpec] = [:], bases: [String: ServiceBase] = [:]
        for service in services {
            byName[service.name] = service
            bases[service.name] = overrides[service.name] ?? service.base
        }
        self.services = byName
        self.bases = bases
        self.secrets = secrets
        if let httpClient {
            http = httpClient; ownsClient = false
        } else {
            http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: Self.httpConfiguration()); ownsClient = true
        }
        self.clock = clock
    }

    /// How the HTTP client for services is set up: redirects are not followed (a 3xx is an answer),
    /// a refused connection fails at once instead of being retried until the deadline, no
    /// decompression (the 64 KiB cap is on the bytes received), room for many calls waiting at once.
    public static func httpConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(ServiceSpec.maxTimeoutMs)),
            decompression: .disabled
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        return configuration
    }

    /// Shuts the client down if this instance made it (a shared client is its owner's to shut down).
    public func shutdown() async throws {
        if ownsClient { try await http.shutdown() }
    }

    // MARK: - Sending

    public func send(_ request: ServiceRequest, attempt: Int) async -> CallResult {
        let started = ContinuousClock.now
        func milliseconds(since start: ContinuousClock.Instant, until end: ContinuousClock.Instant) -> Int64 {
            let d = end - start
            return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        }
        func elapsed() -> Int64 { milliseconds(since: started, until: ContinuousClock.now) }
        let prepared: Prepared
        switch prepare(request, attempt: attempt) {
        case .failure(let refusal): return CallResult(.network(scrub(refusal.reason)), latencyMs: elapsed())
        case .success(let p): prepared = p
        }
        var headers = HTTPHeaders()
        for (name, value) in prepared.headers { headers.add(name: name, value: value) }
        let httpRequest: HTTPClient.Request
        do {
            httpRequest = try HTTPClient.Request(url: prepared.url, method: HTTPMethod(rawValue: prepared.method), headers: headers,
                                                 body: prepared.body.map { HTTPClient.Body.bytes($0) })
        } catch {
            return CallResult(.network("the address \(scrub(prepared.url)) is not a valid URL"), latencyMs: elapsed())
        }
        let delegate = CappedCollector(limit: Self.maxAnswerBytes)
        let task = http.execute(request: httpRequest, delegate: delegate, deadline: .now() + .milliseconds(prepared.timeoutMs))
        // The latency is taken on the event loop when the exchange ends, not when this task resumes
        // (which, on a busy cooperative pool, may be much later).
        let ended = EndTime()
        task.futureResult.whenComplete { _ in ended.mark() }
        func exchangeMs() -> Int64 { milliseconds(since: started, until: ended.instant ?? ContinuousClock.now) }
        do {
            let answer = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return CallResult(.response(status: answer.status, body: answer.body.isEmpty ? nil : JSONValue.parse(answer.body)), latencyMs: exchangeMs())
        } catch {
            let latency = exchangeMs()
            if Self.isTimeout(error) { return CallResult(.timeout, latencyMs: latency) }
            return CallResult(.network(scrub(Self.describe(error))), latencyMs: latency)
        }
    }

    static func isTimeout(_ error: any Error) -> Bool {
        guard let error = error as? HTTPClientError else { return false }
        switch error {
        case .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout, .writeTimeout: return true
        default: return false
        }
    }

    /// A transport failure in words (never a header: they carry the secrets).
    static func describe(_ error: any Error) -> String {
        if error is CappedCollector.TooLarge { return "the answer is larger than 64 KiB" }
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "the connection was closed without an answer"
            case .cancelled: return "the call was cancelled"
            default: return "HTTP client error: \(error.shortDescription)"
            }
        }
        let text = String(describing: error)
        if text.contains("refused") || text.contains("errno: 111") { return "the connection was refused" }
        if let error = error as? IOError { return "I/O error: \(error.description)" }
        return "\(type(of: error)): \(text)"
    }

    // MARK: - The request as sent

    struct Prepared {
        var method: String
        var url: String
        /// Base path + path + query, as sent and signed.
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]?
        var timeoutMs: Int64
        /// Header names whose values are secrets or signatures.
        var secretHeaders: Set<String>
    }

    struct Refusal: Error { var reason: String }

    func prepare(_ request: ServiceRequest, attempt: Int) -> Result<Prepared, Refusal> {
        guard let service = services[request.service], let base = bases[request.service] else {
            return .failure(Refusal(reason: "no service named \(request.service) is declared"))
        }
        if let why = Self.problem(in: request) { return .failure(Refusal(reason: "refused, never sent: \(why)")) }
        let target = base.path + request.target
        let authority = base.host + (base.port.map { ":\($0)" } ?? "")
        let url = base.scheme + "://" + authority + target
        // Whatever the path holds, the URL must still go to the service's host, below its base path.
        guard let parsed = URL(string: url), parsed.scheme?.lowercased() == base.scheme,
              Self.trimBrackets(parsed.host ?? "").lowercased() == Self.trimBrackets(base.host), parsed.port == base.port,
              parsed.path(percentEncoded: true).hasPrefix(base.path + "/") || parsed.path(percentEncoded: true) == base.path + "/"
        else {
            return .failure(Refusal(reason: "refused, never sent: \(url) would not go to \(base.description)"))
        }

        var headers: [(String, String)] = [("Accept", "application/json"), ("User-Agent", Self.userAgent)]
        var secretHeaders: Set<String> = [RequestSigner.signatureHeader]
        let body = request.body.map { Array($0.utf8) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let auth = service.auth {
            switch auth {
            case .bearer(let name):
                guard let value = secrets.value(name) else { return .failure(Self.missing(name, service)) }
                headers.append(("Authorization", "Bearer " + value)); secretHeaders.insert("Authorization")
            case .header(let header, let name):
                guard let value = secrets.value(name) else { return .failure(Self.missing(name, service)) }
                guard Self.isToken(header) else {
                    return .failure(Refusal(reason: "refused, never sent: the auth header name '\(header)' is not a valid header name"))
                }
                headers.append((header, value)); secretHeaders.insert(header)
            case .basic(let user, let name):
                guard let value = secrets.value(name) else { return .failure(Self.missing(name, service)) }
                headers.append(("Authorization", "Basic " + Data((user + ":" + value).utf8).base64EncodedString()))
                secretHeaders.insert("Authorization")
            }
        }
        if request.method.isWrite { headers.append(("Idempotency-Key", request.idempotencyKey)) }
        let keys = secrets.keys(service.signing)
        guard !keys.isEmpty else { return .failure(Self.missing(service.signing, service)) }
        headers += RequestSigner.headers(id: RequestSigner.webhookID(for: request, attempt: attempt), timestamp: clock(),
                                         method: request.method.rawValue, target: target, body: body ?? [], keys: keys)
        return .success(Prepared(method: request.method.rawValue, url: url, target: target, headers: headers, body: body,
                                 timeoutMs: service.timeoutMs, secretHeaders: secretHeaders))
    }

    private static func missing(_ name: String, _ service: ServiceSpec) -> Refusal {
        Refusal(reason: "refused, never sent: the secret \(name) of service \(service.name) is not loaded (set \(ServiceSecrets.prefix)\(name))")
    }

    /// Why the request's path or query cannot be sent as it is, or nil.
    static func problem(in request: ServiceRequest) -> String? {
        guard request.path.hasPrefix("/") else { return "the path \(request.path) does not start with /" }
        for text in [request.path] + request.query {
            if text.contains(where: { $0 == "\r" || $0 == "\n" }) || text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
                return "the path or query contains a line break (CR/LF)"
            }
            if let bad = text.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
                return "the path or query contains U+\(String(format: "%04X", bad.value)); every value must be percent-encoded"
            }
            if text.contains("#") { return "the path or query contains '#'" }
        }
        if request.path.contains("?") { return "the path contains '?'; parameters belong in the query" }
        // A `.` or `..` segment (written or percent-encoded: servers may decode %2E) would climb out of the base path.
        for segment in request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let decoded = String(segment).removingPercentEncoding ?? String(segment)
            if decoded == "." || decoded == ".." { return "the path \(request.path) has a '\(decoded)' segment" }
        }
        return nil
    }

    private static func trimBrackets(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { c in
            (c.value >= 0x21 && c.value < 0x7F) && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains(c)
        }
    }

    /// Every secret value in `text` replaced by …redacted… — for any text that may carry one (values shorter than 4 characters are left:
    /// replacing them would garble the text more than it protects).
    public func scrub(_ text: String) -> String {
        var out = text
        for value in secrets.allValues where value.count >= 4 { out = out.replacingOccurrences(of: value, with: Self.redacted) }
        return out
    }

    // MARK: - Describing

    /// The request as it would be sent on this attempt — method and URL, the headers (every secret
    /// and signature shown as …redacted…), a blank line and the body — for `kefu explain` and `kefu chat`.
    /// A request that would be refused says so, and why.
    public func describe(_ request: ServiceRequest, attempt: Int = 1) -> String {
        switch prepare(request, attempt: attempt) {
        case .failure(let refusal):
            return scrub("\(request.summary)\n\(refusal.reason)")
        case .success(let p):
            var lines = ["\(p.method) \(p.url)"]
            for (name, value) in p.headers {
                if p.secretHeaders.contains(name) {
                    let shown = name == "Authorization" ? (value.split(separator: " ").first.map { "\($0) " } ?? "") + Self.redacted : Self.redacted
                    lines.append("\(name): \(shown)")
                } else {
                    lines.append("\(name): \(value)")
                }
            }
            var text = lines.joined(separator: "\n")
            if let body = p.body { text += "\n\n" + String(decoding: body, as: UTF8.self) }
            return scrub(text)
        }
    }
}

/// When an exchange ended, as seen on its event loop.
final class EndTime: Sendable {
    private let value = Mutex<ContinuousClock.Instant?>(nil)
    func mark() { value.withLock { $0 = ContinuousClock.now } }
    var instant: ContinuousClock.Instant? { value.withLock { $0 } }
}

/// Collects the status and the body, failing the request as soon as the body passes `limit` bytes.
final class CappedCollector: HTTPClientResponseDelegate, Sendable {
    struct Answer: Sendable {
        var status = 0
        var body: [UInt8] = []
    }

    struct TooLarge: Error {}

    typealias Response = Answer

    private let collected = Mutex(Answer())
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
            return task.eventLoop.makeFailedFuture(TooLarge())
        }
        collected.withLock { $0.status = Int(head.status.code) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let tooLarge = collected.withLock { state in
            if state.body.count + buffer.readableBytes > limit { return true }
            state.body += buffer.readableBytesView
            return false
        }
        return tooLarge ? task.eventLoop.makeFailedFuture(TooLarge()) : task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        collected.withLock { $0 }
    }
}
