"""Flask + wechatpy peer for the webhook workload: `gunicorn wx_flask:app`.

Token benchtoken (WX_TOKEN overrides), plaintext mode: check_signature, parse_message,
create_reply(text).render(); every text message gets the same text reply.
"""
import os

from flask import Flask, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WX_TOKEN", "benchtoken")
REPLY = "您好，客服已收到，请稍候。"

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def wechat():
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    if request.method == "GET":
        return args.get("echostr", "")
    msg = parse_message(request.get_data())
    if msg.type == "text":
        xml = create_reply(REPLY, msg).render()
    else:
        xml = "success"
    return xml, 200, {"Content-Type": "application/xml; charset=utf-8"}
