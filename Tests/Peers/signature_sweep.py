#!/usr/bin/env python3
"""Many keys at once, both ways, for one suite: what the hub signs with each of its keys, this
peer verifies (published key, checkpoint, segment, report, a bare signature) and refuses once
altered; with each private key the hub hands over, this peer derives the public point and signs,
for the hub to check.

    signature_sweep.py CASES.json   -> JSON on stdout, one result per case (below)

CASES.json: {"suite": "sm"|"intl", "cases": [{"keys": <hub-keys document>, "segment": …,
"report": …, "message": hex, "signature": hex (DER), "privateKeyPem": PKCS#8 PEM}]}
Result per case: {"keys", "checkpoint", "segment", "report", "signature": true when verified,
"alteredSegment", "alteredReport", "alteredSignature": true when the altered form was refused,
"peerPoint": hex 04‖X‖Y, "peerSignature": hex DER over the case's message, "errors": [...]}.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import segment_verifier as verifier
import sm2_peer


def outcome(check, errors, name):
    try:
        check()
        return True
    except Exception as error:  # noqa: BLE001 (reported, never swallowed)
        errors.append("%s: %s: %s" % (name, type(error).__name__, error))
        return False


def refused(check):
    try:
        check()
        return False
    except (ValueError, KeyError, AssertionError):
        return True


def peer_sign(suite, pem, message):
    der = base64.b64decode("".join(pem.strip().split("\n")[1:-1]))
    if suite == "sm":
        private = sm2_peer.private_key_from_pkcs8(der)
        return sm2_peer.public_point(private), sm2_peer.sign(private, message)
    key = serialization.load_der_private_key(der, password=None)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return point, key.sign(message, ec.ECDSA(hashes.SHA256()))


def run(suite, case):
    errors = []
    keys = case["keys"]
    key = keys["keys"][0]
    message = bytes.fromhex(case["message"])
    signature = bytes.fromhex(case["signature"])
    result = {
        "keys": outcome(lambda: verifier.check_published_key(key), errors, "keys"),
        "checkpoint": outcome(lambda: verifier.verify_checkpoint(case["segment"]["checkpoint"], keys), errors, "checkpoint"),
        "segment": outcome(lambda: verifier.verify(case["segment"], keys), errors, "segment"),
        "report": outcome(lambda: verifier.verify_report(case["report"], keys), errors, "report"),
    }

    def bare():
        if not verifier.verify_signature(key, b"", message, signature):
            raise ValueError("signature does not verify")
    result["signature"] = outcome(bare, errors, "signature")

    altered = json.loads(json.dumps(case["segment"]))
    altered["records"][0] = altered["records"][0].replace('"R"', '"C"')
    result["alteredSegment"] = refused(lambda: verifier.verify(altered, keys))
    report = json.loads(json.dumps(case["report"]))
    report["body"]["sections"]["total"] += 1
    result["alteredReport"] = refused(lambda: verifier.verify_report(report, keys))

    def altered_bare():
        if not verifier.verify_signature(key, b"", message + b"\x00", signature):
            raise ValueError("signature does not verify")
    result["alteredSignature"] = refused(altered_bare)

    point, peer_signature = peer_sign(suite, case["privateKeyPem"], message)
    result["peerPoint"] = point.hex()
    result["peerSignature"] = peer_signature.hex()
    result["errors"] = errors
    return result


def main(path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    print(json.dumps([run(document["suite"], case) for case in document["cases"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
