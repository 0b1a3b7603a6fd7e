#!/usr/bin/env python3
"""The bad-input matrix of docs/security.md, over real HTTP against two running `kefu serve`
processes, reading their SQLite files to prove that no refused request changed anything.

    bad_input_matrix.py SECURE_URL SECURE_DB PLAIN_URL PLAIN_DB [--freshness SECONDS] [--list]

SECURE_* is a server with the account's EncodingAESKey and default settings (secure-only, 300 s
freshness unless --freshness says the server was started with another --timestamp-tolerance);
PLAIN_* a server without a key (plaintext). Each row: which server, what is sent, the status and the
words the answer must contain, and whether the store may change. Prints a JSON report
{"rows": n, "failures": [...]} and exits 1 on any failure. --list prints the rows as a Markdown table.

The cipher here is written from the protocol (AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes,
random(16) + length(4, big-endian) + message + AppID), independently of Kefu's, so that damage can be
placed exactly: bad padding, wrong AppID, truncated ciphertext, bad base64.
"""
import base64
import hashlib
import json
import os
import socket
import sqlite3
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "SwiftBotToken2024"
AES_KEY = base64.b64decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" + "=")
APPID = "wx3f2a1b4c5d6e7f80"
ACCOUNT = "gh_5d2b8e4c1a7f"

args = [a for a in sys.argv[1:] if not a.startswith("--")]
freshness = 300
if "--freshness" in sys.argv:
    freshness = int(sys.argv[sys.argv.index("--freshness") + 1])
    args.remove(str(freshness))
servers = {}
if len(args) >= 4:
    servers = {"secure": (args[0], args[1]), "plain": (args[2], args[3])}

counter = [int(time.time() * 1000) % 10**9]


def nonce():
    counter[0] += 1
    return str(counter[0])


def sign(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def query(ts=None, n=None, **extra):
    ts = str(int(time.time())) if ts is None else str(ts)
    n = n or nonce()
    q = {"signature": sign(TOKEN, ts, n), "timestamp": ts, "nonce": n}
    q.update(extra)
    return q


def message(user, content="运费多少", msg_id=None):
    counter[0] += 1
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or counter[0]}</MsgId></xml>")


def encrypt(plain, appid=APPID, pad=True, raw_tail=b""):
    data = os.urandom(16) + struct.pack(">I", len(plain.encode())) + plain.encode() + appid.encode() + raw_tail
    if pad:
        n = 32 - len(data) % 32
        data += bytes([n]) * n
    else:
        data += b"\0" * ((-len(data)) % 16)
    encryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(AES_KEY[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def decrypt_reply(body):
    """The plaintext reply inside an encrypted answer (checked against its msg_signature)."""
    text = body.decode()
    pick = lambda tag: text.split(f"<{tag}><![CDATA[")[1].split("]]>")[0] if f"<{tag}><![CDATA[" in text else text.split(f"<{tag}>")[1].split(f"</{tag}>")[0]
    encrypted, ts, n, signature = pick("Encrypt"), pick("TimeStamp"), pick("Nonce"), pick("MsgSignature")
    assert sign(TOKEN, ts, n, encrypted) == signature, "the reply's MsgSignature does not match"
    decryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(AES_KEY[:16])).decryptor()
    data = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    data = data[:-data[-1]]
    length = struct.unpack(">I", data[16:20])[0]
    assert data[20 + length:] == APPID.encode(), "the reply is not for our AppID"
    return data[20:20 + length]


def envelope(encrypted, ts=None, n=None, compat_plain=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    n = n or nonce()
    q = query(ts, n, encrypt_type="aes", msg_signature=sign(TOKEN, ts, n, encrypted))
    inner = f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
    body = (compat_plain[:-6] + inner + "</xml>") if compat_plain else f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{inner}</xml>"
    return q, body


def post(server, q, body, method="POST"):
    url = servers[server][0] + "?" + urllib.parse.urlencode(q)
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def state(server):
    db = sqlite3.connect(f"file:{servers[server][1]}?mode=ro", uri=True)
    try:
        return db.execute("SELECT (SELECT count(*) FROM answered), (SELECT count(*) FROM conversation), "
                          "(SELECT count(*) FROM session)").fetchone()
    finally:
        db.close()


def raw(server, data, read_timeout=15):
    """Sends raw bytes on one connection; returns (status or None, seconds until the answer or close)."""
    host, port = urllib.parse.urlparse(servers[server][0]).hostname, urllib.parse.urlparse(servers[server][0]).port
    s = socket.create_connection((host, port), timeout=read_timeout)
    start = time.time()
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                break
        status = int(got.split(b" ")[1]) if got.startswith(b"HTTP/") else None
        return status, time.time() - start, got
    except (socket.timeout, ConnectionResetError):
        return None, time.time() - start, b""
    finally:
        s.close()


def path_query(server, q):
    return urllib.parse.urlparse(servers[server][0]).path + "?" + urllib.parse.urlencode(q)


# ---------------------------------------------------------------- the rows
# Each row: (name, server, send → (status, body), expected status, words the body contains)
# A row's send may do several requests (a replay); its last answer is checked. Unless a row says
# "changes", the store must be exactly as before the row.

ROWS = []


def row(name, server, status, words, changes=False):
    def wrap(f):
        ROWS.append((name, server, f, status, words, changes))
        return f
    return wrap


user = "oMatrix"


@row("signature wrong", "secure", 403, "signature does not match")
def _():
    q, body = envelope(encrypt(message(user)))
    q["signature"] = "0" * 40
    return post("secure", q, body)


@row("signature missing", "secure", 400, "'signature' is missing")
def _():
    q, body = envelope(encrypt(message(user)))
    del q["signature"]
    return post("secure", q, body)


@row("msg_signature wrong", "secure", 403, "msg_signature does not match")
def _():
    q, body = envelope(encrypt(message(user)))
    q["msg_signature"] = "0" * 40
    return post("secure", q, body)


@row("msg_signature missing", "secure", 400, "'msg_signature' is missing")
def _():
    q, body = envelope(encrypt(message(user)))
    del q["msg_signature"]
    return post("secure", q, body)


@row("timestamp stale (past the freshness window)", "secure", 403, "away from the server clock")
def _():
    return post("secure", *envelope(encrypt(message(user)), ts=int(time.time()) - freshness - 5))


@row("timestamp in the future (past the freshness window)", "secure", 403, "away from the server clock")
def _():
    return post("secure", *envelope(encrypt(message(user)), ts=int(time.time()) + freshness + 5))


@row("timestamp not a number", "secure", 400, "'timestamp' has an invalid value")
def _():
    q, body = envelope(encrypt(message(user)))
    q["timestamp"] = "12ab"
    return post("secure", q, body)


@row("nonce missing", "secure", 400, "'nonce' is missing")
def _():
    q, body = envelope(encrypt(message(user)))
    del q["nonce"]
    return post("secure", q, body)


@row("plaintext push to a secure-only server", "secure", 403, "only encrypted pushes")
def _():
    return post("secure", query(), message(user))


@row("downgrade: a secure push with encrypt_type and msg_signature removed", "secure", 403, "only encrypted pushes")
def _():
    q, body = envelope(encrypt(message(user)))
    del q["encrypt_type"], q["msg_signature"]
    return post("secure", q, body)


@row("encrypted push to a plaintext server (no key)", "plain", 403, "accepts only plaintext pushes")
def _():
    return post("plain", *envelope(encrypt(message(user))))


@row("encrypt_type unknown", "secure", 400, "'encrypt_type' has an invalid value")
def _():
    q, body = envelope(encrypt(message(user)))
    q["encrypt_type"] = "rsa"
    return post("secure", q, body)


@row("wrong AppID inside the ciphertext", "secure", 400, "not the configured")
def _():
    return post("secure", *envelope(encrypt(message(user), appid="wx0000000000000000")))


@row("bad base64 in <Encrypt>", "secure", 400, "not valid base64")
def _():
    return post("secure", *envelope("@@@@" + encrypt(message(user))[4:]))


@row("bad base64 padding in <Encrypt>", "secure", 400, "base64")
def _():
    return post("secure", *envelope(encrypt(message(user)).rstrip("=") + "="))


@row("bad PKCS#7 padding", "secure", 400, "padding")
def _():
    return post("secure", *envelope(encrypt(message(user), pad=False)))


@row("truncated ciphertext (not whole AES blocks)", "secure", 400, "decrypt")
def _():
    data = base64.b64decode(encrypt(message(user)))[:-7]
    return post("secure", *envelope(base64.b64encode(data).decode()))


@row("truncated ciphertext (whole blocks, message cut)", "secure", 400, "decrypted message")
def _():
    data = base64.b64decode(encrypt(message(user) * 3))[:64]
    return post("secure", *envelope(base64.b64encode(data).decode()))


@row("compatible envelope: forged plaintext beside the encrypted copy is ignored", "secure", 200, "全场满 99 元包邮", changes=True)
def _():
    real = message("oMatrixCompat", "运费多少")
    forged = real.replace("运费多少", "人工")
    status, body = post("secure", *envelope(encrypt(real), compat_plain=forged))
    return status, decrypt_reply(body) if status == 200 else body


@row("DTD in the envelope", "secure", 400, "DOCTYPE")
def _():
    q, body = envelope(encrypt(message(user)))
    return post("secure", q, '<!DOCTYPE xml [<!ENTITY a "b">]>' + body)


@row("DTD inside the decrypted message", "secure", 400, "DOCTYPE")
def _():
    return post("secure", *envelope(encrypt('<!DOCTYPE xml [<!ENTITY a "b">]>' + message(user))))


@row("entity reference (plaintext)", "plain", 400, "entity")
def _():
    return post("plain", query(), message(user).replace("<![CDATA[运费多少]]>", "&xxe;"))


@row("processing instruction (plaintext)", "plain", 400, "processing instruction")
def _():
    return post("plain", query(), message(user).replace("<ToUserName>", "<?php x ?><ToUserName>"))


@row("invalid UTF-8 (plaintext)", "plain", 400, "not valid UTF-8")
def _():
    return post("plain", query(), message(user).encode().replace("运".encode(), b"\xe8\xff"))


@row("invalid UTF-8 inside the decrypted message", "secure", 400, "not valid UTF-8")
def _():
    plain = message(user).encode().replace("运".encode(), b"\xc3\x28")
    data = os.urandom(16) + struct.pack(">I", len(plain)) + plain + APPID.encode()
    n = 32 - len(data) % 32
    data += bytes([n]) * n
    enc = Cipher(algorithms.AES(AES_KEY), modes.CBC(AES_KEY[:16])).encryptor()
    return post("secure", *envelope(base64.b64encode(enc.update(data) + enc.finalize()).decode()))


@row("deep nesting (plaintext)", "plain", 400, "levels deep")
def _():
    return post("plain", query(), "<xml>" + "<a>" * 200 + "</a>" * 200 + "</xml>")


@row("malformed XML (plaintext)", "plain", 400, "malformed")
def _():
    return post("plain", query(), "<xml><ToUserName>")


@row("oversize body", "plain", 413, "limit is 65536 bytes")
def _():
    return post("plain", query(), "<xml>" + "a" * 70000 + "</xml>")


@row("replay inside the window, plaintext: the stored answer, the rules do not run again", "plain", 200, "全场满 99 元包邮", changes=True)
def _():
    q, body = query(), message("oReplayPlain")
    first = post("plain", q, body)
    before = state("plain")
    again = post("plain", q, body)
    assert state("plain") == before, f"the replay changed the store: {before} → {state('plain')}"
    assert again == first, f"the replay got another answer: {first} vs {again}"
    return again


@row("replay inside the window, secure: the stored answer, sealed afresh", "secure", 200, "<Encrypt>", changes=True)
def _():
    q, body = envelope(encrypt(message("oReplaySecure")))
    first = post("secure", q, body)
    before = state("secure")
    again = post("secure", q, body)
    assert state("secure") == before, f"the replay changed the store: {before} → {state('secure')}"
    assert again[0] == 200 and b"<Encrypt>" in first[1], f"first delivery: {first}"
    assert decrypt_reply(again[1]) == decrypt_reply(first[1]), "the replay's reply differs"
    return again


@row("same signed query, another message (plaintext): a forgery", "plain", 403, "already used for another message", changes=True)
def _():
    q = query()
    post("plain", q, message("oVictim", "运费多少"))
    before = state("plain")
    answer = post("plain", q, message("oVictim", "人工"))
    assert state("plain") == before, "the forgery changed the store"
    return answer


@row("same signed query, another encrypted message (secure)", "secure", 403,
     "already used for another message", changes=True)
def _():
    ts, n = str(int(time.time())), nonce()
    post("secure", *envelope(encrypt(message("oVictim2", "运费多少")), ts=ts, n=n))
    before = state("secure")
    # The same signature/timestamp/nonce with a new, validly encrypted message: only the key holder
    # could make one, but the guard must still refuse a second message under one query.
    answer = post("secure", *envelope(encrypt(message("oVictim2", "人工")), ts=ts, n=n))
    assert state("secure") == before, "the second message changed the store"
    return answer


@row("replay after the freshness window", "plain", 403, "away from the server clock", changes=True)
def _():
    # Signed freshness + 1 s ago: accepted now (inside the window), refused once the window has passed.
    ts = int(time.time()) - freshness + 1
    q, body = query(ts=ts), message("oLateReplay")
    first = post("plain", q, body)
    assert first[0] == 200, f"first delivery: {first}"
    deadline = time.time() + 5
    while time.time() < deadline and int(time.time()) - ts <= freshness:
        time.sleep(0.2)
    before = state("plain")
    answer = post("plain", q, body)
    assert state("plain") == before, "the late replay changed the store"
    return answer


@row("Content-Length larger than the body (the body never comes)", "plain", 408, "did not arrive")
def _():
    q = query()
    head = (f"POST {path_query('plain', q)} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            f"Content-Length: 5000\r\n\r\n<xml>").encode()
    status, _, got = raw("plain", head)
    return status or 0, got


def run():
    failures = []
    for name, server, send, status, words, changes in ROWS:
        before = state(server)
        try:
            got_status, body = send()
        except AssertionError as error:
            failures.append(f"{name}: {error}")
            continue
        text = body.decode("utf-8", "replace")
        if got_status != status or words not in text:
            failures.append(f"{name}: expected {status} with '{words}', got {got_status} {text[:200]!r}")
        if not changes and state(server) != before:
            failures.append(f"{name}: the store changed: {before} → {state(server)}")
    print(json.dumps({"rows": len(ROWS), "failures": failures}, ensure_ascii=False, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    if "--list" in sys.argv:
        print("| request | server | answer | contains |\n|---|---|---|---|")
        for name, server, _, status, words, _ in ROWS:
            print(f"| {name} | {server} | {status} | {words} |")
        sys.exit(0)
    sys.exit(run())
