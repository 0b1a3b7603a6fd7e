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

/// `kefu serve`: the Hummingbird application around ``Webhook``.
///
/// Routes: `GET|POST <path>` (WeChat), `/healthz` (the process is up), `/readyz` (a rule set is
/// loaded), `/status` (rule set, reloads, last reload error, JSON), `/metrics` (Prometheus).
/// SIGHUP reloads the rule set; with `watch`, so does a change to its files. SIGTERM and SIGINT
/// stop accepting connections and finish the requests in flight.
public struct KefuServer: Sendable {
    public let configuration: ServerConfiguration
    public let rules: LiveRules
    public let metrics = ServerMetrics()
    public let store: any ConversationStore
    /// `--gate`: the corpus every reloaded rule set must pass.
    public let gate: CorpusGate?
    let webhook: Webhook
    let logger: Logger
    /// Sends the outbox through WeChat's API (nil: no API client configured; nothing is sent later).
    let outboxSender: (any OutboxSender)?
    /// WeChat's API, when configured (`api`): the outbox worker's and the tools'.
    public let apiClient: WeChatAPIClient?
    /// WeChat API errors the operator must act on, for /status.
    public let alerts = OperatorAlerts()
    /// The uploaded media of the rule set (with the API).
    let media: MediaLibrary?

    public init(_ configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        gate = try configuration.gate.map { try CorpusGate(paths: [$0]) }
        let window = configuration.deduplicationWindowSeconds
        var queries: [(query: String, messageKey: String, time: Int64)] = []
        switch configuration.store {
        case .memory: store = MemoryStore()
        case .sqlite(let path):
            // Exclusive: this process's memory is the authority for what it writes (see SQLiteStore).
            let sqlite = try SQLiteStore(path: path, exclusive: true, window: window,
                                         maxRememberedAnswers: configuration.memoryBudget.answerEntries)
            // Answers of the window before a restart, so retries are found without reading the disk,
            // and the queries that brought them, so a replay with another message is still refused.
            queries = try sqlite.warmUp(answersSince: Webhook.now() - window)
            store = sqlite
        case .postgres(let location):
            // Shared by every instance; reached and migrated by `prepareStore()` before the server listens.
            let database = PostgresDatabase(location, logger: logger)
            store = PostgresStore(database: database, account: Self.storeAccount(configuration), window: window)
        }
        if let api = configuration.api {
            let (alerts, metrics, logger) = (self.alerts, self.metrics, self.logger)
            let client = WeChatAPIClient(
                configuration: api, tokenStore: (store as? any AccessTokenStore) ?? MemoryAccessTokenStore(), logger: logger,
                alert: { error in
                    // Only the operator can fix these: the latest of each code in /status, a metric, a log line.
                    let code = error.errcode ?? 0
                    metrics.apiAlert(code: code)
                    let first = alerts.record(code: code, message: error.errmsg, action: error.whatToDo, at: Webhook.now())
                    logger.log(level: first ? .error : .warning, "WeChat's API needs the operator: \(error.whatToDo)",
                               metadata: ["errcode": .string("\(code)"), "api": .string(error.api), "errmsg": .string(error.errmsg)])
                })
            let library = MediaLibrary(client: client, store: store as? SQLiteStore, logger: logger, now: { Webhook.now() })
            apiClient = client
            media = library
            rules = try LiveRules(directory: configuration.rulesDirectory, media: library)
            outboxSender = WeChatOutboxSender(client: client, media: library, rules: rules)
            alerts.setConfigured(true)
        } else {
            apiClient = nil
            media = nil
            rules = try LiveRules(directory: configuration.rulesDirectory, media: NoMedia())
            outboxSender = nil
        }
        let known = Set(rules.engine.rules.services.map(\.name))
        if let unknown = configuration.serviceOverrides.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServicesUnavailable(description: "--service \(unknown): the rule set has no such service (it has: \(known.sorted().joined(separator: ", ")))")
        }
        let services = ServiceCalls(make: configuration.serviceTransport ?? Self.defaultServiceTransport(configuration.serviceOverrides), metrics: metrics)
        if let why = services.accept(rules.engine.rules) { throw ServicesUnavailable(description: why) }
        webhook = try Webhook(configuration: configuration, rules: rules, metrics: metrics, store: store, logger: logger, services: services)
        webhook.replayGuard.warmUp(queries)
    }

    /// The account the store's rows carry: the appid (KEFU_APPID), else "default".
    static func storeAccount(_ configuration: ServerConfiguration) -> String {
        configuration.wechat.appID.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    /// A shared store (PostgreSQL) is reached and its schema migrated: call before ``run(onRunning:)``.
    /// Waits up to `storeWait` for an unreachable database, then fails naming it (never its password).
    public func prepareStore() async throws {
        if let postgres = store as? PostgresStore { try await postgres.database.prepare(wait: configuration.storeWait) }
    }

    /// One round of clean-up (every `cleanupInterval`): forget what left the window (memory first,
    /// then old answer rows), delete log lines past the retention, tidy due sessions. Database work
    /// goes in batches of `batch` rows, at most `rounds` of each, so that a backlog is worked off
    /// over several rounds instead of holding the writer for long.
    public func cleanUp(now: Int64 = Webhook.now(), batch: Int = 500, rounds: Int = 20) async {
        let window = configuration.deduplicationWindowSeconds
        let forgotten = webhook.replayGuard.expire(now: now)
        do {
            var answers = 0, lines = 0
            for _ in 0..<rounds {
                let n = try await store.purgeAnswers(before: now - window, limit: batch)
                answers += n
                if n < batch { break }
            }
            if let retention = configuration.logRetention {
                for _ in 0..<rounds {
                    let n = try await store.purgeLog(before: now - retention.components.seconds, limit: batch)
                    lines += n
                    if n < batch { break }
                }
            }
            // Finished outbox rows are kept as long as the conversation log (an audit of what was sent).
            let keepOutbox = configuration.logRetention.map { $0.components.seconds } ?? 180 * 86_400
            let sentRows = try await store.purgeOutbox(before: now - keepOutbox, limit: batch)
            let tidied = try await webhook.tidySessions()
            metrics.cleanedUp("outbox", sentRows)
            metrics.cleanedUp("answers", answers)
            metrics.cleanedUp("log", lines)
            metrics.cleanedUp("sessions", tidied)
            if answers + lines + tidied > 0 {
                logger.debug("cleaned up", metadata: ["answers": .string("\(answers)"), "logLines": .string("\(lines)"),
                                                      "sessions": .string("\(tidied)")])
            }
        } catch {
            logger.error("clean-up of old answers, log lines and sessions failed; it is tried again next round",
                         metadata: ["error": .string("\(error)")])
        }
        if let postgres = store as? PostgresStore {
            // This instance is alive (its rows in flight are its own) and serves this rule set.
            do { try await postgres.database.heartbeat(rules: [postgres.account: rules.version], at: now) } catch {
                logger.warning("could not record this instance's heartbeat in PostgreSQL", metadata: ["error": .string(PostgresDatabase.describe(error))])
            }
        }
        if let apiClient { metrics.tokenFetches(apiClient.tokenFetches) }
        metrics.remembered("queries", webhook.replayGuard.count)
        let drops = webhook.replayGuard.earlyDrops
        if let sqlite = store as? SQLiteStore {
            let memory = sqlite.memoryStatus
            metrics.remembered("answers", memory.answers)
            metrics.remembered("sessions", memory.sessions)
            reportEarlyDrops(answers: memory.earlyDrops, queries: drops)
        } else {
            reportEarlyDrops(answers: 0, queries: drops)
        }
        // Memory that left the window goes back to the system now, not at the next burst.
        if forgotten > 10_000 { Self.returnFreeMemory() }
    }

    private let earlyDropsSeen = EarlyDrops()
    let reloadsSeen = ReloadsSeen()

    /// The last reload request of the database this instance acted on (nil: not read yet).
    final class ReloadsSeen: Sendable {
        let seen = Mutex<Int64?>(nil)
    }

    /// With PostgreSQL (every `reloadPoll`): a reload another instance or `kefu reload` asked for is done here too.
    func followReloads() async {
        guard let postgres = store as? PostgresStore else { return }
        guard let request = try? await postgres.reloadRequest() else { return }
        let act = reloadsSeen.seen.withLock { seen -> Bool in
            defer { seen = max(seen ?? 0, request.seq) }
            return seen.map { request.seq > $0 } ?? false  // the first look only learns where the count stands
        }
        if act { await reload(reason: "asked through the database (\(request.reason))", broadcast: false) }
    }

    final class EarlyDrops: Sendable {
        let seen = Mutex((answers: 0, queries: 0))
    }

    private func reportEarlyDrops(answers: Int, queries: Int) {
        let (newAnswers, newQueries) = earlyDropsSeen.seen.withLock { seen in
            defer { seen = (answers, queries) }
            return (answers - seen.answers, queries - seen.queries)
        }
        guard newAnswers > 0 || newQueries > 0 else { return }
        if newAnswers > 0 { metrics.memoryPressure("answers") }
        if newQueries > 0 { metrics.memoryPressure("queries") }
        logger.warning("the memory budget is full: the oldest remembered answers/queries were dropped before their window ended (retries then read the disk); raise --memory-budget-mb", metadata: [
                        "budgetMB": .string("\(configuration.memoryBudget.megabytes)"), "window": .string("\(configuration.deduplicationWindowSeconds) s")])
    }

    static func returnFreeMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// The starting rule set against the gate's corpus: nil if it passes (or there is no gate).
    public func checkGate() async -> String? {
        guard let gate else { return nil }
        return await gate.check(rules.engine.rules)
    }

    /// Compiles the rule set again; keeps the old one if the new one has errors, has a file that
    /// looks half-written, shrinks suspiciously (see ``LiveRules``) or fails the gate. Logs what changed.
    /// `broadcast`: with PostgreSQL, a reload asked for here (SIGHUP, --watch) is asked of every
    /// instance of the account through the database; one that came from there is not passed on again.
    public func reload(reason: String, broadcast: Bool = true) async {
        if broadcast, let postgres = store as? PostgresStore {
            do {
                let seq = try await postgres.requestReload(reason: "\(reason) on \(postgres.database.instance)", at: Webhook.now())
                reloadsSeen.seen.withLock { $0 = max($0 ?? 0, seq) }
            } catch {
                logger.warning("could not ask the other instances to reload (PostgreSQL); this one reloads", metadata: [
                    "error": .string(PostgresDatabase.describe(error))])
            }
        }
        switch await rules.reload(gate: gate, services: webhook.services) {
        case .success(let change):
            metrics.reload(result: "ok")
            logger.info("rule set reloaded: \(change.summary)", metadata: ["reason": .string(reason), "rules": .string("\(rules.status.ruleCount)")])
        case .failure(let failure):
            metrics.reload(result: failure.result)
            switch failure {
            case .compile(let error):
                logger.error("reload failed; still serving the previous rule set", metadata: [
                    "reason": .string(reason), "errors": .string("\(error.diagnostics.count)"),
                    "first": .string(error.diagnostics.first?.render() ?? "")])
            case .gate(let why):
                logger.error("reload refused by the corpus gate; still serving the previous rule set", metadata: [
                    "reason": .string(reason), "gate": .string(why)])
            case .services(let why):
                logger.error("reload refused: the new rule set's services cannot be called; still serving the previous rule set", metadata: [
                    "reason": .string(reason), "services": .string(why)])
            case .shrink(let change):
                logger.warning("""
                    reload refused: \(change.suspicious.joined(separator: "; ")); still serving the previous rule set. \
                    If you removed them on purpose, reload once more (or with --watch save a rule file again) to confirm
                    """, metadata: ["reason": .string(reason), "change": .string(change.summary)])
            }
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let webhook = self.webhook
        let maxBody = configuration.wechat.maxBodyBytes
        router.get(RouterPath(configuration.path)) { request, _ -> Response in
            Self.response(webhook.verify(query: Self.query(request)))
        }
        let (bodyMetrics, bodyLogger) = (self.metrics, self.logger)
        router.post(RouterPath(configuration.path)) { request, _ -> Response in
            let body: ByteBuffer
            switch await Self.readBody(request, limit: maxBody, webhook: webhook, metrics: bodyMetrics, logger: bodyLogger) {
            case .read(let read): body = read
            case .refused(let response): return response
            }
            return Self.response(await webhook.receive(query: Self.query(request), body: Array(buffer: body)))
        }
        router.get("healthz") { _, _ in "ok\n" }
        let rules = self.rules
        let (store, sends, alerts) = (self.store, outboxSender != nil, self.alerts)
        router.get("readyz") { _, _ in "ready: \(rules.status.ruleCount) rules\n" }
        router.get("status") { _, _ -> Response in
            let s = rules.status
            var object: [String: Any] = ["rules": rules.directory, "ruleCount": s.ruleCount, "reloads": s.reloads,
                                         "loadedAt": ISO8601DateFormatter().string(from: s.loadedAt)]
            object["lastReloadError"] = s.lastReloadError ?? NSNull()
            object["lastReloadAt"] = s.lastReloadAt.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull()
            object["lastReloadResult"] = s.lastReloadResult ?? NSNull()
            object["lastChange"] = s.lastChange ?? NSNull()
            object["pendingShrink"] = s.pendingShrink.map {
                ["reasons": $0.reasons, "change": $0.change, "since": ISO8601DateFormatter().string(from: $0.since),
                 "confirm": "reload once more (kill -HUP, or with --watch save a rule file again) to accept exactly these files"] as [String: Any]
            } ?? NSNull()
            object["files"] = s.census.files.mapValues { ["rules": $0.rules.count, "intents": $0.intents.count, "flows": $0.flows.count] }
            if let outbox = try? await store.outboxStatus(at: Webhook.now()) {
                object["outbox"] = ["depth": outbox.depth, "oldestAgeSeconds": outbox.oldestAge, "scheduled": outbox.scheduled,
                                    "byState": Dictionary(uniqueKeysWithValues: outbox.counts.map { ($0.key.rawValue, $0.value) }),
                                    "sending": sends ? "through WeChat's API" : "off: no API client (set KEFU_APPSECRET); nothing is sent after the passive reply"] as [String: Any]
            }
            if let calls = try? await store.callStatus(at: Webhook.now()), !rules.engine.rules.services.isEmpty || !calls.isEmpty {
                // A call due for more than five minutes is stuck: the service is down or refuses it; see `kefu outbox --state pending`.
                object["services"] = Dictionary(uniqueKeysWithValues: Set(rules.engine.rules.services.map(\.name)).union(calls.keys).map { name in
                    let c = calls[name] ?? OutboxStatus(depth: 0, oldestAge: 0, scheduled: 0, counts: [:])
                    return (name, ["depth": c.depth, "oldestAgeSeconds": c.oldestAge, "waiting": c.scheduled, "stuck": c.oldestAge > 300,
                                   "byState": Dictionary(uniqueKeysWithValues: c.counts.map { ($0.key.rawValue, $0.value) })] as [String: Any])
                })
            }
            object["wechatAPI"] = alerts.status()
            object["rulesVersion"] = rules.version
            if let postgres = store as? PostgresStore {
                // The deployment's instances as the database knows them (heartbeats), with the rule-set version each serves.
                object["store"] = postgres.database.location.description
                object["instance"] = postgres.database.instance
                if let instances = try? await postgres.database.instances(at: Webhook.now()) {
                    object["instances"] = instances.map { i -> [String: Any] in
                        ["id": i.id, "host": i.host, "pid": i.pid, "alive": i.alive, "rules": i.rules,
                         "heartbeatAgeSeconds": Webhook.now() - i.heartbeatAt, "startedAt": i.startedAt]
                    }
                }
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let metrics = self.metrics
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        return router
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
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let limits = ConnectionLimits(connectionSettings(), metrics: metrics, logger: logger)
        // Trap SIGHUP before anything listens: a reload signal that came before the reloader ran
        // would otherwise end the process (SIGHUP's default).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        var services: [any Service] = [
            SignalReloader(server: self, signals: hangups),
            PeriodicService(interval: configuration.cleanupInterval) { [self] in await cleanUp() },
        ]
        if store is PostgresStore {
            await followReloads()  // where the requests stand now: only later ones are acted on
            services.append(PeriodicService(interval: configuration.reloadPoll) { [self] in await followReloads() })
        }
        if configuration.watch {
            let last = Mutex(rules.fingerprint())
            services.append(PeriodicService(interval: configuration.watchInterval) { [self] in
                let now = rules.fingerprint()
                if last.withLock({ old in defer { old = now }; return old != now }) { await reload(reason: "files changed") }
            })
        }
        if let media {
            // At start, then every few minutes (a reload's new files, ids nearing their 3 days).
            let rules = self.rules
            services.append(PeriodicService(interval: .seconds(300), immediately: true) { await media.refresh(rules.engine.rules) })
        }
        // The worker sends the outbox through WeChat's API and makes the calls kept there (writes, and
        // reads a stopped process left): with calls but without the API, messages are skipped.
        let webhook = self.webhook
        let delivery = CallDelivery(runner: LiveCallRunner(transport: webhook.services), limits: { [rules] in CallDelivery.limits(of: rules.engine.rules)($0) },
                                    finish: { request, result, attempt, attempts in await webhook.finishCall(request, result, attempt, attempts) })
        services.append(OutboxWorker(dispatcher: OutboxDispatcher(store: store, sender: outboxSender ?? NoAPISender(), calls: delivery),
                                     wake: webhook.outboxWaiting, interval: configuration.outboxInterval, metrics: metrics, logger: logger,
                                     now: { Webhook.now() }))
        let app = Application(
            router: router(),
            server: limits.http1(),
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
