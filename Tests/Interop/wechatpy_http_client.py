#!/usr/bin/env python3
"""Drives a running `kefu serve` over real HTTP as WeChat would, using wechatpy to sign, encrypt,
verify and decrypt (a client nobody on this project wrote).

    wechatpy_http_client.py BASE_URL SCENARIO [args]

Scenarios (each prints a JSON report: {"checks": n, "failures": [..]} and exits 1 on any failure):
    conversation   URL verification; text/event/image messages in plaintext, compatible and secure
                   mode with Chinese and emoji; unknown and silent events answered `success`
    retries        the same message delivered again, and twice at once: identical replies
    bad-input      403 bad signature, 400 malformed / DTD / entity, 413 oversize; nothing answered
    say TEXT [MSGID CREATETIME MODE]
                   one text message (a fixed MsgId and CreateTime make it a retry); prints {"reply": ...}
    deadline       a message answered `success` within the budget, then its retry gets the real reply
Rules/shop is the rule set; identity as in the project's vectors.
"""
import concurrent.futures
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import deserialize_reply
from wechatpy.utils import WeChatSigner

TOKEN = "SwiftBotToken2024"
AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
APPID = "wx3f2a1b4c5d6e7f80"
ACCOUNT = "gh_5d2b8e4c1a7f"
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)

base = sys.argv[1]
failures, checks = [], 0
msg_id = int(time.time() * 1000) * 1000


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        failures.append(what)
    return condition


def sign(*parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def request(method, query, body=None):
    url = base + "?" + urllib.parse.urlencode(query)
    data = body.encode("utf-8") if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def xml_message(user, msg_type, fields, create_time=None, with_id=True):
    global msg_id
    msg_id += 1
    create_time = create_time or int(time.time())
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{fields}")
    if with_id and msg_type != "event":
        body += f"<MsgId>{msg_id}</MsgId>"
    return body + "</xml>"


def text(user, content, **kw):
    return xml_message(user, "text", f"<Content><![CDATA[{content}]]></Content>", **kw)


def event(user, name, key=None, extra=""):
    fields = f"<Event><![CDATA[{name}]]></Event>"
    if key is not None:
        fields += f"<EventKey><![CDATA[{key}]]></EventKey>"
    return xml_message(user, "event", fields + extra)


def push(plain, mode="plaintext", nonce=None):
    """Sends one push as WeChat does; returns (status, parsed reply or 'success'/'' or raw bytes)."""
    timestamp = str(int(time.time()))
    nonce = nonce or str(int(time.time() * 1e6) % 10**9)
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": "x"}
    body = plain
    if mode != "plaintext":
        sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, timestamp))["xml"]
        query.update({"encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]})
        encrypted = f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
        body = plain[:-6] + encrypted + "</xml>" if mode == "compatible" else \
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{encrypted}</xml>"
    status, raw = request("POST", query, body)
    return status, read_reply(raw, mode)


def read_reply(raw, mode):
    text_body = raw.decode("utf-8")
    if text_body in ("", "success"):
        return text_body
    if mode != "plaintext":
        envelope = xmltodict.parse(text_body)["xml"]
        text_body = crypto.decrypt_message(text_body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        if isinstance(text_body, bytes):
            text_body = text_body.decode("utf-8")
    fields = xmltodict.parse(text_body)["xml"]
    if fields["MsgType"] == "news":  # wechatpy 1.8.18 cannot deserialize a single <item>
        return {"type": "news", "title": fields["Articles"]["item"]["Title"], "count": int(fields["ArticleCount"]),
                "to": fields["ToUserName"], "time": fields["CreateTime"]}
    reply = deserialize_reply(text_body)
    result = {"type": reply.type, "to": reply.target, "from": reply.source, "time": fields["CreateTime"]}
    if reply.type == "text":
        result["content"] = reply.content
    return result


def conversation():
    # URL verification
    timestamp, nonce, echo = str(int(time.time())), "1830464542", "7419283746501928374"
    status, body = request("GET", {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "echostr": echo})
    check(status == 200 and body == echo.encode(), f"URL verification: {status} {body!r}")
    status, _ = request("GET", {"signature": "0" * 40, "timestamp": timestamp, "nonce": nonce, "echostr": echo})
    check(status == 403, f"URL verification with a bad signature: {status}")
    for mode in ("plaintext", "compatible", "secure"):
        user = f"oUser_{mode}"
        status, reply = push(text(user, "运费多少？😀"), mode)
        check(status == 200 and isinstance(reply, dict) and reply.get("content") == "全场满 99 元包邮，不满 99 元运费 8 元。",
              f"{mode}: text → shipping-fee: {status} {reply}")
        check(isinstance(reply, dict) and reply.get("to") == user and reply.get("from") == ACCOUNT, f"{mode}: roles swapped: {reply}")
        status, reply = push(text(user, "订单 DD202406110001 到哪了"), mode)
        # The capture fills the order-status flow, which goes straight to its ERP lookup; no ERP runs in this test,
        # so the call's error branch answers at once (the calls themselves: ServiceCallServeTests).
        check(isinstance(reply, dict) and reply.get("content", "").startswith("订单系统暂时无法查询")
              and "回复“人工”由客服为您跟进" in reply.get("content", ""),
              f"{mode}: capture fills the order-status flow, which answers at once: {reply}")
        status, reply = push(text(user, "今天天气怎么样"), mode)
        check(isinstance(reply, dict) and reply.get("content", "").startswith("抱歉，我没有理解"), f"{mode}: default reply: {reply}")
        status, reply = push(event(user, "subscribe", "qrscene_store_beijing", "<Ticket><![CDATA[T]]></Ticket>"), mode)
        check(isinstance(reply, dict) and "门店扫码关注" in reply.get("content", ""), f"{mode}: QR follow: {reply}")
        status, reply = push(event(user, "subscribe", ""), mode)
        check(isinstance(reply, dict) and reply.get("content", "").startswith("感谢关注小店"), f"{mode}: plain follow → events.subscribe: {reply}")
        status, reply = push(event(user, "CLICK", "MENU_CONTACT"), mode)
        check(isinstance(reply, dict) and reply.get("type") == "news" and reply.get("title") == "联系我们", f"{mode}: menu click → news: {reply}")
        status, reply = push(xml_message(user, "image", "<PicUrl><![CDATA[http://x/0]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"), mode)
        check(isinstance(reply, dict) and reply.get("content", "").startswith("已收到图片"), f"{mode}: image → damage-photo: {reply}")
        for silent in (event(user, "unsubscribe", ""), event(user, "TEMPLATESENDJOBFINISH", None, "<MsgID>1</MsgID><Status><![CDATA[success]]></Status>"),
                       event(user, "subscribe_msg_popup_event"), xml_message(user, "miniprogrampage", "<Title><![CDATA[x]]></Title>")):
            status, reply = push(silent, mode)
            check(status == 200 and reply == "success", f"{mode}: silent push answered success: {status} {reply!r}")
        status, reply = push(text(user, "我要转人工"), mode)
        check(isinstance(reply, dict) and reply.get("type") == "transfer_customer_service", f"{mode}: handoff: {reply}")
        status, reply = push(text(user, "运费多少"), mode)
        check(isinstance(reply, dict) and reply.get("type") == "transfer_customer_service", f"{mode}: during the handoff pause, messages go to the agent: {reply}")
        status, reply = push(event(user, "CLICK", "MENU_ORDER_HISTORY"), mode)
        check(isinstance(reply, dict) and "订单号" in reply.get("content", ""), f"{mode}: events are never transferred: {reply}")


def retries():
    user = "oUser_retry"
    for mode in ("plaintext", "secure"):
        message = text(user, "运费多少", create_time=int(time.time()) - 3)
        first = push(message, mode)
        # A retry signed afresh (its own nonce: one signed query carries one message, or it is refused as a forgery).
        again = push(message, mode, nonce=f"123456{len(mode)}")
        check(first[0] == 200 and first == again, f"{mode}: a retry gets the same reply: {first} vs {again}")
        concurrent_message = text(user, "发票怎么开")
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            answers = list(pool.map(lambda _: push(concurrent_message, mode), range(3)))
        check(all(a == answers[0] for a in answers) and isinstance(answers[0][1], dict), f"{mode}: concurrent deliveries agree: {answers}")


def bad_input():
    timestamp, nonce = str(int(time.time())), "42"
    good = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    status, body = request("POST", {**good, "signature": "0" * 40}, text("oBad", "运费"))
    check(status == 403 and b"signature" in body, f"bad signature: {status} {body!r}")
    status, body = request("POST", good, "<xml><ToUserName>")
    check(status == 400 and b"malformed" in body, f"malformed XML: {status} {body!r}")
    status, body = request("POST", good, '<!DOCTYPE xml [<!ENTITY a "b">]><xml>&a;</xml>')
    check(status == 400 and b"DOCTYPE" in body, f"DTD: {status} {body!r}")
    status, body = request("POST", good, "<xml><Content>&xxe;</Content></xml>")
    check(status == 400 and b"entity" in body, f"entity: {status} {body!r}")
    status, body = request("POST", good, "<xml>" + "a" * 70000 + "</xml>")
    check(status == 413, f"oversize: {status} {body[:80]!r}")
    status, body = request("POST", {"timestamp": timestamp, "nonce": nonce}, text("oBad", "运费"))
    check(status == 400 and b"signature" in body, f"missing signature: {status} {body!r}")
    status, body = request("POST", {**good, "encrypt_type": "aes", "msg_signature": "0" * 40},
                           f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
    check(status == 403 and b"msg_signature" in body, f"bad msg_signature: {status} {body!r}")


def say(content, msg=None, create_time=None, mode="plaintext"):
    global msg_id
    if msg is not None:
        msg_id = int(msg) - 1
    status, reply = push(text("oUser_reload", content, create_time=int(create_time) if create_time else None), mode)
    print(json.dumps({"status": status, "reply": reply}, ensure_ascii=False))


def deadline():
    message = text("oUser_slow", "运费多少")
    start = time.time()
    first = push(message)
    elapsed = time.time() - start
    check(first == (200, "success"), f"slow answer → success: {first}")
    check(elapsed < 1.0, f"success came within the budget: {elapsed:.2f} s")
    time.sleep(1.5)
    retry = push(message)
    check(isinstance(retry[1], dict) and retry[1].get("content") == "全场满 99 元包邮，不满 99 元运费 8 元。",
          f"the retry gets the answer the first delivery computed: {retry}")


if __name__ == "__main__":
    scenario = sys.argv[2]
    if scenario == "say":
        say(*sys.argv[3:])
        sys.exit(0)
    {"conversation": conversation, "retries": retries, "bad-input": bad_input, "deadline": deadline}[scenario]()
    print(json.dumps({"scenario": scenario, "checks": checks, "failures": failures}, ensure_ascii=False))
    sys.exit(1 if failures else 0)
