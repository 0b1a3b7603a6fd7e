import Foundation
import ServerJSON
import Hummingbird
import KefuWeChat
import NIOCore

/// The request context: Hummingbird's core plus the connection, for the caller's IP (the allow-list)
/// and for closing the connection without an answer (the `reset` fault).
struct StandInContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The HTTP face of the stand-in: WeChat's paths (§10 of the spec) and the `/standin/` control API.
struct Routes: Sendable {
    let state: StandIn
    let webhook: Webhook?

    static let wechatPaths = [
        "/cgi-bin/token", "/cgi-bin/stable_token",
        "/cgi-bin/message/custom/send", "/cgi-bin/message/custom/typing",
        "/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/bizsend",
        "/cgi-bin/media/upload",
        "/cgi-bin/menu/create", "/cgi-bin/menu/get", "/cgi-bin/menu/delete",
        "/cgi-bin/qrcode/create", "/cgi-bin/showqrcode",
    ]

    /// Largest body read; an upload beyond it is refused with 45001.
    static let maxBody = 20 << 20

    func router() -> Router<StandInContext> {
        let router = Router(context: StandInContext.self)
        for path in Self.wechatPaths {
            for method in [HTTPRequest.Method.get, .post] {
                router.on(RouterPath(path), method: method) { request, context in
                    try await wechat(request, context, path: path)
                }
            }
        }
        control(router)
        return router
    }

    // MARK: WeChat paths

    struct Dropped: Error {}

    func wechat(_ request: Request, _ context: StandInContext, path: String) async throws -> Response {
        let fault = await state.begin(path)
        switch fault {
        case .errcode(let error)?: return Self.answer(.error(error))
        case .slow(let milliseconds)?: try await Task.sleep(for: .milliseconds(milliseconds))
        case .reset(after: false)?: try await drop(context)
        default: break
        }
        var call = StandIn.Call(path: path, method: request.method.rawValue, query: Self.query(request), body: [],
                                contentType: request.headers[.contentType], remoteIP: context.channel.remoteAddress?.ipAddress)
        do {
            call.body = Array(buffer: try await request.body.collect(upTo: Self.maxBody))
        } catch {
            call.bodyTooLarge = true
        }
        let (answer, push) = await state.handle(call)
        if case .reset(after: true)? = fault {
            if let push, let webhook { Task { _ = try? await webhook.deliver(push) } }
            try await drop(context)
        }
        guard let push, let webhook, case .json(let json) = answer else { return Self.answer(answer) }
        // As WeChat does, the job's result (TEMPLATESENDJOBFINISH) comes after the answer, on its own request.
        let bytes = json.bytes
        return Response(status: .ok, headers: [.contentType: Self.jsonType], body: ResponseBody(contentLength: bytes.count) { writer in
            try await writer.write(ByteBuffer(bytes: bytes))
            try await writer.finish(nil)
            Task { _ = try? await webhook.deliver(push) }
        })
    }

    /// Closes the connection without an answer.
    private func drop(_ context: StandInContext) async throws -> Never {
        try? await context.channel.close()
        throw Dropped()
    }

    static func query(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { result[String(key)] = String(value) }
        return result
    }

    static let jsonType = "application/json; encoding=utf-8"

    static func answer(_ answer: StandIn.Answer) -> Response {
        switch answer {
        case .json(let json):
            return body(json.bytes, type: jsonType)
        case .error(let error):
            let json: JSON = ["errcode": .int(Int64(error.errcode)), "errmsg": .string("\(error.errmsg) rid: \(Random.rid())")]
            return body(json.bytes, type: jsonType)
        case .png(let bytes):
            return body(bytes, type: "image/png")
        case .notFound:
            return Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "not found")))
        }
    }

    static func body(_ bytes: [UInt8], type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Control API

    struct ControlError: Error {
        var status: HTTPResponse.Status = .badRequest
        var message: String
    }

    private func control(_ router: Router<StandInContext>) {
        let state = self.state, webhook = self.webhook
        func on(_ path: String, _ method: HTTPRequest.Method, _ handle: @escaping @Sendable (JSON, [String: String]) async throws(ControlError) -> JSON) {
            router.on(RouterPath(path), method: method) { (request: Request, _: StandInContext) async throws -> Response in
                let raw = Array(buffer: try await request.body.collect(upTo: 1 << 20))
                let body: JSON
                if raw.isEmpty { body = [:] } else if let parsed = JSON.parse(raw) { body = parsed } else {
                    return Self.body((["error": "the body is not JSON"] as JSON).bytes, type: "application/json", status: .badRequest)
                }
                do throws(ControlError) {
                    return Self.body(try await handle(body, Self.query(request)).bytes, type: "application/json")
                } catch {
                    return Self.body((["error": .string(error.message)] as JSON).bytes, type: "application/json", status: error.status)
                }
            }
        }
        on("/standin/clock", .get) { _, _ in ["now": .int(await state.now)] }
        on("/standin/clock", .post) { body, _ throws(ControlError) in
            let now = body["now"]?.int, advance = body["advance"]?.int
            guard now != nil || advance != nil else { throw ControlError(message: "give {\"now\": UNIX} or {\"advance\": SECONDS}") }
            await state.setClock(now: now, advance: advance)
            return ["now": .int(await state.now)]
        }
        on("/standin/stats", .get) { _, _ in await state.stats() }
        on("/standin/sent", .get) { _, query in await state.sentMessages(touser: query["touser"]) }
        on("/standin/fault", .post) { body, _ throws(ControlError) in
            guard let path = body["path"]?.string, Self.wechatPaths.contains(path) else {
                throw ControlError(message: "\"path\" must be one of the WeChat paths served: \(Self.wechatPaths.joined(separator: ", "))")
            }
            let count = body["count"]?.int ?? 1
            guard count >= 1 else { throw ControlError(message: "\"count\" must be at least 1") }
            let kind: StandIn.Fault.Kind
            switch body["kind"]?.string {
            case "errcode":
                guard let code = body["errcode"]?.int else { throw ControlError(message: "kind errcode needs \"errcode\": N") }
                kind = .errcode(APIError(Int(code), body["errmsg"]?.string))
            case "slow":
                guard let delay = body["delayMs"]?.int, delay >= 0 else { throw ControlError(message: "kind slow needs \"delayMs\": N") }
                kind = .slow(milliseconds: Int(delay))
            case "reset":
                kind = .reset(after: body["after"]?.bool ?? false)
            default:
                throw ControlError(message: "\"kind\" must be errcode, slow or reset")
            }
            await state.setFault(path: path, kind, count: Int(count))
            return ["ok": true]
        }
        on("/standin/rotate", .post) { _, _ in await state.rotate(); return ["ok": true] }
        on("/standin/interaction", .post) { body, _ throws(ControlError) in
            guard let openid = body["openid"]?.string, !openid.isEmpty else { throw ControlError(message: "give \"openid\"") }
            guard let kind = body["kind"]?.string.flatMap(Windows.Interaction.init(rawValue:)) else {
                throw ControlError(message: "\"kind\" must be message, click, subscribe, scan or unsubscribe")
            }
            await state.interaction(kind, openid: openid)
            return ["ok": true]
        }
        on("/standin/push", .post) { body, _ throws(ControlError) in
            guard let webhook else { throw ControlError(status: .conflict, message: "no --webhook was given, so there is nowhere to push") }
            guard let openid = body["openid"]?.string, !openid.isEmpty else { throw ControlError(message: "give \"openid\"") }
            let (kind, content) = try Self.pushContent(body)
            await state.interaction(kind, openid: openid)
            let message = InboundMessage(toUserName: state.settings.originalID, fromUserName: openid, createTime: await state.now,
                                         msgId: kind == .message ? UInt64.random(in: 1_000_000_000_000_000...9_999_999_999_999_999_999) : nil,
                                         content: content)
            do {
                let delivery = try await webhook.deliver(message)
                return ["status": .int(Int64(delivery.status)), "body": .string(delivery.body)]
            } catch {
                throw ControlError(status: .badGateway, message: "the webhook \(webhook.url) could not be reached: \(error)")
            }
        }
        on("/standin/menu", .get) { _, _ in await state.currentMenu() }
        on("/standin/media", .get) { _, _ in await state.mediaList() }
        on("/standin/reset", .post) { _, _ in await state.reset(); return ["ok": true] }
    }

    /// The push `/standin/push` describes: `{"text"}` or `{"event", "key"}`.
    static func pushContent(_ body: JSON) throws(ControlError) -> (Windows.Interaction, InboundMessage.Content) {
        if let text = body["text"]?.string { return (.message, .text(.init(content: text))) }
        let key = body["key"]?.string
        switch body["event"]?.string {
        case "CLICK":
            guard let key, !key.isEmpty else { throw ControlError(message: "a CLICK needs \"key\"") }
            return (.click, .event(.click(key: key)))
        case "subscribe":
            let scene = key.map { $0.hasPrefix("qrscene_") ? String($0.dropFirst(8)) : $0 }.flatMap { $0.isEmpty ? nil : $0 }
            return (.subscribe, .event(.subscribe(scene: scene, ticket: nil)))
        case "SCAN":
            guard let key, !key.isEmpty else { throw ControlError(message: "a SCAN needs \"key\" (the scene)") }
            return (.scan, .event(.scan(scene: key, ticket: nil)))
        case "unsubscribe":
            return (.unsubscribe, .event(.unsubscribe))
        default:
            throw ControlError(message: "give \"text\", or \"event\": CLICK, subscribe, SCAN or unsubscribe")
        }
    }
}
