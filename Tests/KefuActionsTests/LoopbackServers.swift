import Foundation
import KefuActions
import KefuRules
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP server on a free loopback port that records every request as it arrived — method,
/// the raw request target, headers, body — and answers as `answer` says. Plain SwiftNIO: it runs on
/// the event-loop threads, so it answers on time even while other suites keep Swift's cooperative
/// threads busy (the whole `swift test` runs hundreds of tests at once on two cores).
final class RecordingServer: Sendable {
    struct Recorded: Sendable {
        var method: String
        /// The request target as it was on the request line.
        var target: String
        /// Names in lower case; repeated headers joined with ", ".
        var headers: [String: String]
        var body: [UInt8]

        /// As the Python verifier reads it.
        func verifierInput(key: String, now: Int64? = nil, target: String? = nil, body: [UInt8]? = nil) -> Data {
            var object: [String: Any] = ["headers": headers, "method": method, "target": target ?? self.target,
                                         "body_base64": Data(body ?? self.body).base64EncodedString(), "key": key]
            if let now { object["now"] = now }
            return try! JSONSerialization.data(withJSONObject: object)
        }
    }

    struct Answer: Sendable {
        var status: Int = 200
        var headers: [String: String] = ["Content-Type": "application/json"]
        var body: [UInt8] = Array(#"{"ok":true}"#.utf8)
        /// Sent in 16 KiB chunks (Transfer-Encoding: chunked, no Content-Length) when set.
        var chunked = false

        static func json(_ text: String, status: Int = 200) -> Answer { Answer(status: status, body: Array(text.utf8)) }
    }

    final class Log: Sendable {
        let entries = Mutex<[Recorded]>([])
    }

    let port: Int
    private let log: Log
    private let channel: any Channel

    var requests: [Recorded] { log.entries.withLock { $0 } }
    var base: String { "http://127.0.0.1:\(port)" }

    struct StartFailure: Error, CustomStringConvertible { var description: String }

    init(_ answer: @escaping @Sendable (Recorded) -> Answer = { _ in Answer() }) async throws {
        let log = Log()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Recorder(log: log, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw StartFailure(description: "the recording server has no port") }
        self.port = port
        self.log = log
    }

    func stop() async {
        try? await channel.close()
    }

    /// One connection's requests: collects head and body, records them, answers.
    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let log: Log
        let answer: @Sendable (Recorded) -> Answer
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(log: Log, answer: @escaping @Sendable (Recorded) -> Answer) { self.log = log; self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head; body = []
            case .body(let buffer): body += buffer.readableBytesView
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers {
                    let key = name.lowercased()
                    headers[key] = headers[key].map { $0 + ", " + value } ?? value
                }
                let entry = Recorded(method: head.method.rawValue, target: head.uri, headers: headers, body: body)
                log.entries.withLock { $0.append(entry) }
                let reply = answer(entry)
                var fields = HTTPHeaders()
                for (name, value) in reply.headers { fields.add(name: name, value: value) }
                if reply.chunked { fields.add(name: "Transfer-Encoding", value: "chunked") }
                else if reply.status != 204 && reply.status != 304 { fields.add(name: "Content-Length", value: String(reply.body.count)) }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: reply.status), headers: fields))),
                              promise: nil)
                var rest = reply.body[...]
                while !rest.isEmpty {
                    let chunk = rest.prefix(reply.chunked ? 16 * 1024 : rest.count)
                    rest = rest.dropFirst(chunk.count)
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        }
    }
}

/// A loopback port that takes connections (the kernel completes them: it listens) but never reads
/// or answers: every request to it waits until the client gives up.
final class SilentListener: Sendable {
    let port: Int
    private let socket: Int32

    init() throws {
        (socket, port) = try Self.bound(listen: true)
    }

    deinit { close(socket) }

    struct SocketError: Error, CustomStringConvertible { var description: String }

    /// A TCP socket bound to 127.0.0.1 on a free port; listening or not (then a connection to it is refused).
    static func bound(listen shouldListen: Bool) throws -> (Int32, Int) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw SocketError(description: "bind() failed: errno \(errno)") }
        if shouldListen, listen(fd, 64) != 0 { close(fd); throw SocketError(description: "listen() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { close(fd); throw SocketError(description: "getsockname() failed: errno \(errno)") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A loopback port bound but not listening: connecting to it is refused.
final class RefusingPort: Sendable {
    let port: Int
    private let socket: Int32

    init() throws {
        (socket, port) = try SilentListener.bound(listen: false)
    }

    deinit { close(socket) }
}

/// Services, secrets and requests for the tests.
enum Fixture {
    static let token = "tok-ERP-9f8e7d6c5b4a"
    static let apiKey = "crm-key-0a1b2c3d4e5f"
    static let password = "his-pass-77aa88bb99"
    static let signingKey = "whsec_" + Data((0..<32).map { UInt8($0 * 7 % 251) }).base64EncodedString()
    static let previousKey = "kefu-previous-signing-key-2025"

    static let environment: [String: String] = [
        "KEFU_SECRET_ERP_TOKEN": token,
        "KEFU_SECRET_CRM_KEY": apiKey,
        "KEFU_SECRET_HIS_PASSWORD": password,
        "KEFU_SECRET_SIGNING_KEY": signingKey,
    ]

    static let location = SourceLocation(file: "services.yaml", line: 1, column: 1)

    static func service(_ name: String, base: String, auth: ServiceAuth? = nil, timeoutMs: Int64 = 3000) -> ServiceSpec {
        guard case .success(let parsed) = ServiceBase.parse(base) else { fatalError("bad base \(base)") }
        return ServiceSpec(name: name, base: parsed, auth: auth, timeoutMs: timeoutMs, location: location)
    }

    static func request(_ service: String, _ method: CallSpec.Method, _ path: String, query: [String] = [], body: String? = nil,
                        key: String = "shop.after-sales.m1.create-ticket.1") -> ServiceRequest {
        ServiceRequest(service: service, method: method, path: path, query: query, body: body, idempotencyKey: key,
                       call: CallRef(user: "o-user", flow: "after-sales", step: "create-ticket", instance: "m1", run: 1))
    }

    static func secrets(for services: [ServiceSpec], _ environment: [String: String] = Fixture.environment) throws -> ServiceSecrets {
        try ServiceSecrets.resolve(for: services, environment: environment)
    }
}
