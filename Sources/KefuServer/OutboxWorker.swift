import KefuDialogue
import Logging
import ServiceLifecycle

/// The outbox worker: a Service in the server's group. At start it settles what a crash left
/// `sending` (unknown, never sent again blindly; template messages, which WeChat de-duplicates by
/// client_msg_id, are sent again within 10 minutes); then it sends due messages in rounds — woken
/// at once when a turn queues one, else every `interval` — until the server shuts down.
struct OutboxWorker: Service {
    let dispatcher: OutboxDispatcher
    let wake: Signal
    let interval: Duration
    let metrics: ServerMetrics
    let logger: Logger
    let now: @Sendable () -> Int64

    /// WeChat keeps a template message's client_msg_id about 10 minutes.
    static let templateDeduplication: Int64 = 600
    /// With a shared store: how often rows of stopped instances are looked for (seconds).
    static let recoveryInterval: Int64 = 10

    func run() async throws {
        do {
            let recovered = try await dispatcher.store.recoverOutbox(at: now(), resendTemplatesWithin: Self.templateDeduplication)
            if recovered.unknown > 0 {
                logger.warning("the server stopped while sending outbox messages: whether WeChat delivered them is unknown, so they are not sent again (see /status)",
                               metadata: ["unknown": .string("\(recovered.unknown)"), "templatesResent": .string("\(recovered.resent)")])
            }
        } catch {
            logger.error("could not read the outbox at start; the worker tries again each round", metadata: ["error": .string("\(error)")])
        }
        await cancelWhenGracefulShutdown {
            var nextRecovery = now() + Self.recoveryInterval
            while !Task.isCancelled {
                var busy = false
                if dispatcher.store.isShared, now() >= nextRecovery {
                    // Several instances: rows another instance left `sending` when it stopped are settled by whoever is still up.
                    nextRecovery = now() + Self.recoveryInterval
                    if let recovered = try? await dispatcher.store.recoverOutbox(at: now(), resendTemplatesWithin: Self.templateDeduplication),
                       recovered.unknown + recovered.resent > 0 {
                        logger.warning("another instance stopped while sending outbox messages: whether WeChat delivered them is unknown, so they are not sent again",
                                       metadata: ["unknown": .string("\(recovered.unknown)"), "templatesResent": .string("\(recovered.resent)")])
                    }
                }
                do {
                    let round = try await dispatcher.run(at: now())
                    busy = !round.isEmpty && round.deferred == 0
                    report(round)
                    metrics.outbox(try await dispatcher.store.outboxStatus(at: now()))
                    metrics.serviceOutbox(try await dispatcher.store.callStatus(at: now()))
                } catch {
                    logger.error("the outbox round failed; it is tried again", metadata: ["error": .string("\(error)")])
                }
                if !busy { await wake.wait(timeout: interval) }
            }
        }
    }

    func report(_ round: OutboxDispatcher.Round) {
        for entry in round.sent { metrics.outboxResult("sent", kind: entry.message.kind.rawValue) }
        for (result, entries) in [("failed", round.failed), ("unknown", round.unknown), ("skipped", round.skipped)] {
            for entry in entries {
                metrics.outboxResult(result, kind: entry.message.kind.rawValue)
                let metadata: Logger.Metadata = ["user": .string(entry.message.user), "kind": .string(entry.message.kind.rawValue),
                                                 "id": .string("\(entry.id)"), "detail": .string(entry.detail ?? "")]
                switch result {
                case "unknown": logger.warning("an outbox message may or may not have reached the customer; it is not sent again", metadata: metadata)
                case "failed": logger.warning("WeChat refused an outbox message; it is not sent again", metadata: metadata)
                default: logger.info("an outbox message was not sent", metadata: metadata)
                }
            }
        }
    }
}

/// A loop of the server (the clean-up, the rule-file watcher) as a Service: runs `body` every
/// `interval` until the server shuts down.
struct PeriodicService: Service {
    let interval: Duration
    /// Run once at start too.
    var immediately = false
    let body: @Sendable () async -> Void

    init(interval: Duration, immediately: Bool = false, body: @escaping @Sendable () async -> Void) {
        self.interval = interval; self.immediately = immediately; self.body = body
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if immediately { await body() }
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await body()
            }
        }
    }
}
