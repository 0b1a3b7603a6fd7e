#!/usr/bin/env python3
"""The store under stress: another connection holds the SQLite write lock past the store's busy
timeout while a user in the after-sales flow answers a step.

    store_stall.py URL DB

Expected (docs/security.md): the push is answered `success` within the budget; nothing of the turn
is applied (no answer, no log line, the session unchanged); the failure is counted; once the lock
is gone WeChat's retry of the same message runs the turn with the user's session (the flow moves on
exactly once). Prints {"checks": n, "failures": [...]}, exits 1 on any failure.
"""
import hashlib
import json
import sqlite3
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN, ACCOUNT, USER = "SwiftBotToken2024", "gh_5d2b8e4c1a7f", "oStall"
base, db_path = sys.argv[1], sys.argv[2]
# /metrics is on the admin listener (argv[3], its base URL) and needs the admin token (KEFU_ADMIN_TOKEN).
admin = sys.argv[3]
failures, checks = [], 0
seq = [int(time.time() * 1000) % 10**9]


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)


def push(content, msg_id):
    seq[0] += 1
    ts, nonce = str(int(time.time())), str(seq[0])
    q = {"signature": hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest(), "timestamp": ts, "nonce": nonce}
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{USER}]]></FromUserName>"
            f"<CreateTime>1796000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId></xml>")
    req = urllib.request.Request(base + "?" + urllib.parse.urlencode(q), data=body.encode(), method="POST")
    start = time.time()
    with urllib.request.urlopen(req, timeout=15) as r:
        return r.read().decode(), time.time() - start


def rows():
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT (SELECT count(*) FROM answered), (SELECT count(*) FROM conversation), "
                          "(SELECT state FROM session WHERE user = ?)", (USER,)).fetchone()
    finally:
        db.close()


def metric(name):
    req = urllib.request.Request(admin + "/metrics", headers={"Authorization": "Bearer " + os.environ["KEFU_ADMIN_TOKEN"]})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


reply, _ = push("我要退货", 1)
check("订单号" in reply, f"the flow starts and asks for the order number: {reply!r}")
before = rows()

locked, release = threading.Event(), threading.Event()


def hold_lock():
    db = sqlite3.connect(db_path, timeout=1, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # the write lock, as another process's long transaction would hold it
    locked.set()
    release.wait(20)
    db.execute("ROLLBACK")
    db.close()


holder = threading.Thread(target=hold_lock)
holder.start()
locked.wait(5)
reply, elapsed = push("DD202406110001", 2)
check(reply == "success", f"answered success while the store cannot write: {reply!r}")
check(elapsed < 2.5, f"within the budget: {elapsed:.2f} s")
deadline = time.time() + 15
while time.time() < deadline and metric("kefu_store_failures_total") < 1:
    time.sleep(0.1)
check(metric("kefu_store_failures_total") == 1, "the failed turn is counted")
check(rows() == before, f"nothing of the turn was applied: {before} → {rows()}")
release.set()
holder.join()
reply, _ = push("DD202406110001", 2)  # WeChat's retry of the same message
check("遇到了什么问题" in reply, f"the retry runs the turn with the session (the next step): {reply!r}")
after = rows()
check(after[0] == before[0] + 1 and after[1] == before[1] + 1, f"one answer and one log line for the message: {before[:2]} → {after[:2]}")
again, _ = push("DD202406110001", 2)
check(again == reply, "a further retry gets the stored answer")
check(rows()[:2] == after[:2], "and changes nothing")
print(json.dumps({"checks": checks, "failures": failures}, ensure_ascii=False))
sys.exit(1 if failures else 0)
