import ArgumentParser
import Foundation
import KefuActions
import KefuDialogue
import KefuServer
import KefuRules

/// The rule set's services called for real (`kefu chat --service`, `kefu serve`): the HTTP client
/// with the environment's secrets, bases overridden by `NAME=URL`.
enum LiveServices {
    static func overrides(_ pairs: [String], _ rules: CompiledRules) throws -> [String: ServiceBase] {
        var result: [String: ServiceBase] = [:]
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--service takes NAME=URL, e.g. erp=http://127.0.0.1:9100/shop, not '\(pair)'") }
            guard rules.service(named: parts[0]) != nil else {
                throw ValidationError("--service \(parts[0]): the rule set has no such service (it has: \(rules.services.map(\.name).joined(separator: ", ")))")
            }
            switch ServiceBase.parse(parts[1]) {
            case .success(let base): result[parts[0]] = base
            case .failure(let error): throw ValidationError("--service \(parts[0]): the URL \(error.sentence)")
            }
        }
        return result
    }

    /// Calls that wait for their result (no late answers in a terminal): a service without
    /// `--service` is called at the base the rule set gives it.
    static func runner(_ rules: CompiledRules, overrides pairs: [String]) throws -> any CallRunner {
        let bases = try overrides(pairs, rules)
        let secrets: ServiceSecrets
        do { secrets = try ServiceSecrets.resolve(for: rules.services) } catch { throw ValidationError("\(error)") }
        return WaitingRunner(transport: ServiceClient(services: rules.services, secrets: secrets, overrides: bases, httpClient: ServiceHTTP.client))
    }
}

/// Every try waits for its result (the service's timeout at the latest).
struct WaitingRunner: CallRunner {
    let transport: any ServiceTransport

    func attempt(_ request: ServiceRequest, attempt: Int, wait: Duration, at now: Int64,
                 late: @escaping @Sendable (CallResult) async -> Void) async -> CallResult? {
        await transport.send(request, attempt: attempt)
    }
}
