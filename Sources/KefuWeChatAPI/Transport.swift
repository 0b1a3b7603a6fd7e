import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP exchange with WeChat, knowing whether the request left this machine: a failure before
/// the request head was written is `notSent` (safe to repeat); after it, `outcomeUnknown`.
struct Transport: Sendable {
    let http: HTTPClient
    let timeoutMilliseconds: Int
    /// The largest answer read (menu/get and errors are small; nothing we call returns a file).
    static let maxAnswerBytes = 4 << 20

    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]
    }

    func exchange(api: String, method: HTTPMethod, url: String, contentType: String?, body: [UInt8]?) async throws -> Answer {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Accept", value: "application/json")
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: method, headers: headers, body: body.map { HTTPClient.Body.bytes($0) })
        } catch {
            throw WeChatAPIError.invalid(api: api, "The API address is not a valid URL (\(error)); check --wechat-api.")
        }
        let delegate = TrackingDelegate(limit: Self.maxAnswerBytes)
        let task = http.execute(request: request, delegate: delegate, deadline: .now() + .milliseconds(Int64(timeoutMilliseconds)))
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch let error as WeChatAPIError {
            throw error
        } catch {
            let what = Self.describe(error, timeoutMilliseconds: timeoutMilliseconds)
            if delegate.requestWritten { throw WeChatAPIError.outcomeUnknown(api: api, what) }
            throw WeChatAPIError.notSent(api: api, what)
        }
    }

    /// A transport failure in words (never the URL: business URLs carry the access token).
    static func describe(_ error: any Error, timeoutMilliseconds: Int) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "no answer within \(timeoutMilliseconds) ms"
            case .connectTimeout, .getConnectionFromPoolTimeout: return "no connection within \(timeoutMilliseconds) ms"
            case .remoteConnectionClosed: return "the connection was closed without an answer"
            case .cancelled: return "the call was cancelled"
            default: return "HTTP client error \(error.shortDescription)"
            }
        }
        if let error = error as? IOError { return "I/O error: \(error.description)" }
        if error is ChannelError { return "connection error \(error)" }
        return "\(type(of: error)): \(error)"
    }
}

/// Collects the answer and notes when the request head was handed to the socket.
final class TrackingDelegate: HTTPClientResponseDelegate, Sendable {
    typealias Response = Transport.Answer

    struct Collected: Sendable {
        var status = 0
        var body: [UInt8] = []
        var tooLarge = false
    }

    private let written = Atomic<Bool>(false)
    private let collected = Mutex(Collected())
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    var requestWritten: Bool { written.load(ordering: .acquiring) }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        written.store(true, ordering: .releasing)
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        collected.withLock { $0.status = Int(head.status.code) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        collected.withLock { state in
            if state.body.count + buffer.readableBytes > limit { state.tooLarge = true } else { state.body += buffer.readableBytesView }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        let state = collected.withLock { $0 }
        return Transport.Answer(status: state.status, body: state.tooLarge ? [] : state.body)
    }
}

/// WeChat's JSON answer: `errcode` absent or 0 is success (token, QR and upload answers carry none).
struct WeChatAnswer: @unchecked Sendable {
    /// The parsed object (JSONSerialization's; read-only after parsing).
    let object: [String: Any]
    let bytes: [UInt8]

    /// Parses `answer` of a call to `api`; a non-200 status or a body that is not a JSON object is an error.
    init(_ answer: Transport.Answer, api: String) throws {
        guard answer.status == 200 else {
            if answer.status == 404 || answer.status == 405 {
                throw WeChatAPIError.invalid(api: api, "The API address answered HTTP \(answer.status) for \(api); check --wechat-api.")
            }
            throw WeChatAPIError.outcomeUnknown(api: api, "HTTP status \(answer.status) instead of WeChat's answer")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.bytesOrEmpty))) as? [String: Any] else {
            throw WeChatAPIError.outcomeUnknown(api: api, "an answer that is not WeChat's JSON (\(answer.body.count) bytes)")
        }
        self.object = object
        self.bytes = answer.body
    }

    /// `errcode`, which may come as a number or a string; nil when absent.
    var errcode: Int? {
        switch object["errcode"] {
        case let number as NSNumber: return number.intValue
        case let text as String: return Int(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    var errmsg: String { (object["errmsg"] as? String) ?? "" }

    func string(_ key: String) -> String? { object[key] as? String }

    func int(_ key: String) -> Int64? {
        switch object[key] {
        case let number as NSNumber: return number.int64Value
        case let text as String: return Int64(text)
        default: return nil
        }
    }
}

extension Transport.Answer {
    var bytesOrEmpty: [UInt8] { body }
}

/// UTF-8 JSON with raw non-ASCII (WeChat answers 40033 to `\uXXXX` escapes) and unescaped slashes.
enum WeChatJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
