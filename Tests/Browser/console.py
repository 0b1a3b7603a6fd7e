#!/usr/bin/env python3
"""The console in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

Run by Tests/KefuServerTests/ConsoleBrowserTests.swift against a real `kefu serve --admin 127.0.0.1:0`:
  console.py ADMIN_URL WEBHOOK_URL [--screenshots DIR]
  env: KEFU_ADMIN_TOKEN, CONSOLE_VIEWER=name:password, CONSOLE_EDITOR=name:password
Prints one "ok: …" line per check; exits 1 at the first that fails, saying what was seen.
Pages to load (and screenshot into DIR, e.g. docs/console/): PAGES below; add a page with one line.
"""
import json
import os
import shutil
import sys
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

# (path under /console/, file name of its screenshot, text the page must show)
PAGES = [
    ("overview", "overview-empty.png", "概览"),  # an empty log; ConsolePagesTests photographs the pages with data
]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message)


def http(url, method="GET", data=None, headers=None):
    """Status, headers and body without a browser (no redirects followed)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=data.encode() if data is not None else None, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def sign_in(page, admin, name, password):
    page.goto(admin + "/console/login")
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.url.endswith("/console/login") and r.request.method == "POST") as answer:
        page.click("#sign-in")
    page.wait_for_load_state()
    return answer.value


def main():
    args = sys.argv[1:]
    screenshots = None
    if "--screenshots" in args:
        i = args.index("--screenshots")
        screenshots = args[i + 1]
        del args[i:i + 2]
        os.makedirs(screenshots, exist_ok=True)
    admin, webhook = args[0].rstrip("/"), args[1].rstrip("/")
    token = os.environ["KEFU_ADMIN_TOKEN"]
    viewer = os.environ["CONSOLE_VIEWER"].split(":", 1)
    editor = os.environ["CONSOLE_EDITOR"].split(":", 1)

    chromium = shutil.which("chromium")
    if not chromium:
        fail("no chromium on PATH (scripts/install-deps installs Debian's)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

        # A page without a session goes to the sign-in form; a POST without one is refused.
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.goto(admin + "/console/overview")
        check(page.url == admin + "/console/login", f"a page without a session goes to the sign-in form ({page.url})")
        if screenshots:
            page.screenshot(path=os.path.join(screenshots, "login.png"), full_page=True)
        status, _, _ = http(admin + "/console/overview", "POST", "csrf=x")
        check(status == 401, f"a POST to a page without a session is refused ({status})")

        # A wrong password and an unknown name are refused alike.
        wrong = sign_in(page, admin, viewer[0], viewer[1] + "-wrong")
        wrong_text = page.inner_text("#signin-error")
        check(wrong.status == 401 and "用户名或密码不正确" in wrong_text, f"a wrong password is refused ({wrong.status}, {wrong_text!r})")
        unknown = sign_in(page, admin, "nobody-here", "whatever-password")
        check(unknown.status == 401 and page.inner_text("#signin-error") == wrong_text, "an unknown name gets the same answer")
        check(page.url.startswith(admin + "/console/login"), "no session after a refused sign-in")

        # The viewer signs in; the cookie is kept with its attributes (Secure from http://127.0.0.1 included).
        sign_in(page, admin, viewer[0], viewer[1])
        check(page.url == admin + "/console/" + PAGES[0][0], f"sign-in lands on the first page ({page.url})")
        check(page.inner_text("#signed-in-user") == viewer[0] and "查看者" in page.inner_text("#signed-in-role"),
              f"the viewer sees name and role ({page.inner_text('#signed-in-user')} {page.inner_text('#signed-in-role')})")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies.get("kefu_session")
        check(session is not None, f"chromium kept the Secure session cookie set over http://127.0.0.1 ({list(cookies)})")
        check(session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict" and session["path"] == "/console",
              f"the session cookie is HttpOnly, Secure, SameSite=Strict, Path=/console ({session})")
        check(page.evaluate("document.cookie") == "", "scripts cannot read the session cookie")

        # Every page loads (and, with --screenshots, is photographed); the page's headers protect it.
        for path, shot, text in PAGES:
            response = page.goto(admin + "/console/" + path)
            check(response.status == 200 and text in page.inner_text("main"), f"the page {path} loads")
            headers = response.headers
            csp = headers.get("content-security-policy", "")
            check("script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp and headers.get("x-frame-options") == "DENY"
                  and headers.get("cache-control") == "no-store", f"{path}: CSP, X-Frame-Options and no-store ({csp})")
            if screenshots:
                page.screenshot(path=os.path.join(screenshots, shot), full_page=True)
        chart = page.request.get(admin + "/console/static/chart.js")
        licence = page.request.get(admin + "/console/static/chart.js.LICENSE.txt")
        check(chart.status == 200 and b"Chart" in chart.body()[:2000] and licence.status == 200 and b"MIT" in licence.body(),
              f"Chart.js is served from the console with its licence ({chart.status}, {licence.status})")

        # A form POST without the CSRF token, or with a wrong one, or from another origin: 403, and nothing changed.
        no_token = page.request.post(admin + "/console/logout", form={})
        wrong_token = page.request.post(admin + "/console/logout", form={"csrf": "not-the-token"})
        csrf = page.get_attribute("input[name=csrf]", "value")
        other_origin = page.request.post(admin + "/console/logout", form={"csrf": csrf}, headers={"Origin": "http://evil.example"})
        check(no_token.status == 403 and wrong_token.status == 403 and other_origin.status == 403,
              f"sign-out without the CSRF token, with a wrong one, or from another origin is refused ({no_token.status}, {wrong_token.status}, {other_origin.status})")
        still = page.goto(admin + "/console/" + PAGES[0][0])
        check(still.status == 200 and page.url == admin + "/console/" + PAGES[0][0], "those POSTs changed nothing: still signed in")
        login_without = http(admin + "/console/login", "POST", f"name={viewer[0]}&password={viewer[1]}",
                             {"Content-Type": "application/x-www-form-urlencoded"})
        check(login_without[0] == 403 and "kefu_session" not in login_without[1].get("Set-Cookie", ""),
              f"a sign-in POST without the form's CSRF token is refused and signs nobody in ({login_without[0]})")

        # /status and /metrics: with the session or the bearer token on the admin port; gone from the webhook's.
        # (The session cookie has Path=/console: a browser reads them as /console/status and /console/metrics.)
        status = page.request.get(admin + "/console/status")
        check(status.status == 200 and "accounts" in json.loads(status.text()), "/console/status with a signed-in session")
        metrics = page.request.get(admin + "/console/metrics")
        check(metrics.status == 200 and "kefu_" in metrics.text(), "/console/metrics with a signed-in session")
        for path in ["/status", "/metrics", "/console/status", "/console/metrics"]:
            anonymous = http(admin + path)
            bearer = http(admin + path, headers={"Authorization": "Bearer " + token})
            wrong_bearer = http(admin + path, headers={"Authorization": "Bearer " + token + "x"})
            on_webhook = http(webhook + path.replace("/console", ""))
            check(anonymous[0] == 401 and wrong_bearer[0] == 401 and bearer[0] == 200 and on_webhook[0] == 404,
                  f"{path}: 401 without sign-in or with a wrong token, 200 with the token, 404 on the webhook port "
                  f"({anonymous[0]}, {wrong_bearer[0]}, {bearer[0]}, {on_webhook[0]})")
            check(token not in bearer[2], f"{path} does not show the admin token")

        # Sign-out (the button, with its token) ends the session.
        page.click("#sign-out")
        page.wait_for_load_state()
        page.goto(admin + "/console/" + PAGES[0][0])
        check(page.url == admin + "/console/login", "after sign-out the pages need sign-in again")

        # The editor sees their role; the admin token signs in as an editor with the name left empty.
        editor_page = browser.new_context(locale="zh-CN").new_page()
        sign_in(editor_page, admin, editor[0], editor[1])
        check("编辑者" in editor_page.inner_text("#signed-in-role") and editor_page.inner_text("#signed-in-user") == editor[0],
              "the editor sees name and role 编辑者")
        token_page = browser.new_context(locale="zh-CN").new_page()
        sign_in(token_page, admin, "", token)
        check("编辑者" in token_page.inner_text("#signed-in-role"), "the admin token (name left empty) signs in as an editor")

        # The sign-in limit (last: it locks this address out). Two failures so far from 127.0.0.1.
        limited = None
        limit_page = browser.new_context(locale="zh-CN").new_page()
        for attempt in range(6):
            answer = sign_in(limit_page, admin, editor[0], "wrong-" + str(attempt))
            if answer.status == 429:
                limited = (attempt, answer)
                break
        check(limited is not None and limited[0] == 3, f"the 5th failure in 5 minutes locks sign-in: 429 at attempt {limited and limited[0]}")
        retry = limited[1].headers.get("retry-after", "")
        check(retry.isdigit() and 0 < int(retry) <= 300 and "登录失败次数太多" in limit_page.inner_text("#signin-error"),
              f"429 with Retry-After ({retry}) and a message")
        right = sign_in(limit_page, admin, editor[0], editor[1])
        check(right.status == 429, f"while locked even the right password is refused ({right.status})")
        browser.close()
    print("all console browser checks passed")


if __name__ == "__main__":
    main()
