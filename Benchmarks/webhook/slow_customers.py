"""100 customers, each waiting on a 3-second call, the whole time (scripts/bench-calls, part B).

Each thread is one customer: it sends a signed plaintext text "slow N" (the rule set calls the sample
backend, which holds it 3 s), waits for the passive reply, and sends the next, until SIGINT. Writes a
JSON summary: answered, wrong (not the expected reply), the median and p99 wait in seconds.
    python3 slow_customers.py URL TOKEN CUSTOMERS OUT.json
"""
import hashlib, json, random, signal, statistics, sys, threading, time, urllib.request

url, token, customers, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
stop = threading.Event()
signal.signal(signal.SIGINT, lambda *_: stop.set())
lock = threading.Lock()
waits, wrong = [], [0]
tag = random.randrange(10**6, 10**7)


def push(user, msg_id, text):
    now = str(int(time.time()))
    nonce = str(random.randrange(10**9))
    signature = hashlib.sha1("".join(sorted([token, now, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
           f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
           f"<MsgId>{msg_id}</MsgId></xml>")
    request = urllib.request.Request(f"{url}?signature={signature}&timestamp={now}&nonce={nonce}", data=xml.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def customer(k):
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        try:
            body = push(f"oSlow{tag}_{k}", tag * 10**8 + k * 10**5 + n, f"slow {k}{n:05d}")
            ok = "慢" in body
        except Exception:
            ok = False
        with lock:
            waits.append(time.monotonic() - started)
            if not ok: wrong[0] += 1


threads = [threading.Thread(target=customer, args=(k,), daemon=True) for k in range(customers)]
for t in threads: t.start()
while not stop.is_set(): time.sleep(0.1)
for t in threads: t.join(timeout=6)
with lock:
    q = sorted(waits)
    summary = {"customers": customers, "answered": len(q), "wrong": wrong[0],
               "p50_s": round(statistics.median(q), 2) if q else None, "p99_s": round(q[int(len(q) * 0.99) - 1], 2) if q else None}
json.dump(summary, open(out, "w"))
