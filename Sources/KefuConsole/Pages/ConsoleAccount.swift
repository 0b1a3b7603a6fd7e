import KefuAnalytics
import KefuDialogue
import KefuRules

/// One Official Account as the console sees it: its log, its live rule set, what the server knows
/// about it, and the one change the console makes (handing a user back to the bot).
public struct ConsoleAccount: Sendable {
    public var id: String
    /// For the account picker and headings (示例商城).
    public var name: String
    public var log: any ConversationLog
    public var store: any ConversationStore
    /// The rule set's folder (lint warnings on the 规则 page).
    public var rulesDirectory: String?
    /// Conversation test files or folders (试一试 runs them on the live rule set).
    public var corpus: [String]
    public var rules: @Sendable () async -> CompiledRules?
    public var summary: @Sendable () async -> AccountSummary
    /// Ends a user's hand-off (the bot answers them again); false if they were not handed off.
    public var handBack: @Sendable (_ user: String) async throws -> Bool

    public init(id: String, name: String, log: any ConversationLog, store: any ConversationStore, rulesDirectory: String?, corpus: [String],
                rules: @escaping @Sendable () async -> CompiledRules?, summary: @escaping @Sendable () async -> AccountSummary,
                handBack: @escaping @Sendable (String) async throws -> Bool) {
        self.id = id; self.name = name; self.log = log; self.store = store; self.rulesDirectory = rulesDirectory; self.corpus = corpus
        self.rules = rules; self.summary = summary; self.handBack = handBack
    }
}

/// What the server says about an account for 概览.
public struct AccountSummary: Sendable {
    public var rulesVersion: String?
    public var ruleCount: Int
    public var loadedAt: Int64?
    public var lastReload: String?
    public var lastReloadAt: Int64?
    /// The last reload's error, as `kefu lint` would print it (nil: it worked).
    public var lastReloadError: String?
    public var down: String?
    public init(rulesVersion: String? = nil, ruleCount: Int = 0, loadedAt: Int64? = nil, lastReload: String? = nil, lastReloadAt: Int64? = nil,
                lastReloadError: String? = nil, down: String? = nil) {
        self.rulesVersion = rulesVersion; self.ruleCount = ruleCount; self.loadedAt = loadedAt; self.lastReload = lastReload
        self.lastReloadAt = lastReloadAt; self.lastReloadError = lastReloadError; self.down = down
    }
}
