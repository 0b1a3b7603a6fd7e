#!/usr/bin/env python3
"""Turns the JSON lines of one benchmark run (KefuBench, scripts/bench-webhook, scripts/bench-peers)
into the table of docs/performance.md: every figure beside the peers measured in the same run, with
Kefu's ratio to the peer each goal names, and whether the goal is met.

    python3 Benchmarks/report.py Benchmarks/results/RUN.jsonl > Benchmarks/results/RUN.md
"""
import json
import sys

rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    rows.setdefault(r["workload"], {})[r["impl"]] = r

PEERS = ["pyahocorasick", "ahocorasick_rs", "hyperscan", "pcre2-jit-loop", "werobot-gunicorn", "flask-wechatpy"]


def fmt(r):
    if r is None:
        return "—"
    v, unit = r["value"], r["unit"]
    if unit == "s":
        text = f"{v:.3f} s" if v < 10 else f"{v:.1f} s"
    elif v >= 1e6:
        text = f"{v / 1e6:.2f}M"
    elif v >= 1e3:
        text = f"{v / 1e3:.1f}k"
    else:
        text = f"{v:.0f}"
    if unit not in ("s",):
        text += f" {unit}"
    if r.get("p99_ms") is not None:
        text += f", p99 {r['p99_ms']:.1f} ms"
    if r.get("memory_mb") is not None:
        text += f", {r['memory_mb']:.1f} MB"
    return text


# workload: (peer the goal compares with, goal ratio, higher is better, extra check)
GOALS = {
    "keywords-1k": ("hyperscan", 1.5, True),
    "keywords-10k": ("hyperscan", None, True),
    "keywords-100k": ("hyperscan", 1.5, True),
    "compile-100k": ("hyperscan", None, False),
    "regex-100": ("hyperscan", 1.0, True),
    "regex-1000": ("hyperscan", None, True),
    "webhook": ("werobot-gunicorn", 10.0, True),
}

order = ["keywords-1k", "keywords-10k", "keywords-100k", "compile-1k", "compile-10k", "compile-100k",
         "regex-100", "regex-1000", "intent", "engine-rules", "engine-flow", "wechat-plaintext", "wechat-secure", "webhook"]
present = [w for w in order if w in rows] + sorted(w for w in rows if w not in order)
peers = [p for p in PEERS if any(p in rows[w] for w in present)]

print("| workload | kefu | " + " | ".join(peers) + " | kefu ÷ peer | goal |")
print("|---|---|" + "---|" * len(peers) + "---|---|")
for w in present:
    r = rows[w]
    kefu = r.get("kefu")
    cells = [fmt(kefu)] + [fmt(r.get(p)) for p in peers]
    ratio, goal = "", ""
    peer_name, target, higher = GOALS.get(w, (None, None, True))
    if peer_name is None and w.startswith("compile"):
        peer_name, higher = "hyperscan", False
    peer = r.get(peer_name) if peer_name else None
    if kefu and peer and kefu["value"] and peer["value"]:
        x = kefu["value"] / peer["value"] if higher else peer["value"] / kefu["value"]
        ratio = f"{x:.2f}× {peer_name}"
        if target:
            goal = f"≥ {target}×: " + ("met" if x >= target else f"not met ({x / target:.0%} of it)")
    if w == "webhook" and kefu and kefu.get("p99_ms") is not None:
        goal += ("; " if goal else "") + ("p99 ≤ 5 ms: " + ("met" if kefu["p99_ms"] <= 5 else f"not met ({kefu['p99_ms']:.1f} ms)"))
    if w == "compile-100k" and kefu:
        ok = kefu["value"] <= 0.5 and (kefu.get("memory_mb") or 0) <= 15
        goal = f"≤ 0.5 s and ≤ 15 MB: {'met' if ok else 'not met'}"
    if w == "regex-1000" and kefu and "regex-100" in rows and rows["regex-100"].get("kefu"):
        cost = rows["regex-100"]["kefu"]["value"] / kefu["value"]
        goal = f"1,000 cost < 3× 100: {'met' if cost < 3 else 'not met'} ({cost:.1f}×)"
    print(f"| {w} | " + " | ".join(cells) + f" | {ratio} | {goal} |")

notes = [(w, i, r["note"]) for w in present for i, r in rows[w].items() if r.get("note")]
if notes:
    print()
    for w, i, n in notes:
        print(f"- {w} / {i}: {n}")
