import KefuDialogue

/// 人工: users a human agent has now, with "hand back to the bot" for editors.
enum HandoffPage {
    static func render(_ c: PageContext) async throws -> ConsolePage {
        let users = try await c.account.log.handedOffUsers(at: c.now, limit: 500)
        var html = c.toolbar(period: false)
        html += "<p>转给人工客服的用户：机器人在暂停时间内不回答他们（客服在微信客服工具里接待）。交还后，机器人立即重新回答。</p>"
        if let done = c.request.query["returned"] {
            html += "<p class=\"ok\" id=\"returned\">已把 \(HTML.escape(done)) 交还给机器人。</p>"
        }
        if users.isEmpty { return ConsolePage(title: "人工", body: html + "<p class=\"empty\" id=\"no-handoffs\">现在没有转人工的用户。</p>") }
        html += "<table class=\"handoff\" id=\"handoff-users\"><tr><th>用户</th><th>转人工于</th><th>暂停到</th><th></th></tr>"
        for u in users {
            let ref = c.ref(u.user)
            html += "<tr><td><a href=\"\(HTML.escape(c.link("sessions/transcript", ["u": ref])))\">\(HTML.escape(c.shown(u.user)))</a></td>"
                + "<td>\(Format.time(u.since, c.days))</td><td>\(Format.time(u.until, c.days))</td><td>"
            if c.request.user.isEditor {
                html += "<form method=\"post\" action=\"/console/handoff/return\">\(HTML.csrfField(c.request.csrfToken))"
                    + "<input type=\"hidden\" name=\"u\" value=\"\(HTML.escape(ref))\">"
                    + (c.site.accounts.count > 1 ? "<input type=\"hidden\" name=\"account\" value=\"\(HTML.escape(c.account.id))\">" : "")
                    + "<button type=\"submit\">交还机器人</button></form>"
            }
            html += "</td></tr>"
        }
        return ConsolePage(title: "人工", body: html + "</table>")
    }

    static func handBack(_ c: PageContext) async -> ConsoleAnswer {
        guard c.request.user.isEditor else {
            return .page(ConsolePage(title: "不能交还", body: "<p class=\"error\">只有编辑者可以把用户交还给机器人。</p>", status: 403))
        }
        guard let ref = c.request.form["u"], let user = c.site.refs.user(for: ref) else {
            return .page(ConsolePage(title: "不能交还", body: "<p class=\"error\">这个用户的链接已失效：请刷新页面再试。</p>", status: 400))
        }
        do {
            let changed = try await c.account.handBack(user)
            c.site.logger.notice("console: a user was handed back to the bot", metadata: [
                "by": .string(c.request.user.name), "user": .string(Mask.openid(user)), "account": .string(c.account.id), "changed": .string("\(changed)"),
            ])
            return .redirect(c.link("handoff", ["returned": Mask.openid(user)]))
        } catch {
            return .page(ConsolePage(title: "不能交还", body: "<p class=\"error\">没有交还：\(HTML.escape(ConsoleSite.describe(error)))</p>", status: 500))
        }
    }
}
