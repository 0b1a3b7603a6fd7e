#!/usr/bin/env python3
"""Checks a request signed by Kefu (docs/signing.md) with Python's standard library only.

The `verify` function is the Python verifier of docs/signing.md, word for word (a test in
KefuActionsTests keeps the two the same). Used by the tests as the independent implementation:

    echo '{"headers": {...}, "method": "GET", "target": "/api/x?y=1", "body_base64": "", "key": "whsec_..."}' \
        | python3 verify_kefu_signature.py

`now` (Unix seconds) may be given too; without it, the current time. Prints `ok` and exits 0 when
the signature verifies, else prints `rejected` and exits 1.
"""
import json
import sys

# --- the docs' verifier ---
import base64, hashlib, hmac, time

def verify(headers, method, target, body, secret, now=None, tolerance=300):
    """headers: lower-case names; target: the raw request target (path?query); body: bytes."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > tolerance:
        return False
    signed = f"{msg_id}.{stamp}.{method} {target}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s[3:])
               for s in headers.get("webhook-signature", "").split() if s.startswith("v1,"))
# --- end of the docs' verifier ---


def main():
    case = json.load(sys.stdin)
    headers = {name.lower(): value for name, value in case["headers"].items()}
    body = base64.b64decode(case.get("body_base64", ""))
    good = verify(headers, case["method"], case["target"], body, case["key"], now=case.get("now"))
    print("ok" if good else "rejected")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
