import Foundation
import KefuDialogue
import KefuRules
import KefuStore
import KefuWeChat
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The webhook's behaviour, free of HTTP framework types: a request's method, query and body in,
/// a status and body out. `KefuServer` wires it to Hummingbird.
///
/// The rules of the road, from WeChat's contract:
/// - a bad `signature` or `msg_signature` → 403; malformed, encrypted-without-key → 400;
///   oversize → 413; each with a one-line reason and no state changed;
/// - every push is answered exactly once: retries (same de-duplication key) wait for, or reuse,
///   the first answer, and each delivery is sealed afresh for its own request;
/// - one user's messages are handled in order;
/// - if the answer is not ready within the budget, or anything inside fails, the answer is
///   `success`: WeChat then shows nothing rather than its "service unavailable" banner.
public struct Webhook: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]

        static func text(_ status: Int, _ text: String) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }
    }

    let configuration: ServerConfiguration
    let endpoint: WeChatEndpoint
    let rules: LiveRules
    let metrics: ServerMetrics
    let replayGuard: ReplayGuard
    /// Each user's turns, exactly once by message and in order; nil result: the store failed and nothing of the turn was applied.
    let users: UserLines<Engine.Outcome?>
    let store: any ConversationStore
    let responder: Responder
    let logger: Logger
    /// Wakes the outbox worker when a turn queued something.
    let outboxWaiting: Signal
    /// The rule set's services.
    let services: ServiceCalls
    /// Takes call results outside a message's turn (no calls of its own).
    let finisher: Responder

    public init(configuration: ServerConfiguration, rules: LiveRules, metrics: ServerMetrics, store: any ConversationStore,
                logger: Logger, services: ServiceCalls) throws(WeChatError) {
        self.configuration = configuration
        self.store = store
        self.services = services
        let users = UserLines<Engine.Outcome?>(), waiting = Signal(), window = configuration.deduplicationWindowSeconds
        self.users = users
        outboxWaiting = waiting
        let finisher = Responder(store: store, window: window, tracksWindows: configuration.api != nil)
        self.finisher = finisher
        responder = Responder(store: store, window: window, tracksWindows: configuration.api != nil, calls: LiveCallRunner(transport: services),
                              onLateResult: { request, result, attempt, attempts in
            await Self.finishCall(request, result, attempt, attempts, users: users, finisher: finisher, rules: rules, waiting: waiting, logger: logger,
                                  metrics: metrics)
        })
        endpoint = try WeChatEndpoint(configuration.wechat)
        self.rules = rules
        self.metrics = metrics
        replayGuard = ReplayGuard(window: configuration.deduplicationWindowSeconds, maxEntries: configuration.memoryBudget.replayEntries)
        self.logger = logger
    }

    /// A call's result outside the turn that made it (it missed the wait; the outbox worker's try):
    /// taken in the customer's order; what it says goes out through the outbox.
    func finishCall(_ request: ServiceRequest, _ result: CallResult, _ attempt: Int, _ attempts: Int) async {
        await Self.finishCall(request, result, attempt, attempts, users: users, finisher: finisher, rules: rules, waiting: outboxWaiting, logger: logger,
                              metrics: metrics)
    }

    static func finishCall(_ request: ServiceRequest, _ result: CallResult, _ attempt: Int, _ attempts: Int, users: UserLines<Engine.Outcome?>, finisher: Responder,
                           rules: LiveRules, waiting: Signal, logger: Logger, metrics: ServerMetrics) async {
        await users.run(for: request.call.user) {
            do {
                if request.method.isWrite, result.isRetryable, attempt >= attempts {
                    metrics.serviceCallGivenUp(request.service)
                    logger.warning("a write was given up after its tries; the flow's failed: branch runs", metadata: [
                        "call": .string(request.summary), "tries": .string("\(attempts)"), "last": .string(result.summary), "user": .string(request.call.user)])
                }
                try await finisher.finishCall(request, result: result, attempt: attempt, attempts: attempts, engine: rules.engine, now: Webhook.now(),
                                              jitter: Responder.jitter(request))
                waiting.signal()
                logger.info("call result", metadata: ["call": .string(request.summary), "attempt": .string("\(attempt)"), "result": .string(result.summary),
                                                      "flow": .string(request.call.flow), "step": .string(request.call.step)])
            } catch {
                // Nothing of it was kept: the call's row is taken up again after its lease.
                logger.error("the store did not keep a call's result; the call is tried again later with the same key",
                             metadata: ["call": .string(request.summary), "error": .string("\(error)")])
            }
        }
    }

    /// GET: URL verification. The echo is sent back byte for byte.
    public func verify(query: [String: String]) -> Response {
        do {
            let echo = try endpoint.verifyURL(try SignedQuery(query), now: Self.now())
            metrics.request(mode: "verify", outcome: "reply")
            return .text(200, echo)
        } catch {
            return reject(error, mode: "verify")
        }
    }

    /// POST: a push.
    public func receive(query: [String: String], body: [UInt8]) async -> Response {
        let start = ContinuousClock.now
        defer { metrics.latency(ContinuousClock.now - start) }
        let opened: OpenedMessage
        do {
            opened = try endpoint.open(body, query: try SignedQuery(query), now: Self.now())
        } catch {
            return reject(error, mode: query["encrypt_type"] == "aes" ? "encrypted" : "plaintext")
        }
        let message = opened.message
        let mode = opened.mode.rawValue
        let engine = rules.engine
        let key = message.deduplicationKey
        let now = Self.now()
        let request = ReplayGuard.queryText(signature: opened.signature, timestamp: opened.timestamp, nonce: opened.nonce)
        if replayGuard.check(query: request, messageKey: key, now: now) == .forgery {
            return reject(status: 403, reason: "this signed query (signature, timestamp, nonce) was already used for another message: "
                          + "a replay with a changed body", code: -40001, mode: mode)
        }
        // With the API client, an answer that misses the budget goes out as customer-service messages.
        let gate: DeliveryGate? = configuration.sendsLateAnswers ? DeliveryGate() : nil
        // The turn runs in a task of its own (it goes on past the budget: its result is what a retry gets), on this
        // request's event loop; the request waits for it up to the budget, kept by a callback on the same loop.
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        let answer = PendingAnswer<(value: Engine.Outcome?, duplicate: Bool)>()
        Task(executorPreference: EventLoopExecutor.of(loop)) { [self] in
            answer.deliver(await users.run(key: key, user: message.fromUserName) { [self] () async -> Engine.Outcome? in
                // Test hook: slow rules (a stored answer is not slowed).
                if let delay = configuration.testDelay,
                   (try? await store.response(for: key, since: now - configuration.deduplicationWindowSeconds)) == nil {
                    try? await Task.sleep(for: delay)
                }
                do {
                    // Answered before (a retry after the first delivery finished, or before a restart): the stored answer.
                    let outcome = try await responder.respond(to: message, engine: engine, now: now, request: request, gate: gate)
                    if !outcome.queued.isEmpty { outboxWaiting.signal() }
                    if outcome.source != .remembered { record(outcome, message: message, mode: mode) }  // once per message, even past the budget
                    return outcome
                } catch is MessageInFlightElsewhere {
                    // Another instance is answering this very message (WeChat's retry came here): `success` now;
                    // WeChat's next retry gets that instance's answer from the store.
                    logger.notice("another instance is still answering this message; answered success, and WeChat's next retry gets its answer",
                                  metadata: ["user": .string(message.fromUserName), "msgType": .string(message.msgType)])
                    return Engine.Outcome(response: .success, source: .remembered)
                } catch {
                    // The store failed: nothing of the turn is applied (no answer computed without the
                    // user's session, nothing remembered), so WeChat's retry runs the turn again.
                    metrics.storeFailure()
                    logger.error("the store did not load or save the turn; answered success and kept nothing, so the retry runs it again",
                                 metadata: ["error": .string("\(error)"), "user": .string(message.fromUserName)])
                    return nil
                }
            })
        }
        var result = await answer.value(within: configuration.budget, on: loop)
        if result == nil, let gate, !gate.claimLate() {
            // The turn claimed the passive reply just in time and is being committed: wait for it (briefly).
            result = await answer.value(within: configuration.commitGrace, on: loop)
        }
        guard let (finished, sharedResult) = result else {
            if let gate, gate.claimLate() {
                metrics.request(mode: mode, outcome: "late")
                logger.notice("answer not ready within the budget; sent success, and the answer goes out through customer-service messages when ready", metadata: [
                    "user": .string(message.fromUserName), "msgType": .string(message.msgType), "budget": .string("\(configuration.budget)")])
                return .text(200, "success")
            }
            metrics.request(mode: mode, outcome: "deadline")
            logger.warning("answer not ready within the budget; sent success", metadata: [
                "user": .string(message.fromUserName), "msgType": .string(message.msgType),
                "budget": .string("\(configuration.budget)")])
            return .text(200, "success")
        }
        guard let outcome = finished else {
            metrics.request(mode: mode, outcome: "store-unavailable")
            return .text(200, "success")
        }
        let duplicate = sharedResult || outcome.source == .remembered
        do {
            let sealed = try endpoint.seal(outcome.response, for: opened, timestamp: Self.now(), nonce: opened.nonce)
            metrics.request(mode: mode, outcome: duplicate ? "duplicate" : (outcome.response == .success ? "success" : "reply"))
            return Response(status: 200, contentType: outcome.response == .success ? "text/plain; charset=utf-8" : "application/xml; charset=utf-8",
                            body: sealed)
        } catch {
            metrics.request(mode: mode, outcome: "error")
            logger.error("could not seal the reply; sent success", metadata: ["error": .string("\(error)"), "user": .string(message.fromUserName)])
            return .text(200, "success")
        }
    }

    func record(_ outcome: Engine.Outcome, message: InboundMessage, mode: String) {
        switch outcome.source {
        case .rule(let id, _): metrics.ruleHit(id)
        case .defaultReply: metrics.defaultReply()
        case .flow(let name, let event): metrics.flowEvent(name, event)
        case .subscribeReply, .noReply, .remembered, .interrupt, .handedOff: break
        }
        var metadata: Logger.Metadata = ["user": .string(message.fromUserName), "msgType": .string(message.msgType), "mode": .string(mode)]
        switch outcome.source {
        case .rule(_, let kind): metadata["kind"] = .string(kind.rawValue)
        case .noReply(let reason): metadata["noReply"] = .string(reason)
        case .flow(_, let event): metadata["flowEvent"] = .string("\(event)")
        default: break
        }
        if !outcome.answeredBy.isEmpty { metadata["rule"] = .string(outcome.answeredBy) }
        if let flow = outcome.flow { metadata["flow"] = .string(flow); metadata["step"] = .string(outcome.step ?? "") }
        if let intent = outcome.intent { metadata["intent"] = .string(intent) }
        if let call = outcome.callSummary { metadata["call"] = .string(call) }
        logger.info("answered", metadata: metadata)
    }

    /// Ends a user's hand-off (the console's 交还机器人), in the user's queue: the bot answers their
    /// next message. False if they were not handed off. With a shared store, a session another
    /// instance moved meanwhile is read again.
    public func handBack(_ user: String) async throws -> Bool {
        let store = responder.store
        let failure = await users.run(for: user) { () async -> Result<Bool, any Error> in
            do {
                for _ in 0..<4 {
                    let stored = try await store.loadSession(for: user)
                    guard var session = stored.session, (session.pausedUntil ?? 0) > Self.now() else { return .success(false) }
                    session.pausedUntil = nil
                    session.updatedAt = Self.now()
                    if try await store.replaceSession(session.isEmpty ? nil : session, for: user, ifVersion: stored.version) { return .success(true) }
                }
                return .failure(SessionConflict(user: user))
            } catch { return .failure(error) }
        }
        return try failure.get()
    }

    /// Cleans up due sessions (expired flows, ended pauses), each in its user's queue.
    public func tidySessions() async throws -> Int {
        let users = self.users
        return try await responder.tidy(engine: rules.engine, now: Self.now()) { user, work in
            let failure = await users.run(for: user) { () async -> (any Error)? in
                do { try await work(); return nil } catch { return error }
            }
            if let failure { throw failure }
        }
    }

    /// 403 for signatures, freshness and refused modes, 413 for size, 400 for the rest; one line that names the problem.
    func reject(_ error: WeChatError, mode: String) -> Response {
        let status: Int
        switch error {
        case .signatureMismatch, .staleTimestamp, .modeRefused: status = 403
        case .bodyTooLarge: status = 413
        default: status = 400
        }
        return reject(status: status, reason: error.description, code: error.code, mode: mode)
    }

    /// Every refusal, the webhook's own and the connection layer's: counted, logged once, answered with its reason.
    /// `code`: the WXBizMsgCrypt code of the family, when one applies.
    func reject(status: Int, reason: String, code: Int?, mode: String) -> Response {
        metrics.request(mode: mode, outcome: "rejected-\(status)")
        var metadata: Logger.Metadata = ["status": .string("\(status)"), "reason": .string(reason)]
        if let code { metadata["code"] = .string("\(code)") }
        logger.notice("request refused", metadata: metadata)
        return .text(status, reason + "\n")
    }

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

/// A wake-up call for a worker that otherwise sleeps until its next round.
final class Signal: Sendable {
    private let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let pending = Mutex(false)

    func signal() {
        let continuation = waiter.withLock { w -> CheckedContinuation<Void, Never>? in defer { w = nil }; return w }
        if let continuation { continuation.resume() } else { pending.withLock { $0 = true } }
    }

    /// Returns at the next signal (or at once if one came since the last wait), or after `timeout`.
    func wait(timeout: Duration) async {
        if pending.withLock({ p in defer { p = false }; return p }) { return }
        let once = Once()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.withLock { $0 = continuation }
            if pending.withLock({ p in defer { p = false }; return p }) {
                if let c = waiter.withLock({ w -> CheckedContinuation<Void, Never>? in defer { w = nil }; return w }) { c.resume() }
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                if let c = waiter.withLock({ w -> CheckedContinuation<Void, Never>? in
                    guard once.claim() else { return nil }
                    defer { w = nil }; return w
                }) { c.resume() }
            }
        }
    }
}

/// True for the first caller of ``claim()`` only.
final class Once: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool {
        claimed.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
