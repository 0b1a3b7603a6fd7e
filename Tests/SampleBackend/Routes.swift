import Foundation
import ServerJSON
import HTTPTypes
import Hummingbird
import NIOCore

/// The request context: Hummingbird's core plus the connection, for closing it without an answer (`drop`).
struct BackendContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The HTTP face of the backend, one responder for every request: the control API under `/_sample/`,
/// `/health`, and the business endpoints behind the fault, signature, token and idempotency checks.
struct Routes: HTTPResponder {
    typealias Context = BackendContext

    let backend: Backend
    /// Nil with --no-verify and no key.
    let verifier: Verifier?
    /// Whether a bad signature is refused (false with --no-verify: still checked and logged).
    let enforce: Bool
    let token: String?
    let controls: Bool
    let logRequests: Bool

    static let maxBody = 1 << 20
    static let fakeHeader = HTTPField.Name("X-Sample-Backend")!
    static let fakeValue = "fake data, not a real system"
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

    struct Dropped: Error {}

    func respond(to request: Request, context: BackendContext) async throws -> Response {
        let method = request.method.rawValue
        let target = request.head.path ?? "/"
        let path = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: Self.maxBody))
        } catch {
            return Self.response(.error(413, "the body is larger than \(Self.maxBody) bytes"))
        }
        if path == "/_sample" || path.hasPrefix("/_sample/") {
            guard controls else { return Self.response(.error(404, "the control API is off (--no-controls)")) }
            return Self.response(await control(method: method, path: path, body: body))
        }
        if path == "/health" {
            return Self.response(Answer(status: 200, body: ["ok": true, "fake": true, "note": .string(Self.fakeValue)]))
        }
        return try await business(request, context, method: method, target: target, body: body)
    }

    private func business(_ request: Request, _ context: BackendContext, method: String, target: String, body: [UInt8]) async throws -> Response {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
        let rejection = verifier?.check(id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature"),
                                        method: method, target: target, body: body)
        let key = header("Idempotency-Key").flatMap { $0.isEmpty ? nil : $0 }
        let number = await backend.record(Backend.Received(
            method: method, target: target, headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: body,
            signatureOK: verifier == nil ? nil : rejection == nil, idempotencyKey: key, time: Date().timeIntervalSince1970))

        func finish(_ answer: Answer, replayed: Bool = false, fault: String? = nil, note: String = "") async -> Response {
            await backend.finish(number, status: answer.status, replayed: replayed, fault: fault)
            log(method, target, "\(answer.status)\(note)")
            var response = Self.response(answer)
            if replayed { response.headers[Self.replayedHeader] = "true" }
            return response
        }

        if let fault = await backend.takeFault(method: method, target: target) {
            if fault.delayMs > 0 { try await Task.sleep(for: .milliseconds(fault.delayMs)) }
            if fault.drop {
                await backend.finish(number, status: nil, fault: "drop")
                log(method, target, "dropped (fault)")
                try? await context.channel.close()
                throw Dropped()
            }
            if let status = fault.status {
                return await finish(Answer(status: status, body: fault.body ?? ["error": "injected fault (POST /_sample/faults)"]),
                                    fault: "status", note: " (fault)")
            }
        }
        if let rejection, enforce {
            return await finish(.error(401, rejection.description), note: " (signature)")
        }
        if let token {
            let given = header("Authorization") ?? ""
            guard given.hasPrefix("Bearer "), constantTimeEqual(Array(given.utf8.dropFirst(7)), Array(token.utf8)) else {
                return await finish(.error(401, given.isEmpty ? "missing Authorization: Bearer <token>" : "wrong bearer token"), note: " (token)")
            }
        }
        let (answer, replayed) = await backend.answer(method: method, target: target, body: body, idempotencyKey: key)
        return await finish(answer, replayed: replayed, note: replayed ? " (replayed)" : "")
    }

    /// One line per business request on stderr with --log-requests: no headers, no bodies (no secrets).
    private func log(_ method: String, _ target: String, _ outcome: String) {
        guard logRequests else { return }
        FileHandle.standardError.write(Data("sample-backend: \(method) \(target) → \(outcome)\n".utf8))
    }

    static func response(_ answer: Answer) -> Response {
        Response(status: HTTPResponse.Status(code: answer.status),
                 headers: [.contentType: "application/json; charset=utf-8", fakeHeader: fakeValue],
                 body: .init(byteBuffer: ByteBuffer(bytes: answer.body.bytes)))
    }

    // MARK: Control API

    private func control(method: String, path: String, body raw: [UInt8]) async -> Answer {
        let body: JSON
        if raw.isEmpty { body = [:] } else if let parsed = JSON.parse(raw), parsed.object != nil { body = parsed } else {
            return .error(400, "the body must be a JSON object")
        }
        switch (method, path) {
        case ("POST", "/_sample/faults"):
            switch Self.fault(body) {
            case .success(let fault): return Answer(status: 200, body: ["ok": true, "faults": .int(Int64(await backend.addFault(fault)))])
            case .failure(let message): return .error(400, message.description)
            }
        case ("GET", "/_sample/faults"): return Answer(status: 200, body: await backend.listFaults())
        case ("DELETE", "/_sample/faults"): return Answer(status: 200, body: ["cleared": .int(Int64(await backend.clearFaults()))])
        case ("GET", "/_sample/requests"): return Answer(status: 200, body: await backend.receivedRequests())
        case ("DELETE", "/_sample/requests"): return Answer(status: 200, body: ["cleared": .int(Int64(await backend.clearRequests()))])
        case ("GET", "/_sample/idempotency"): return Answer(status: 200, body: await backend.idempotency())
        case ("GET", "/_sample/state"): return Answer(status: 200, body: await backend.state())
        case ("POST", "/_sample/reset"): await backend.reset(); return Answer(status: 200, body: ["ok": true])
        default:
            return .error(404, "no such control: \(method) \(path) (faults, requests, idempotency, state, reset: see docs/sample-backend.md)")
        }
    }

    struct ControlError: Error, CustomStringConvertible { let description: String }

    /// `{"path", "method"?, "status"?, "delay_ms"?, "times"?, "drop"?, "body"?}`
    static func fault(_ body: JSON) -> Result<Backend.Fault, ControlError> {
        let known: Set<String> = ["path", "method", "status", "delay_ms", "times", "drop", "body"]
        if let unknown = body.object?.keys.filter({ !known.contains($0) }).sorted(), !unknown.isEmpty {
            return .failure(ControlError(description: "unknown field \(unknown.joined(separator: ", ")): a fault has path, method, status, delay_ms, times, drop, body"))
        }
        guard let prefix = body["path"]?.string, prefix.hasPrefix("/") else {
            return .failure(ControlError(description: "give \"path\": the path prefix the fault applies to, e.g. \"/shop/orders\""))
        }
        let method = body["method"]?.string?.uppercased()
        if body["method"] != nil, method == nil { return .failure(ControlError(description: "\"method\" must be a string such as \"POST\"")) }
        var status: Int?
        if let value = body["status"] {
            guard let code = value.int, (100...599).contains(code) else { return .failure(ControlError(description: "\"status\" must be an HTTP status 100-599")) }
            status = Int(code)
        }
        var delay = 0
        if let value = body["delay_ms"] {
            guard let milliseconds = value.int, (0...600_000).contains(milliseconds) else { return .failure(ControlError(description: "\"delay_ms\" must be 0-600000")) }
            delay = Int(milliseconds)
        }
        var times = 1
        if let value = body["times"] {
            guard let count = value.int, count >= 1 || count == -1 else { return .failure(ControlError(description: "\"times\" must be at least 1, or -1 for until cleared")) }
            times = Int(count)
        }
        var drop = false
        if let value = body["drop"] {
            guard let flag = value.bool else { return .failure(ControlError(description: "\"drop\" must be true or false")) }
            drop = flag
        }
        guard status != nil || delay > 0 || drop else {
            return .failure(ControlError(description: "a fault needs \"status\", \"delay_ms\" or \"drop\": true"))
        }
        if drop, status != nil { return .failure(ControlError(description: "\"drop\" closes the connection without an answer, so it takes no \"status\"")) }
        return .success(Backend.Fault(prefix: prefix, method: method, status: status, delayMs: delay, drop: drop, body: body["body"], remaining: times))
    }
}
