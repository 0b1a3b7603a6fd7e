import Foundation
import ServerJSON
import KefuWeChat

/// Everything the stand-in knows, in one actor: the clock, tokens, windows, quotas, media, menu,
/// QR tickets, what was sent, faults and counters. Handlers run to completion inside it, so each call
/// sees and leaves a consistent state.
actor StandIn {
    struct Settings: Sendable {
        var appID: String
        var appSecret: String
        var allowedIPs: Set<String>
        var dailyQuotas: [String: Int]
        var minuteQuotas: [String: Int]
        var startNow: Int64?
        /// The Official Account's original ID, the `ToUserName` of pushes.
        var originalID = "gh_5tand1n00000"
    }

    /// One WeChat-path request as the routes read it.
    struct Call: Sendable {
        var path: String
        var method: String
        var query: [String: String]
        var body: [UInt8]
        var contentType: String?
        var remoteIP: String?
        /// Set when the body was larger than the server reads (45001 for uploads).
        var bodyTooLarge = false
    }

    enum Answer: Sendable {
        case json(JSON)
        case error(APIError)
        case png([UInt8])
        case notFound
    }

    struct Fault: Sendable {
        enum Kind: Sendable {
            case errcode(APIError)
            case slow(milliseconds: Int)
            case reset(after: Bool)
        }
        var kind: Kind
        var remaining: Int
    }

    struct Sent: Sendable {
        var api: String
        var touser: String
        var time: Int64
        var body: JSON
        var msgid: Int64?
    }

    /// The stand-in's clock. Started with `--now` it is frozen and moves only when told; otherwise it
    /// follows real time, shifted by whatever `advance` added.
    struct Clock: Sendable {
        var frozenAt: Int64?
        var offset: Int64 = 0
        var now: Int64 { frozenAt ?? Int64(Date().timeIntervalSince1970) + offset }
        mutating func set(_ time: Int64) { frozenAt = time }
        mutating func advance(_ seconds: Int64) {
            if let frozen = frozenAt { frozenAt = frozen + seconds } else { offset += seconds }
        }
    }

    let settings: Settings
    private(set) var clock: Clock
    private var tokens = TokenAuthority()
    private var windows = Windows()
    private var quotas: Quotas
    private var media = MediaStore()
    private var menu: (buttons: JSON, id: Int64)?
    private var tickets: [String: (scene: String, expiresAt: Int64?)] = [:]
    private var sent: [Sent] = []
    private var faults: [String: Fault] = [:]
    private var calls: [String: Int] = [:]
    private var templateIDs: [String: (msgid: Int64, time: Int64)] = [:]
    private var nextMsgID: Int64 = 2_000_000_001

    init(_ settings: Settings) {
        self.settings = settings
        clock = Clock(frozenAt: settings.startNow)
        quotas = Quotas(daily: settings.dailyQuotas, minute: settings.minuteQuotas)
    }

    var now: Int64 { clock.now }

    // MARK: The request path

    /// Counts the call and takes the next fault set for its path, if any.
    func begin(_ path: String) -> Fault.Kind? {
        calls[path, default: 0] += 1
        guard var fault = faults[path] else { return nil }
        fault.remaining -= 1
        faults[path] = fault.remaining > 0 ? fault : nil
        return fault.kind
    }

    /// Answers one WeChat-path call, and the push it causes (TEMPLATESENDJOBFINISH), if any.
    func handle(_ call: Call) -> (Answer, InboundMessage?) {
        var push: InboundMessage?
        do throws(APIError) {
            return (try dispatch(call, now: clock.now, push: &push), push)
        } catch {
            return (.error(error), nil)
        }
    }

    static let getPaths: Set<String> = ["/cgi-bin/token", "/cgi-bin/menu/get", "/cgi-bin/menu/delete", "/cgi-bin/showqrcode"]

    private func dispatch(_ call: Call, now: Int64, push: inout InboundMessage?) throws(APIError) -> Answer {
        let path = call.path
        if Self.getPaths.contains(path) {
            guard call.method == "GET" else { throw APIError(43001) }
        } else {
            guard call.method == "POST" else { throw APIError(43002) }
        }
        if path == "/cgi-bin/showqrcode" { return showQRCode(call.query["ticket"], now: now) }
        if !settings.allowedIPs.isEmpty {
            let ip = call.remoteIP ?? "unknown"
            guard settings.allowedIPs.contains(ip) else {
                throw APIError(40164, "invalid ip \(ip) ipv6 ::ffff:\(ip), not in whitelist")
            }
        }
        if containsNonASCIIEscape(call.body) { throw APIError(40033) }
        switch path {
        case "/cgi-bin/token": return try basicToken(call.query, now: now)
        case "/cgi-bin/stable_token": return try stableToken(call.body, now: now)
        default: break
        }
        if let error = tokens.check(call.query["access_token"], now: now) { throw error }
        if let error = quotas.take(path, now: now) { throw error }
        switch path {
        case "/cgi-bin/message/custom/send":
            let body = try json(call.body)
            let touser = try Validation.customMessage(body) { id, kinds in self.media.isLive(id, kinds: kinds, now: now) }.get()
            if let error = windows.consume(openid: touser, now: now) { throw error }
            sent.append(Sent(api: "custom", touser: touser, time: now, body: body))
            return ok()
        case "/cgi-bin/message/custom/typing":
            let body = try json(call.body)
            guard let touser = body["touser"]?.string, !touser.isEmpty else { throw APIError(40003) }
            if let error = windows.typing(openid: touser, command: body["command"]?.string ?? "", now: now) { throw error }
            sent.append(Sent(api: "typing", touser: touser, time: now, body: body))
            return ok()
        case "/cgi-bin/message/template/send":
            return try templateSend(try json(call.body), now: now, push: &push)
        case "/cgi-bin/message/subscribe/bizsend":
            let body = try json(call.body)
            guard let touser = body["touser"]?.string, !touser.isEmpty else { throw APIError(40003) }
            guard !(body["template_id"]?.string ?? "").isEmpty else { throw APIError(40037) }
            if let error = Validation.templateData(body) ?? Validation.subscribeValues(body) { throw error }
            if windows.isUnsubscribed(touser) { throw APIError(43101) }
            sent.append(Sent(api: "subscribe", touser: touser, time: now, body: body))
            return ok()
        case "/cgi-bin/media/upload":
            if call.bodyTooLarge { throw APIError(45001) }
            guard case .success(let file) = Multipart.mediaPart(body: call.body, contentType: call.contentType) else { throw APIError(41005) }
            let item = try media.upload(type: call.query["type"], file: file, now: now).get()
            return .json(["type": .string(item.type), "media_id": .string(item.id), "created_at": .int(item.createdAt)])
        case "/cgi-bin/menu/create":
            let body = try json(call.body)
            if let error = Validation.menu(body) { throw error }
            menu = (body["button"]!, Int64.random(in: 100_000_000...999_999_999))
            return ok()
        case "/cgi-bin/menu/get":
            guard let current = menuJSON() else { throw APIError(46003) }
            return .json(current)
        case "/cgi-bin/menu/delete":
            menu = nil
            return ok()
        case "/cgi-bin/qrcode/create":
            let request = try Validation.qrCode(try json(call.body)).get()
            let ticket = "gQ" + Random.alphanumeric(94)
            tickets[ticket] = (request.scene, request.expireSeconds.map { now + $0 })
            var answer: [String: JSON] = ["ticket": .string(ticket), "url": .string("http://weixin.qq.com/q/" + Random.alphanumeric(22))]
            if let seconds = request.expireSeconds { answer["expire_seconds"] = .int(seconds) }
            return .json(.object(answer))
        default:
            throw APIError(-1, "system error (the stand-in does not serve \(path))")
        }
    }

    private func ok() -> Answer { .json(["errcode": 0, "errmsg": "ok"]) }

    private func json(_ body: [UInt8]) throws(APIError) -> JSON {
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { throw APIError(44002) }
        guard let value = JSON.parse(body), value.object != nil else { throw APIError(47001) }
        return value
    }

    private func credentials(appid: String?, secret: String?) throws(APIError) {
        guard let appid, !appid.isEmpty else { throw APIError(41002) }
        guard appid == settings.appID else { throw APIError(40013) }
        guard let secret, !secret.isEmpty else { throw APIError(41004) }
        guard secret == settings.appSecret else { throw APIError(40125) }
    }

    private func basicToken(_ query: [String: String], now: Int64) throws(APIError) -> Answer {
        guard query["grant_type"] == "client_credential" else { throw APIError(40002) }
        try credentials(appid: query["appid"], secret: query["secret"])
        if let error = quotas.take("/cgi-bin/token", now: now) { throw error }
        let token = tokens.mintBasic(now: now)
        return .json(["access_token": .string(token.token), "expires_in": .int(token.expiresIn)])
    }

    private func stableToken(_ raw: [UInt8], now: Int64) throws(APIError) -> Answer {
        let body = try json(raw)
        guard body["grant_type"]?.string == "client_credential" else { throw APIError(40002) }
        try credentials(appid: body["appid"]?.string, secret: body["secret"]?.string)
        if let error = quotas.take("/cgi-bin/stable_token", now: now) { throw error }
        let force = body["force_refresh"]?.bool ?? (body["force_refresh"]?.string == "true")
        let token = tokens.stable(now: now, force: force)
        return .json(["access_token": .string(token.token), "expires_in": .int(token.expiresIn)])
    }

    private func templateSend(_ body: JSON, now: Int64, push: inout InboundMessage?) throws(APIError) -> Answer {
        guard let touser = body["touser"]?.string, !touser.isEmpty else { throw APIError(40003) }
        guard !(body["template_id"]?.string ?? "").isEmpty else { throw APIError(40037) }
        if let error = Validation.templateData(body) { throw error }
        if windows.isUnsubscribed(touser) { throw APIError(43004) }
        let clientID = body["client_msg_id"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let key = clientID.map { touser + "\u{0}" + $0 }
        if let key, let seen = templateIDs[key], now - seen.time < 600 {
            return .json(["errcode": 0, "errmsg": "ok", "msgid": .int(seen.msgid)])
        }
        let msgid = nextMsgID
        nextMsgID += 1
        if let key { templateIDs[key] = (msgid, now) }
        sent.append(Sent(api: "template", touser: touser, time: now, body: body, msgid: msgid))
        push = InboundMessage(toUserName: settings.originalID, fromUserName: touser, createTime: now, msgId: UInt64(msgid),
                              content: .event(.templateSendJobFinish(status: "success")))
        return .json(["errcode": 0, "errmsg": "ok", "msgid": .int(msgid)])
    }

    private func showQRCode(_ ticket: String?, now: Int64) -> Answer {
        guard let ticket, let entry = tickets[ticket], entry.expiresAt.map({ now < $0 }) ?? true else { return .notFound }
        return .png(QRImage.png)
    }

    private func menuJSON() -> JSON? {
        guard let menu else { return nil }
        return ["menu": ["button": menu.buttons, "menuid": .int(menu.id)]]
    }

    // MARK: Control

    func setClock(now time: Int64?, advance: Int64?) {
        if let time { clock.set(time) }
        if let advance { clock.advance(advance) }
    }

    func stats() -> JSON {
        .object(["calls": .object(calls.mapValues { .int(Int64($0)) }), "tokensMinted": .int(Int64(tokens.minted)),
                 "forceRefreshes": .int(Int64(tokens.forceRefreshes))])
    }

    func sentMessages(touser: String?) -> JSON {
        let list = sent.filter { touser == nil || $0.touser == touser }.map { entry -> JSON in
            var object: [String: JSON] = ["api": .string(entry.api), "touser": .string(entry.touser), "time": .int(entry.time), "body": entry.body]
            if let msgid = entry.msgid { object["msgid"] = .int(msgid) }
            return .object(object)
        }
        return ["messages": .array(list)]
    }

    func setFault(path: String, _ kind: Fault.Kind, count: Int) {
        faults[path] = Fault(kind: kind, remaining: count)
    }

    func rotate() { tokens.rotate(now: clock.now) }

    func interaction(_ kind: Windows.Interaction, openid: String) { windows.record(kind, openid: openid, now: clock.now) }

    func currentMenu() -> JSON { menuJSON() ?? ["menu": .null] }

    func mediaList() -> JSON {
        let list = media.order.compactMap { media.items[$0] }.map { item -> JSON in
            ["media_id": .string(item.id), "type": .string(item.type), "bytes": .int(Int64(item.bytes)), "created_at": .int(item.createdAt)]
        }
        return ["media": .array(list)]
    }

    /// Forgets all state but the clock (tokens, windows, sent, faults, counters, menu, media, tickets).
    func reset() {
        tokens = TokenAuthority()
        windows = Windows()
        quotas = Quotas(daily: settings.dailyQuotas, minute: settings.minuteQuotas)
        media = MediaStore()
        menu = nil
        tickets = [:]
        sent = []
        faults = [:]
        calls = [:]
        templateIDs = [:]
    }
}

/// The image `showqrcode` answers: a valid 1×1 PNG (the stand-in draws no real code).
enum QRImage {
    static let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
        0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
        0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
        0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}
