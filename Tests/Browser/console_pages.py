#!/usr/bin/env python3
"""The console's pages in a real browser, against a server holding a generated log (kefu-loggen).

Run by Tests/KefuServerTests/ConsolePagesTests.swift:
  console_pages.py ADMIN_URL STORE.sqlite [--screenshots DIR]
  env: CONSOLE_VIEWER=name:password, CONSOLE_EDITOR=name:password
The numbers on the pages are checked against counts this script makes itself, with SQL on the
store file (sqlite3 from Python's standard library), not against anything the server computes.
Prints one "ok: …" line per check; exits 1 at the first that fails.
"""
import datetime
import os
import re
import shutil
import sqlite3
import sys
import time

from playwright.sync_api import sync_playwright

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console import check, fail, sign_in  # noqa: E402  (the sign-in checks' helpers)

# (page, screenshot, heading): every page of the console.
PAGES = [
    ("overview?days=30", "overview.png", "概览"),
    ("unresolved?days=30", "unresolved.png", "未解决"),
    ("rules?days=30", "rules.png", "规则"),
    ("flows?days=30", "flows.png", "流程"),
    ("sessions?text=%E9%80%80%E8%B4%A7", "sessions.png", "会话"),
    ("try", "try.png", "试一试"),
    ("handoff", "handoff.png", "人工"),
]

ZONE = datetime.timezone(datetime.timedelta(hours=8))


def number(text):
    return int(text.replace(",", "").strip())


def local_day_start(days_ago):
    today = datetime.datetime.now(ZONE).date() - datetime.timedelta(days=days_ago)
    return int(datetime.datetime(today.year, today.month, today.day, tzinfo=ZONE).timestamp())


def main():
    args = sys.argv[1:]
    screenshots = None
    if "--screenshots" in args:
        i = args.index("--screenshots")
        screenshots = args[i + 1]
        del args[i:i + 2]
        os.makedirs(screenshots, exist_ok=True)
    admin, store = args[0].rstrip("/"), args[1]
    viewer = os.environ["CONSOLE_VIEWER"].split(":", 1)
    editor = os.environ["CONSOLE_EDITOR"].split(":", 1)
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    q = lambda sql, *a: db.execute(sql, a).fetchall()  # noqa: E731

    start30 = local_day_start(29)
    customer = "msg_type NOT IN ('call', 'expired') AND kind != 'call'"
    total30 = q(f"SELECT count(*) FROM conversation WHERE time >= ? AND {customer}", start30)[0][0]
    by_kind = dict(q(f"SELECT kind, count(*) FROM conversation WHERE time >= ? AND {customer} GROUP BY kind", start30))
    check(total30 > 1000, f"the generated log has {total30} messages in 30 days")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        outside = []
        page.on("request", lambda r: None if r.url.startswith(admin) or r.url.startswith("data:") else outside.append(r.url))
        sign_in(page, admin, viewer[0], viewer[1])

        # Every page loads, in Chinese, draws its charts with the console's own Chart.js, loads nothing from elsewhere.
        for path, shot, heading in PAGES:
            started = time.time()
            response = page.goto(admin + "/console/" + path)
            page.wait_for_load_state("networkidle")
            check(response.status == 200 and heading in page.inner_text("main"), f"{path} loads ({response.status}, {time.time() - started:.2f} s)")
            if page.query_selector("canvas"):
                check(page.evaluate("typeof Chart") == "function", f"{path}: Chart.js is loaded and the charts drawn")
            if screenshots:
                page.screenshot(path=os.path.join(screenshots, shot), full_page=shot != "sessions.png")
        check(not outside, f"no page loaded anything from elsewhere ({outside[:3]})")

        # 概览: totals and each kind match the store's own counts.
        page.goto(admin + "/console/overview?days=30")
        check(number(page.inner_text("#total-messages")) == total30, f"概览: {total30} messages in 30 days, as the store counts")
        for kind, n in by_kind.items():
            cell = page.query_selector(f"td[data-kind='{kind}']")
            check(cell is not None and number(cell.inner_text()) == n, f"概览: {kind} = {n}")
        today = datetime.datetime.now(ZONE).date()
        for days_ago in (0, 3):
            d = today - datetime.timedelta(days=days_ago)
            start = int(datetime.datetime(d.year, d.month, d.day, tzinfo=ZONE).timestamp())
            n, users = q(f"SELECT count(*), count(DISTINCT user) FROM conversation WHERE time >= ? AND time < ? AND {customer}", start, start + 86400)[0]
            row = page.query_selector(f"tr[data-date='{d.isoformat()}']")
            check(row is not None and number(row.query_selector("td[data-k='messages']").inner_text()) == n
                  and number(row.query_selector("td[data-k='users']").inner_text()) == users,
                  f"概览: {d.isoformat()} has {n} messages from {users} users")
        unanswered = by_kind.get("default", 0)
        check(f"{unanswered / total30 * 100:.1f}%" == page.inner_text("#unanswered-rate").strip(),
              f"概览: the unanswered rate is {unanswered}/{total30}")

        # 规则: hits per rule.
        page.goto(admin + "/console/rules?days=30")
        hits = q(f"SELECT rule, count(*) FROM conversation WHERE time >= ? AND {customer} AND kind IN ('rule', 'intent', 'event') AND rule != '' "
                 "GROUP BY rule ORDER BY 2 DESC LIMIT 5", start30)
        for rule, n in hits:
            cell = page.query_selector(f"tr[data-rule='{rule}'] td[data-k='hits']")
            check(cell is not None and number(cell.inner_text()) == n, f"规则: {rule} hit {n} times")

        # 流程: starts, ends and the steps of each flow.
        page.goto(admin + "/console/flows?days=30")
        for flow, in q("SELECT DISTINCT mark_flow FROM conversation WHERE time >= ? AND mark_flow IS NOT NULL", start30):
            section = page.query_selector(f"section[data-flow='{flow}']")
            check(section is not None, f"流程: {flow} has a funnel")
            # A flow that started and did more in one turn is marked started+EVENT: it counts as a start and as that event.
            started = q("SELECT count(*) FROM conversation WHERE time >= ? AND mark_flow = ? AND (mark_event = 'started' OR mark_event LIKE 'started+%')",
                        start30, flow)[0][0]
            done = q("SELECT count(*) FROM conversation WHERE time >= ? AND mark_flow = ? AND mark_event IN ('done', 'started+done')", start30, flow)[0][0]
            check(done <= started, f"流程: {flow} was done {done} times, started {started} times")
            for key, event in [("started", "started"), ("done", "done"), ("cancelled", "cancelled"), ("expired", "expired"), ("handedOff", "handoff")]:
                n = started if key == "started" else q("SELECT count(*) FROM conversation WHERE time >= ? AND mark_flow = ? AND mark_event IN (?, ?)",
                                                       start30, flow, event, "started+" + event)[0][0]
                shown = number(section.query_selector(f"[data-k='{key}']").inner_text())
                check(shown == n, f"流程: {flow} {key} = {n} ({shown})")
            for step, n in q("SELECT mark_step, count(*) FROM conversation WHERE time >= ? AND mark_flow = ? AND mark_event IN ('reasked', 'refused', 'failed', 'started+reasked', 'started+refused') "
                             "GROUP BY 1", start30, flow):
                row = section.query_selector(f"tr[data-step='{step}'] td[data-k='reasked']")
                check(row is not None and number(row.inner_text()) == n, f"流程: {flow} step {step} asked again {n} times")

        # 未解决: groups of the unanswered messages; every example is one of them.
        page.goto(admin + "/console/unresolved?days=30")
        groups = page.query_selector_all("section.group")
        check(len(groups) >= 3, f"未解决: {len(groups)} groups")
        said = {r[0] for r in q("SELECT message FROM conversation WHERE time >= ? AND kind = 'default'", start30)}
        examples = [li.inner_text() for li in page.query_selector_all("section.group ul.examples li")]
        check(examples and all(e in said for e in examples), f"未解决: the {len(examples)} examples are unanswered messages")
        counts = [int(g.get_attribute("data-count")) for g in groups]
        check(counts == sorted(counts, reverse=True) and sum(counts) <= unanswered, f"未解决: biggest groups first ({counts[:5]})")
        yaml = page.text_content("section.group pre.yaml") if page.query_selector("section.group pre.yaml") else ""
        check("rules:" in yaml and "reply:" in yaml, "未解决: a rule to copy, as YAML")

        # 会话: a search by text finds what the store finds; a viewer never sees an openid or a whole phone number.
        page.goto(admin + "/console/sessions?text=" + "退货")
        start7 = local_day_start(6)
        found = q("SELECT count(*) FROM conversation WHERE time >= ? AND (instr(message, '退货') > 0 OR instr(reply, '退货') > 0)", start7)[0][0]
        rows = page.query_selector_all("table.log tr[data-line]")
        check(len(rows) == min(100, found), f"会话: a search for 退货 shows {min(100, found)} lines ({len(rows)})")
        openids = [r[0] for r in q("SELECT DISTINCT user FROM conversation WHERE time >= ? LIMIT 200", start7)]
        page.goto(admin + "/console/sessions?text=138")
        html = page.content()
        check(not any(o in html for o in openids), "会话: no openid appears for a viewer (not even in links)")
        check(re.search(r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}", page.inner_text("main")) is None and "****" in page.inner_text("main"),
              "会话: phone numbers are masked for a viewer")
        # The transcript of one user, and why a message was answered.
        page.click("table.log tr[data-line] td.user a")
        check("会话记录" in page.inner_text("main") and page.query_selector("#reveal") is None, "会话: a viewer opens a transcript, with no reveal button")
        page.click("text=为什么")
        check("候选" in page.inner_text("#trace") or "winner" in page.inner_text("#trace").lower() or len(page.inner_text("#trace")) > 40,
              "会话: the explain trace of a message")

        # The editor reveals one user: the openid is shown (and the server logs it).
        editor_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        ep = editor_context.new_page()
        sign_in(ep, admin, editor[0], editor[1])
        ep.goto(admin + "/console/sessions?text=138")
        ep.click("table.log tr[data-line] td.user a")
        masked = ep.inner_text("#transcript-user")
        ep.click("#reveal")
        ep.wait_for_load_state()
        revealed = ep.inner_text("#transcript-user")
        check(revealed in openids or q("SELECT count(*) FROM conversation WHERE user = ?", revealed)[0][0] > 0,
              f"会话: the editor revealed {masked} as the whole openid")
        print("revealed: " + revealed)
        if screenshots:
            ep.screenshot(path=os.path.join(screenshots, "transcript.png"), full_page=True)

        # 试一试: a message, a menu click, the conversation tests.
        ep.goto(admin + "/console/try")
        ep.fill("#say", "运费多少")
        ep.click("#send")
        ep.wait_for_load_state()
        check("满 99 元包邮" in ep.inner_text("#chat") and "shipping-fee" in ep.inner_text("#chat"), "试一试: the live rule set answers, and says which rule")
        ep.click("button[name=click]")
        ep.wait_for_load_state()
        check(len(ep.query_selector_all("#chat .turn")) == 2, "试一试: a menu click is a turn too")
        ep.click("#run-tests")
        ep.wait_for_load_state()
        summary = ep.inner_text("#test-summary")
        check("0 个失败" in summary and "覆盖率" in summary, f"试一试: the conversation tests ran ({summary})")
        if screenshots:
            ep.screenshot(path=os.path.join(screenshots, "try.png"), full_page=True)
        test_lines = q("SELECT count(*) FROM conversation WHERE user LIKE 'console-test-%'")[0][0]
        check(test_lines == 0, "试一试 wrote nothing into the real log")

        # 人工: the users handed off now; the editor hands one back (the store's session says so), a viewer cannot.
        now = int(time.time())
        handed = q("SELECT user FROM session WHERE paused_until > ?", now)
        ep.goto(admin + "/console/handoff")
        rows = ep.query_selector_all("#handoff-users tr")[1:]
        check(len(rows) == len(handed) and len(handed) > 0, f"人工: {len(handed)} users with a human agent")
        page.goto(admin + "/console/handoff")
        check(page.query_selector("#handoff-users form") is None, "人工: a viewer has no hand-back button")
        ep.click("#handoff-users form button")
        ep.wait_for_load_state()
        check(ep.query_selector("#returned") is not None, "人工: handed back")
        db2 = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        left = db2.execute("SELECT count(*) FROM session WHERE paused_until > ?", (now,)).fetchone()[0]
        check(left == len(handed) - 1, f"人工: the store has {left} users handed off now")
        forged = page.request.post(admin + "/console/handoff/return", form={"u": "x"})
        check(forged.status == 403, f"人工: a hand-back without the CSRF token is refused ({forged.status})")
        token = page.get_attribute("input[name=csrf]", "value")
        as_viewer = page.request.post(admin + "/console/handoff/return", form={"u": "x", "csrf": token})
        check(as_viewer.status == 403 and "编辑者" in as_viewer.text(), f"人工: a viewer's hand-back is refused ({as_viewer.status})")
        browser.close()
    print("all console page checks passed")


if __name__ == "__main__":
    main()
