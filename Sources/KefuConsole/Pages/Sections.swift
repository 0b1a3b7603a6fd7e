import KefuAnalytics
import KefuDialogue

/// The parts of the pages that `kefu report` shows too: each is HTML plus the script that draws its charts.
struct Section {
    var html = ""
    var script = ""

    static func + (a: Section, b: Section) -> Section { Section(html: a.html + b.html, script: a.script + b.script) }
}

enum Sections {
    /// The kinds of answer in the order the pages show them, with their Chinese names.
    static let kinds: [(AnswerKind, String)] = [
        (.rule, "关键词规则"), (.intent, "意图"), (.flow, "流程"), (.event, "事件"), (.defaultReply, "默认回复"),
        (.handoff, "转人工"), (.human, "人工处理中"), (.silent, "无需回复"),
    ]

    // MARK: 概览

    static func overview(_ report: Report) -> Section {
        let days = max(1, report.days.count)
        var html = "<div class=\"cards\">"
        func card(_ id: String, _ label: String, _ value: String, _ note: String = "") {
            html += "<div class=\"card\"><div class=\"label\">\(label)</div><div class=\"value\" id=\"\(id)\">\(HTML.escape(value))</div>"
                + (note.isEmpty ? "" : "<div class=\"note\">\(HTML.escape(note))</div>") + "</div>"
        }
        card("total-messages", "消息", Format.count(report.messages), "\(report.from) 至 \(report.through)")
        card("daily-users", "日均用户", Format.count(Int((Double(report.userDays) / Double(days)).rounded())), "最多一天 \(Format.count(report.busiestDayUsers)) 人")
        card("unanswered-rate", "未解决率", Format.percent(report.unansweredRate), "默认回复 \(Format.count(report.unanswered)) 条，其中意图拒答 \(Format.count(report.declined))")
        card("median-latency", "答复时间中位数", Format.ms(report.medianMs))
        card("p99-latency", "答复时间 P99", Format.ms(report.p99Ms))
        html += "</div>"

        html += "<h2>谁回答了客户</h2><table class=\"shares\"><tr><th>回答方式</th><th>消息</th><th>占比</th></tr>"
        for (kind, name) in kinds {
            let n = report.byKind[kind.rawValue] ?? 0
            html += "<tr><td>\(name)</td><td class=\"num\" data-kind=\"\(kind.rawValue)\">\(Format.count(n))</td><td class=\"num\">\(Format.percent(report.share(kind)))</td></tr>"
        }
        html += "</table>"

        let labels = report.days.map { String($0.date.dropFirst(5)) }
        var datasets: [Chart.Dataset] = []
        for (i, (kind, name)) in kinds.enumerated() where report.days.contains(where: { ($0.byKind[kind.rawValue] ?? 0) > 0 }) {
            datasets.append(.init(label: name, data: report.days.map { Double($0.byKind[kind.rawValue] ?? 0) }, backgroundColor: Chart.palette[i % Chart.palette.count]))
        }
        let perDay = Chart(id: "chart-messages", kind: "bar", labels: labels, datasets: datasets, stacked: true)
        let rate = Chart(id: "chart-unanswered", kind: "line", labels: labels, datasets: [
            .init(label: "未解决率 %", data: report.days.map { $0.messages > 0 ? (Double($0.unanswered) * 1000 / Double($0.messages)).rounded() / 10 : 0 },
                  borderColor: "#d64545", fill: false),
        ], percentAxis: true, height: 200)
        html += "<h2>每天的消息</h2>" + perDay.canvas + "<h2>未解决率</h2>" + rate.canvas

        html += "<h2>每天</h2><table class=\"days\" id=\"days\"><tr><th>日期</th><th>消息</th><th>用户</th>"
        for (_, name) in kinds.prefix(6) { html += "<th>\(name)</th>" }
        html += "<th>未解决率</th><th>中位数</th><th>P99</th></tr>"
        for day in report.days.reversed() {
            html += "<tr data-date=\"\(day.date)\"><td>\(day.date)</td><td class=\"num\" data-k=\"messages\">\(Format.count(day.messages))</td><td class=\"num\" data-k=\"users\">\(Format.count(day.users))</td>"
            for (kind, _) in kinds.prefix(6) { html += "<td class=\"num\" data-k=\"\(kind.rawValue)\">\(Format.count(day.byKind[kind.rawValue] ?? 0))</td>" }
            let dayRate: Double? = day.messages > 0 ? Double(day.unanswered) / Double(day.messages) : nil
            html += "<td class=\"num\">\(Format.percent(dayRate))</td><td class=\"num\">\(Format.ms(day.medianMs))</td><td class=\"num\">\(Format.ms(day.p99Ms))</td></tr>"
        }
        html += "</table>"
        return Section(html: html, script: perDay.script + rate.script)
    }

    // MARK: 未解决

    static func unresolved(_ report: Report, now: Int64, days: LocalDays, shown: (String) -> String = { $0 }) -> Section {
        var html = "<p>默认回复或意图拒答的消息（最近 \(Format.count(report.unansweredSampled)) 条），按相似程度分组。每组附一条可复制的规则草稿：把回复写好，放进规则文件，用 <code>kefu lint</code> 和 <code>kefu test</code> 检查后上线。</p>"
        if report.unansweredGroups.isEmpty {
            return Section(html: html + "<p class=\"empty\" id=\"no-groups\">这段时间没有未解决的消息。</p>")
        }
        html += "<div class=\"groups\">"
        for (i, g) in report.unansweredGroups.enumerated() {
            html += "<section class=\"group\" data-count=\"\(g.count)\"><h3>\(i + 1). \(HTML.escape(g.keywords.joined(separator: " · ")))"
                + " <span class=\"badge\">\(Format.count(g.count)) 条 · \(Format.count(g.users)) 人</span>"
                + (g.declined > 0 ? " <span class=\"badge warn\">意图拒答 \(g.declined)</span>" : "") + "</h3>"
            html += "<p class=\"note\">\(Format.time(g.firstSeen, days)) — \(Format.time(g.lastSeen, days))</p><ul class=\"examples\">"
            for e in g.examples { html += "<li>\(HTML.escape(shown(e)))</li>" }
            html += "</ul><details><summary>规则草稿（YAML）</summary><pre class=\"yaml\">\(HTML.escape(g.ruleSuggestion))</pre></details>"
            if !g.intentSuggestion.isEmpty {
                html += "<details><summary>意图例句草稿（YAML）</summary><pre class=\"yaml\">\(HTML.escape(g.intentSuggestion))</pre></details>"
            }
            html += "</section>"
        }
        return Section(html: html + "</div>")
    }

    // MARK: 规则

    static func rules(_ report: Report, warnings: [(code: String, location: String, message: String)]) -> Section {
        var html = ""
        let top = report.rules.filter { $0.hits > 0 }.prefix(8)
        var script = ""
        if !top.isEmpty {
            let chart = Chart(id: "chart-rules", kind: "line", labels: report.days.map { String($0.date.dropFirst(5)) },
                              datasets: top.enumerated().map { i, r in
                                  .init(label: r.id, data: r.daily.map(Double.init), borderColor: Chart.palette[i % Chart.palette.count], fill: false)
                              })
            html += "<h2>命中最多的规则（每天）</h2>" + chart.canvas
            script += chart.script
        }
        html += "<h2>每条规则的命中</h2><table class=\"rules\" id=\"rule-hits\"><tr><th>规则</th><th>位置</th><th>命中</th><th>近 30 天</th></tr>"
        for r in report.rules {
            html += "<tr data-rule=\"\(HTML.escape(r.id))\"><td><code>\(HTML.escape(r.id))</code></td><td>\(HTML.escape(r.location))</td>"
                + "<td class=\"num\" data-k=\"hits\">\(Format.count(r.hits))</td><td class=\"num\">\(Format.count(r.hitsIn30Days))</td></tr>"
        }
        html += "</table><h2>30 天没有命中的规则</h2>"
        if report.neverHit.isEmpty {
            html += "<p class=\"empty\">每条规则最近 30 天都命中过。</p>"
        } else {
            html += "<p>它们可能被别的规则挡住了，或者客户不这么说。</p><ul id=\"never-hit\">"
            for id in report.neverHit { html += "<li><code>\(HTML.escape(id))</code></li>" }
            html += "</ul>"
        }
        html += "<h2>检查提示（kefu lint）</h2>"
        if warnings.isEmpty {
            html += "<p class=\"empty\" id=\"no-warnings\">没有提示。</p>"
        } else {
            html += "<table class=\"warnings\" id=\"lint-warnings\"><tr><th>类别</th><th>位置</th><th>说明</th></tr>"
            for w in warnings {
                html += "<tr><td><code>\(HTML.escape(w.code))</code></td><td>\(HTML.escape(w.location))</td><td><pre class=\"wrap\">\(HTML.escape(w.message))</pre></td></tr>"
            }
            html += "</table>"
        }
        return Section(html: html, script: script)
    }

    // MARK: 流程

    static func flows(_ report: Report) -> Section {
        guard !report.flows.isEmpty else { return Section(html: "<p class=\"empty\">规则集里没有流程。</p>") }
        var html = "", script = ""
        for (i, flow) in report.flows.enumerated() {
            html += "<section class=\"flow\" data-flow=\"\(HTML.escape(flow.name))\"><h2>\(HTML.escape(flow.title))"
                + (flow.title == flow.name ? "" : " <code>\(HTML.escape(flow.name))</code>") + "</h2>"
            html += "<div class=\"cards\">"
            for (k, label, n) in [("started", "开始", flow.started), ("done", "完成", flow.done), ("cancelled", "取消", flow.cancelled),
                                  ("expired", "超时", flow.expired), ("handedOff", "转人工", flow.handedOff), ("failedCalls", "调用失败", flow.failedCalls)] {
                html += "<div class=\"card small\"><div class=\"label\">\(label)</div><div class=\"value\" data-k=\"\(k)\">\(Format.count(n))</div></div>"
            }
            html += "<div class=\"card small\"><div class=\"label\">完成率</div><div class=\"value\" data-k=\"completion\">\(Format.percent(flow.completion))</div></div></div>"
            if let step = flow.giveUpStep {
                html += "<p class=\"warn\" data-k=\"give-up\">最多人在 <b>\(HTML.escape(step))</b> 这一步放弃（\(flow.steps.first { $0.name == step }?.endedHere ?? 0) 次）。</p>"
            }
            html += "<table class=\"funnel\"><tr><th>步骤</th><th>到达</th><th>重问</th><th>在此放弃</th><th>调用失败</th></tr>"
            html += "<tr><td>开始</td><td class=\"num\">\(Format.count(flow.started))</td><td></td><td></td><td></td></tr>"
            for s in flow.steps {
                html += "<tr data-step=\"\(HTML.escape(s.name))\"\(s.name == flow.giveUpStep ? " class=\"hot\"" : "")><td>\(HTML.escape(s.name))</td>"
                    + "<td class=\"num\" data-k=\"reached\">\(Format.count(s.reached))</td><td class=\"num\" data-k=\"reasked\">\(Format.count(s.reasked))</td>"
                    + "<td class=\"num\" data-k=\"ended\">\(Format.count(s.endedHere))</td><td class=\"num\">\(Format.count(s.failedCalls))</td></tr>"
            }
            html += "<tr><td>完成</td><td class=\"num\">\(Format.count(flow.done))</td><td></td><td></td><td></td></tr></table>"
            let chart = Chart(id: "chart-flow-\(i)", kind: "bar", labels: ["开始"] + flow.steps.map(\.name) + ["完成"],
                              datasets: [
                                  .init(label: "到达", data: [Double(flow.started)] + flow.steps.map { Double($0.reached) } + [Double(flow.done)], backgroundColor: "#2f6fde"),
                                  .init(label: "在此放弃", data: [0] + flow.steps.map { Double($0.endedHere) } + [0], backgroundColor: "#d64545"),
                              ], horizontal: true, height: 60 + 28 * (flow.steps.count + 2))
            html += chart.canvas + "</section>"
            script += chart.script
        }
        return Section(html: html, script: script)
    }
}
