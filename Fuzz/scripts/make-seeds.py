#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target from the project's fixtures (stdlib only).

usage: make-seeds.py REPO_ROOT OUT_DIR   -> OUT_DIR/<Target>/<name>
"""
import base64, glob, hashlib, json, os, struct, sys

root, out = sys.argv[1], sys.argv[2]
vectors_dir = os.path.join(root, "Tests/KefuWeChatTests/Fixtures/vectors")
vectors = json.load(open(os.path.join(vectors_dir, "crypto-vectors.json")))


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


xml_files = sorted(glob.glob(os.path.join(vectors_dir, "*.xml")))
for path in xml_files:
    name = os.path.basename(path)
    put("FuzzXML", name, read(path))
    put("FuzzEnvelope", name, read(path))

for v in vectors["crypto_vectors"]:
    name = v["name"]
    put("FuzzXML", f"vector-{name}.xml", v["plaintext_xml"])
    put("FuzzEnvelope", f"vector-{name}-envelope.xml", v["envelope_xml"])
    if v.get("compat_mode_envelope_xml"):
        put("FuzzEnvelope", f"vector-{name}-compat.xml", v["compat_mode_envelope_xml"])
    # FuzzSecure: mode byte 0 (the <Encrypt> text), 1 (the ciphertext), 2 (the padded plaintext).
    put("FuzzSecure", f"{name}-0-text", b"\x00" + v["encrypt_base64"].encode())
    put("FuzzSecure", f"{name}-1-cipher", b"\x01" + base64.b64decode(v["encrypt_base64"]))
    msg = v["plaintext_xml"].encode()
    plain = v["random_prefix_ascii"].encode() + struct.pack(">I", len(msg)) + msg + v["appid"].encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    put("FuzzSecure", f"{name}-2-plain", b"\x02" + plain)

for path in sorted(glob.glob(os.path.join(root, "Rules/*/*.yaml"))):
    put("FuzzRules", "-".join(path.split(os.sep)[-2:]), read(path))
for path in sorted(glob.glob(os.path.join(root, "Corpora/*/*.yaml"))):
    put("FuzzCases", "-".join(path.split(os.sep)[-2:]), read(path))

# The hand-made nasty inputs of the regression folders are seeds too.
for target in ("FuzzXML", "FuzzEnvelope", "FuzzSecure", "FuzzRules", "FuzzCases"):
    for path in sorted(glob.glob(os.path.join(root, "Fuzz/regressions", target, "*"))):
        put(target, "regression-" + os.path.basename(path), read(path))
