import Foundation
import Hummingbird
import KefuCorpus
import KefuDialogue
import KefuRules
import KefuStore
import KefuWeChat
import Logging
import UnixSignals

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

    public init(_ configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        rules = try LiveRules(directory: configuration.rulesDirectory)
        gate = try configuration.gate.map { try CorpusGate(paths: [$0]) }
        switch configuration.store {
        case .memory: store = MemoryStore()
        case .sqlite(let path):
            let sqlite = try SQLiteStore(path: path)
            // Answers of the window before a restart, so retries are found without reading the disk.
            try sqlite.warmUp(answersSince: Webhook.now() - Int64(configuration.deduplicationWindow.components.seconds))
            store = sqlite
        }
        webhook = try Webhook(configuration: configuration, rules: rules, metrics: metrics, store: store, logger: logger)
    }

    /// The starting rule set against the gate's corpus: nil if it passes (or there is no gate).
    public func checkGate() async -> String? {
        guard let gate else { return nil }
        return await gate.check(rules.engine.rules)
    }

    /// Compiles the rule set again; keeps the old one if the new one has errors or fails the gate.
    public func reload(reason: String) async {
        if let failure = await rules.reload(gate: gate) {
            metrics.reload(ok: false)
            switch failure {
            case .compile(let error):
                logger.error("reload failed; still serving the previous rule set", metadata: [
                    "reason": .string(reason), "errors": .string("\(error.diagnostics.count)"),
                    "first": .string(error.diagnostics.first?.render() ?? "")])
            case .gate(let why):
                logger.error("reload refused by the corpus gate; still serving the previous rule set", metadata: [
                    "reason": .string(reason), "gate": .string(why)])
            }
        } else {
            metrics.reload(ok: true)
            logger.info("rule set reloaded", metadata: ["reason": .string(reason), "rules": .string("\(rules.status.ruleCount)")])
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
        router.get("readyz") { _, _ in "ready: \(rules.status.ruleCount) rules\n" }
        router.get("status") { _, _ -> Response in
            let s = rules.status
            var object: [String: Any] = ["rules": rules.directory, "ruleCount": s.ruleCount, "reloads": s.reloads,
                                         "loadedAt": ISO8601DateFormatter().string(from: s.loadedAt)]
            object["lastReloadError"] = s.lastReloadError ?? NSNull()
            object["lastReloadAt"] = s.lastReloadAt.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull()
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
        let app = Application(
            router: router(),
            server: limits.http1(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kefu"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        let reloader = Task { [self] in
            for await _ in await UnixSignalsSequence(trapping: .sighup) { await reload(reason: "SIGHUP") }
        }
        let watcher = Task { [self] in
            guard configuration.watch else { return }
            var last = rules.fingerprint()
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.watchInterval)
                let now = rules.fingerprint()
                if now != last { last = now; await reload(reason: "files changed") }
            }
        }
        let purger = Task { [store, configuration, webhook, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.cleanupInterval)
                do {
                    try await store.purgeAnswers(before: Webhook.now() - Int64(configuration.deduplicationWindow.components.seconds))
                    let tidied = try await webhook.tidySessions()
                    if tidied > 0 { logger.debug("sessions cleaned up", metadata: ["count": .string("\(tidied)")]) }
                } catch {
                    logger.error("clean-up of old answers and sessions failed", metadata: ["error": .string("\(error)")])
                }
            }
        }
        defer { reloader.cancel(); watcher.cancel(); purger.cancel() }
        try await app.runService()
    }

}
