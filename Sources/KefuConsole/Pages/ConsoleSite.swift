import Crypto
import Foundation
import KefuAnalytics
import KefuDialogue
import KefuRules
import Logging
import Synchronization

/// The console's pages (``ConsoleContent``) over the accounts a server hosts: 概览, 未解决, 规则,
/// 流程, 会话, 试一试, 人工. Every figure comes from the conversation log through day rollups
/// (``RollupCache``); users appear masked unless an editor reveals one (logged).
public final class ConsoleSite: ConsoleContent {
    public let accounts: [ConsoleAccount]
    let caches: [String: RollupCache]
    let logger: Logger
    let clock: @Sendable () -> Int64
    /// Opaque references to users in links and forms (never the openid itself).
    let refs = UserRefs()
    /// Editors' reveals: "console user|openid" → until when.
    let revealed = Mutex<[String: Int64]>([:])
    let rooms = TryRooms()
    /// The unanswered groups of a period, and lint's warnings of a rule set, for a minute.
    let groups = Memo<([Report.Group], Int)>(life: 60)
    let warnings = Memo<[LintLine]>(life: 60)

    public static let revealFor: Int64 = 600

    public init(accounts: [ConsoleAccount], utcOffset: @Sendable (String) -> Int, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.accounts = accounts
        var caches: [String: RollupCache] = [:]
        for account in accounts {
            caches[account.id] = RollupCache(analyst: LogAnalyst(log: account.log, utcOffset: utcOffset(account.id)))
        }
        self.caches = caches
        self.logger = logger
        self.clock = clock
    }

    public let navigation: [(page: String, title: String)] = [
        ("overview", "概览"), ("unresolved", "未解决"), ("rules", "规则"), ("flows", "流程"),
        ("sessions", "会话"), ("try", "试一试"), ("handoff", "人工"),
    ]

    public func get(_ request: ConsoleRequest) async -> ConsoleAnswer? {
        guard let account = account(request) else { return .page(ConsolePage(title: "没有公众号", body: "<p>这个服务没有托管公众号。</p>", status: 404)) }
        let context = PageContext(site: self, account: account, request: request, cache: caches[account.id]!, now: clock())
        do {
            switch request.page {
            case "", "overview": return .page(try await OverviewPage.render(context))
            case "unresolved": return .page(try await UnresolvedPage.render(context))
            case "rules": return .page(try await RulesPage.render(context))
            case "flows": return .page(try await FlowsPage.render(context))
            case "sessions": return .page(try await SessionsPage.search(context))
            case "sessions/transcript": return .page(try await SessionsPage.transcript(context))
            case "sessions/explain": return .page(try await SessionsPage.explain(context))
            case "try": return .page(await TryPage.render(context))
            case "handoff": return .page(try await HandoffPage.render(context))
            default: return nil
            }
        } catch {
            logger.error("a console page failed", metadata: ["page": .string(request.page), "error": .string("\(error)")])
            return .page(ConsolePage(title: "出错了", body: "<p class=\"error\">读取数据时出错：\(HTML.escape(Self.describe(error)))</p>", status: 500))
        }
    }

    public func post(_ request: ConsoleRequest) async -> ConsoleAnswer? {
        guard let account = account(request) else { return nil }
        let context = PageContext(site: self, account: account, request: request, cache: caches[account.id]!, now: clock())
        switch request.page {
        case "sessions/reveal": return SessionsPage.reveal(context)
        case "try/send": return await TryPage.send(context)
        case "try/reset": return TryPage.reset(context)
        case "try/tests": return await TryPage.runTests(context)
        case "handoff/return": return await HandoffPage.handBack(context)
        default: return nil
        }
    }

    func account(_ request: ConsoleRequest) -> ConsoleAccount? {
        if let id = request.query["account"] ?? request.form["account"], let found = accounts.first(where: { $0.id == id }) { return found }
        return accounts.first
    }

    /// Errors shown on a page: what went wrong, never a connection string's password (stores redact their own descriptions).
    static func describe(_ error: any Error) -> String { String("\(error)".prefix(300)) }

    func isRevealed(_ user: String, for consoleUser: ConsoleUser, now: Int64) -> Bool {
        guard consoleUser.isEditor else { return false }
        return revealed.withLock { ($0["\(consoleUser.name)|\(user)"] ?? 0) > now }
    }

    func reveal(_ user: String, for consoleUser: ConsoleUser, now: Int64) {
        revealed.withLock { map in
            map = map.filter { $0.value > now }
            map["\(consoleUser.name)|\(user)"] = now + Self.revealFor
        }
    }
}

/// What a page needs: the account, the request, the rollups, the time.
struct PageContext: Sendable {
    let site: ConsoleSite
    let account: ConsoleAccount
    let request: ConsoleRequest
    let cache: RollupCache
    let now: Int64

    var days: LocalDays { cache.analyst.days }
    var today: Int { days.day(of: now) }

    /// `?days=N` (1…366, default 7): the period ending today.
    var periodDays: Int { min(366, max(1, Int(request.query["days"] ?? "") ?? 7)) }

    /// The report of the period (and the 30 days to today for the rules never hit). The unanswered groups are made
    /// from the newest `unansweredSample` lines and kept for a minute (grouping is the page's costly part; its input
    /// changes slowly).
    func report(groupLimit: Int = 50, unansweredSample: Int = 3_000) async throws -> Report {
        let first = today - periodDays + 1
        let period = try await cache.rollups(from: first, through: today, now: now)
        let last30 = periodDays == 30 ? period : try await cache.rollups(from: today - 29, through: today, now: now)
        var groups: ([Report.Group], Int) = ([], 0)
        if groupLimit > 0, unansweredSample > 0 {
            let (log, days, today) = (account.log, self.days, self.today)
            groups = try await site.groups.value("\(account.id)|\(periodDays)|\(groupLimit)|\(unansweredSample)", now: now) {
                let lines = try await log.unansweredLines(from: days.start(of: first), until: days.start(of: today + 1), limit: unansweredSample)
                return Report.groups(lines, limit: groupLimit)
            }
        }
        return Report.make(period: period, last30: last30, rules: await account.rules(), unanswered: [], days: days, now: now,
                           groupLimit: groupLimit, groups: groups)
    }

    /// Links keep the account and the period.
    func link(_ page: String, _ extra: [String: String] = [:]) -> String {
        var query = extra
        if site.accounts.count > 1 { query["account"] = account.id }
        if query["days"] == nil, let d = request.query["days"] { query["days"] = d }
        let q = query.sorted { $0.key < $1.key }.map { "\($0.key)=\(HTML.urlEncode($0.value))" }.joined(separator: "&")
        return "/console/\(page)" + (q.isEmpty ? "" : "?" + q)
    }

    /// The account picker (several accounts) and the period picker.
    func toolbar(period: Bool = true) -> String {
        var html = "<form class=\"toolbar\" method=\"get\">"
        if site.accounts.count > 1 {
            html += "<label>公众号 <select name=\"account\">"
            for a in site.accounts {
                html += "<option value=\"\(HTML.escape(a.id))\"\(a.id == account.id ? " selected" : "")>\(HTML.escape(a.name))</option>"
            }
            html += "</select></label> "
        }
        if period {
            html += "<label>时间 <select name=\"days\">"
            for (d, label) in [(1, "今天"), (7, "最近 7 天"), (30, "最近 30 天"), (90, "最近 90 天")] {
                html += "<option value=\"\(d)\"\(d == periodDays ? " selected" : "")>\(label)</option>"
            }
            html += "</select></label>"
        }
        html += " <button type=\"submit\">查看</button>"
        return html + "</form>"
    }

    /// A user as this console user may see them: masked, unless an editor revealed them.
    func shown(_ user: String) -> String {
        site.isRevealed(user, for: request.user, now: now) ? user : Mask.openid(user)
    }

    /// Text as this console user may see it: phone numbers masked unless the user is revealed.
    func shown(text: String, of user: String) -> String {
        site.isRevealed(user, for: request.user, now: now) ? text : Mask.phoneNumbers(in: text)
    }

    func ref(_ user: String) -> String { site.refs.ref(for: user) }
}

/// Opaque, stable references to users for links and forms: an HMAC of the openid under a key of
/// this process, mapped back for the users pages have shown (bounded).
final class UserRefs: Sendable {
    private let key = SymmetricKey(size: .bits256)
    private let known = Mutex<[String: String]>([:])
    static let bound = 200_000

    func ref(for user: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(user.utf8), using: key)
        let ref = mac.prefix(12).map { String(format: "%02x", $0) }.joined()
        known.withLock { map in
            if map.count >= Self.bound { map.removeAll(keepingCapacity: true) }
            map[ref] = user
        }
        return ref
    }

    func user(for ref: String) -> String? { known.withLock { $0[ref] } }
}

typealias LintLine = (code: String, location: String, message: String)

/// Values kept for `life` seconds by key (computed again after; two requests at once may both compute).
final class Memo<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: (time: Int64, value: Value)]>([:])
    let life: Int64
    init(life: Int64) { self.life = life }

    func value(_ key: String, now: Int64, make: @Sendable () async throws -> Value) async throws -> Value {
        if let kept = entries.withLock({ $0[key] }), now - kept.time < life { return kept.value }
        let value = try await make()
        entries.withLock { map in
            if map.count > 100 { map.removeAll() }
            map[key] = (now, value)
        }
        return value
    }
}
