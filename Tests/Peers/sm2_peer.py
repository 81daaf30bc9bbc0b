"""SM2 (GB/T 32918, with SM3 and the default distinguishing ID 1234567812345678) through PyPI's
`gmssl` (pure Python, pinned in requirements.txt): the one place the test peers build gmssl
objects, so that every peer steps around the library's key-parsing defect the same way.

The defect (gmssl 3.2.2, `CryptSM2.__init__`): a public key whose hex starts with "04" is cut
with `public_key.lstrip("04")`, which strips every leading '0' and '4' *character*, not the
two-character prefix. The X coordinate of about one key in 256 starts with the byte 0x04; given
X‖Y, gmssl then strips X's own first byte and any '0'/'4' digits after it, leaving a wrong
key (signatures "do not verify") or an odd-length hex string (`binascii.Error: Odd-length
string`). Given 04‖X‖Y, it goes wrong for every X that starts with a '0' or '4' digit. We
therefore never pass a key to the constructor: the verifier is built keyless and is handed the
128-digit X‖Y afterwards, checked for length and for lying on the curve.

Values are bytes; the point is the 65-byte uncompressed form 04‖X‖Y; signatures are DER
SEQUENCE{r, s} as the hub makes them.
"""
import secrets

from gmssl import sm2

TABLE = sm2.default_ecc_table
ORDER = int(TABLE["n"], 16)
PRIME = int(TABLE["p"], 16)
A = int(TABLE["a"], 16)
B = int(TABLE["b"], 16)


def _on_curve(xy_hex):
    x, y = int(xy_hex[:64], 16), int(xy_hex[64:], 16)
    return x < PRIME and y < PRIME and (y * y - (x * x * x + A * x + B)) % PRIME == 0


def _crypt(private_hex, xy_hex):
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    if len(xy_hex) != 128 or not _on_curve(xy_hex):
        raise ValueError("not a point on the SM2 curve")
    crypt.public_key = xy_hex
    return crypt


def verifier(point):
    """A verifier for the uncompressed point 04‖X‖Y (65 bytes)."""
    if len(point) != 65 or point[0] != 0x04:
        raise ValueError("an SM2 point is 65 bytes starting with 04")
    return _crypt(None, point[1:].hex())


def public_point(private):
    """04‖X‖Y of a 32-byte private key, computed by gmssl (fixed length, zero-padded)."""
    d = int.from_bytes(private, "big")
    if not 1 <= d < ORDER - 1:
        raise ValueError("an SM2 private key is in [1, n-2]")
    xy = sm2.CryptSM2(private_key=private.hex(), public_key="")._kg(d, TABLE["g"])
    return b"\x04" + bytes.fromhex(xy)


def der_to_raw(der):
    """DER SEQUENCE{r, s} → r‖s, each left-padded to 32 bytes."""
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("not a DER signature")
    position, values = 2, []
    for _ in range(2):
        if der[position] != 0x02:
            raise ValueError("not a DER signature")
        length = der[position + 1]
        values.append(int.from_bytes(der[position + 2:position + 2 + length], "big"))
        position += 2 + length
    if position != len(der) or not all(0 < v < ORDER for v in values):
        raise ValueError("not a DER signature")
    return b"".join(v.to_bytes(32, "big") for v in values)


def raw_to_der(raw):
    """r‖s (64 bytes) → DER SEQUENCE{r, s} (minimal INTEGERs)."""
    def integer(value):
        body = value.lstrip(b"\x00") or b"\x00"
        if body[0] & 0x80:
            body = b"\x00" + body
        return b"\x02" + bytes([len(body)]) + body
    body = integer(raw[:32]) + integer(raw[32:])
    return b"\x30" + bytes([len(body)]) + body


def verify(point, message, der):
    """Whether `der` is an SM2-with-SM3 signature of `message` by `point`."""
    return bool(verifier(point).verify_with_sm3(der_to_raw(der).hex(), message))


def sign(private, message):
    """An SM2-with-SM3 signature of `message` (DER) with a 32-byte private key."""
    crypt = _crypt(private.hex(), public_point(private)[1:].hex())
    while True:
        raw = crypt.sign_with_sm3(message, secrets.token_hex(32))
        if raw is not None:
            return raw_to_der(bytes.fromhex(raw))


def _der_items(data):
    """The (tag, contents) of each DER item in `data`, one level deep."""
    items, position = [], 0
    while position < len(data):
        tag, length = data[position], data[position + 1]
        position += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[position:position + count], "big")
            position += count
        items.append((tag, data[position:position + length]))
        position += length
    return items


def private_key_from_pkcs8(der):
    """The 32-byte scalar of a PKCS#8 EC private key (RFC 5208 around RFC 5915)."""
    (_, pkcs8), = _der_items(der)
    octets = [contents for tag, contents in _der_items(pkcs8) if tag == 0x04]
    (_, ec_private_key), = _der_items(octets[0])
    scalar = [contents for tag, contents in _der_items(ec_private_key) if tag == 0x04][0]
    return scalar.rjust(32, b"\x00")
