/// A call as the engine rendered it, before it goes out: which service, method, path and query
/// (slot values already URL-encoded), the JSON body, and the keys that make it safe to send again.
/// Kept in the outbox (writes; reads that outlived the wait) as JSON.
public struct ServiceRequest: Sendable, Equatable, Codable {
    public var service: String
    public var method: CallSpec.Method
    /// Below the service's base path, starting with `/`, every slot value percent-encoded.
    public var path: String
    /// `name=value` pairs, both percent-encoded.
    public var query: [String]
    /// Compact JSON (writes), nil for none.
    public var body: String?
    /// The same for one call step of one flow instance, whatever retries it takes (WeChat's, Kefu's,
    /// a restart's): the service de-duplicates writes by it (`Idempotency-Key`, `webhook-id`).
    public var idempotencyKey: String
    /// Which step of which flow instance waits for the result.
    public var call: CallRef

    public init(service: String, method: CallSpec.Method, path: String, query: [String] = [], body: String? = nil,
                idempotencyKey: String, call: CallRef) {
        self.service = service; self.method = method; self.path = path; self.query = query; self.body = body
        self.idempotencyKey = idempotencyKey; self.call = call
    }

    /// `/orders/DD1?x=1` — the path and query as sent below the base path.
    public var target: String { query.isEmpty ? path : path + "?" + query.joined(separator: "&") }

    /// `erp GET /orders/DD202406110001` — how `kefu test`'s `calls:` and the logs name a request.
    public var summary: String { "\(service) \(method.rawValue) \(target)" }
}

/// The flow step a call belongs to.
public struct CallRef: Sendable, Equatable, Hashable, Codable {
    public var user: String
    public var flow: String
    /// The call step's `id:`.
    public var step: String
    /// The flow instance (from the message that started it) and how many times this step ran in it.
    public var instance: String
    public var run: Int

    public init(user: String, flow: String, step: String, instance: String, run: Int) {
        self.user = user; self.flow = flow; self.step = step; self.instance = instance; self.run = run
    }
}

/// What came back from a service.
public struct CallResult: Sendable, Equatable, Codable {
    public enum Kind: Sendable, Equatable, Codable {
        /// The service answered with this status; the body when it was JSON.
        case response(status: Int, body: JSONValue?)
        /// No answer within the timeout.
        case timeout
        /// The request could not be made or its answer not read (refused, reset, DNS, TLS, too big).
        case network(String)
        /// Writes: Kefu gave up after this many tries (the last reason).
        case gaveUp(attempts: Int, last: String)
    }

    public var kind: Kind
    /// How long the request took (ms), or the last try for `gaveUp`.
    public var latencyMs: Int64

    public init(_ kind: Kind, latencyMs: Int64 = 0) {
        self.kind = kind; self.latencyMs = latencyMs
    }

    /// Writes are tried again on these: no answer, 408, 429, 5xx.
    public var isRetryable: Bool {
        switch kind {
        case .timeout, .network: true
        case .response(let status, _): status == 408 || status == 429 || status >= 500
        case .gaveUp: false
        }
    }

    /// The outcome branch this result takes among the branches a call step has.
    public func outcome(among branches: Set<CallOutcome>) -> CallOutcome {
        switch kind {
        case .response(let status, let body):
            if branches.contains(.status(status)) { return .status(status) }
            // ok needs 2xx and a body that is JSON (or none at all: 204).
            if (200...299).contains(status), body != nil || status == 204 { return .ok }
            return .error
        case .timeout, .network: return .error
        case .gaveUp: return .failed
        }
    }

    /// One line for logs and `kefu chat`: `200 (12 ms)`, `timeout after 3000 ms`, `gave up after 8 tries: 503`.
    public var summary: String {
        switch kind {
        case .response(let status, let body): "\(status)\(body == nil && status != 204 ? " (not JSON)" : "") in \(latencyMs) ms"
        case .timeout: "no answer within \(latencyMs) ms"
        case .network(let why): "not reached: \(why)"
        case .gaveUp(let attempts, let last): "gave up after \(attempts) tries (last: \(last))"
        }
    }
}

extension CallSpec {
    /// The request this step makes with these slots: path and query values percent-encoded, the body rendered.
    public func render(_ values: [String: String], facts: Facts? = nil) -> (path: String, query: [String], body: String?) {
        var path = ""
        for segment in self.path.value.segments {
            switch segment {
            case .literal(let text): path += text
            case .variable(let name): path += URLEncoding.component(values[name] ?? facts?.resolve(name, slots: values) ?? "")
            }
        }
        if !path.hasPrefix("/") { path = "/" + path }
        let query = self.query.map { URLEncoding.component($0.name) + "=" + URLEncoding.component($0.value.render(values, facts: facts)) }
        return (path, query, body?.render(values, facts: facts).json)
    }
}

/// Percent-encoding of slot values: everything but RFC 3986's unreserved characters, and `.` too
/// (so that a value of `..` cannot climb out of the path it was put in).
public enum URLEncoding {
    public static func component(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}
