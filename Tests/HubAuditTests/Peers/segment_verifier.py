#!/usr/bin/env python3
"""An independent verifier of hub audit-log segments, written from docs/audit.md alone.

    segment_verifier.py SEGMENT.json HUB-KEYS.json   -> {"verified": true, "size": N, "records": K}
                                                        or {"verified": false, "error": "..."}

Hashes: hashlib (SHA-256), gmssl (SM3). Signatures: cryptography (ES256), gmssl (SM2 with the
default ID 1234567812345678). Test tooling only.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gmssl import sm2, sm3


def sm3_digest(data):
    return bytes.fromhex(sm3.sm3_hash(list(data)))


HASHES = {"SM3": sm3_digest, "SHA-256": lambda data: hashlib.sha256(data).digest()}


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


def der_to_raw(signature):
    # SEQUENCE { INTEGER r, INTEGER s }, short lengths (P-256/SM2 sizes).
    assert signature[0] == 0x30
    position = 2
    values = []
    for _ in range(2):
        assert signature[position] == 0x02
        length = signature[position + 1]
        values.append(int.from_bytes(signature[position + 2:position + 2 + length], "big"))
        position += 2 + length
    return "%064x%064x" % tuple(values)


def verify_signature(key, header, message, der):
    signed = header + message
    spki = base64.b64decode(key["publicKeySpki"])
    if key["alg"] == "ES256":
        public = serialization.load_der_public_key(spki)
        try:
            public.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            return False
    if key["alg"] == "SM2-SM3":
        point = key["publicKeyPoint"]
        peer = sm2.CryptSM2(private_key=None, public_key=point[2:])
        return peer.verify_with_sm3(der_to_raw(der), signed)
    raise ValueError("unknown algorithm " + key["alg"])


def verify(segment, keys):
    if segment["format"] != "hub-audit-segment-v1":
        raise ValueError("unknown format")
    note = segment["checkpoint"]
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    lines = text[:-1].split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    extensions = dict(line.split(" ", 1) for line in lines[3:])
    digest = HASHES[extensions["hash"]]
    verified = False
    for line in signatures.split("\n"):
        prefix = "\u2014 " + origin + " "
        if not line.startswith(prefix):
            continue
        blob = base64.b64decode(line[len(prefix):])
        note_key_id, signature_object = blob[:4], blob[4:]
        if signature_object[0] != 1 or signature_object[1] != 2:
            raise ValueError("not a hub signature object")
        id_length = signature_object[4]
        header = signature_object[:5 + id_length]
        kid = header[5:].decode("ascii")
        key = next((k for k in keys["keys"] if k["kid"] == kid), None)
        if key is None:
            continue
        spki = base64.b64decode(key["publicKeySpki"])
        expected = hashlib.sha256(origin.encode() + b"\n\xff" + b"hub-signed-object-v1" + spki).digest()[:4]
        if expected != note_key_id:
            raise ValueError("signature line key id does not match")
        if not verify_signature(key, header, text.encode(), signature_object[len(header):]):
            raise ValueError("checkpoint signature does not verify")
        verified = True
    if not verified:
        raise ValueError("no signature by a known key")
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


def main(segment_path, keys_path):
    with open(segment_path, encoding="utf-8") as f:
        segment = json.load(f)
    with open(keys_path, encoding="utf-8") as f:
        keys = json.load(f)
    try:
        size, count = verify(segment, keys)
        print(json.dumps({"verified": True, "size": size, "records": count}))
    except (ValueError, KeyError, AssertionError) as error:
        print(json.dumps({"verified": False, "error": str(error)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
