import KefuConsole

/// A stand-in for the console's pages until the real ones land (the lead replaces this file): one page,
/// 概览, with each account's rule-set status. Everything else of the console (sign-in, sessions, CSRF,
/// layout) is real.
struct PlaceholderConsole: ConsoleContent {
    let accounts: [AccountHost]

    var navigation: [(page: String, title: String)] { [("overview", "概览")] }

    func get(_ request: ConsoleRequest) async -> ConsoleAnswer? {
        guard request.page == "overview" else { return nil }
        var rows = ""
        for account in accounts {
            let status = await account.status()
            let ready = status["ready"] as? Bool ?? false
            let error = status["lastReloadError"] as? String
            rows += "<tr><td>\(HTML.escape(account.name ?? "—"))</td><td><code>\(HTML.escape(Mask.openid(account.id.rawValue)))</code></td>"
                + "<td class=\"\(ready ? "ok" : "bad")\">\(ready ? "在线" : "未加载")</td>"
                + "<td class=\"num\">\(status["ruleCount"] as? Int ?? 0)</td>"
                + "<td><code>\(HTML.escape(status["rulesVersion"] as? String ?? "—"))</code></td>"
                + "<td>\(HTML.escape(status["lastReloadAt"] as? String ?? status["loadedAt"] as? String ?? "—"))</td>"
                + "<td>\(error.map { "<span class=\"bad\">\(HTML.escape($0))</span>" } ?? "—")</td></tr>\n"
        }
        let body = """
            <table id="accounts">
            <tr><th>公众号</th><th>AppID</th><th>状态</th><th class="num">规则数</th><th>规则集版本</th><th>上次加载</th><th>上次加载错误</th></tr>
            \(rows)</table>
            """
        return .page(ConsolePage(title: "概览", body: body))
    }

    func post(_ request: ConsoleRequest) async -> ConsoleAnswer? { nil }
}

extension KefuServer {
    /// The console's pages.
    func consoleContent() -> any ConsoleContent { PlaceholderConsole(accounts: accounts) }
}
