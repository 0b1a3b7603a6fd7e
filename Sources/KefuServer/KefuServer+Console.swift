import Foundation
import KefuConsole
import KefuDialogue
import Logging

extension KefuServer {
    /// The console's pages on the admin listener.
    func consoleContent() -> any ConsoleContent { consoleSite(corpus: configuration.consoleCorpus) }

    /// The console's pages over this server's accounts: each account's log (its store), its live
    /// rule set, what /status says about it, and hand-backs through its webhook (in the user's queue).
    public func consoleSite(corpus: [String] = []) -> ConsoleSite {
        let accounts: [ConsoleAccount] = self.accounts.compactMap { host in
            guard let log = host.store as? any ConversationLog else { return nil }
            return ConsoleAccount(
                id: host.id.rawValue, name: host.name ?? host.id.rawValue, log: log, store: host.store,
                rulesDirectory: host.configuration.rulesDirectory,
                corpus: corpus.isEmpty ? (host.configuration.gate.map { [$0] } ?? []) : corpus,
                rules: { host.live?.rules.engine.rules },
                summary: { Self.consoleSummary(host) },
                handBack: { user in
                    guard let live = host.live else { throw AccountDown(reason: host.downReason ?? "the account is not served") }
                    return try await live.webhook.handBack(user)
                })
        }
        let offsets = Dictionary(uniqueKeysWithValues: self.accounts.map { host in
            (host.id.rawValue, Int(host.live?.rules.engine.rules.settings.utcOffset ?? 8 * 3600))
        })
        return ConsoleSite(accounts: accounts, utcOffset: { offsets[$0] ?? 8 * 3600 }, logger: logger)
    }

    static func consoleSummary(_ host: AccountHost) -> AccountSummary {
        guard let rules = host.rules else { return AccountSummary(down: host.downReason ?? "starting") }
        let s = rules.status
        return AccountSummary(rulesVersion: rules.version, ruleCount: s.ruleCount, loadedAt: Int64(s.loadedAt.timeIntervalSince1970),
                              lastReload: s.lastReloadResult.map { r in r + (s.lastChange.map { "：" + $0 } ?? "") },
                              lastReloadAt: s.lastReloadAt.map { Int64($0.timeIntervalSince1970) }, lastReloadError: s.lastReloadError)
    }
}

struct AccountDown: Error, CustomStringConvertible {
    let reason: String
    var description: String { "the account is not served: \(reason)" }
}
