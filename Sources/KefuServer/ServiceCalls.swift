import KefuDialogue
import KefuRules
import Logging
import Synchronization

/// The rule set's services for this server: a transport built from the live rule set's
/// `services:` and the secrets in the environment, rebuilt when a reload changes them; every try
/// counted by service in /metrics.
public final class ServiceCalls: ServiceTransport {
    /// Builds the transport for a rule set's services (the HTTP client; throws when a secret is missing).
    public typealias Make = @Sendable ([ServiceSpec]) throws -> any ServiceTransport

    struct Current {
        var signature: String
        var transport: (any ServiceTransport)?
    }

    let make: Make
    let metrics: ServerMetrics
    let current = Mutex(Current(signature: "", transport: nil))

    public init(make: @escaping Make, metrics: ServerMetrics) {
        self.make = make
        self.metrics = metrics
    }

    /// Takes a rule set's services: nil when it can, else why not (a missing secret, …): the rule
    /// set must not go live then, since its calls could not be made.
    public func accept(_ rules: CompiledRules) -> String? {
        let signature = Self.signature(rules.services)
        if current.withLock({ $0.signature == signature && ($0.transport != nil || rules.services.isEmpty) }) { return nil }
        if rules.services.isEmpty {
            current.withLock { $0 = Current(signature: signature, transport: nil) }
            return nil
        }
        do {
            let transport = try make(rules.services)
            current.withLock { $0 = Current(signature: signature, transport: transport) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// What decides the transport: each service's name, base, auth, signing, timeout.
    static func signature(_ services: [ServiceSpec]) -> String {
        services.map { "\($0.name)|\($0.base.description)|\(String(describing: $0.auth))|\($0.signing)|\($0.timeoutMs)" }.joined(separator: "\n")
    }

    public func send(_ request: ServiceRequest, attempt: Int) async -> CallResult {
        guard let transport = current.withLock({ $0.transport }) else {
            return CallResult(.network("the rule set has no service '\(request.service)' any more"))
        }
        let result = await transport.send(request, attempt: attempt)
        metrics.serviceCall(request.service, result)
        return result
    }
}
