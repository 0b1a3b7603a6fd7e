import Foundation
import Hummingbird
import AsyncHTTPClient
import KefuActions
import KefuCorpus
import KefuDialogue
import KefuPostgres
import KefuRules
import KefuStore
import KefuWeChat
import KefuWeChatAPI
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if os(Linux)
/// glibc's `malloc_trim`: gives the free memory at the top of the heap back to the system.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// `kefu serve`: the Hummingbird application around one ``AccountHost`` per Official Account.
///
/// Routes: `GET|POST <path>` of each account (WeChat), `/healthz` (the process is up), `/readyz` (a
/// rule set is loaded; with several accounts, which are). `/status` (rule sets, reloads, last reload
/// errors, JSON) and `/metrics` (Prometheus) are on the admin listener (KefuServer+Admin.swift). SIGHUP reloads every account's rule set (each on its own);
/// with `watch`, so does a change to an account's files. SIGTERM and SIGINT stop accepting connections
/// and finish the requests in flight. The process-wide parts live here (HTTP server, connection
/// limits, the metrics registry, signals, the service group); each account's in its host.
public struct KefuServer: Sendable {
    public let configuration: ServerConfiguration
    /// The process-wide metrics (connections); each account counts through `metrics.forAccount`, in the same registry.
    public let metrics = ServerMetrics()
    /// One per account, in the order of the accounts file (single-account mode: one).
    public let accounts: [AccountHost]
    let logger: Logger

    /// With an accounts file (else one account on `configuration.path`).
    public var servesSeveralAccounts: Bool { !configuration.accounts.isEmpty }

    /// The shared store's database (`--store postgres://…`): one pool for every account of the process.
    public let postgres: PostgresDatabase?

    public init(_ configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let strict = configuration.accounts.isEmpty
        let metrics = self.metrics
        var database: PostgresDatabase?
        if case .postgres(let location) = configuration.store, configuration.openStore == nil {
            // Reached and migrated by `prepareStore()` before the server listens.
            database = PostgresDatabase(location, logger: logger)
        }
        postgres = database
        accounts = try configuration.hostedAccounts.map { account in
            var accountLogger = logger
            accountLogger[metadataKey: "account"] = .string(account.id.rawValue)
            var accountConfiguration = account.configuration
            if let database {
                let window = accountConfiguration.deduplicationWindowSeconds
                accountConfiguration.openStore = { id in PostgresStore(database: database, account: id.rawValue, window: window) }
            }
            return try AccountHost(id: account.id, name: account.name, configuration: accountConfiguration,
                                   metrics: metrics.forAccount(account.id.rawValue), logger: accountLogger, strict: strict)
        }
    }

    /// A shared store (PostgreSQL) is reached and its schema migrated: call before ``run(onRunning:)``.
    /// Waits up to `storeWait` for an unreachable database, then fails naming it (never its password).
    public func prepareStore() async throws {
        guard let postgres else { return }
        try await postgres.prepare(wait: configuration.storeWait)
        try? await heartbeat(at: Webhook.now())
    }

    /// With PostgreSQL: this instance is alive (its rows in flight are its own) and serves these rule-set versions.
    func heartbeat(at time: Int64) async throws {
        guard let postgres else { return }
        var versions: [String: String] = [:]
        for account in accounts { if let rules = account.rules { versions[account.id.rawValue] = rules.version } }
        try await postgres.heartbeat(rules: versions, at: time)
    }

    /// One round of clean-up of every account (see ``AccountHost/cleanUp(now:batch:rounds:)``).
    public func cleanUp(now: Int64 = Webhook.now(), batch: Int = 500, rounds: Int = 20) async {
        var forgotten = 0
        for account in accounts { forgotten += await account.cleanUp(now: now, batch: batch, rounds: rounds) }
        do { try await heartbeat(at: now) } catch {
            logger.warning("could not record this instance's heartbeat in PostgreSQL", metadata: ["error": .string(PostgresDatabase.describe(error))])
        }
        // Memory that left the window goes back to the system now, not at the next burst.
        if forgotten > 10_000 { Self.returnFreeMemory() }
    }

    static func returnFreeMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// The starting rule sets against their gates. Single-account mode: nil if it passes (or there
    /// is no gate), else why (the server does not start). With several accounts an account that fails
    /// its gate goes down (503) and nil is returned.
    public func checkGate() async -> String? {
        for account in accounts {
            if let why = await account.checkStartGate(strict: !servesSeveralAccounts) { return why }
        }
        return nil
    }

    /// Reloads every account's rule set, each on its own (one that fails keeps its previous rule set,
    /// or stays down, and does not hold up the others). Logs what changed, per account.
    public func reload(reason: String) async {
        await withDiscardingTaskGroup { group in
            for account in accounts { group.addTask { await account.reload(reason: reason) } }
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        for account in accounts { account.addRoutes(to: router) }
        router.get("healthz") { _, _ in "ok\n" }
        let (accounts, several) = (self.accounts, servesSeveralAccounts)
        router.get("readyz") { _, _ -> Response in
            if !several, let rules = accounts[0].rules {
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "ready: \(rules.status.ruleCount) rules\n")))
            }
            // Ready while any account is served (a broken one must not take the others out of the balancer); one line each.
            let lines = accounts.map { a in
                a.rules.map { "\(a.id): ready: \($0.status.ruleCount) rules" } ?? "\(a.id): not ready: \(a.downReason ?? "starting")"
            }
            let ready = accounts.contains { $0.live != nil }
            return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
        }
        return router
    }

    /// `/status` (on the admin listener): the accounts' rule sets, reloads, outboxes; with PostgreSQL, the instances. JSON.
    public func statusJSON() async -> [UInt8] {
        let (accounts, several, postgres) = (self.accounts, servesSeveralAccounts, self.postgres)
        var byAccount: [String: Any] = [:]
        var first: [String: Any] = [:]
        for account in accounts {
            let status = await account.status()
            if first.isEmpty { first = status }
            byAccount[account.id.rawValue] = status
        }
        // Single-account mode keeps today's top-level fields; `accounts` is there in both modes.
        var object: [String: Any] = several ? [:] : first
        object["accounts"] = byAccount
        if let postgres {
            // The deployment's instances as the database knows them (heartbeats), with the rule-set version each serves per account.
            object["store"] = postgres.location.description
            object["instance"] = postgres.instance
            if let instances = try? await postgres.instances(at: Webhook.now()) {
                object["instances"] = instances.map { i -> [String: Any] in
                    ["id": i.id, "host": i.host, "pid": i.pid, "alive": i.alive, "rules": i.rules,
                     "heartbeatAgeSeconds": Webhook.now() - i.heartbeatAt, "startedAt": i.startedAt]
                }
            }
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    static func query(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { result[String(key)] = String(value) }
        return result
    }

    static func response(_ r: Webhook.Response) -> Response {
        Response(status: HTTPResponse.Status(code: r.status), headers: [.contentType: r.contentType],
                 body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    /// Runs until SIGTERM/SIGINT. `onRunning` gets the bound port (useful with port 0).
    /// With ``ServerConfiguration/admin``, the admin listener runs beside the webhook and `onAdminRunning` gets its port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                    onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let limits = ConnectionLimits(connectionSettings(), metrics: metrics, logger: logger)
        // Trap SIGHUP before anything listens: a reload signal that came before the reloader ran
        // would otherwise end the process (SIGHUP's default).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        var services: [any Service] = [SignalReloader(server: self, signals: hangups)]
        for account in accounts {
            services += account.workers { forgotten in
                // Memory that left the window goes back to the system now, not at the next burst.
                if forgotten > 10_000 { Self.returnFreeMemory() }
            }
        }
        if let admin = adminApplication(webhookLimits: limits.settings, onRunning: onAdminRunning) { services.append(admin) }
        let app = Application(
            router: router(),
            server: limits.http1(onEventLoop: true),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kefu"),
            services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }
}

extension KefuServer {
    /// The HTTP client for the rule set's services, with the secrets of the environment and the
    /// bases of `--service NAME=URL`.
    static func defaultServiceTransport(_ overrides: [String: ServiceBase]) -> ServiceCalls.Make {
        { services in
            let secrets = try ServiceSecrets.resolve(for: services)
            return ServiceClient(services: services, secrets: secrets, overrides: overrides, httpClient: ServiceHTTP.client)
        }
    }
}

/// One HTTP client for every service client of the process (rebuilt on reload, they share it):
/// set up as ``ServiceClient/httpConfiguration()`` says, alive as long as the process.
public enum ServiceHTTP {
    public static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: ServiceClient.httpConfiguration())
}

/// The rule set declares services but they cannot be called (a secret is missing …): the server does not start.
public struct ServicesUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// The outbox's messages without WeChat's API (`--wechat-api` not given): none can be sent.
struct NoAPISender: OutboxSender {
    func send(_ message: OutboxMessage, at time: Int64) async -> OutboxResult {
        .skipped("no WeChat API is configured (kefu serve --wechat-api), so nothing can be sent after the passive reply")
    }
}

/// SIGHUP reloads the rule set, until the server shuts down.
struct SignalReloader: Service {
    let server: KefuServer
    let signals: UnixSignalsSequence

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in signals { await server.reload(reason: "SIGHUP") }
        }
    }
}
