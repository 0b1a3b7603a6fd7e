import KefuAnalytics
import KefuDialogue
import KefuRules

/// 概览: the period's totals, answers by kind, the unanswered rate, answer times, the outbox, the rule set.
enum OverviewPage {
    static func render(_ c: PageContext) async throws -> ConsolePage {
        let report = try await c.report(groupLimit: 0, unansweredSample: 0)
        let summary = await c.account.summary()
        var html = c.toolbar()
        let section = Sections.overview(report)
        html += section.html
        html += "<h2>规则集</h2><table class=\"facts\">"
        html += "<tr><th>版本</th><td id=\"rules-version\"><code>\(HTML.escape(summary.rulesVersion ?? "—"))</code></td></tr>"
        html += "<tr><th>规则数</th><td>\(summary.ruleCount)</td></tr>"
        if let at = summary.loadedAt { html += "<tr><th>载入于</th><td>\(Format.time(at, c.days))</td></tr>" }
        if let last = summary.lastReload {
            html += "<tr><th>上次重新载入</th><td id=\"last-reload\">\(HTML.escape(last))" + (summary.lastReloadAt.map { "（\(Format.time($0, c.days))）" } ?? "") + "</td></tr>"
        }
        if let error = summary.lastReloadError {
            html += "<tr><th>载入错误</th><td><pre class=\"error\" id=\"reload-error\">\(HTML.escape(error))</pre><p class=\"note\">正在服务的仍是上一个版本。</p></td></tr>"
        }
        if let down = summary.down { html += "<tr><th>状态</th><td class=\"error\">\(HTML.escape(down))</td></tr>" }
        html += "</table>"
        if let outbox = try? await c.account.store.outboxStatus(at: c.now) {
            html += "<h2>出站消息</h2><table class=\"facts\" id=\"outbox\">"
            html += "<tr><th>待发</th><td class=\"num\">\(Format.count(outbox.depth))</td></tr>"
            html += "<tr><th>最久等待</th><td>\(outbox.oldestAge) 秒</td></tr>"
            html += "<tr><th>定时消息</th><td class=\"num\">\(Format.count(outbox.scheduled))</td></tr>"
            for state in OutboxState.allCases {
                html += "<tr><th>\(stateName(state))</th><td class=\"num\" data-state=\"\(state.rawValue)\">\(Format.count(outbox.counts[state] ?? 0))</td></tr>"
            }
            html += "</table>"
            if (outbox.counts[.failed] ?? 0) + (outbox.counts[.unknown] ?? 0) > 0 {
                html += "<p class=\"warn\">有发送失败或结果不明的消息：用 <code>kefu outbox --state failed</code> 查看原因。</p>"
            }
        }
        return ConsolePage(title: "概览", body: html, usesCharts: true, script: Chart.prelude + section.script)
    }

    static func stateName(_ state: OutboxState) -> String {
        switch state {
        case .pending: "等待发送"
        case .sending: "发送中"
        case .sent: "已发送"
        case .failed: "失败"
        case .unknown: "结果不明"
        case .cancelled: "已取消"
        case .skipped: "未发送（没有配置 API）"
        default: state.rawValue
        }
    }
}

/// 未解决: the unanswered messages grouped, each with a rule to copy.
enum UnresolvedPage {
    static func render(_ c: PageContext) async throws -> ConsolePage {
        let report = try await c.report(groupLimit: 50)
        let section = Sections.unresolved(report, now: c.now, days: c.days) { Mask.phoneNumbers(in: $0) }
        return ConsolePage(title: "未解决", body: c.toolbar() + section.html)
    }
}

/// 规则: hits per rule over time, rules never hit in 30 days, lint's warnings.
enum RulesPage {
    static func render(_ c: PageContext) async throws -> ConsolePage {
        let report = try await c.report(groupLimit: 0, unansweredSample: 0)
        let directory = c.account.rulesDirectory
        let version = await c.account.summary().rulesVersion ?? ""
        // Lint compiles the rule set: kept a minute per rule-set version (a reload shows its warnings at once).
        let lint = try await c.site.warnings.value("\(directory ?? "")|\(version)", now: c.now) { warnings(directory) }
        let section = Sections.rules(report, warnings: lint)
        return ConsolePage(title: "规则", body: c.toolbar() + section.html, usesCharts: true, script: Chart.prelude + section.script)
    }

    /// `kefu lint`'s warnings for the rule set's folder as it is now on disk.
    static func warnings(_ directory: String?) -> [(code: String, location: String, message: String)] {
        guard let directory else { return [] }
        let report = Linter.lint(directory: directory)
        return report.diagnostics.map { d in
            (d.code, "\(Report.shortFile(d.location.file)):\(d.location.line):\(d.location.column)", d.message + (d.hint.map { "\n→ " + $0 } ?? ""))
        }
    }
}

/// 流程: a funnel per flow.
enum FlowsPage {
    static func render(_ c: PageContext) async throws -> ConsolePage {
        let report = try await c.report(groupLimit: 0, unansweredSample: 0)
        let section = Sections.flows(report)
        return ConsolePage(title: "流程", body: c.toolbar() + section.html, usesCharts: true, script: Chart.prelude + section.script)
    }
}
