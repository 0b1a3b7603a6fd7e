/// The HTML around every console page: the stylesheet, the navigation, who is signed in, sign-out, and
/// Chart.js when the page draws charts. Nothing is loaded from elsewhere; the one inline `<style>` and
/// `<script>` of a page carry the response's CSP nonce.
public enum Layout {
    public static let roleNames: [ConsoleUser.Role: String] = [.viewer: "查看者", .editor: "编辑者"]

    /// Content-Security-Policy: only this origin, plus the inline style and script carrying `nonce`.
    public static func contentSecurityPolicy(nonce: String) -> String {
        "default-src 'none'; script-src 'self' 'nonce-\(nonce)'; style-src 'self' 'nonce-\(nonce)'; img-src 'self' data:; "
            + "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    static let stylesheet = """
        *{box-sizing:border-box}body{margin:0;font:15px/1.6 "WenQuanYi Zen Hei","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:#1f2328;background:#f6f8fa}
        header{display:flex;align-items:center;gap:1.5em;background:#1f6f43;color:#fff;padding:.6em 1.2em}
        header .brand{font-weight:bold;font-size:1.1em}header nav{display:flex;gap:.2em;flex-wrap:wrap;flex:1}
        header nav a{color:#e6f4ea;text-decoration:none;padding:.25em .7em;border-radius:4px}header nav a.current,header nav a:hover{background:#2d8a57;color:#fff}
        header .who{display:flex;align-items:center;gap:.6em;font-size:.9em}header .who form{margin:0}
        header button{background:transparent;color:#fff;border:1px solid #cfe8d9;border-radius:4px;padding:.15em .6em;cursor:pointer;font:inherit}
        main{max-width:1200px;margin:1.2em auto;padding:0 1.2em}h1{font-size:1.4em;margin:.2em 0 .8em}
        table{border-collapse:collapse;background:#fff;width:100%;margin:.6em 0 1.2em}th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left;vertical-align:top}
        th{background:#eef1f4;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1em;margin:0 0 1em}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:1em;margin:0 0 1em}
        .metric .value{font-size:1.6em;font-weight:bold}.metric .label{color:#57606a;font-size:.9em}
        .notice{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.6em 1em;margin:0 0 1em}
        .error{background:#ffebe9;border:1px solid #cf222e;border-radius:6px;padding:.6em 1em;margin:0 0 1em}
        .ok{color:#1a7f37}.bad{color:#cf222e}.muted{color:#57606a}pre,code{font-family:"DejaVu Sans Mono",monospace;font-size:.9em}
        pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6em;overflow:auto}
        form.inline{display:inline}input,select,textarea{font:inherit;padding:.3em .5em;border:1px solid #d0d7de;border-radius:4px}
        button.primary{background:#1f883d;color:#fff;border:0;border-radius:6px;padding:.45em 1.2em;font:inherit;cursor:pointer}
        .signin{max-width:360px;margin:8vh auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.6em}
        .signin label{display:block;margin:.8em 0 .2em}.signin input{width:100%}.signin button{margin-top:1.2em;width:100%}
        canvas{max-width:100%;background:#fff}
        """ + PageStyle.css

    /// A signed-in page.
    public static func page(_ page: ConsolePage, user: ConsoleUser, navigation: [(page: String, title: String)], current: String,
                            csrfToken: String, nonce: String, chartsAvailable: Bool) -> String {
        let links = navigation.map { item in
            let isCurrent = current == item.page || current.hasPrefix(item.page + "/")
            return "<a href=\"/console/\(HTML.escape(item.page))\"\(isCurrent ? " class=\"current\" aria-current=\"page\"" : "")>\(HTML.escape(item.title))</a>"
        }.joined()
        var scripts = ""
        if page.usesCharts {
            if chartsAvailable {
                scripts += "<script src=\"/console/static/chart.js\"></script>\n"
            }
        }
        if let script = page.script {
            scripts += "<script nonce=\"\(nonce)\">\n\(script)\n</script>\n"
        }
        let chartsMissing = page.usesCharts && !chartsAvailable
            ? "<p class=\"notice\" id=\"charts-unavailable\">图表不可用：服务器上没有 Chart.js（安装 libjs-chart.js 后重启 kefu serve）。下面的数字不受影响。</p>\n" : ""
        return """
            <!doctype html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(page.title)) · Kefu 客服控制台</title>
            <style nonce="\(nonce)">\(stylesheet)</style>
            </head>
            <body>
            <header>
            <span class="brand">Kefu 客服控制台</span>
            <nav>\(links)</nav>
            <span class="who"><span id="signed-in-user">\(HTML.escape(user.name))</span><span id="signed-in-role">（\(roleNames[user.role] ?? user.role.rawValue)）</span>
            <form method="post" action="/console/logout">\(HTML.csrfField(csrfToken))<button type="submit" id="sign-out">退出</button></form></span>
            </header>
            <main>
            <h1>\(HTML.escape(page.title))</h1>
            \(chartsMissing)\(page.body)
            </main>
            \(scripts)</body>
            </html>

            """
    }

    /// The sign-in form. `csrf` is the pre-sign-in token (its cookie's twin); `message` an error to show.
    public static func signIn(message: String?, name: String, csrf: String, nonce: String, tokenEnabled: Bool) -> String {
        let hint = tokenEnabled ? "<p class=\"muted\">用管理令牌登录：用户名留空，在密码栏填入令牌。</p>" : ""
        let error = message.map { "<p class=\"error\" id=\"signin-error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? ""
        return """
            <!doctype html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>登录 · Kefu 客服控制台</title>
            <style nonce="\(nonce)">\(stylesheet)</style>
            </head>
            <body>
            <form class="signin" method="post" action="/console/login">
            <h1>Kefu 客服控制台</h1>
            \(error)
            \(HTML.csrfField(csrf))
            <label for="name">用户名</label>
            <input id="name" name="name" autocomplete="username" value="\(HTML.escape(name))" autofocus>
            <label for="password">密码</label>
            <input id="password" name="password" type="password" autocomplete="current-password">
            <button class="primary" type="submit" id="sign-in">登录</button>
            \(hint)
            </form>
            </body>
            </html>

            """
    }

    /// A bare page for answers outside a signed-in page (404, 403 …).
    public static func message(title: String, text: String, nonce: String) -> String {
        """
        <!doctype html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>\(HTML.escape(title)) · Kefu 客服控制台</title>
        <style nonce="\(nonce)">\(stylesheet)</style></head>
        <body><main><h1>\(HTML.escape(title))</h1><p>\(HTML.escape(text))</p><p><a href="/console/login">登录</a></p></main></body></html>

        """
    }
}
