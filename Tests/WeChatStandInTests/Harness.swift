import Foundation
import KefuTestSupport
import Synchronization

/// Collects what a child process writes to a pipe, on a background handler, so that tests can wait
/// for a line with a deadline instead of blocking on a read.
final class PipeCollector {
    final class Buffer: Sendable {
        let data = Mutex(Data())
    }

    let pipe = Pipe()
    private let buffer = Buffer()

    init() {
        pipe.fileHandleForReading.readabilityHandler = { [buffer] handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil; return }
            buffer.data.withLock { $0.append(chunk) }
        }
    }

    var text: String { buffer.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Polls until `predicate` finds something in the text so far, or the deadline passes.
    func wait<T>(seconds: Double = 10, for predicate: (String) -> T?) -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let found = predicate(text) { return found }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return predicate(text)
    }
}

/// The answer of one HTTP call made with curl.
struct HTTPAnswer {
    var curlStatus: Int32
    var status: Int
    var contentType: String
    var data: Data
    var text: String { String(decoding: data, as: UTF8.self) }
    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
    var errcode: Int? { json["errcode"] as? Int }
}

/// Curl over loopback (no HTTP client dependency in the tests).
enum Curl {
    static let marker = "\n@@curl@@"

    static func call(_ method: String, _ url: String, body: Data? = nil, contentType: String = "application/json",
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
final class StandInServer {
    static let appID = "wxSTANDIN0000000001"
    static let secret = "standin-app-secret-0123456789abcdef"
    static let start: Int64 = 1_767_225_600  // 2026-01-01 00:00:00 UTC, 08:00 in Beijing

    /// The binary built beside the test bundle, as TestSupport.kefu finds `kefu`.
    static var binary: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = directory.appendingPathComponent("wechat-standin")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : directory.deletingLastPathComponent().appendingPathComponent("wechat-standin")
    }

    let process = Process()
    let out = PipeCollector()
    let err = PipeCollector()
    let base: String

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// `--now` is the fixed start unless `arguments` sets it; the AppSecret comes from the environment.
    init(_ arguments: [String] = [], environment: [String: String] = [:], now: Int64? = StandInServer.start) throws {
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

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    func get(_ path: String) throws -> HTTPAnswer { try Curl.call("GET", base + path) }

    func post(_ path: String, _ body: String, contentType: String = "application/json") throws -> HTTPAnswer {
        try Curl.call("POST", base + path, body: Data(body.utf8), contentType: contentType)
    }

    /// POSTs a JSON object (serialised by Foundation, which writes non-ASCII raw).
    func post(_ path: String, json object: [String: Any]) throws -> HTTPAnswer {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return try Curl.call("POST", base + path, body: data)
    }

    // Conveniences for the WeChat side.

    func token() throws -> String {
        let answer = try get("/cgi-bin/token?grant_type=client_credential&appid=\(Self.appID)&secret=\(Self.secret)")
        guard let token = answer.json["access_token"] as? String else { throw StartFailure(description: "no token: \(answer.text)") }
        return token
    }

    func stable(force: Bool = false) throws -> HTTPAnswer {
        try post("/cgi-bin/stable_token", json: ["grant_type": "client_credential", "appid": Self.appID, "secret": Self.secret, "force_refresh": force])
    }

    func advance(_ seconds: Int64) throws {
        _ = try post("/standin/clock", json: ["advance": seconds])
    }

    func interaction(_ openid: String, _ kind: String) throws {
        let answer = try post("/standin/interaction", json: ["openid": openid, "kind": kind])
        guard answer.status == 200 else { throw StartFailure(description: "interaction: \(answer.text)") }
    }

    func sendText(_ token: String, to openid: String, _ text: String = "您好") throws -> HTTPAnswer {
        try post("/cgi-bin/message/custom/send?access_token=\(token)", json: ["touser": openid, "msgtype": "text", "text": ["content": text]])
    }

    /// The errcode a token gets on a cheap authenticated call (menu/get: 46003 means the token worked).
    func probe(_ token: String) throws -> Int? { try get("/cgi-bin/menu/get?access_token=\(token)").errcode }

    func sent(_ openid: String? = nil) throws -> [[String: Any]] {
        try get("/standin/sent" + (openid.map { "?touser=\($0)" } ?? "")).json["messages"] as? [[String: Any]] ?? []
    }
}

/// A webhook that records what it is sent: Python's http.server on a free loopback port, answering
/// `success`. Each request arrives as one JSON line {"path", "body" (base64)}.
final class WebhookListener {
    let process = Process()
    let out = PipeCollector()
    let err = PipeCollector()
    let url: String

    static let script = #"""
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

    init() throws {
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

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    struct Received {
        var query: [String: String]
        var body: [UInt8]
    }

    /// The requests received so far.
    var received: [Received] {
        out.text.split(separator: "\n").compactMap { line -> Received? in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = object["path"] as? String, let body = (object["body"] as? String).flatMap({ Data(base64Encoded: $0) }) else { return nil }
            var query: [String: String] = [:]
            for item in URLComponents(string: "http://x" + path)?.queryItems ?? [] { query[item.name] = item.value }
            return Received(query: query, body: Array(body))
        }
    }

    /// Waits (with a deadline) until `count` requests have arrived.
    func waitFor(_ count: Int, seconds: Double = 10) -> [Received] {
        out.wait(seconds: seconds) { _ in received.count >= count ? received : nil } ?? received
    }
}
