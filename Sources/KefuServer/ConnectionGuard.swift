import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Timeouts and the connection limit of `kefu serve` (issue 11): every connection is in one phase
/// at a time, and each phase has a deadline.
///
/// - waiting for a request head (from accept, or from the first byte after a keep-alive pause):
///   `headerTimeout`; past it the connection is closed (with a 408 and its reason if part of a head came);
/// - reading a body (from the head): `bodyTimeout`; past it the route answers 408 with its reason and the
///   connection is closed;
/// - answering: no deadline here (the webhook's budget bounds it);
/// - idle between keep-alive requests: `idleTimeout`; past it the connection is closed.
///
/// At most `maxConnections` are open. A new connection beyond the limit takes the place of the one that
/// has waited longest without a request in progress (idle sockets cannot lock WeChat out); if every
/// connection has a request in progress, the new one is answered 503 and closed at once.
public final class ConnectionLimits: Sendable {
    public struct Settings: Sendable {
        public var headerTimeout: Duration
        public var bodyTimeout: Duration
        public var idleTimeout: Duration
        public var maxConnections: Int
    }

    public let settings: Settings
    /// Which listener these limits guard: `webhook`, or `admin` (whose counters are `kefu_admin_connections_*`,
    /// so the webhook's stay its own).
    public let listener: String
    let metrics: ServerMetrics
    let logger: Logger
    private let table: Mutex<Table>
    /// At most one "connection limit reached" line per this interval (a flood must not flood the log).
    static let logInterval = TimeAmount.seconds(10)

    struct Table {
        struct Entry {
            let channel: any Channel
            /// When it last became free to close (no request in progress); nil while a request is in progress.
            var idleSince: NIODeadline?
        }
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var lastLog: NIODeadline?
        var idleClosedSinceLog = 0
        var refusedSinceLog = 0
    }

    public init(_ settings: Settings, listener: String = "webhook", metrics: ServerMetrics, logger: Logger) {
        self.settings = settings
        self.listener = listener
        self.metrics = metrics
        self.logger = logger
        table = Mutex(Table())
    }

    enum Admission {
        case admitted(id: UInt64, displaced: (any Channel)?)
        case refused
    }

    /// A new connection: a place in the table, possibly taken from the longest-idle connection.
    func admit(_ channel: any Channel) -> Admission {
        let now = NIODeadline.now()
        let limit = settings.maxConnections
        let (admission, open, logLine) = table.withLock { table -> (Admission, Int, (idleClosed: Int, refused: Int)?) in
            var displaced: (any Channel)?
            if table.entries.count >= limit {
                var oldest: (id: UInt64, since: NIODeadline)?
                for (id, entry) in table.entries {
                    if let since = entry.idleSince, since < (oldest?.since ?? .distantFuture) { oldest = (id, since) }
                }
                guard let oldest else {
                    table.refusedSinceLog += 1
                    return (.refused, table.entries.count, Self.takeLogLine(&table, now))
                }
                displaced = table.entries.removeValue(forKey: oldest.id)?.channel
                table.idleClosedSinceLog += 1
            }
            let id = table.nextID
            table.nextID += 1
            table.entries[id] = Table.Entry(channel: channel, idleSince: now)
            return (.admitted(id: id, displaced: displaced), table.entries.count,
                    displaced == nil ? nil : Self.takeLogLine(&table, now))
        }
        metrics.connectionsOpen(open, listener: listener)
        switch admission {
        case .refused: metrics.connectionRefused(listener: listener)
        case .admitted(_, let displaced): if displaced != nil { metrics.connectionDisplaced(listener: listener) }
        }
        if let logLine {
            logger.notice("connection limit reached: new connections take the place of the longest-idle ones, or get 503 while every connection has a request in progress; if this is real traffic, raise --max-connections (and the descriptor limit)", metadata: [
                "listener": .string(listener), "limit": .string("\(limit)"), "open": .string("\(open)"),
                "idleClosed": .string("\(logLine.idleClosed)"), "refused": .string("\(logLine.refused)")])
        }
        return admission
    }

    /// The counts for a log line if the last one is older than ``logInterval`` (and resets them).
    private static func takeLogLine(_ table: inout Table, _ now: NIODeadline) -> (idleClosed: Int, refused: Int)? {
        if let last = table.lastLog, now - last < logInterval { return nil }
        defer { table.lastLog = now; table.idleClosedSinceLog = 0; table.refusedSinceLog = 0 }
        return (table.idleClosedSinceLog, table.refusedSinceLog)
    }

    func markBusy(_ id: UInt64) {
        table.withLock { $0.entries[id]?.idleSince = nil }
    }

    func markIdle(_ id: UInt64) {
        let now = NIODeadline.now()
        table.withLock { $0.entries[id]?.idleSince = now }
    }

    func remove(_ id: UInt64) {
        let open = table.withLock { table -> Int? in
            table.entries.removeValue(forKey: id) == nil ? nil : table.entries.count
        }
        if let open { metrics.connectionsOpen(open, listener: listener) }
    }

    /// Hummingbird's HTTP/1 channel with a ``ConnectionGuard`` in front of the HTTP decoder and a
    /// ``RequestPhaseHandler`` behind it.
    ///
    /// `onEventLoop`: each connection's requests run on its event loop (the webhook: short turns, no blocking work;
    /// not the admin listener, whose pages may count for seconds).
    public func http1(onEventLoop: Bool = false) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                http1: HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [RequestPhaseHandler()])),
                limits: self, onEventLoop: onEventLoop)
        }
    }

    /// "10 s", "1.5 s".
    static func seconds(_ duration: Duration) -> String {
        let (s, attoseconds) = duration.components
        if attoseconds == 0 { return "\(s) s" }
        let value = Double(s) + Double(attoseconds) / 1e18
        return "\((value * 1000).rounded() / 1000) s"
    }
}

/// Why a request body did not arrive whole: thrown by the body stream (see ``RequestPhaseHandler``).
enum BodyFailure: Error, CustomStringConvertible {
    /// The body was not complete within the body timeout.
    case timedOut(after: Duration, received: Int, expected: Int?)
    /// The client closed the connection (or its sending side) before the body was complete.
    case endedEarly(received: Int, expected: Int?)

    static func of(_ received: Int, _ expected: Int?) -> String {
        expected.map { "\(received) of \($0) bytes" } ?? "\(received) bytes"
    }

    var description: String {
        switch self {
        case .timedOut(let after, let received, let expected):
            "the request body did not arrive within \(ConnectionLimits.seconds(after)) (\(Self.of(received, expected)) received)"
        case .endedEarly(let received, let expected):
            "the client closed the connection before the request body was complete (\(Self.of(received, expected)) received)"
        }
    }
}

/// `HTTP1Channel` with a ``ConnectionGuard`` added first in the pipeline (before the HTTP decoder).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let http1: HTTP1Channel
    let limits: ConnectionLimits
    let onEventLoop: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let added = channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits), position: .first)
        }
        return added.flatMap { http1.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        guard onEventLoop else { return await http1.handle(value: value, logger: logger) }
        await withTaskExecutorPreference(EventLoopExecutor.of(value.channel.eventLoop)) {
            await http1.handle(value: value, logger: logger)
        }
    }
}

/// First in a connection's pipeline: sees raw bytes, keeps the connection's phase and its deadline,
/// holds its place in the ``ConnectionLimits`` table, and writes the raw 408/503 answers no route gives.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Phase {
        /// Waiting for a request head; `started` once a byte of it came.
        case awaitingHead(started: Bool)
        case readingBody(received: Int, expected: Int?)
        case answering
        case idle
        /// Refused, timed out or otherwise on its way out.
        case closing
    }

    let limits: ConnectionLimits
    var phase = Phase.awaitingHead(started: false)
    var deadline: NIODeadline?
    var timer: Scheduled<Void>?
    var timerAt = NIODeadline.distantFuture
    var id: UInt64?
    var active = false
    /// Requests whose head came and whose response has not ended (more than one when pipelined).
    var inFlight = 0
    /// Close once the response being written ends (after a body timeout).
    var closeAfterResponse = false
    var context: ChannelHandlerContext?
    /// The ``RequestPhaseHandler``'s context: errors for the body stream are fired from there.
    var phaseContext: ChannelHandlerContext?

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { activate(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
        phaseContext = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !active else { return }
        active = true
        switch limits.admit(context.channel) {
        case .admitted(let id, let displaced):
            self.id = id
            displaced?.close(promise: nil)
            deadline = .now() + limits.settings.headerTimeout.timeAmount
            arm(context)
        case .refused:
            phase = .closing
            answerAndClose(context, status: "503 Service Unavailable", extra: "Retry-After: 1\r\n",
                           reason: "too many connections: all \(limits.settings.maxConnections) have a request in progress; try again")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        if let id { limits.remove(id); self.id = nil }
        phase = .closing
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .closing where id == nil || !closeAfterResponse:
            // Refused, or timed out before a head: nothing more is read from it.
            return
        case .idle:
            phase = .awaitingHead(started: true)
            deadline = .now() + limits.settings.headerTimeout.timeAmount
            arm(context)
        case .awaitingHead(started: false):
            phase = .awaitingHead(started: true)
        default:
            break
        }
        context.fireChannelRead(data)
    }

    // MARK: what the RequestPhaseHandler reports

    func headArrived(expected: Int?) {
        inFlight += 1
        if inFlight == 1, let id { limits.markBusy(id) }
        if case .closing = phase { return }
        phase = .readingBody(received: 0, expected: expected)
        deadline = .now() + limits.settings.bodyTimeout.timeAmount
        if let context { arm(context) }
    }

    func bodyArrived(bytes: Int) {
        if case .readingBody(let received, let expected) = phase { phase = .readingBody(received: received + bytes, expected: expected) }
    }

    func endArrived() {
        if case .readingBody = phase { phase = .answering; deadline = nil }
    }

    /// The failure to give the body stream instead of `error`, if the body was being read.
    func bodyFailure(for error: any Error) -> BodyFailure? {
        guard case .readingBody(let received, let expected) = phase else { return nil }
        if error is BodyFailure { return nil }
        // A malformed body (a bad chunk, say) is the client's error, not an early end: the route answers 400.
        if let parse = error as? HTTPParserError, parse != .invalidEOFState { return nil }
        phase = .answering
        deadline = nil
        return .endedEarly(received: received, expected: expected)
    }

    /// A response ended; true if the connection must close after it.
    func responseEnded() -> Bool {
        inFlight = max(0, inFlight - 1)
        if closeAfterResponse { return true }
        if inFlight == 0, case .answering = phase {
            phase = .idle
            if let id { limits.markIdle(id) }
            deadline = .now() + limits.settings.idleTimeout.timeAmount
            if let context { arm(context) }
        }
        return false
    }

    // MARK: the deadline

    private func arm(_ context: ChannelHandlerContext) {
        guard let deadline else { return }
        // A timer that fires earlier checks the deadline again and re-arms itself.
        if timer != nil, timerAt <= deadline { return }
        timer?.cancel()
        timerAt = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerAt = .distantFuture
            expire(context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerAt = .distantFuture
    }

    private func expire(_ context: ChannelHandlerContext) {
        guard let deadline, active else { return }
        if NIODeadline.now() < deadline { arm(context); return }
        self.deadline = nil
        let settings = limits.settings
        switch phase {
        case .awaitingHead(let started):
            limits.metrics.connectionTimedOut(phase: "header", listener: limits.listener)
            phase = .closing
            limits.logger.debug("connection closed: no complete request head in time", metadata: [
                "timeout": .string(ConnectionLimits.seconds(settings.headerTimeout)), "partial": .string("\(started)")])
            if started {
                answerAndClose(context, status: "408 Request Timeout", extra: "",
                               reason: "the request head did not arrive within \(ConnectionLimits.seconds(settings.headerTimeout))")
            } else {
                context.close(promise: nil)
            }
        case .idle:
            limits.metrics.connectionTimedOut(phase: "idle", listener: limits.listener)
            phase = .closing
            context.close(promise: nil)
        case .readingBody(let received, let expected):
            limits.metrics.connectionTimedOut(phase: "body", listener: limits.listener)
            phase = .closing
            closeAfterResponse = true
            // The route answers 408 with this reason; if nothing answers within a grace period, close anyway.
            (phaseContext ?? context).fireErrorCaught(BodyFailure.timedOut(after: settings.bodyTimeout, received: received, expected: expected))
            self.deadline = .now() + .seconds(2)
            arm(context)
        case .closing:
            context.close(promise: nil)
        case .answering:
            break
        }
    }

    /// A raw HTTP/1.1 answer written below the HTTP encoder (nothing else is being written), then close.
    private func answerAndClose(_ context: ChannelHandlerContext, status: String, extra: String, reason: String) {
        let body = reason + "\n"
        let text = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\(extra)Connection: close\r\n\r\n\(body)"
        let buffer = context.channel.allocator.buffer(string: text)
        context.writeAndFlush(NIOAny(IOData.byteBuffer(buffer))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Behind the HTTP decoder: tells the ``ConnectionGuard`` where each request is (head, body bytes, end,
/// response end) and turns a body cut short by the client into ``BodyFailure/endedEarly``.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    var connectionGuard: ConnectionGuard?

    func handlerAdded(context: ChannelHandlerContext) {
        connectionGuard = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        connectionGuard?.phaseContext = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGuard?.phaseContext = nil
        connectionGuard = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            connectionGuard?.headArrived(expected: head.headerFields[.contentLength].flatMap { Int($0) })
        case .body(let buffer):
            connectionGuard?.bodyArrived(bytes: buffer.readableBytes)
        case .end:
            connectionGuard?.endArrived()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.fireErrorCaught(connectionGuard?.bodyFailure(for: error) ?? error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client shut its side while a body was due (the decoder normally reports this as an error first).
        if case .inputClosed = event as? ChannelEvent, let failure = connectionGuard?.bodyFailure(for: ChannelError.eof) {
            context.fireErrorCaught(failure)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data), connectionGuard?.responseEnded() == true else {
            context.write(data, promise: promise)
            return
        }
        context.writeAndFlush(data, promise: promise)
        context.close(promise: nil)
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (s, attoseconds) = components
        return .nanoseconds(s * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
