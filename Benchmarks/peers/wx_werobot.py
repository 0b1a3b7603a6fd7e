"""WeRoBot peer for the webhook workload: `gunicorn wx_werobot:app`.

Token benchtoken (WX_TOKEN overrides), plaintext mode; every text message gets the same text reply.
WeRoBot checks the signature, parses the XML and renders the reply. Its session store is off
(SESSION_STORAGE=False) since the handler takes no session; WEROBOT_SESSION=sqlite turns on
WeRoBot's default SQLite session store (one read and one write per message) in a temp file.
"""
import os
import tempfile

import werobot

REPLY = "您好，客服已收到，请稍候。"

session = os.environ.get("WEROBOT_SESSION", "off")
config = {"SESSION_STORAGE": False}
if session == "sqlite":
    from werobot.session.sqlitestorage import SQLiteStorage

    config = {"SESSION_STORAGE": SQLiteStorage(os.path.join(tempfile.gettempdir(), "werobot-bench-session.sqlite3"))}

robot = werobot.WeRoBot(token=os.environ.get("WX_TOKEN", "benchtoken"), **config)


@robot.text
def text(message):
    return REPLY


app = robot.wsgi
