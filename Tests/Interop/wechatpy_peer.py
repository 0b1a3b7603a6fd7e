#!/usr/bin/env python3
"""WeChat's side of the interop test, played by wechatpy (a client nobody on this project wrote).

    wechatpy_peer.py pushes    -> prints a JSON list of signed (and encrypted) pushes for Kefu to open
    wechatpy_peer.py replies   <- reads a JSON list of Kefu's response bodies; verifies, decrypts and
                                  parses each with wechatpy; prints a JSON report; exits 1 on any failure

Identity: the project's test vectors (token SwiftBotToken2024, AppID wx3f2a1b4c5d6e7f80).
"""
import base64
import json
import sys

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import deserialize_reply
from wechatpy.utils import WeChatSigner, check_signature

TOKEN = "SwiftBotToken2024"
AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
APPID = "wx3f2a1b4c5d6e7f80"
ACCOUNT = "gh_5d2b8e4c1a7f"
USER = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)


def signature(*parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def header(create_time, msg_type):
    return (f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{USER}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>")


MESSAGES = [
    ("text-chinese-emoji", "text", "<Content><![CDATA[你好😀，我要退货！订单号 DD202406110001]]></Content><MsgId>24613890123456001</MsgId>",
     {"msgType": "text", "content": "你好😀，我要退货！订单号 DD202406110001"}),
    ("text-markup", "text", "<Content><![CDATA[<b>a & b</b> ]]]]><![CDATA[> 👍🏽]]></Content><MsgId>24613890123456002</MsgId>",
     {"msgType": "text", "content": "<b>a & b</b> ]]> 👍🏽"}),
    ("subscribe-qrscene", "event", "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_门店A]]></EventKey><Ticket><![CDATA[TICKET1]]></Ticket>",
     {"msgType": "event", "event": "subscribe", "eventKey": "qrscene_门店A"}),
    ("menu-click", "event", "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[MENU_售后]]></EventKey>",
     {"msgType": "event", "event": "CLICK", "eventKey": "MENU_售后"}),
    ("image", "image", "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x/0]]></PicUrl><MediaId><![CDATA[media-1]]></MediaId><MsgId>24613890123456003</MsgId>",
     {"msgType": "image", "mediaId": "media-1"}),
    ("location", "location", "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale>"
     "<Label><![CDATA[广州市天河区]]></Label><MsgId>24613890123456004</MsgId>",
     {"msgType": "location", "label": "广州市天河区"}),
]


def pushes():
    cases = []
    timestamp = 1718000000
    for mode in ("plaintext", "compatible", "secure"):
        for index, (name, msg_type, fields, expect) in enumerate(MESSAGES):
            timestamp += 1
            nonce = str(1830464542 + index)
            plain = f"<xml>{header(timestamp, msg_type)}{fields}</xml>"
            query = {"signature": signature(TOKEN, str(timestamp), nonce), "timestamp": str(timestamp),
                     "nonce": nonce, "openid": USER}
            if mode == "plaintext":
                body = plain
            else:
                sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, str(timestamp)))["xml"]
                encrypt = sealed["Encrypt"]
                query["encrypt_type"] = "aes"
                query["msg_signature"] = sealed["MsgSignature"]
                assert sealed["MsgSignature"] == signature(TOKEN, str(timestamp), nonce, encrypt)
                if mode == "compatible":
                    body = f"<xml>{header(timestamp, msg_type)}{fields}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                else:
                    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            cases.append({"name": f"{mode}/{name}", "mode": mode, "query": query,
                          "body": base64.b64encode(body.encode("utf-8")).decode("ascii"), "expect": expect})
    json.dump(cases, sys.stdout, ensure_ascii=False)


def read_reply(case):
    body = base64.b64decode(case["body"]).decode("utf-8")
    expect = case["expect"]
    if body in ("", "success"):
        return {"kind": body or "empty"}
    if case["mode"] != "plaintext":
        envelope = xmltodict.parse(body)["xml"]
        # wechatpy checks MsgSignature over (token, TimeStamp, Nonce, Encrypt) and decrypts with the AppID check.
        body = crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        if isinstance(body, bytes):
            body = body.decode("utf-8")
    fields = xmltodict.parse(body)["xml"]
    result = {"kind": "reply", "msgType": fields["MsgType"], "toUser": fields["ToUserName"], "fromUser": fields["FromUserName"]}
    if fields["MsgType"] == "news":
        # wechatpy 1.8.18's deserialize_reply cannot read a single <item>; read it with xmltodict.
        item = fields["Articles"]["item"]
        result["articleCount"] = int(fields["ArticleCount"])
        result["title"] = item["Title"]
    else:
        reply = deserialize_reply(body)
        result["msgType"] = reply.type
        if reply.type == "text":
            result["content"] = reply.content
        elif reply.type == "image":
            result["mediaId"] = reply.media_id
        elif reply.type == "transfer_customer_service":
            result["kfAccount"] = (fields.get("TransInfo") or {}).get("KfAccount")
    return result


def replies():
    cases = json.load(sys.stdin)
    report, failures = [], 0
    for case in cases:
        try:
            got = read_reply(case)
            mismatches = {k: (v, got.get(k)) for k, v in case["expect"].items() if got.get(k) != v}
            ok = not mismatches
            report.append({"name": case["name"], "ok": ok, "got": got, "mismatches": mismatches})
        except Exception as error:  # a failure to verify or decrypt is a failed case, reported by name
            ok = False
            report.append({"name": case["name"], "ok": False, "error": f"{type(error).__name__}: {error}"})
        failures += 0 if ok else 1
    json.dump({"cases": len(cases), "failures": failures, "report": report}, sys.stdout, ensure_ascii=False)
    return 1 if failures else 0


def url_verification():
    """Checks that wechatpy accepts the signature Kefu computes for URL verification."""
    query = json.load(sys.stdin)
    check_signature(TOKEN, query["signature"], query["timestamp"], query["nonce"])
    print("ok")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "pushes":
        pushes()
    elif command == "replies":
        sys.exit(replies())
    elif command == "url-verification":
        url_verification()
    else:
        sys.exit("usage: wechatpy_peer.py pushes | replies | url-verification")
