import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1

/// WeChat's server API for one account: customer-service, template and subscribe messages, typing,
/// temporary media, the menu and QR codes. Every call takes the shared access token from
/// `tokens`; a refused token (40001/40014/42001) is expired (compare-and-expire), fetched once and
/// the call repeated once; WeChat's `-1` is retried with the bounded backoff of the configuration;
/// everything else is thrown as a `WeChatAPIError` whose `disposition` says what to do. Errors that
/// need the operator also go to `alert`.
public final class WeChatAPIClient: Sendable {
    public let configuration: WeChatAPIConfiguration
    public let tokens: AccessTokenProvider
    private let transport: Transport
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let alert: @Sendable (WeChatAPIError) -> Void

    /// - Parameters:
    ///   - clock: Unix seconds (tests pass the stand-in's clock).
    ///   - alert: called with each error that needs the operator (40164, 40125, 45009, 45011, 48001 …).
    public init(configuration: WeChatAPIConfiguration, tokenStore: any AccessTokenStore, httpClient: HTTPClient = .shared,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "kefu.wechat-api"), alert: @escaping @Sendable (WeChatAPIError) -> Void = { _ in }) {
        self.configuration = configuration
        self.transport = Transport(http: httpClient, timeoutMilliseconds: configuration.requestTimeoutMilliseconds)
        self.clock = clock
        self.logger = logger
        self.alert = alert
        self.tokens = AccessTokenProvider(configuration: configuration, store: tokenStore, httpClient: httpClient, clock: clock,
                                          logger: logger, alert: alert)
    }

    /// Token requests made by this process so far (for a metric; the per-message path makes none).
    public var tokenFetches: Int { tokens.fetches }

    // MARK: - Messages

    /// Sends a customer-service message (inside the user's window: 5 within 48 h of their message,
    /// 3 within a minute of a click, follow or scan — else 45015/45047, final).
    public func send(_ message: CustomerServiceMessage, to openid: String, kfAccount: String? = nil) async throws {
        _ = try await post("/cgi-bin/message/custom/send", json: CustomSendBody(touser: openid, message: message, kfAccount: kfAccount))
    }

    /// Shows (`true`) or cancels "typing…" in the user's chat (lasts 15 s; needs an action of theirs within 30 s).
    public func typing(_ on: Bool, to openid: String) async throws {
        _ = try await post("/cgi-bin/message/custom/typing", json: ["touser": openid, "command": on ? "Typing" : "CancelTyping"])
    }

    /// Sends a template message; returns WeChat's msgid (the `MsgID` of its TEMPLATESENDJOBFINISH event).
    @discardableResult
    public func sendTemplate(_ message: TemplateMessage) async throws -> Int64 {
        let api = "/cgi-bin/message/template/send"
        let answer = try await post(api, json: TemplateBody(message))
        guard let msgid = answer.int("msgid") else {
            throw WeChatAPIError.invalid(api: api, "WeChat's answer to a template send has no msgid.")
        }
        return msgid
    }

    /// Sends a subscribe message (订阅通知, bizsend): one per acceptance by the user, else 43101.
    public func sendSubscribe(_ message: SubscribeMessage) async throws {
        _ = try await post("/cgi-bin/message/subscribe/bizsend", json: SubscribeBody(message))
    }

    // MARK: - Media

    /// Uploads temporary media (usable for 3 days): multipart/form-data, one part `media`.
    public func uploadMedia(_ bytes: [UInt8], kind: MediaKind, filename: String) async throws -> UploadedMedia {
        let api = "/cgi-bin/media/upload"
        guard !bytes.isEmpty else { throw WeChatAPIError.invalid(api: api, "The file '\(filename)' is empty.") }
        let form = MultipartForm(field: "media", filename: filename, contentType: Self.contentType(of: filename, kind: kind), bytes: bytes)
        let answer = try await call(api, method: .POST, query: [("type", kind.rawValue)], contentType: form.contentType, body: form.body)
        guard let id = answer.string("media_id"), !id.isEmpty else {
            throw WeChatAPIError.invalid(api: api, "WeChat's answer to an upload has no media_id.")
        }
        return UploadedMedia(mediaID: id, kind: answer.string("type").flatMap(MediaKind.init(rawValue:)) ?? kind,
                             createdAt: answer.int("created_at") ?? clock())
    }

    static func contentType(of filename: String, kind: MediaKind) -> String {
        switch filename.split(separator: ".").last.map({ $0.lowercased() }) {
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "gif": "image/gif"
        case "amr": "audio/amr"
        case "mp3": "audio/mpeg"
        case "mp4": "video/mp4"
        default: kind == .thumb ? "image/jpeg" : "application/octet-stream"
        }
    }

    // MARK: - Menu

    /// Sets the menu: `json` is the `{"button":[…]}` body (UTF-8, raw non-ASCII).
    public func createMenu(_ json: [UInt8]) async throws {
        let api = "/cgi-bin/menu/create"
        guard (try? JSONSerialization.jsonObject(with: Data(json))) is [String: Any] else {
            throw WeChatAPIError.invalid(api: api, "The menu is not a JSON object.")
        }
        _ = try await call(api, method: .POST, contentType: "application/json; charset=utf-8", body: json)
    }

    /// The menu as WeChat returns it (`{"menu":{"button":[…]},…}`), or nil when the account has none (46003).
    public func menu() async throws -> [UInt8]? {
        do {
            return try await call("/cgi-bin/menu/get", method: .GET, contentType: nil, body: nil).bytes
        } catch let error as WeChatAPIError where error.errcode == 46003 {
            return nil
        }
    }

    /// Deletes the menu (and all conditional menus).
    public func deleteMenu() async throws {
        _ = try await call("/cgi-bin/menu/delete", method: .GET, contentType: nil, body: nil)
    }

    // MARK: - QR codes

    /// Creates a parametric QR code: temporary for `expiresIn` seconds (1…2 592 000), permanent when nil.
    public func createQRCode(scene: QRScene, expiresIn: Int? = nil) async throws -> QRCode {
        let api = "/cgi-bin/qrcode/create"
        let permanent = expiresIn == nil
        var sceneObject: [String: Any]
        let action: String
        switch scene {
        case .id(let id):
            guard id != 0 else { throw WeChatAPIError.invalid(api: api, "A QR scene id must not be 0.") }
            if permanent, id > 100_000 { throw WeChatAPIError.invalid(api: api, "A permanent QR scene id must be 1…100000 (got \(id)); use a string scene.") }
            sceneObject = ["scene_id": Int(id)]
            action = permanent ? "QR_LIMIT_SCENE" : "QR_SCENE"
        case .string(let text):
            guard (1...64).contains(text.count) else {
                throw WeChatAPIError.invalid(api: api, "A QR scene string must be 1–64 characters (got \(text.count)).")
            }
            sceneObject = ["scene_str": text]
            action = permanent ? "QR_LIMIT_STR_SCENE" : "QR_STR_SCENE"
        }
        var body: [String: Any] = ["action_name": action, "action_info": ["scene": sceneObject]]
        if let expiresIn {
            guard (1...2_592_000).contains(expiresIn) else {
                throw WeChatAPIError.invalid(api: api, "A temporary QR code lives 1…2592000 s (30 days); got \(expiresIn).")
            }
            body["expire_seconds"] = expiresIn
        }
        let bytes = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]))
        let answer = try await call(api, method: .POST, contentType: "application/json; charset=utf-8", body: bytes)
        guard let ticket = answer.string("ticket"), !ticket.isEmpty else {
            throw WeChatAPIError.invalid(api: api, "WeChat's answer to a QR code has no ticket.")
        }
        return QRCode(ticket: ticket, url: answer.string("url") ?? "", expireSeconds: answer.int("expire_seconds"),
                      imageURL: configuration.qrImageBaseURL + "?ticket=" + Self.queryEncoded(ticket))
    }

    // MARK: - The call

    private func post(_ api: String, json: some Encodable) async throws -> WeChatAnswer {
        let body: [UInt8]
        do { body = try WeChatJSON.encode(json) } catch {
            throw WeChatAPIError.invalid(api: api, "The request could not be encoded as JSON: \(error)")
        }
        return try await call(api, method: .POST, contentType: "application/json; charset=utf-8", body: body)
    }

    /// One API call: the token, the exchange, one refresh-and-retry on a refused token, the `-1` retries.
    func call(_ api: String, method: HTTPMethod, query: [(String, String)] = [], contentType: String?, body: [UInt8]?) async throws -> WeChatAnswer {
        var refreshedToken = false
        var busyRetries = 0
        var record = try await tokenForCall(api) { try await self.tokens.token() }
        while true {
            let items = [("access_token", record.token)] + query
            let url = configuration.baseURL + api + "?" + items.map { "\($0.0)=\(Self.queryEncoded($0.1))" }.joined(separator: "&")
            let answer: WeChatAnswer
            do {
                answer = try WeChatAnswer(try await transport.exchange(api: api, method: method, url: url, contentType: contentType, body: body), api: api)
            } catch let error as WeChatAPIError {
                logger.warning("WeChat API call failed", metadata: ["api": "\(api)", "disposition": "\(error.disposition.rawValue)", "error": "\(error.errmsg)"])
                throw error
            }
            guard let code = answer.errcode, code != 0 else { return answer }
            if [40001, 40014, 42001].contains(code), !refreshedToken {
                refreshedToken = true
                logger.info("WeChat refused the access token; refreshing once", metadata: ["api": "\(api)", "errcode": "\(code)", "token": "\(record.maskedToken)"])
                let rejected = record.token
                record = try await tokenForCall(api) { try await self.tokens.token(afterRejecting: rejected) }
                continue
            }
            if code == -1, busyRetries < configuration.retry.maxRetries {
                let delay = configuration.retry.delayMilliseconds(beforeRetry: busyRetries)
                busyRetries += 1
                logger.info("WeChat said -1 (busy); retrying", metadata: ["api": "\(api)", "retry": "\(busyRetries)", "delayMs": "\(delay)"])
                try await Task.sleep(for: .milliseconds(delay))
                continue
            }
            let error = WeChatAPIError.wechat(api: api, errcode: code, errmsg: answer.errmsg, now: clock()).scrubbing(configuration.secret)
            logger.warning("WeChat refused the call", metadata: ["api": "\(api)", "errcode": "\(code)", "errmsg": "\(error.errmsg)",
                                                                   "disposition": "\(error.disposition.rawValue)"])
            if error.disposition == .operatorAction { alert(error) }
            throw error
        }
    }

    /// The token for a call: a token request that went unanswered did not send the call itself, so
    /// for the caller it is "not sent", not "outcome unknown".
    private func tokenForCall(_ api: String, _ get: () async throws -> AccessTokenRecord) async throws -> AccessTokenRecord {
        do {
            return try await get()
        } catch let error as WeChatAPIError where error.disposition == .outcomeUnknown {
            throw WeChatAPIError(api: error.api, errcode: nil, errmsg: error.errmsg, disposition: .notSent,
                                 whatToDo: "The access token request got no answer, so \(api) was not called; it is safe to try again.")
        }
    }

    static func queryEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }
}

/// RFC 3986's unreserved characters: everything else is percent-encoded in a query value.
private let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

/// A multipart/form-data body with one file part.
struct MultipartForm {
    let contentType: String
    let body: [UInt8]

    init(field: String, filename: String, contentType partType: String, bytes: [UInt8]) {
        let boundary = "----kefu-" + String(UInt64.random(in: 0...UInt64.max), radix: 16) + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        contentType = "multipart/form-data; boundary=\(boundary)"
        // Non-ASCII names are percent-encoded (as WeRoBot does): a header stays ASCII, the extension WeChat looks at survives.
        let safeName = WeChatAPIClient.queryEncoded(filename)
        var out: [UInt8] = []
        out += Array("--\(boundary)\r\n".utf8)
        out += Array("Content-Disposition: form-data; name=\"\(field)\"; filename=\"\(safeName)\"\r\n".utf8)
        out += Array("Content-Type: \(partType)\r\n\r\n".utf8)
        out += bytes
        out += Array("\r\n--\(boundary)--\r\n".utf8)
        body = out
    }
}
