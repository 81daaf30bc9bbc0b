#!/usr/bin/env python3
"""An independent SM implementation for the hub's interoperability tests.

SM3, HMAC-SM3 and SM4-GCM come from PyPI's `cryptography` (its own OpenSSL build); SM2 from
PyPI's `gmssl` (pure Python) through sm2_peer.py. Test tooling only.

    sm_peer.py sm3 MSG                       -> digest
    sm_peer.py hmac-sm3 KEY MSG              -> mac
    sm_peer.py sm4gcm-seal KEY NONCE AAD PT  -> ciphertext tag
    sm_peer.py sm4gcm-open KEY NONCE AAD CT TAG -> plaintext (exit 1 if authentication fails)
    sm_peer.py sm2-verify PUBLIC MSG SIG     -> valid | invalid   (PUBLIC = 04||X||Y, SIG = r||s)
    sm_peer.py sm2-sign MSG                  -> PUBLIC SIG        (a fresh key each call)
All values are hex.
"""
import secrets
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import sm2_peer


def h(text):
    return bytes.fromhex(text)


def main(command, *args):
    if command == "sm3":
        digest = hashes.Hash(hashes.SM3())
        digest.update(h(args[0]))
        print(digest.finalize().hex())
    elif command == "hmac-sm3":
        mac = hmac.HMAC(h(args[0]), hashes.SM3())
        mac.update(h(args[1]))
        print(mac.finalize().hex())
    elif command == "sm4gcm-seal":
        key, nonce, aad, plaintext = map(h, args)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        print(ciphertext.hex(), encryptor.tag.hex())
    elif command == "sm4gcm-open":
        key, nonce, aad, ciphertext, tag = map(h, args)
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        try:
            print((decryptor.update(ciphertext) + decryptor.finalize()).hex())
        except InvalidTag:
            return 1
    elif command == "sm2-verify":
        public, message, signature = map(h, args)
        valid = sm2_peer.verify(public, message, sm2_peer.raw_to_der(signature))
        print("valid" if valid else "invalid")
    elif command == "sm2-sign":
        while True:
            private = secrets.token_bytes(32)
            if 1 <= int.from_bytes(private, "big") < sm2_peer.ORDER - 1:
                break
        signature = sm2_peer.der_to_raw(sm2_peer.sign(private, h(args[0])))
        print(sm2_peer.public_point(private).hex(), signature.hex())
    else:
        print("unknown command", command, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
