#!/usr/bin/env python3
"""An independent RFC 9162 §2.1 Merkle tree, written from the RFC's definitions (MTH, PATH,
PROOF/SUBPROOF), for cross-checking the hub's: hashlib's SHA-256 or gmssl's SM3.

Usage: merkle_peer.py sha256|sm3 LEAF_HEX...   (a leaf of "-" is the empty string)
Prints JSON: {"roots": [root of the first n leaves for n = 0..N],
              "inclusion": [[proof of leaf m in the tree of all N] for m],
              "consistency": [[proof of m in N] for m = 1..N]}
"""
import hashlib
import json
import sys

from gmssl import sm3, func


def digest(data, algorithm):
    if algorithm == "sha256":
        return hashlib.sha256(data).digest()
    return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def main():
    algorithm = sys.argv[1]
    leaves = [b"" if x == "-" else bytes.fromhex(x) for x in sys.argv[2:]]
    H = lambda data: digest(data, algorithm)

    def split(n):
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(d):
        if len(d) == 0:
            return H(b"")
        if len(d) == 1:
            return H(b"\x00" + d[0])
        k = split(len(d))
        return H(b"\x01" + mth(d[:k]) + mth(d[k:]))

    def path(m, d):
        if len(d) <= 1:
            return []
        k = split(len(d))
        if m < k:
            return path(m, d[:k]) + [mth(d[k:])]
        return path(m - k, d[k:]) + [mth(d[:k])]

    def subproof(m, d, b):
        n = len(d)
        if m == n:
            return [] if b else [mth(d)]
        k = split(n)
        if m <= k:
            return subproof(m, d[:k], b) + [mth(d[k:])]
        return subproof(m - k, d[k:], False) + [mth(d[:k])]

    n = len(leaves)
    result = {
        "roots": [mth(leaves[:i]).hex() for i in range(n + 1)],
        "inclusion": [[h.hex() for h in path(m, leaves)] for m in range(n)],
        "consistency": [[h.hex() for h in (subproof(m, leaves, True) if m < n else [])] for m in range(1, n + 1)],
    }
    print(json.dumps(result))


main()
