import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The stand-in WeChat (`wechat-standin`) and the tools tests drive it with: shared by the stand-in's own
/// tests, the API client's and the server's.

/// Collects what a child process writes to a pipe, on a background handler, so that tests can wait
/// for a line with a deadline instead of blocking on a read.
public final class PipeCollector {
    public final class Buffer: Sendable {
        public let data = Mutex(Data())
    }

    public let pipe = Pipe()
    private let buffer = Buffer()

    public init() {
        pipe.fileHandleForReading.readabilityHandler = { [buffer] handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil; return }
            buffer.data.withLock { $0.append(chunk) }
        }
    }

    public var text: String { buffer.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Polls until `predicate` finds something in the text so far, or the deadline passes.
    public func wait<T>(seconds: Double = 10, for predicate: (String) -> T?) -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let found = predicate(text) { return found }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return predicate(text)
    }
}

/// The answer of one HTTP call made with curl.
public struct HTTPAnswer {
    public var curlStatus: Int32
    public var status: Int
    public var contentType: String
    public var data: Data
    public var text: String { String(decoding: data, as: UTF8.self) }
    /// The body as a JSON object (empty when it is not one).
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
    public var errcode: Int? { json["errcode"] as? Int }
}

/// Curl over loopback (no HTTP client dependency in the tests).
public enum Curl {
    public static let marker = "\n@@curl@@"

    public static func call(_ method: String, _ url: String, body: Data? = nil, contentType: String = "application/json",
                     extra: [String] = [], timeout: Int = 20) throws -> HTTPAnswer {
        var arguments = ["-sS", "--max-time", String(timeout), "-X", method, "-o", "-", "-w", marker + "%{http_code} %{content_type}"]
        if body != nil { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@-"] }
        arguments += extra + [url]
        let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), arguments, input: body)
        let data = result.data
        guard let range = data.range(of: Data(marker.utf8), options: .backwards) else {
            return HTTPAnswer(curlStatus: result.status, status: 0, contentType: "", data: data)
        }
        let trailer = String(decoding: data[range.upperBound...], as: UTF8.self)
        let parts = trailer.split(separator: " ", maxSplits: 1).map(String.init)
        return HTTPAnswer(curlStatus: result.status, status: Int(parts.first ?? "") ?? 0,
                          contentType: parts.count > 1 ? parts[1] : "", data: data[..<range.lowerBound])
    }
}

/// A running `wechat-standin` on a free loopback port; stopped when released.
public final class StandInServer {
    public static let appID = "wxSTANDIN0000000001"
    public static let secret = "standin-app-secret-0123456789abcdef"
    public static let start: Int64 = 1_767_225_600  // 2026-01-01 00:00:00 UTC, 08:00 in Beijing

    /// The binary built beside the test bundle, as TestSupport.kefu finds `kefu`.
    public static var binary: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = directory.appendingPathComponent("wechat-standin")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : directory.deletingLastPathComponent().appendingPathComponent("wechat-standin")
    }

    public let process = Process()
    public let out = PipeCollector()
    public let err = PipeCollector()
    public let base: String

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// `--now` is the fixed start unless `arguments` sets it; the AppSecret comes from the environment.
    public init(_ arguments: [String] = [], environment: [String: String] = [:], now: Int64? = StandInServer.start) throws {
        process.executableURL = Self.binary
        process.arguments = ["--port", "0"] + (now.map { ["--now", String($0)] } ?? []) + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "KEFU_APPSECRET": Self.secret].merging(environment) { $1 }
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        try process.run()
        let found = out.wait(seconds: 30) { text -> String? in
            guard let range = text.range(of: #"wechat-standin listening on http://127\.0\.0\.1:\d+"#, options: .regularExpression) else { return nil }
            return String(text[range].dropFirst("wechat-standin listening on ".count))
        }
        guard let found else {
            process.terminate()
            throw StartFailure(description: "wechat-standin did not start:\n\(out.text)\n\(err.text)")
        }
        base = found
    }

    /// SIGKILL: there is nothing to flush, and a child spawned from a test thread may have SIGTERM blocked.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    public func get(_ path: String) throws -> HTTPAnswer { try Curl.call("GET", base + path) }

    public func post(_ path: String, _ body: String, contentType: String = "application/json") throws -> HTTPAnswer {
        try Curl.call("POST", base + path, body: Data(body.utf8), contentType: contentType)
    }

    /// POSTs a JSON object (serialised by Foundation, which writes non-ASCII raw).
    public func post(_ path: String, json object: [String: Any]) throws -> HTTPAnswer {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return try Curl.call("POST", base + path, body: data)
    }

    // Conveniences for the WeChat side.

    public func token() throws -> String {
        let answer = try get("/cgi-bin/token?grant_type=client_credential&appid=\(Self.appID)&secret=\(Self.secret)")
        guard let token = answer.json["access_token"] as? String else { throw StartFailure(description: "no token: \(answer.text)") }
        return token
    }

    public func stable(force: Bool = false) throws -> HTTPAnswer {
        try post("/cgi-bin/stable_token", json: ["grant_type": "client_credential", "appid": Self.appID, "secret": Self.secret, "force_refresh": force])
    }

    public func advance(_ seconds: Int64) throws {
        _ = try post("/standin/clock", json: ["advance": seconds])
    }

    public func interaction(_ openid: String, _ kind: String) throws {
        let answer = try post("/standin/interaction", json: ["openid": openid, "kind": kind])
        guard answer.status == 200 else { throw StartFailure(description: "interaction: \(answer.text)") }
    }

    public func sendText(_ token: String, to openid: String, _ text: String = "您好") throws -> HTTPAnswer {
        try post("/cgi-bin/message/custom/send?access_token=\(token)", json: ["touser": openid, "msgtype": "text", "text": ["content": text]])
    }

    /// The errcode a token gets on a cheap authenticated call (menu/get: 46003 means the token worked).
    public func probe(_ token: String) throws -> Int? { try get("/cgi-bin/menu/get?access_token=\(token)").errcode }

    public func sent(_ openid: String? = nil) throws -> [[String: Any]] {
        try get("/standin/sent" + (openid.map { "?touser=\($0)" } ?? "")).json["messages"] as? [[String: Any]] ?? []
    }
}

/// A running `sample-backend` (the FAKE company backend, docs/sample-backend.md) on a free loopback
/// port; stopped when released. It verifies signatures with `signingKey` unless told otherwise.
public final class SampleBackendServer {
    /// The test key's bytes, and the same key in Standard Webhooks' `whsec_<base64>` form.
    public static let keyBytes: [UInt8] = Array("sample-backend-test-signing-key!".utf8)
    public static let signingKey = "whsec_" + Data(keyBytes).base64EncodedString()

    public static var binary: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = directory.appendingPathComponent("sample-backend")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : directory.deletingLastPathComponent().appendingPathComponent("sample-backend")
    }

    public let process = Process()
    public let out = PipeCollector()
    public let err = PipeCollector()
    public let base: String

    /// `--port 0` unless `arguments` sets one; `environment` replaces the default (the test key).
    public init(_ arguments: [String] = [], environment: [String: String] = ["SAMPLE_BACKEND_SIGNING_KEY": SampleBackendServer.signingKey]) throws {
        process.executableURL = Self.binary
        process.arguments = (arguments.contains("--port") ? [] : ["--port", "0"]) + arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        try process.run()
        let found = out.wait(seconds: 30) { text -> String? in
            guard let range = text.range(of: #"listening on http://[0-9.]+:\d+"#, options: .regularExpression) else { return nil }
            return String(text[range].dropFirst("listening on ".count))
        }
        guard let found else {
            kill(process.processIdentifier, SIGKILL)
            throw StandInServer.StartFailure(description: "sample-backend did not start:\n\(out.text)\n\(err.text)")
        }
        base = found
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    /// An answer with its response headers (names lowercased).
    public struct Reply {
        public var answer: HTTPAnswer
        public var headers: [String: String]
        public var status: Int { answer.status }
        public var json: [String: Any] { answer.json }
        public var text: String { answer.text }
    }

    /// One request; `target` is the path and query, sent exactly as written (`--path-as-is`).
    public func call(_ method: String, _ target: String, body: Data? = nil, headers: [String: String] = [:], timeout: Int = 20) throws -> Reply {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sample-backend-headers-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: file) }
        var extra = ["--path-as-is", "-D", file.path]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { extra += ["-H", "\(name): \(value)"] }
        let answer = try Curl.call(method, base + target, body: body, extra: extra, timeout: timeout)
        var received: [String: String] = [:]
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            received[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(answer: answer, headers: received)
    }

    /// A control call (`/_sample/...`), JSON in and out.
    @discardableResult
    public func control(_ method: String, _ path: String, _ object: [String: Any]? = nil) throws -> Reply {
        let body = try object.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) }
        return try call(method, path, body: body)
    }

    /// Every request received so far (`GET /_sample/requests`).
    public func requests() throws -> [[String: Any]] {
        try control("GET", "/_sample/requests").json["requests"] as? [[String: Any]] ?? []
    }
}

/// A webhook that records what it is sent: Python's http.server on a free loopback port, answering
/// `success`. Each request arrives as one JSON line {"path", "body" (base64)}.
public final class WebhookListener {
    public let process = Process()
    public let out = PipeCollector()
    public let err = PipeCollector()
    public let url: String

    public static let script = #"""
    import base64, http.server, json, sys
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            print(json.dumps({"path": self.path, "body": base64.b64encode(body).decode()}), flush=True)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"success")
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()
    """#

    public init() throws {
        process.executableURL = try TestSupport.python()
        process.arguments = ["-c", Self.script]
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        try process.run()
        let port = out.wait { text in
            text.split(separator: "\n").first { $0.hasPrefix("listening ") }.map { String($0.dropFirst(10)) }
        }
        guard let port else { throw StandInServer.StartFailure(description: "the webhook listener did not start: \(err.text)") }
        url = "http://127.0.0.1:\(port)/wechat"
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    public struct Received {
        public var query: [String: String]
        public var body: [UInt8]
    }

    /// The requests received so far.
    public var received: [Received] {
        out.text.split(separator: "\n").compactMap { line -> Received? in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = object["path"] as? String, let body = (object["body"] as? String).flatMap({ Data(base64Encoded: $0) }) else { return nil }
            var query: [String: String] = [:]
            for item in URLComponents(string: "http://x" + path)?.queryItems ?? [] { query[item.name] = item.value }
            return Received(query: query, body: Array(body))
        }
    }

    /// Waits (with a deadline) until `count` requests have arrived.
    public func waitFor(_ count: Int, seconds: Double = 10) -> [Received] {
        out.wait(seconds: seconds) { _ in received.count >= count ? received : nil } ?? received
    }
}

extension TestSupport {
    /// A loopback port nobody listens on right now (bound, read and closed: for a process that must
    /// know another's address before either starts).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StandInServer.StartFailure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls `condition` until it holds or `seconds` pass; returns whether it held.
    @discardableResult
    public static func eventually(within seconds: Double = 15, every interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: interval)
        } while Date() < deadline
        return try condition()
    }
}
