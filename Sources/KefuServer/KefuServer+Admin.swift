import Hummingbird
import KefuConsole
import Logging
import ServiceLifecycle

/// The admin listener (`--admin HOST:PORT`, default 127.0.0.1:8081 in `kefu serve`): the console, and `/status`
/// and `/metrics`, which need a signed-in session or `Authorization: Bearer <admin token>`. A second Hummingbird
/// application in the webhook's service group: it starts and stops with it.
public struct AdminListener: Sendable {
    public var host: String
    /// 0: any free port (tests).
    public var port: Int
    /// Who may sign in (the users file and the admin token).
    public var authenticator: Authenticator
    public init(host: String = "127.0.0.1", port: Int = 8081, authenticator: Authenticator) {
        self.host = host; self.port = port; self.authenticator = authenticator
    }

    /// `HOST:PORT` (`127.0.0.1:8081`, `[::1]:8081`, `0.0.0.0:0`); nil if it is not one.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        return (host, port)
    }
}

extension KefuServer {
    /// `webhookLimits`: the webhook's settings; the admin listener has the same timeouts and its own, smaller limit
    /// (``ServerConfiguration/adminMaxConnections``), so idle sockets on one port take no place from the other.
    func adminApplication(webhookLimits: ConnectionLimits.Settings, onRunning: @escaping @Sendable (Int) async -> Void) -> (any Service)? {
        guard let admin = configuration.admin else { return nil }
        var adminLogger = logger
        adminLogger[metadataKey: "listener"] = "admin"
        let metrics = self.metrics
        let server = self
        let site = AdminSite(
            content: consoleContent(), authenticator: admin.authenticator,
            protected: [
                "status": { ("application/json", await server.statusJSON()) },
                "metrics": { ("text/plain; version=0.0.4", Array(metrics.text().utf8)) },
            ],
            logger: adminLogger)
        if !admin.authenticator.hasCredentials {
            logger.warning("nobody can sign in to the console or read /status and /metrics: give --console-users FILE (kefu console add-user) or set KEFU_ADMIN_TOKEN (or KEFU_ADMIN_TOKEN_FILE)")
        }
        // Hummingbird's own start line would say "listening on" too; ours says which listener this is.
        var quiet = adminLogger
        quiet.logLevel = max(adminLogger.logLevel, .notice)
        let (host, startLogger) = (admin.host, logger)
        var settings = webhookLimits
        settings.maxConnections = min(ServerConfiguration.adminMaxConnections, webhookLimits.maxConnections)
        let limits = ConnectionLimits(settings, listener: "admin", metrics: metrics, logger: adminLogger)
        return Application(
            router: site.router(),
            server: limits.http1(),
            configuration: .init(address: .hostname(admin.host, port: admin.port), serverName: "kefu"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shown = host.contains(":") ? "[\(host)]" : host
                startLogger.notice("admin listening on \(shown):\(port)", metadata: ["console": .string("http://\(shown):\(port)/console/")])
                await onRunning(port)
            },
            logger: quiet)
    }
}
