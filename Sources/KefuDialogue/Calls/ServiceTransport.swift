import KefuRules

/// Makes one try of a service request over the network (`KefuActions.ServiceClient`). It never
/// throws: every failure is a ``CallResult`` (timeout, network), so the caller decides about retries.
public protocol ServiceTransport: Sendable {
    /// `attempt` counts from 1; the timeout is the service's.
    func send(_ request: ServiceRequest, attempt: Int) async -> CallResult
}
