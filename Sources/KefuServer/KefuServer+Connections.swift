import Hummingbird
import Logging
import NIOCore

/// `kefu serve`'s side of ``ConnectionLimits``: its settings, the descriptor-limit check, and the answers
/// for bodies that do not arrive whole.
extension KefuServer {
    /// The connection settings, after raising the open-file limit and checking that it fits them.
    func connectionSettings() -> ConnectionLimits.Settings {
        let reading = DescriptorLimit.raise()
        if let reading, let from = reading.raisedFrom {
            logger.info("raised the open-file limit (RLIMIT_NOFILE)", metadata: ["from": .string("\(from)"), "to": .string("\(reading.soft)")])
        }
        // The admin listener's connections need descriptors too.
        let margin = DescriptorLimit.margin + (configuration.admin == nil ? 0 : ServerConfiguration.adminMaxConnections)
        var maxConnections = configuration.maxConnections ?? ServerConfiguration.defaultMaxConnections
        if let reading, maxConnections + margin > reading.soft {
            let needed = maxConnections + margin
            let raise = "raise it (ulimit -n \(needed) in the shell that starts kefu, or LimitNOFILE=\(needed) in its systemd unit)"
            if configuration.maxConnections == nil {
                maxConnections = max(1, reading.soft - margin)
                logger.warning("the open-file limit (RLIMIT_NOFILE) is \(reading.soft) (hard limit \(reading.hard)), too low for the default of \(ServerConfiguration.defaultMaxConnections) connections plus \(margin) descriptors for SQLite, logs, rule files and the admin listener; serving at most \(maxConnections) connections. To serve more, \(raise), or set --max-connections.")
            } else {
                logger.warning("the open-file limit (RLIMIT_NOFILE) is \(reading.soft) (hard limit \(reading.hard)), but --max-connections \(maxConnections) needs about \(needed) descriptors (\(margin) more for SQLite, logs, rule files and the admin listener): near the limit new connections cannot even be accepted. \(raise.prefix(1).uppercased() + raise.dropFirst()), or lower --max-connections.")
            }
        }
        return .init(headerTimeout: configuration.headerTimeout, bodyTimeout: configuration.bodyTimeout,
                     idleTimeout: configuration.idleTimeout, maxConnections: maxConnections)
    }

    enum BodyRead {
        case read(ByteBuffer)
        case refused(Response)
    }

    /// The POST body, or the answer when it is too large (413), late (408) or cut short by the client.
    static func readBody(_ request: Request, limit: Int, webhook: Webhook, metrics: ServerMetrics, logger: Logger) async -> BodyRead {
        // A declared length over the limit is refused before reading a byte of it, with the size it declares.
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            return .refused(response(webhook.reject(.bodyTooLarge(size: declared, limit: limit), mode: "-")))
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            // Chunked, so its size is unknown: only that it passed the limit.
            return .refused(refuse(413, "body is larger than the limit of \(limit) bytes", webhook: webhook))
        } catch let failure as BodyFailure {
            return .refused(bodyFailed(failure, webhook: webhook, metrics: metrics, logger: logger))
        } catch {
            return .refused(refuse(400, "the request body could not be read: \(error)", close: true, webhook: webhook))
        }
        if let declared, body.readableBytes < declared {
            return .refused(bodyFailed(.endedEarly(received: body.readableBytes, expected: declared), webhook: webhook, metrics: metrics, logger: logger))
        }
        return .read(body)
    }

    /// A refusal of the connection layer (no WeChat error code applies), counted and logged by the webhook's
    /// one refusal path; `close` also ends the connection.
    static func refuse(_ status: Int, _ reason: String, close: Bool = false, webhook: Webhook) -> Response {
        let refused = webhook.reject(status: status, reason: reason, code: nil, mode: "-")
        var headers: HTTPFields = [.contentType: refused.contentType]
        if close { headers[.connection] = "close" }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: refused.body)))
    }

    /// A body that timed out gets 408; one the client abandoned is logged with its reason (nobody is left to answer).
    static func bodyFailed(_ failure: BodyFailure, webhook: Webhook, metrics: ServerMetrics, logger: Logger) -> Response {
        switch failure {
        case .timedOut:
            return refuse(408, failure.description, close: true, webhook: webhook)
        case .endedEarly:
            metrics.request(mode: "-", outcome: "abandoned")
            logger.notice("request abandoned; nothing answered", metadata: ["reason": .string(failure.description)])
            return Response(status: .badRequest, headers: [.connection: "close"], body: .init(byteBuffer: ByteBuffer(string: failure.description + "\n")))
        }
    }
}
