#!/usr/bin/env python3
"""An independent SM implementation for the hub's interoperability tests.

SM3, HMAC-SM3 and SM4-GCM come from PyPI's `cryptography` (its own OpenSSL build); SM2 from
PyPI's `gmssl` (pure Python). Test tooling only: gmssl uses a non-cryptographic RNG.

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
from gmssl import sm2


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
        public, message, signature = args
        peer = sm2.CryptSM2(private_key=None, public_key=public[2:])
        print("valid" if peer.verify_with_sm3(signature, h(message)) else "invalid")
    elif command == "sm2-sign":
        table = sm2.default_ecc_table
        order = int(table["n"], 16)
        while True:
            private = format(secrets.randbelow(order - 1) + 1, "064x")
            public = sm2.CryptSM2(private_key=private, public_key="00" * 64)._kg(int(private, 16), table["g"])
            # gmssl strips leading '0'/'4' characters from keys that start with "04": avoid them.
            if not public.startswith("04") and len(public) == 128:
                break
        signer = sm2.CryptSM2(private_key=private, public_key=public)
        signature = signer.sign_with_sm3(h(args[0]), secrets.token_hex(32))
        print("04" + public, signature)
    else:
        print("unknown command", command, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
