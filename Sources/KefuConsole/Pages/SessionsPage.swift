import KefuAnalytics
import KefuDialogue
import KefuRules

/// 会话: search the log; a user's transcript with, for each turn, what answered it and why.
enum SessionsPage {
    static let kindNames = Dictionary(uniqueKeysWithValues: Sections.kinds.map { ($0.0.rawValue, $0.1) } + [("call", "调用结果")])

    static func search(_ c: PageContext) async throws -> ConsolePage {
        let q = c.request.query
        let (from, until) = period(q, c)
        var search = LogSearch(from: from, until: until, limit: 100)
        func value(_ key: String) -> String? { q[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) } }
        search.user = value("u").flatMap { c.site.refs.user(for: $0) } ?? value("user")
        search.text = value("text")
        search.rule = value("rule")
        search.flow = value("flow")
        search.kind = value("kind").flatMap(AnswerKind.init(rawValue:))
        if let before = value("before")?.split(separator: "."), before.count == 2, let t = Int64(before[0]), let i = Int64(before[1]) { search.before = (t, i) }
        var html = "<form class=\"search\" method=\"get\" action=\"/console/sessions\">"
        if c.site.accounts.count > 1 { html += "<input type=\"hidden\" name=\"account\" value=\"\(HTML.escape(c.account.id))\">" }
        html += field("user", "用户 openid", q["user"]) + field("text", "文字", q["text"]) + field("rule", "规则", q["rule"]) + field("flow", "流程", q["flow"])
        html += "<label>回答方式 <select name=\"kind\"><option value=\"\">全部</option>"
        for (kind, name) in Sections.kinds { html += "<option value=\"\(kind.rawValue)\"\(q["kind"] == kind.rawValue ? " selected" : "")>\(name)</option>" }
        html += "</select></label>"
        html += "<label>从 <input type=\"date\" name=\"from\" value=\"\(HTML.escape(c.days.label(c.days.day(of: from))))\"></label>"
        html += "<label>到 <input type=\"date\" name=\"to\" value=\"\(HTML.escape(c.days.label(c.days.day(of: until - 1))))\"></label>"
        html += "<button type=\"submit\">搜索</button></form>"
        let lines = try await c.account.log.searchLog(search)
        html += "<p class=\"note\" id=\"result-count\">\(lines.count == search.limit ? "最新的 \(lines.count) 条" : "\(lines.count) 条")</p>"
        html += table(lines, c, linkUsers: true)
        if lines.count == search.limit, let last = lines.last {
            var next = q
            next["before"] = "\(last.turn.time).\(last.id)"
            next.removeValue(forKey: "account")
            html += "<p><a href=\"\(HTML.escape(c.link("sessions", next)))\">更早的 →</a></p>"
        }
        return ConsolePage(title: "会话", body: html)
    }

    static func field(_ name: String, _ label: String, _ value: String?) -> String {
        "<label>\(label) <input type=\"text\" name=\"\(name)\" value=\"\(HTML.escape(value ?? ""))\"></label>"
    }

    /// `from` / `to` dates (local, inclusive), default the last 7 days.
    static func period(_ q: [String: String], _ c: PageContext) -> (Int64, Int64) {
        func day(_ text: String?) -> Int? { text.flatMap(c.days.day(label:)) }
        let last = day(q["to"]) ?? c.today
        let first = day(q["from"]) ?? (last - 6)
        return (c.days.start(of: min(first, last)), c.days.start(of: max(first, last) + 1))
    }

    /// Lines as a table: time, user (masked unless revealed), what they sent, what answered, the reply.
    static func table(_ lines: [LoggedTurn], _ c: PageContext, linkUsers: Bool) -> String {
        if lines.isEmpty { return "<p class=\"empty\">没有找到。</p>" }
        var html = "<table class=\"log\"><tr><th>时间</th>\(linkUsers ? "<th>用户</th>" : "")<th>客户说</th><th>回答</th><th>回复</th><th></th></tr>"
        for line in lines {
            let t = line.turn
            html += "<tr data-line=\"\(line.id)\" data-kind=\"\(t.answerKind.rawValue)\"><td class=\"nowrap\">\(Format.time(t.time, c.days))</td>"
            if linkUsers {
                html += "<td class=\"user\"><a href=\"\(HTML.escape(c.link("sessions/transcript", ["u": c.ref(t.user)])))\">\(HTML.escape(c.shown(t.user)))</a></td>"
            }
            html += "<td class=\"said\">\(HTML.escape(c.shown(text: t.message, of: t.user)))</td>"
            html += "<td>\(kindNames[t.answerKind.rawValue] ?? t.answerKind.rawValue)" + (t.rule.isEmpty ? "" : "<br><code>\(HTML.escape(t.rule))</code>")
            if let flow = t.flow { html += "<br><span class=\"note\">\(HTML.escape(flow))\(t.step.map { " · " + HTML.escape($0) } ?? "")</span>" }
            html += "</td><td class=\"reply\">\(HTML.escape(c.shown(text: t.reply, of: t.user)))</td>"
            html += "<td>" + (t.msgType == "text" ? "<a href=\"\(HTML.escape(c.link("sessions/explain", ["line": String(line.id)])))\">为什么</a>" : "") + "</td></tr>"
        }
        return html + "</table>"
    }

    static func transcript(_ c: PageContext) async throws -> ConsolePage {
        guard let ref = c.request.query["u"], let user = c.site.refs.user(for: ref) else {
            return ConsolePage(title: "会话", body: "<p class=\"error\">这个链接已失效：请从搜索结果重新打开。</p>", status: 404)
        }
        let lines = try await c.account.log.searchLog(LogSearch(user: user, limit: 200))
        var html = "<p><a href=\"\(HTML.escape(c.link("sessions")))\">← 搜索</a></p>"
        html += "<h2>用户 <span id=\"transcript-user\">\(HTML.escape(c.shown(user)))</span></h2>"
        if c.request.user.isEditor, !c.site.isRevealed(user, for: c.request.user, now: c.now) {
            html += "<form method=\"post\" action=\"/console/sessions/reveal\">\(HTML.csrfField(c.request.csrfToken))"
                + "<input type=\"hidden\" name=\"u\" value=\"\(HTML.escape(ref))\">"
                + (c.site.accounts.count > 1 ? "<input type=\"hidden\" name=\"account\" value=\"\(HTML.escape(c.account.id))\">" : "")
                + "<button type=\"submit\" id=\"reveal\">显示完整 openid 和手机号（会记录）</button></form>"
        } else if !c.request.user.isEditor {
            html += "<p class=\"note\">openid 和手机号已隐藏（查看者）。</p>"
        }
        html += "<p class=\"note\">最近 \(lines.count) 条，按时间顺序。</p>"
        html += table(lines.reversed(), c, linkUsers: false)
        return ConsolePage(title: "会话记录", body: html)
    }

    static func reveal(_ c: PageContext) -> ConsoleAnswer {
        guard c.request.user.isEditor, let ref = c.request.form["u"], let user = c.site.refs.user(for: ref) else {
            return .page(ConsolePage(title: "不能显示", body: "<p class=\"error\">只有编辑者可以显示完整信息。</p>", status: 403))
        }
        c.site.reveal(user, for: c.request.user, now: c.now)
        // The audit line names who and which user (masked: the log is read by more people than the console).
        c.site.logger.notice("console: a masked user was revealed", metadata: [
            "by": .string(c.request.user.name), "user": .string(Mask.openid(user)), "ref": .string(ref), "account": .string(c.account.id),
        ])
        return .redirect(c.link("sessions/transcript", ["u": ref]))
    }

    static func explain(_ c: PageContext) async throws -> ConsolePage {
        guard let id = c.request.query["line"].flatMap({ Int64($0) }),
              let line = try await c.account.log.logLine(id: id) else {
            return ConsolePage(title: "为什么", body: "<p class=\"error\">没有这条记录。</p>", status: 404)
        }
        let t = line.turn
        var html = "<p><a href=\"\(HTML.escape(c.link("sessions/transcript", ["u": c.ref(t.user)])))\">← 会话记录</a></p>"
        html += "<table class=\"facts\"><tr><th>时间</th><td>\(Format.time(t.time, c.days))</td></tr>"
        html += "<tr><th>客户说</th><td>\(HTML.escape(c.shown(text: t.message, of: t.user)))</td></tr>"
        html += "<tr><th>规范化后</th><td>\(HTML.escape(c.shown(text: t.normalized ?? "", of: t.user)))</td></tr>"
        html += "<tr><th>当时的回答</th><td id=\"answered-by\">\(kindNames[t.answerKind.rawValue] ?? "") <code>\(HTML.escape(t.rule))</code></td></tr>"
        if let intent = t.intent { html += "<tr><th>意图</th><td>\(HTML.escape(intent))</td></tr>" }
        if let declined = t.declined { html += "<tr><th>意图拒答</th><td>\(HTML.escape(declined))</td></tr>" }
        if let mark = t.flowMark { html += "<tr><th>流程</th><td>\(HTML.escape(mark.flow)) · \(HTML.escape(mark.event))\(mark.step.map { " · " + HTML.escape($0) } ?? "")</td></tr>" }
        html += "<tr><th>答复时间</th><td>\(Format.ms(Double(t.latencyMicroseconds) / 1000))</td></tr></table>"
        if let rules = await c.account.rules(), t.msgType == "text" {
            let trace = Explanation(rules, .text(t.message), at: LocalTime(unixTime: t.time, utcOffset: rules.settings.utcOffset)).render()
            html += "<h2>用现在的规则集解释这条消息</h2><p class=\"note\">规则集可能已经改过：这里是现在会怎样匹配（流程中的消息由当时的步骤回答）。</p>"
            html += "<pre class=\"trace\" id=\"trace\">\(HTML.escape(c.shown(text: trace, of: t.user)))</pre>"
        }
        return ConsolePage(title: "为什么这样回答", body: html)
    }
}
