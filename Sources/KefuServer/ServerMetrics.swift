import KefuDialogue
import KefuRules
import Prometheus
import Synchronization

/// What `/metrics` exposes, in Prometheus' text format. One registry per server (no global
/// bootstrap, so tests can run several servers in one process).
///
/// Each account's work is counted through its own instance (``forAccount(_:)``), which shares the
/// registry and puts `account="<appid>"` first on every series it makes; the process-wide instance
/// (no account) only counts connections (`kefu_connections_*`), which belong to no account.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The `account` label of every series this instance makes (nil: the process-wide instance).
    public let account: String?
    /// Metrics already made, by name and labels: the registry's own look-up (descriptor, label
    /// hashing, its lock) is too dear to repeat on every request.
    private let counters = Mutex<[String: Counter]>([:])
    /// Per account (the process-wide instance times no requests: a family is either labelled or not).
    private let latencyHistogram: DurationHistogram?

    public convenience init() { self.init(registry: PrometheusCollectorRegistry(), account: nil) }

    /// The metrics of one account, in the same registry.
    public func forAccount(_ account: String) -> ServerMetrics { ServerMetrics(registry: registry, account: account) }

    init(registry: PrometheusCollectorRegistry, account: String?) {
        self.registry = registry
        self.account = account
        latencyHistogram = account.map { account in registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Time to answer a webhook request"), labels: [("account", account)],
            buckets: [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                      .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(4.5)]) }
    }

    /// `labels` with the account's first.
    func labelled(_ labels: [(String, String)]) -> [(String, String)] {
        guard let account else { return labels }
        return [("account", account)] + labels
    }

    func counter(_ key: String, _ make: () -> Counter) -> Counter {
        if let known = counters.withLock({ $0[key] }) { return known }
        let made = make()
        counters.withLock { $0[key] = made }
        return made
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kefu", metricName: metric, unitName: unit, helpText: help)
    }

    /// Requests by mode (plaintext, compatible, secure, verify, -) and outcome (reply, success,
    /// duplicate, deadline, error, rejected-403, rejected-400, rejected-413).
    public func request(mode: String, outcome: String) {
        counter("requests|\(mode)|\(outcome)") {
            registry.makeCounter(descriptor: Self.name("requests", "total", "Webhook requests by mode and outcome"),
                                 labels: labelled([("mode", mode), ("outcome", outcome)]))
        }.increment()
    }

    public func latency(_ duration: Duration) {
        latencyHistogram?.record(duration)
    }

    public func ruleHit(_ id: String) {
        counter("rule|\(id)") {
            registry.makeCounter(descriptor: Self.name("rule_hits", "total", "Messages answered by each rule"), labels: labelled([("rule", id)]))
        }.increment()
    }

    public func defaultReply() {
        counter("default") {
            registry.makeCounter(descriptor: Self.name("default_replies", "total", "Text messages no rule matched"), labels: labelled([]))
        }.increment()
    }

    /// Flow events by flow and kind (started, filled, reasked, digression, changing, done, cancelled, handedOff, failed).
    public func flowEvent(_ flow: String, _ event: Engine.FlowEvent) {
        let kind = event.name
        counter("flow|\(flow)|\(kind)") {
            registry.makeCounter(descriptor: Self.name("flow_events", "total", "What flows did with messages"),
                                 labels: labelled([("flow", flow), ("event", kind)]))
        }.increment()
    }

    public func reload(ok: Bool) { reload(result: ok ? "ok" : "failed") }

    /// Reloads by result: ok, failed (errors, or a file still being written), refused-gate, refused-shrink.
    public func reload(result: String) {
        registry.makeCounter(descriptor: Self.name("reloads", "total", "Rule-set reloads by result"),
                             labels: labelled([("result", result)])).increment()
    }

    /// Turns the store did not load or save in time (answered `success`, nothing applied, the retry runs again).
    public func storeFailure() {
        registry.makeCounter(descriptor: Self.name("store_failures", "total", "Turns not applied because the store failed"), labels: labelled([])).increment()
    }

    /// Entries the memory budget dropped before their window ended (lookups then read the disk).
    public func memoryPressure(_ what: String) {
        registry.makeCounter(descriptor: Self.name("memory_budget_drops", "total", "Remembered entries dropped early by the memory budget"),
                             labels: labelled([("what", what)])).increment()
    }

    /// Clean-up work: answers forgotten, log lines deleted by retention, sessions tidied.
    public func cleanedUp(_ what: String, _ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.name("cleanup", "total", "Rows removed or changed by the clean-up"),
                             labels: labelled([("what", what)])).increment(by: Int64(count))
    }

    /// How many entries the in-memory indexes hold now (answers, queries, cached sessions).
    public func remembered(_ what: String, _ count: Int) {
        registry.makeGauge(descriptor: Self.name("remembered", "entries", "Entries held in memory by kind"), labels: labelled([("what", what)]))
            .set(Int64(count))
    }

    /// The outbox: messages due and not yet sent, and how long the oldest has waited.
    public func outbox(_ status: OutboxStatus) {
        registry.makeGauge(descriptor: Self.name("outbox_depth", "messages", "Outbox messages due and not yet sent"), labels: labelled([])).set(Double(status.depth))
        registry.makeGauge(descriptor: Self.name("outbox_oldest_age", "seconds", "How long the oldest due outbox message has waited"), labels: labelled([]))
            .set(Double(status.oldestAge))
        registry.makeGauge(descriptor: Self.name("outbox_scheduled", "messages", "Outbox messages scheduled for later"), labels: labelled([])).set(Double(status.scheduled))
    }

    /// One outbox message done: sent, failed, unknown or skipped, by kind (part, late, scheduled).
    public func outboxResult(_ result: String, kind: String) {
        counter("outbox|\(result)|\(kind)") {
            registry.makeCounter(descriptor: Self.name("outbox_messages", "total", "Outbox messages by result and kind"),
                                 labels: labelled([("result", result), ("kind", kind)]))
        }.increment()
    }

    /// WeChat API errors the operator must act on (40164 IP not whitelisted, 40125 AppSecret, 45009 quota …).
    public func apiAlert(code: Int) {
        counter("alert|\(code)") {
            registry.makeCounter(descriptor: Self.name("wechat_api_alerts", "total", "WeChat API errors that need the operator, by errcode"),
                                 labels: labelled([("errcode", "\(code)")]))
        }.increment()
    }

    /// Access tokens fetched from WeChat by this process (the per-message path fetches none).
    public func tokenFetches(_ total: Int) {
        registry.makeGauge(descriptor: Self.name("wechat_api_token_fetches", "", "Access tokens fetched from WeChat by this process"), labels: labelled([]))
            .set(Double(total))
    }

    public func text() -> String { registry.emitToString() }

    // MARK: connections (ConnectionLimits)

    private let openConnections = Mutex<[String: Gauge]>([:])

    /// The webhook's series are `kefu_connections_*`; another listener's carry its name (`kefu_admin_connections_*`).
    private static func connectionName(_ name: String, _ listener: String) -> String {
        listener == "webhook" ? name : "\(listener)_\(name)"
    }

    /// `kefu_connections_open`: connections holding a place under --max-connections.
    public func connectionsOpen(_ count: Int, listener: String = "webhook") {
        let gauge = openConnections.withLock { gauges -> Gauge in
            if let gauge = gauges[listener] { return gauge }
            let made = registry.makeGauge(descriptor: Self.name(Self.connectionName("connections_open", listener), "",
                                                                "Open connections (at most --max-connections; the admin listener's at most \(ServerConfiguration.adminMaxConnections))"))
            gauges[listener] = made
            return made
        }
        gauge.set(Int64(count))
    }

    /// At the connection limit with every connection busy: a new connection answered 503.
    public func connectionRefused(listener: String = "webhook") {
        counter("connections|refused|\(listener)") {
            registry.makeCounter(descriptor: Self.name(Self.connectionName("connections_refused", listener), "total",
                                                       "New connections answered 503 at the connection limit (every connection had a request in progress)"), labels: [])
        }.increment()
    }

    /// At the connection limit: the longest-idle connection closed to make room for a new one.
    public func connectionDisplaced(listener: String = "webhook") {
        counter("connections|displaced|\(listener)") {
            registry.makeCounter(descriptor: Self.name(Self.connectionName("connections_displaced", listener), "total",
                                                       "Idle connections closed at the connection limit to make room for a new one"), labels: [])
        }.increment()
    }

    /// A connection closed by a timeout: phase header, body (answered 408) or idle.
    public func connectionTimedOut(phase: String, listener: String = "webhook") {
        counter("timeout|\(phase)|\(listener)") {
            registry.makeCounter(descriptor: Self.name(Self.connectionName("connection_timeouts", listener), "total",
                                                       "Connections closed by --header-timeout, --body-timeout or --idle-timeout"),
                                 labels: [("phase", phase)])
        }.increment()
    }

}

extension ServerMetrics {
    /// One try of a call: its latency by service, and its outcome (`2xx`, `404`, `5xx`, `timeout`, `network`).
    public func serviceCall(_ service: String, _ result: CallResult) {
        let outcome: String = switch result.kind {
        case .response(let status, _): (200...299).contains(status) ? "2xx" : (500...599).contains(status) ? "5xx" : String(status)
        case .timeout: "timeout"
        case .network: "network"
        case .gaveUp: "gave-up"
        }
        counter("service_calls|\(service)|\(outcome)") {
            registry.makeCounter(descriptor: Self.serviceName("service_calls", "total", "Tries of calls to the rule set's services, by service and outcome"),
                                 labels: labelled([("service", service), ("outcome", outcome)]))
        }.increment()
        registry.makeDurationHistogram(
            descriptor: Self.serviceName("service_call_duration", "seconds", "Time of one try of a call, by service"), labels: labelled([("service", service)]),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(3),
                      .seconds(5), .seconds(15)]).record(.milliseconds(result.latencyMs))
    }

    /// A write Kefu gave up on after its tries (its `failed:` branch ran).
    public func serviceCallGivenUp(_ service: String) {
        counter("service_calls_given_up|\(service)") {
            registry.makeCounter(descriptor: Self.serviceName("service_calls_given_up", "total", "Writes given up after their tries (the failed: branch ran), by service"),
                                 labels: labelled([("service", service)]))
        }.increment()
    }

    /// The call rows of the outbox, by service: due and waiting, and how long the oldest has waited.
    public func serviceOutbox(_ status: [String: OutboxStatus]) {
        for (service, s) in status {
            registry.makeGauge(descriptor: Self.serviceName("service_outbox_depth", "calls", "Calls due and not yet done, by service"),
                               labels: labelled([("service", service)])).set(Double(s.depth))
            registry.makeGauge(descriptor: Self.serviceName("service_outbox_oldest_age", "seconds", "How long the oldest due call has waited, by service"),
                               labels: labelled([("service", service)])).set(Double(s.oldestAge))
        }
    }

    fileprivate static func serviceName(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kefu", metricName: metric, unitName: unit, helpText: help)
    }
}
