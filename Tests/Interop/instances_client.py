#!/usr/bin/env python3
"""Drives several `kefu serve` instances behind one account as WeChat would (secure mode, signed and
encrypted by wechatpy), for the tests of many instances on one PostgreSQL.

    instances_client.py alternate URL[,URL…] USER TEXT…
        one user's messages, turn by turn on the next instance each; prints [{"url", "reply"}…]
    storm URL[,URL…] USER TEXT N
        one message (one MsgId) delivered N times at once, spread over the instances, each delivery
        signed afresh (its own nonce), as WeChat's retries are; prints {"replies": […], "statuses": […]}
    load URL[,URL…] SECONDS USERS [RETRY_SECONDS]
        distinct messages from USERS users for SECONDS, round robin over the instances (one user's
        messages one at a time); every delivery answered `success` is delivered again, as WeChat does,
        until it gets a reply or RETRY_SECONDS (default 30) pass; prints a summary with the slowest
        answer, the statuses, how many first deliveries got `success`, and the messages never answered.
The identity is the project's test account (Tests/KefuServerTests/ServeTests.swift).
"""
import concurrent.futures
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "SwiftBotToken2024"
AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
APPID = "wx3f2a1b4c5d6e7f80"
ACCOUNT = "gh_5d2b8e4c1a7f"
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
# Each run its own nonces: one signed query (signature, timestamp, nonce) carries one message, or kefu refuses it as a replay.
_start = random.randrange(10**8, 9 * 10**8)
nonces = iter(range(_start, 10**9))
nonce_lock = threading.Lock()


def next_nonce():
    with nonce_lock:
        return str(next(nonces))


def sign(*parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_message(user, content, msg_id, create_time):
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def push(url, plain, timeout=10):
    """One delivery in secure mode: (status, 'success' / '' / the reply's text or type, seconds)."""
    timestamp, nonce = str(int(time.time())), next_nonce()
    sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, timestamp))["xml"]
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": "x",
             "encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
    request = urllib.request.Request(url + "?" + urllib.parse.urlencode(query), data=body.encode(), method="POST",
                                     headers={"Content-Type": "text/xml"})
    start = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except Exception as error:  # a refused or reset connection: what WeChat would see as no answer
        return 0, f"error: {error}", time.time() - start
    elapsed = time.time() - start
    text = raw.decode("utf-8")
    if status != 200 or text in ("", "success"):
        return status, text, elapsed
    envelope = xmltodict.parse(text)["xml"]
    plain_reply = crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    if isinstance(plain_reply, bytes):
        plain_reply = plain_reply.decode("utf-8")
    fields = xmltodict.parse(plain_reply)["xml"]
    return status, fields.get("Content") or f"[{fields['MsgType']}]", elapsed


def alternate(urls, user, *texts):
    base_id = int(time.time() * 1000) * 1000
    result = []
    for i, content in enumerate(texts):
        url = urls[i % len(urls)]
        status, reply, _ = push(url, text_message(user, content, base_id + i, int(time.time())))
        result.append({"url": url, "status": status, "reply": reply})
    print(json.dumps(result, ensure_ascii=False))


def storm(urls, user, content, n):
    message = text_message(user, content, int(time.time() * 1000) * 1000 + 7, int(time.time()))
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(n)) as pool:
        answers = list(pool.map(lambda i: push(urls[i % len(urls)], message), range(int(n))))
    print(json.dumps({"statuses": [a[0] for a in answers], "replies": [a[1] for a in answers],
                      "seconds": max(a[2] for a in answers)}, ensure_ascii=False))


def load(urls, seconds, users, retry_seconds="30"):
    seconds, users, retry_seconds = float(seconds), int(users), float(retry_seconds)
    end = time.time() + seconds
    lock = threading.Lock()
    summary = {"messages": 0, "deliveries": 0, "slowest": 0.0, "statuses": {}, "first_success": 0, "retried": 0,
               "unanswered": [], "answered": 0}

    def user_loop(u):
        user = f"oLoadUser{u:04d}"
        i = 0
        while time.time() < end:
            i += 1
            msg_id = 4_000_000_000 + u * 100_000 + i
            content = f"运费多少 {u}-{i}"
            message = text_message(user, content, msg_id, int(time.time()))
            url_index = (u + i) % len(urls)
            status, reply, elapsed = push(urls[url_index], message)
            deadline = time.time() + retry_seconds
            first = True
            with lock:
                summary["messages"] += 1
            while True:
                with lock:
                    summary["deliveries"] += 1
                    summary["slowest"] = max(summary["slowest"], elapsed)
                    summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
                if status == 200 and reply not in ("", "success"):
                    with lock:
                        summary["answered"] += 1
                    break
                with lock:
                    if first:
                        summary["first_success"] += 1
                    summary["retried"] += 1
                first = False
                if time.time() > deadline:
                    with lock:
                        summary["unanswered"].append(content)
                    break
                time.sleep(0.5)  # WeChat retries after about 5 s; sooner keeps the test short
                url_index = (url_index + 1) % len(urls)
                status, reply, elapsed = push(urls[url_index], message)

    threads = [threading.Thread(target=user_loop, args=(u,)) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    command, urls = sys.argv[1], sys.argv[2].split(",")
    {"alternate": alternate, "storm": storm, "load": load}[command](urls, *sys.argv[3:])
