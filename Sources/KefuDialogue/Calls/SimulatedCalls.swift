import KefuRules
import Synchronization

/// Calls without a network, for `kefu test` and `kefu chat`: each request is answered by the first
/// mock that matches it (service, method, path), on the virtual clock — a mock's `delay` longer
/// than the turn's wait makes the result late, longer than the service's timeout makes it a
/// timeout. A mock answers once when another matching one follows it; the last matching one
/// answers every request after. A request no mock answers fails with a network error and is
/// kept in ``unmocked`` (`kefu test` fails the case).
public final class SimulatedCalls: CallRunner, Sendable {
    public struct Mock: Sendable, Equatable {
        public var service: String
        public var method: CallSpec.Method
        /// As written: the path (and query, if the mock gives one), not percent-encoded.
        public var path: String
        public var status: Int
        public var body: JSONValue?
        /// Seconds on the virtual clock before the answer comes.
        public var delay: Int64
        /// No answer at all: the connection fails.
        public var unreachable: Bool

        public init(service: String, method: CallSpec.Method, path: String, status: Int = 200, body: JSONValue? = nil, delay: Int64 = 0, unreachable: Bool = false) {
            self.service = service; self.method = method; self.path = path; self.status = status; self.body = body
            self.delay = delay; self.unreachable = unreachable
        }

        func matches(_ request: ServiceRequest) -> Bool {
            guard service == request.service, method == request.method else { return false }
            let wanted = path.contains("?") ? URLEncoding.decoded(request.target) : URLEncoding.decoded(request.path)
            return Self.glob(path[...], wanted[...])
        }

        /// `*` matches any run of characters (`/orders/*`); everything else itself.
        static func glob(_ pattern: Substring, _ text: Substring) -> Bool {
            guard let star = pattern.firstIndex(of: "*") else { return pattern == text }
            let head = pattern[..<star], rest = pattern[pattern.index(after: star)...]
            guard text.hasPrefix(head) else { return false }
            var tail = text.dropFirst(head.count)
            while true {
                if glob(rest, tail) { return true }
                if tail.isEmpty { return false }
                tail = tail.dropFirst()
            }
        }
    }

    /// A request as it was made: which try, at what (virtual) time.
    public struct Made: Sendable, Equatable {
        public var request: ServiceRequest
        public var attempt: Int
        public var at: Int64
    }

    struct State {
        var mocks: [Mock] = []
        var used: Set<Int> = []
        var made: [Made] = []
        var unmocked: [ServiceRequest] = []
        var late: [(due: Int64, result: CallResult, deliver: @Sendable (CallResult) async -> Void)] = []
    }

    let state = Mutex(State())
    let timeouts: [String: Int64]

    public init(mocks: [Mock] = [], rules: CompiledRules) {
        timeouts = Dictionary(rules.services.map { ($0.name, $0.timeoutMs) }, uniquingKeysWith: { a, _ in a })
        state.withLock { $0.mocks = mocks }
    }

    public func setMocks(_ mocks: [Mock]) {
        state.withLock { $0.mocks = mocks; $0.used = [] }
    }

    /// Every request made since the last ``takeMade()``, in order.
    public func takeMade() -> [Made] {
        state.withLock { s in defer { s.made = [] }; return s.made }
    }

    /// Requests no mock answered since the last ``takeUnmocked()``.
    public func takeUnmocked() -> [ServiceRequest] {
        state.withLock { s in defer { s.unmocked = [] }; return s.unmocked }
    }

    /// When the next late result is due (nil: none).
    public var nextLate: Int64? { state.withLock { $0.late.map(\.due).min() } }

    /// Hands over the late results due at `time`, in order.
    public func deliverLate(at time: Int64) async {
        while true {
            let next: (CallResult, @Sendable (CallResult) async -> Void)? = state.withLock { s in
                guard let i = s.late.indices.filter({ s.late[$0].due <= time }).min(by: { s.late[$0].due < s.late[$1].due }) else { return nil }
                let item = s.late.remove(at: i)
                return (item.result, item.deliver)
            }
            guard let (result, deliver) = next else { return }
            await deliver(result)
        }
    }

    public func attempt(_ request: ServiceRequest, attempt: Int, wait: Duration, at now: Int64,
                        late: @escaping @Sendable (CallResult) async -> Void) async -> CallResult? {
        let timeoutMs = timeouts[request.service] ?? ServiceSpec.defaultTimeoutMs
        let waitMs = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
        return state.withLock { s -> CallResult? in
            s.made.append(Made(request: request, attempt: attempt, at: now))
            let matching = s.mocks.indices.filter { s.mocks[$0].matches(request) }
            guard let index = matching.first(where: { !s.used.contains($0) }) ?? matching.last else {
                s.unmocked.append(request)
                return CallResult(.network("no mock answers \(request.summary)"))
            }
            if matching.last != index { s.used.insert(index) }
            let mock = s.mocks[index]
            let delayMs = mock.delay * 1000
            let result: CallResult
            if mock.unreachable {
                result = CallResult(.network("the service is unreachable (mock)"), latencyMs: delayMs)
            } else if delayMs >= timeoutMs {
                result = CallResult(.timeout, latencyMs: timeoutMs)
            } else {
                result = CallResult(.response(status: mock.status, body: mock.body), latencyMs: delayMs)
            }
            if min(delayMs, timeoutMs) <= waitMs { return result }
            s.late.append((now + (min(delayMs, timeoutMs) + 999) / 1000, result, late))
            return nil
        }
    }
}

extension URLEncoding {
    /// Undoes percent-encoding (what a mock, written as the customer's text, is compared with).
    public static func decoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.first {
            utf8 = utf8.dropFirst()
            if b == UInt8(ascii: "%"), utf8.count >= 2, let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
