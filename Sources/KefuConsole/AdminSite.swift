import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the admin listener: Hummingbird's basic one plus the client's address (the sign-in limit).
public struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Chart.js as Debian ships it (libjs-chart.js), with its licence; nil when it is not installed.
public struct ChartLibrary: Sendable {
    public let script: [UInt8]
    public let licence: [UInt8]
    public let path: String

    public static let candidates = ["/usr/share/javascript/chart.js/chart.min.js", "/usr/share/javascript/chart.js/Chart.min.js"]
    public static let licencePath = "/usr/share/doc/libjs-chart.js/copyright"

    /// KEFU_CHART_JS (a chart.min.js of Chart.js 3) if set, else Debian's file.
    public static func find(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ChartLibrary? {
        let paths = environment["KEFU_CHART_JS"].map { [$0] } ?? candidates
        for path in paths {
            guard let script = FileManager.default.contents(atPath: path) else { continue }
            let beside = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("LICENSE").path
            let licence = FileManager.default.contents(atPath: licencePath) ?? FileManager.default.contents(atPath: beside)
                ?? Data("Chart.js — MIT License, Copyright (c) 2014-2022 Chart.js Contributors (https://www.chartjs.org).\n".utf8)
            return ChartLibrary(script: Array(script), licence: Array(licence), path: path)
        }
        return nil
    }
}

/// The admin listener's routes: sign-in and sign-out, the console's pages (through ``ConsoleContent``), Chart.js,
/// and the operator's endpoints given as `protected` (`/status`, `/metrics`, also as `/console/status` … where the
/// session cookie reaches them), which need a signed-in session or `Authorization: Bearer <admin token>`.
///
/// Every POST needs the session's CSRF token in the form field `csrf` (sign-in: the token of the sign-in form,
/// twin of a cookie) and, when the browser sends Origin or Referer, this host as its origin; otherwise 403 and
/// nothing happens. Cookies are `HttpOnly; SameSite=Strict; Path=/console; Secure`.
public struct AdminSite: Sendable {
    public typealias Protected = @Sendable () async -> (contentType: String, body: [UInt8])

    public static let sessionCookie = "kefu_session"
    public static let signInCookie = "kefu_signin"
    public static let maxFormBytes = 256 * 1024

    let content: any ConsoleContent
    let authenticator: Authenticator
    public let sessions: SessionStore
    let chart: ChartLibrary?
    let protected: [String: Protected]
    let logger: Logger

    public init(content: any ConsoleContent, authenticator: Authenticator, sessions: SessionStore = SessionStore(),
                chart: ChartLibrary? = ChartLibrary.find(), protected: [String: Protected], logger: Logger) {
        self.content = content; self.authenticator = authenticator; self.sessions = sessions
        self.chart = chart; self.protected = protected; self.logger = logger
    }

    public func router() -> Router<AdminRequestContext> {
        let router = Router(context: AdminRequestContext.self)
        let site = self
        router.get("/") { _, _ in site.redirect(site.firstPage) }
        router.get("console") { _, _ in site.redirect(site.firstPage) }
        // At the root for scripts and Prometheus (the bearer token); under /console too, where the browser
        // sends the session cookie (Path=/console).
        for (path, handler) in protected {
            router.get(RouterPath(path)) { request, _ in await site.protectedAnswer(request, handler) }
            router.get(RouterPath("console/" + path)) { request, _ in await site.protectedAnswer(request, handler) }
        }
        router.get("console/**") { request, context in await site.handle(request, context) }
        router.post("console/**") { request, context in await site.handle(request, context) }
        return router
    }

    var firstPage: String { "/console/" + (content.navigation.first?.page ?? "login") }

    // MARK: dispatch

    func handle(_ request: Request, _ context: AdminRequestContext) async -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/console/") else { return notFound() }
        let page = String(path.dropFirst("/console/".count)).trimmingSlashes
        let isPost = request.method == .post
        switch (page, isPost) {
        case ("", false): return redirect(firstPage)
        case ("login", false): return signInForm(request, message: nil, name: "")
        case ("login", true): return await signIn(request, context)
        case ("logout", true): return await signOut(request)
        case ("static/chart.js", false):
            guard let chart else { return notFound() }
            return file(chart.script, type: "application/javascript; charset=utf-8")
        case ("static/chart.js.LICENSE.txt", false):
            guard let chart else { return notFound() }
            return file(chart.licence, type: "text/plain; charset=utf-8")
        default: break
        }
        guard let session = currentSession(request) else {
            if isPost { return message(.unauthorized, "需要登录", "请先登录（会话不存在或已过期）。") }
            return redirect("/console/login")
        }
        var form: [String: String] = [:]
        if isPost {
            guard let read = await Self.readForm(request) else { return message(.contentTooLarge, "表单太大", "表单超过 \(Self.maxFormBytes) 字节。") }
            form = read
            guard sameOrigin(request), let given = form["csrf"], PasswordHash.constantTimeEqual(given, session.csrfToken) else {
                logger.warning("console POST refused: missing or wrong CSRF token, or another origin", metadata: ["page": .string(page), "user": .string(session.user.name)])
                return message(.forbidden, "请求被拒绝", "表单缺少有效的 CSRF 令牌（或来自其他网站）。请刷新页面后重试。")
            }
            form["csrf"] = nil
        }
        let consoleRequest = ConsoleRequest(user: session.user, page: page, query: Self.query(request), form: form, csrfToken: session.csrfToken)
        let answer = isPost ? await content.post(consoleRequest) : await content.get(consoleRequest)
        guard let answer else { return notFound() }
        switch answer {
        case .page(let consolePage):
            let nonce = RandomToken.make()
            let html = Layout.page(consolePage, user: session.user, navigation: content.navigation, current: page,
                                   csrfToken: session.csrfToken, nonce: nonce, chartsAvailable: chart != nil)
            return htmlResponse(HTTPResponse.Status(code: consolePage.status), html, nonce: nonce)
        case .redirect(let target):
            return redirect(target.hasPrefix("/console") ? target : firstPage)
        case .json(let text):
            var headers = Self.securityHeaders(nonce: nil)
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    // MARK: sign-in

    func signInForm(_ request: Request, message text: String?, name: String, status: HTTPResponse.Status = .ok) -> Response {
        // Came back from a sign-in: with the session cookie, on to the pages; without, the browser dropped it.
        var text = text
        if Self.query(request)["signed"] == "1", text == nil {
            if currentSession(request) != nil { return redirect(firstPage) }
            text = "浏览器没有保存登录 Cookie（它带 Secure 属性）：请通过 HTTPS 或 http://127.0.0.1 / http://localhost 打开控制台。"
        }
        let token = RandomToken.make()
        let nonce = RandomToken.make()
        let html = Layout.signIn(message: text, name: name, csrf: token, nonce: nonce, tokenEnabled: authenticator.hasToken)
        var response = htmlResponse(status, html, nonce: nonce)
        response.headers[values: .setCookie].append(Self.cookie(Self.signInCookie, token, maxAge: 3600))
        return response
    }

    func signIn(_ request: Request, _ context: AdminRequestContext) async -> Response {
        guard let form = await Self.readForm(request) else { return message(.contentTooLarge, "表单太大", "表单超过 \(Self.maxFormBytes) 字节。") }
        guard sameOrigin(request), let given = form["csrf"], let expected = Self.cookies(request)[Self.signInCookie],
              PasswordHash.constantTimeEqual(given, expected) else {
            return message(.forbidden, "请求被拒绝", "登录表单缺少有效的 CSRF 令牌（或来自其他网站）。请重新打开登录页。")
        }
        let name = form["name"] ?? ""
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        switch await authenticator.signIn(name: name, password: form["password"] ?? "", client: client) {
        case .signedIn(let user):
            let session = sessions.create(for: user)
            logger.notice("console sign-in", metadata: ["user": .string(user.name), "role": .string(user.role.rawValue), "client": .string(client)])
            var response = redirect("/console/login?signed=1")
            response.headers[values: .setCookie].append(Self.cookie(Self.sessionCookie, session.id, maxAge: Int(sessions.absoluteTimeout)))
            response.headers[values: .setCookie].append(Self.cookie(Self.signInCookie, "", maxAge: 0))
            return response
        case .refused:
            // The name only if it is an account's: a password typed into the name field must not reach the log.
            let known = authenticator.currentUsers().entry(named: name.trimmingCharacters(in: .whitespaces)) != nil
            logger.warning("console sign-in refused", metadata: ["user": .string(known ? name : "(not an account)"), "client": .string(client)])
            return signInForm(request, message: "用户名或密码不正确。", name: name, status: .unauthorized)
        case .limited(let seconds):
            logger.warning("console sign-in limited: too many failures", metadata: ["client": .string(client), "retryAfter": .string("\(seconds)")])
            var response = signInForm(request, message: "登录失败次数太多，请 \(Self.minutes(seconds)) 后再试。", name: name, status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
    }

    func signOut(_ request: Request) async -> Response {
        guard let session = currentSession(request) else { return redirect("/console/login") }
        let form = await Self.readForm(request) ?? [:]
        guard sameOrigin(request), let given = form["csrf"], PasswordHash.constantTimeEqual(given, session.csrfToken) else {
            return message(.forbidden, "请求被拒绝", "表单缺少有效的 CSRF 令牌（或来自其他网站）。")
        }
        sessions.end(session.id)
        logger.notice("console sign-out", metadata: ["user": .string(session.user.name)])
        var response = redirect("/console/login")
        response.headers[values: .setCookie].append(Self.cookie(Self.sessionCookie, "", maxAge: 0))
        return response
    }

    func protectedAnswer(_ request: Request, _ handler: Protected) async -> Response {
        guard currentSession(request) != nil || authenticator.acceptsBearer(request.headers[.authorization]) else {
            var headers = Self.securityHeaders(nonce: nil)
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.wwwAuthenticate] = "Bearer realm=\"kefu\""
            return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(
                string: "sign in at /console/login, or send Authorization: Bearer <admin token> (KEFU_ADMIN_TOKEN)\n")))
        }
        let (type, body) = await handler()
        var headers = Self.securityHeaders(nonce: nil)
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    // MARK: pieces

    func currentSession(_ request: Request) -> SessionStore.Session? {
        guard let id = Self.cookies(request)[Self.sessionCookie], !id.isEmpty else { return nil }
        return sessions.session(id)
    }

    /// Origin (else Referer), when the browser sends one, names this host.
    func sameOrigin(_ request: Request) -> Bool {
        guard let host = request.head.authority?.lowercased() else { return true }
        let claimed = request.headers[.origin] ?? request.headers[.referer]
        guard let claimed else { return true }
        guard let url = URL(string: claimed), let claimedHost = url.host?.lowercased() else { return false }
        let authority = url.port.map { "\(claimedHost):\($0)" } ?? claimedHost
        let hostWithoutDefault = host.hasSuffix(":80") || host.hasSuffix(":443") ? String(host.split(separator: ":").first ?? "") : host
        return authority == host || authority == hostWithoutDefault
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Max-Age=\(maxAge); Path=/console; HttpOnly; SameSite=Strict; Secure"
    }

    static func cookies(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if result[name] == nil { result[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return result
    }

    static func query(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { result[String(key)] = String(value) }
        return result
    }

    /// An `application/x-www-form-urlencoded` body (nil: larger than ``maxFormBytes``).
    static func readForm(_ request: Request) async -> [String: String]? {
        guard let buffer = try? await request.body.collect(upTo: maxFormBytes) else { return nil }
        return decodeForm(String(buffer: buffer))
    }

    public static func decodeForm(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let key = decode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return result
    }

    static func minutes(_ seconds: Int) -> String { seconds < 60 ? "\(seconds) 秒" : "\((seconds + 59) / 60) 分钟" }

    static func securityHeaders(nonce: String?) -> HTTPFields {
        var headers: HTTPFields = [
            .contentSecurityPolicy: Layout.contentSecurityPolicy(nonce: nonce ?? RandomToken.make()),
            .xContentTypeOptions: "nosniff", .cacheControl: "no-store",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return headers
    }

    func htmlResponse(_ status: HTTPResponse.Status, _ html: String, nonce: String) -> Response {
        var headers = Self.securityHeaders(nonce: nonce)
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func message(_ status: HTTPResponse.Status, _ title: String, _ text: String) -> Response {
        let nonce = RandomToken.make()
        return htmlResponse(status, Layout.message(title: title, text: text, nonce: nonce), nonce: nonce)
    }

    func notFound() -> Response { message(.notFound, "没有这个页面", "控制台里没有这个地址。") }

    func redirect(_ location: String) -> Response {
        var headers = Self.securityHeaders(nonce: nil)
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    func file(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=86400", .xContentTypeOptions: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension String {
    var trimmingSlashes: String {
        var s = Substring(self)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}
