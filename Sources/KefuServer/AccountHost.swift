import Foundation
import KefuAnalytics
import Hummingbird
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

/// One Official Account's share of `kefu serve`: its rule set (``LiveRules``), its ``Webhook`` (token,
/// AES keys, appid, replay guard, per-user queue), its store, its WeChat API client and media, its
/// outbox worker, its clean-up, watcher and reloads, its metrics (labelled `account`) and its logger
/// (metadata `account`). ``KefuServer`` holds one per account and keeps what the process shares: the
/// HTTP server, connection limits, the metrics registry, signals and the service group.
///
/// With an accounts file an account whose rule set cannot go live at start (it does not compile, its
/// services cannot be called, it fails its gate) is *down*: its path answers 503 with the reason,
/// /readyz and /status say so, the other accounts serve; every reload (SIGHUP, --watch) tries it
/// again, and once it compiles it is served. In single-account mode such a rule set stops the start.
public final class AccountHost: Sendable {
    public let id: AccountID
    /// For logs and /status.
    public let name: String?
    /// This account's configuration (path, secrets, rule set, store).
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    public let store: any ConversationStore
    /// The corpus every rule set of this account must pass.
    public let gate: CorpusGate?
    /// WeChat's API, when the account has an AppSecret.
    public let apiClient: WeChatAPIClient?
    /// WeChat API errors the operator must act on, for /status.
    public let alerts: OperatorAlerts
    let media: MediaLibrary?
    let logger: Logger
    /// The rule set's services (the client is rebuilt when a reload changes them).
    let services: ServiceCalls
    /// Wakes the account's workers when a rule set that was down goes live.
    let cameUp = Signal()
    /// Listed in an accounts file (else the single account of KEFU_TOKEN …): decides how its secrets are named in messages.
    let inAccountsFile: Bool

    /// The parts that need a rule set that compiled.
    public struct Live: Sendable {
        public let rules: LiveRules
        let webhook: Webhook
        /// Sends the outbox through WeChat's API (nil: no API client; nothing is sent later).
        let outboxSender: (any OutboxSender)?
    }

    private enum State {
        case serving(Live)
        /// Not served: why (one line), since when, how many reloads tried it.
        case down(reason: String, since: Date, tries: Int)
    }

    private let state: Mutex<State>
    /// The signed queries of the window before a restart (SQLite), for the first webhook's replay guard.
    private let warmQueries: Mutex<[(query: String, messageKey: String, time: Int64)]>
    private let earlyDropsSeen = Mutex((answers: 0, queries: 0))
    private let oneAtATime = OneAtATime()
    /// The day up to which the console's rollups of closed days are all computed.
    private let rollupsReady = Mutex(Int.min)

    /// Opens the store and the API client and compiles the rule set. `strict` (single-account mode):
    /// a rule set that cannot go live is thrown (``RuleSetError``, ``ServicesUnavailable``); otherwise
    /// the account starts down. A store that cannot be opened, a gate corpus with errors or a bad key
    /// is thrown either way.
    public init(id: AccountID, name: String?, configuration: ServerConfiguration, metrics: ServerMetrics, logger: Logger,
                strict: Bool) throws {
        self.id = id
        self.name = name
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        inAccountsFile = !strict
        gate = try configuration.gate.map { try CorpusGate(paths: [$0]) }
        let store = try configuration.openStore(for: id)
        self.store = store
        var queries: [(query: String, messageKey: String, time: Int64)] = []
        if let sqlite = store as? SQLiteStore {
            // Answers of the window before a restart, so retries are found without reading the disk,
            // and the queries that brought them, so a replay with another message is still refused.
            queries = try sqlite.warmUp(answersSince: Webhook.now() - configuration.deduplicationWindowSeconds)
        }
        warmQueries = Mutex(queries)
        let alerts = OperatorAlerts()
        self.alerts = alerts
        if let api = configuration.api {
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
            apiClient = client
            media = MediaLibrary(client: client, store: store as? SQLiteStore, logger: logger, now: { Webhook.now() })
            alerts.setConfigured(true)
        } else {
            apiClient = nil
            media = nil
        }
        services = ServiceCalls(make: configuration.serviceTransport ?? KefuServer.defaultServiceTransport(configuration.serviceOverrides),
                                metrics: metrics)
        state = Mutex(.down(reason: "starting", since: Date(), tries: 0))
        do {
            let live = try makeLive(checkOverrides: strict)
            state.withLock { $0 = .serving(live) }
        } catch let error as WeChatError {
            throw error
        } catch let error where !strict {
            let reason = Self.reason(error, rulesDirectory: configuration.rulesDirectory)
            state.withLock { $0 = .down(reason: reason, since: Date(), tries: 0) }
            logDown(error, reason: reason, when: "at start")
        }
    }

    /// Compiles the rule set and builds what serves it.
    private func makeLive(checkOverrides: Bool) throws -> Live {
        let rules = try LiveRules(directory: configuration.rulesDirectory, media: media.map { $0 as any MediaResolver } ?? NoMedia())
        if checkOverrides {
            let known = Set(rules.engine.rules.services.map(\.name))
            if let unknown = configuration.serviceOverrides.keys.sorted().first(where: { !known.contains($0) }) {
                throw ServicesUnavailable(description: "--service \(unknown): the rule set has no such service (it has: \(known.sorted().joined(separator: ", ")))")
            }
        }
        if let why = services.accept(rules.engine.rules) { throw ServicesUnavailable(description: why) }
        let webhook = try Webhook(configuration: configuration, rules: rules, metrics: metrics, store: store, logger: logger, services: services)
        webhook.replayGuard.warmUp(warmQueries.withLock { q in defer { q = [] }; return q })
        let sender = apiClient.map { WeChatOutboxSender(client: $0, media: media!, rules: rules) as any OutboxSender }
        return Live(rules: rules, webhook: webhook, outboxSender: sender)
    }

    /// The live parts, nil while the account is down.
    public var live: Live? {
        state.withLock { if case .serving(let live) = $0 { live } else { nil } }
    }

    /// The live rule set, nil while the account is down.
    public var rules: LiveRules? { live?.rules }

    /// Why the account is not served (nil: it is).
    public var downReason: String? {
        state.withLock { if case .down(let reason, _, _) = $0 { reason } else { nil } }
    }

    /// `示例商城 (wx0123…)`, or the appid alone.
    public var label: String { name.map { "\($0) (\(id))" } ?? id.rawValue }

    /// One line: what kept the rule set from going live.
    static func reason(_ error: any Error, rulesDirectory: String) -> String {
        switch error {
        case let error as RuleSetError:
            let errors = error.diagnostics.filter { $0.severity == .error }
            let first = (errors.first ?? error.diagnostics.first).map { "; first: \($0.location): \($0.message)" } ?? ""
            return "its rule set \(rulesDirectory) does not compile (\(errors.count) error\(errors.count == 1 ? "" : "s")\(first)); fix it and reload (kill -HUP)"
        case let error as ServicesUnavailable:
            return "its rule set's services cannot be called: \(error.description)"
        case let error as LiveRules.ReloadFailure:
            return error.description
        default:
            return "\(error)"
        }
    }

    private func logDown(_ error: any Error, reason: String, when: String) {
        var metadata: Logger.Metadata = ["rules": .string(configuration.rulesDirectory)]
        if let name { metadata["name"] = .string(name) }
        logger.error("account not served \(when): \(reason)", metadata: metadata)
        if let error = error as? RuleSetError {
            for diagnostic in error.diagnostics.prefix(20) { logger.error("\(diagnostic.render())") }
        }
    }

    /// At start: the rule set against the gate's corpus. Nil if it passes (or there is no gate, or the
    /// account is down). In strict mode the reason is returned (the server does not start); else the
    /// account goes down with it.
    func checkStartGate(strict: Bool) async -> String? {
        guard let gate, let live else { return nil }
        guard let why = await gate.check(live.rules.engine.rules) else { return nil }
        if strict { return why }
        let reason = "its rule set fails its corpus (gate): \(why)"
        state.withLock { $0 = .down(reason: reason, since: Date(), tries: 0) }
        logger.error("account not served at start: \(reason)")
        return nil
    }

    // MARK: reload

    /// Compiles the rule set again (see ``LiveRules/reload(gate:services:)``); a down account is tried
    /// again from scratch and served if it now goes live. Logs what changed; never touches another account.
    /// `broadcast`: with PostgreSQL, a reload asked for here (SIGHUP, --watch) is asked of every
    /// instance serving the account, through the database; one that came from there is not passed on.
    public func reload(reason: String, broadcast: Bool = true) async {
        if broadcast, let postgres = store as? PostgresStore {
            do {
                let seq = try await postgres.requestReload(reason: "\(reason) on \(postgres.database.instance)", at: Webhook.now())
                reloadsSeen.withLock { $0 = max($0 ?? 0, seq) }
            } catch {
                logger.warning("could not ask the other instances to reload (PostgreSQL); this one reloads", metadata: [
                    "error": .string(PostgresDatabase.describe(error))])
            }
        }
        await oneAtATime.run { await self.reloadNow(reason: reason) }
    }

    /// The last reload request of the database this instance acted on (nil: not read yet).
    private let reloadsSeen = Mutex<Int64?>(nil)

    /// With PostgreSQL (every `reloadPoll`): a reload another instance or `kefu reload` asked for is done here too.
    func followReloads() async {
        guard let postgres = store as? PostgresStore, let request = try? await postgres.reloadRequest() else { return }
        let act = reloadsSeen.withLock { seen -> Bool in
            defer { seen = max(seen ?? 0, request.seq) }
            return seen.map { request.seq > $0 } ?? false  // the first look only learns where the count stands
        }
        if act { await reload(reason: "asked through the database (\(request.reason))", broadcast: false) }
    }

    private func reloadNow(reason: String) async {
        guard let live else { return await retry(reason: reason) }
        let rules = live.rules
        switch await rules.reload(gate: gate, services: live.webhook.services) {
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

    /// A down account: build it again; served if the rule set now compiles, can call its services and passes its gate.
    private func retry(reason: String) async {
        let failure: any Error
        do {
            let live = try makeLive(checkOverrides: false)
            if let gate, let why = await gate.check(live.rules.engine.rules) {
                failure = LiveRules.ReloadFailure.gate(why)
            } else {
                state.withLock { $0 = .serving(live) }
                metrics.reload(result: "ok")
                logger.notice("account is served now: its rule set went live", metadata: [
                    "reason": .string(reason), "rules": .string("\(live.rules.status.ruleCount)")])
                cameUp.signal()
                return
            }
        } catch {
            failure = error
        }
        let why = Self.reason(failure, rulesDirectory: configuration.rulesDirectory)
        state.withLock { s in
            if case .down(_, let since, let tries) = s { s = .down(reason: why, since: since, tries: tries + 1) }
        }
        metrics.reload(result: (failure as? LiveRules.ReloadFailure)?.result ?? "failed")
        logDown(failure, reason: why, when: "after reload (\(reason))")
    }

    /// The fingerprint of the rule files, for the watcher.
    func fingerprint() -> String { LiveRules.fingerprint(directory: configuration.rulesDirectory) }

    // MARK: clean-up

    /// One round of clean-up (every `cleanupInterval`): forget what left the window (memory first,
    /// then old answer rows), delete log lines past the retention, tidy due sessions. Database work
    /// goes in batches of `batch` rows, at most `rounds` of each, so that a backlog is worked off
    /// over several rounds instead of holding the writer for long.
    public func cleanUp(now: Int64 = Webhook.now(), batch: Int = 500, rounds: Int = 20) async -> Int {
        let window = configuration.deduplicationWindowSeconds
        let webhook = live?.webhook
        let forgotten = webhook?.replayGuard.expire(now: now) ?? 0
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
            let tidied = try await webhook?.tidySessions() ?? 0
            // The console's day rollups of closed days, a few per round, so that its pages find them ready.
            if let log = store as? any ConversationLog, let rules = live?.rules.engine.rules {
                let analyst = LogAnalyst(log: log, utcOffset: Int(rules.settings.utcOffset))
                let keep = configuration.logRetention.map { Int($0.components.seconds / 86_400) + 1 } ?? 400
                let today = analyst.days.day(of: now)
                // Until every closed day is counted, then once a day (after the settle hour: the hour is in `prepare`).
                if rollupsReady.withLock({ $0 }) != today {
                    let computed = try await analyst.prepare(from: today - keep, now: now, limit: 5)
                    if computed < 5, now >= analyst.days.start(of: today) + LogAnalyst.settle { rollupsReady.withLock { $0 = today } }
                }
            }
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
        if let apiClient { metrics.tokenFetches(apiClient.tokenFetches) }
        let queries = webhook?.replayGuard.count ?? 0
        metrics.remembered("queries", queries)
        let drops = webhook?.replayGuard.earlyDrops ?? 0
        if let sqlite = store as? SQLiteStore {
            let memory = sqlite.memoryStatus
            metrics.remembered("answers", memory.answers)
            metrics.remembered("sessions", memory.sessions)
            reportEarlyDrops(answers: memory.earlyDrops, queries: drops)
        } else {
            reportEarlyDrops(answers: 0, queries: drops)
        }
        return forgotten
    }

    private func reportEarlyDrops(answers: Int, queries: Int) {
        let (newAnswers, newQueries) = earlyDropsSeen.withLock { seen in
            defer { seen = (answers, queries) }
            return (answers - seen.answers, queries - seen.queries)
        }
        guard newAnswers > 0 || newQueries > 0 else { return }
        if newAnswers > 0 { metrics.memoryPressure("answers") }
        if newQueries > 0 { metrics.memoryPressure("queries") }
        logger.warning("the memory budget is full: the oldest remembered answers/queries were dropped before their window ended (retries then read the disk); raise --memory-budget-mb", metadata: [
                        "budgetMB": .string("\(configuration.memoryBudget.megabytes)"), "window": .string("\(configuration.deduplicationWindowSeconds) s")])
    }

    // MARK: workers

    /// The account's loops, as Services of the server's group: clean-up, the watcher (with `watch`),
    /// and, once the rule set is live, the media refresher and the outbox worker.
    func workers(onForgotten: @escaping @Sendable (Int) -> Void) -> [any Service] {
        var services: [any Service] = [
            PeriodicService(interval: configuration.cleanupInterval) { [self] in onForgotten(await cleanUp()) },
        ]
        if store is PostgresStore {
            services.append(PeriodicService(interval: configuration.reloadPoll, immediately: true) { [self] in await followReloads() })
        }
        if configuration.watch {
            let last = Mutex(fingerprint())
            services.append(PeriodicService(interval: configuration.watchInterval) { [self] in
                let now = fingerprint()
                if last.withLock({ old in defer { old = now }; return old != now }) { await reload(reason: "files changed") }
            })
        }
        services.append(WhenServing(host: self) { [self] live in
            var services: [any Service] = []
            if let media {
                // At start, then every few minutes (a reload's new files, ids nearing their 3 days).
                let rules = live.rules
                services.append(PeriodicService(interval: .seconds(300), immediately: true) { await media.refresh(rules.engine.rules) })
            }
            // The worker sends the outbox through WeChat's API and makes the calls kept there (writes, and
            // reads a stopped process left): with calls but without the API, messages are skipped.
            let (webhook, rules) = (live.webhook, live.rules)
            let delivery = CallDelivery(runner: LiveCallRunner(transport: webhook.services), limits: { CallDelivery.limits(of: rules.engine.rules)($0) },
                                        finish: { request, result, attempt, attempts in await webhook.finishCall(request, result, attempt, attempts) })
            services.append(OutboxWorker(dispatcher: OutboxDispatcher(store: store, sender: live.outboxSender ?? NoAPISender(), calls: delivery),
                                         wake: webhook.outboxWaiting, interval: configuration.outboxInterval, metrics: metrics, logger: logger,
                                         now: { Webhook.now() }))
            return services
        })
        return services
    }

    /// The live parts once the account is served; nil if the server shuts down first.
    func waitUntilServing() async -> Live? {
        while !Task.isCancelled {
            if let live { return live }
            await cameUp.wait(timeout: .milliseconds(500))
        }
        return nil
    }

    // MARK: HTTP

    /// `GET|POST <path>`: WeChat's, through the webhook; 503 with the reason while the account is down.
    func addRoutes(to router: Router<BasicRequestContext>) {
        let maxBody = configuration.wechat.maxBodyBytes
        router.get(RouterPath(configuration.path)) { [self] request, _ -> Response in
            guard let webhook = live?.webhook else { return unavailable() }
            return KefuServer.response(webhook.verify(query: KefuServer.query(request)))
        }
        router.post(RouterPath(configuration.path)) { [self] request, _ -> Response in
            guard let webhook = live?.webhook else { return unavailable() }
            let body: ByteBuffer
            switch await KefuServer.readBody(request, limit: maxBody, webhook: webhook, metrics: metrics, logger: logger) {
            case .read(let read): body = read
            case .refused(let response): return response
            }
            return KefuServer.response(await webhook.receive(query: KefuServer.query(request), body: Array(buffer: body)))
        }
    }

    /// 503 and one line: this account is not served, and why.
    private func unavailable() -> Response {
        let reason = downReason ?? "starting"
        metrics.request(mode: "-", outcome: "unavailable-503")
        return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "account \(label) is not served: \(reason)\n")))
    }

    /// This account's part of /status (single-account mode: the whole of today's /status).
    func status() async -> [String: Any] {
        let iso = ISO8601DateFormatter()
        var object: [String: Any] = ["rules": configuration.rulesDirectory, "path": configuration.path, "name": name ?? NSNull()]
        switch state.withLock({ $0 }) {
        case .down(let reason, let since, let tries):
            object["ready"] = false
            object["ruleCount"] = 0
            object["reloads"] = 0
            object["loadedAt"] = NSNull()
            object["lastReloadError"] = reason
            object["downSince"] = iso.string(from: since)
            object["triedAgain"] = tries
        case .serving(let live):
            let rules = live.rules, s = rules.status
            object["ready"] = true
            object["rulesVersion"] = rules.version
            object["ruleCount"] = s.ruleCount
            object["reloads"] = s.reloads
            object["loadedAt"] = iso.string(from: s.loadedAt)
            object["lastReloadError"] = s.lastReloadError ?? NSNull()
            object["lastReloadAt"] = s.lastReloadAt.map { iso.string(from: $0) } ?? NSNull()
            object["lastReloadResult"] = s.lastReloadResult ?? NSNull()
            object["lastChange"] = s.lastChange ?? NSNull()
            object["pendingShrink"] = s.pendingShrink.map {
                ["reasons": $0.reasons, "change": $0.change, "since": iso.string(from: $0.since),
                 "confirm": "reload once more (kill -HUP, or with --watch save a rule file again) to accept exactly these files"] as [String: Any]
            } ?? NSNull()
            object["files"] = s.census.files.mapValues { ["rules": $0.rules.count, "intents": $0.intents.count, "flows": $0.flows.count] }
            if let calls = try? await store.callStatus(at: Webhook.now()), !rules.engine.rules.services.isEmpty || !calls.isEmpty {
                // A call due for more than five minutes is stuck: the service is down or refuses it; see `kefu outbox --state pending`.
                object["services"] = Dictionary(uniqueKeysWithValues: Set(rules.engine.rules.services.map(\.name)).union(calls.keys).map { name in
                    let c = calls[name] ?? OutboxStatus(depth: 0, oldestAge: 0, scheduled: 0, counts: [:])
                    return (name, ["depth": c.depth, "oldestAgeSeconds": c.oldestAge, "waiting": c.scheduled, "stuck": c.oldestAge > 300,
                                   "byState": Dictionary(uniqueKeysWithValues: c.counts.map { ($0.key.rawValue, $0.value) })] as [String: Any])
                })
            }
        }
        if let outbox = try? await store.outboxStatus(at: Webhook.now()) {
            object["outbox"] = ["depth": outbox.depth, "oldestAgeSeconds": outbox.oldestAge, "scheduled": outbox.scheduled,
                                "byState": Dictionary(uniqueKeysWithValues: outbox.counts.map { ($0.key.rawValue, $0.value) }),
                                "sending": apiClient != nil ? "through WeChat's API"
                                    : "off: no API client (\(inAccountsFile ? "give the account an appsecret: in the accounts file" : "set KEFU_APPSECRET")); nothing is sent after the passive reply"] as [String: Any]
        }
        object["wechatAPI"] = alerts.status()
        return object
    }
}

/// Runs the services `make` builds from the account's live parts once the account is served (at
/// once for an account that started well; after the reload that brings it up otherwise).
struct WhenServing: Service {
    let host: AccountHost
    let make: @Sendable (AccountHost.Live) -> [any Service]

    func run() async throws {
        let live = await cancelWhenGracefulShutdown { await host.waitUntilServing() }
        guard let live else { return }
        let services = make(live)
        try await withThrowingDiscardingTaskGroup { group in
            for service in services { group.addTask { try await service.run() } }
        }
    }
}
