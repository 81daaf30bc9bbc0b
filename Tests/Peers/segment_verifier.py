#!/usr/bin/env python3
"""An independent verifier of what the hub signs, written from docs/audit.md and docs/crypto.md
alone: published keys, signed checkpoints, audit-log segments and audit reports.

    segment_verifier.py SEGMENT.json HUB-KEYS.json   -> {"verified": true, "size": N, "records": K}
                                                        or {"verified": false, "error": "..."}
    segment_verifier.py --report REPORT.json HUB-KEYS.json  (the same for a report)
    segment_verifier.py --detached CONTEXT MEDIA-TYPE FILE FILE.sig HUB-KEYS.json
        (a detached signature over a file's exact bytes: an open-data release, whose .sig holds the
        subject it binds on a first line, or a rendered report)

Hashes: hashlib (SHA-256), gmssl (SM3). Signatures: cryptography (ES256), gmssl through
sm2_peer.py (SM2 with the default ID 1234567812345678). Test tooling only.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gmssl import sm3

import sm2_peer


def sm3_digest(data):
    return bytes.fromhex(sm3.sm3_hash(list(data)))


HASHES = {"SM3": sm3_digest, "SHA-256": lambda data: hashlib.sha256(data).digest()}
SM2_DEFAULT_ID = "1234567812345678"


def split(n):
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_range(digest, start, leaf_hashes, size, proof):
    end = start + len(leaf_hashes)
    proof = list(proof)

    def node(lo, hi):
        if hi <= start or lo >= end:
            if not proof:
                raise ValueError("range proof too short")
            return proof.pop(0)
        if hi - lo == 1:
            return leaf_hashes[lo - start]
        k = split(hi - lo)
        left = node(lo, lo + k)
        right = node(lo + k, hi)
        return digest(b"\x01" + left + right)

    root = node(0, size)
    if proof:
        raise ValueError("range proof too long")
    return root


def check_published_key(key):
    """A published key's forms agree: SPKI, PEM, the 65-byte point (and the JWK for ES256)."""
    spki = base64.b64decode(key["publicKeySpki"])
    point = bytes.fromhex(key["publicKeyPoint"])
    if len(key["publicKeyPoint"]) != 130 or point[0] != 0x04 or spki[-65:] != point:
        raise ValueError("key %s: publicKeyPoint is not the SPKI's 65-byte point" % key["kid"])
    pem = serialization.load_pem_public_key(key["publicKeyPem"].encode()) if key["alg"] == "ES256" else None
    if key["alg"] == "ES256":
        if pem.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != spki:
            raise ValueError("key %s: PEM and SPKI differ" % key["kid"])
        jwk = key["jwk"]
        def b64url(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        if jwk["x"] != b64url(point[1:33]) or jwk["y"] != b64url(point[33:]) or jwk["kid"] != key["kid"]:
            raise ValueError("key %s: JWK and point differ" % key["kid"])
    elif key["alg"] == "SM2-SM3":
        body = "".join(line for line in key["publicKeyPem"].strip().split("\n")[1:-1])
        if base64.b64decode(body) != spki:
            raise ValueError("key %s: PEM and SPKI differ" % key["kid"])
        if key.get("sm2DistinguishingId") != SM2_DEFAULT_ID:
            raise ValueError("key %s: not the default SM2 ID" % key["kid"])
        sm2_peer.verifier(point)
    else:
        raise ValueError("unknown algorithm " + key["alg"])


def verify_signature(key, header, message, der):
    signed = header + message
    if key["alg"] == "ES256":
        public = serialization.load_der_public_key(base64.b64decode(key["publicKeySpki"]))
        try:
            public.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            return False
    if key["alg"] == "SM2-SM3":
        return sm2_peer.verify(bytes.fromhex(key["publicKeyPoint"]), signed, der)
    raise ValueError("unknown algorithm " + key["alg"])


def split_signed_object(signature_object):
    """A hub signed object: (header, key id, DER signature); docs/crypto.md."""
    if len(signature_object) < 6 or signature_object[0] != 1 or signature_object[1] != 2:
        raise ValueError("not a hub signature object")
    id_length = signature_object[4]
    header = signature_object[:5 + id_length]
    return header, header[5:].decode("ascii"), signature_object[len(header):]


def find_key(keys, kid):
    key = next((k for k in keys["keys"] if k["kid"] == kid), None)
    if key is not None:
        check_published_key(key)
    return key


def verify_checkpoint(note, keys):
    """The checkpoint's (origin, size, root, hash function) once a known key's signature verifies."""
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    lines = text[:-1].split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    extensions = dict(line.split(" ", 1) for line in lines[3:])
    verified = False
    for line in signatures.split("\n"):
        prefix = "\u2014 " + origin + " "
        if not line.startswith(prefix):
            continue
        blob = base64.b64decode(line[len(prefix):])
        note_key_id = blob[:4]
        header, kid, der = split_signed_object(blob[4:])
        key = find_key(keys, kid)
        if key is None:
            continue
        spki = base64.b64decode(key["publicKeySpki"])
        expected = hashlib.sha256(origin.encode() + b"\n\xff" + b"hub-signed-object-v1" + spki).digest()[:4]
        if expected != note_key_id:
            raise ValueError("signature line key id does not match")
        if not verify_signature(key, header, text.encode(), der):
            raise ValueError("checkpoint signature does not verify")
        verified = True
    if not verified:
        raise ValueError("no signature by a known key")
    return origin, size, root, HASHES[extensions["hash"]]


def verify(segment, keys):
    if segment["format"] != "hub-audit-segment-v1":
        raise ValueError("unknown format")
    _, size, root, digest = verify_checkpoint(segment["checkpoint"], keys)
    leaves = [record.encode("utf-8") for record in segment["records"]]
    for leaf in leaves:
        record = json.loads(leaf)
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if canonical != leaf:
            raise ValueError("a record is not in canonical form")
    leaf_hashes = [digest(b"\x00" + leaf) for leaf in leaves]
    proof = [base64.b64decode(p) for p in segment["proof"]]
    if root_from_range(digest, segment["start"], leaf_hashes, size, proof) != root:
        raise ValueError("the records do not hash to the signed root")
    return size, len(leaves)


def verify_report(report, keys):
    """A report's signature over its body (JSON, sorted keys, no whitespace, '/' unescaped) and
    its segment; the figures are the hub's own verifier's business (AuditReportVerifier)."""
    if report["format"] not in ("hub-audit-report-v1", "hub-audit-report-v2"):
        raise ValueError("unknown report format")
    body = report["body"]
    signed = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header, kid, der = split_signed_object(base64.b64decode(report["signature"]))
    key = find_key(keys, kid)
    if key is None:
        raise ValueError("the report is signed with an unknown key")
    if not verify_signature(key, header, signed, der):
        raise ValueError("report signature does not verify")
    segment = report["segment"]
    if segment["checkpoint"] != body["checkpoint"] or segment["start"] != body["start"] or len(segment["records"]) != body["count"]:
        raise ValueError("the segment is not the one the report names")
    if body["count"] == 0:
        verify_checkpoint(body["checkpoint"], keys)
        return 0, 0
    return verify(segment, keys)


def verify_detached(context, media_type, data, signature_text, keys):
    """A detached signature: over CONTEXT, LF, the media type, LF, then the file's bytes."""
    header, kid, der = split_signed_object(base64.b64decode(signature_text.strip()))
    key = find_key(keys, kid)
    if key is None:
        raise ValueError("the file is signed with an unknown key")
    message = context.encode("utf-8") + b"\n" + media_type.encode("ascii") + b"\n" + data
    if not verify_signature(key, header, message, der):
        raise ValueError("the signature does not verify")
    return 0, 0


def main(*arguments):
    if arguments[0] == "--detached":
        context, media_type, path, signature_path, keys_path = arguments[1:6]
        with open(path, "rb") as f:
            data = f.read()
        with open(signature_path, encoding="utf-8") as f:
            lines = [line.strip() for line in f.read().splitlines() if line.strip()]
        # An open-data release's .sig: the subject the signature binds, then the signature.
        subject, signature = (lines[0], lines[1]) if len(lines) == 2 else (None, lines[0])
        if subject is not None:
            media_type += "; " + subject
        with open(keys_path, encoding="utf-8") as f:
            keys = json.load(f)
        try:
            verify_detached(context, media_type, data, signature, keys)
            print(json.dumps({"verified": True}))
        except (ValueError, KeyError) as error:
            print(json.dumps({"verified": False, "error": str(error)}))
        return 0
    report = arguments[0] == "--report"
    path, keys_path = arguments[1:] if report else arguments
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    with open(keys_path, encoding="utf-8") as f:
        keys = json.load(f)
    try:
        size, count = (verify_report if report else verify)(document, keys)
        print(json.dumps({"verified": True, "size": size, "records": count}))
    except (ValueError, KeyError, AssertionError) as error:
        print(json.dumps({"verified": False, "error": str(error)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
