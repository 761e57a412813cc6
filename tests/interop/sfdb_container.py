#!/usr/bin/env python3
"""Independent implementation of the sfdbtools `.enc` container, for interoperability tests.

Written from the format description only (not from the Rust code), on top of the `cryptography`
package, so that a shared misunderstanding between the Rust writer and reader cannot hide.

    SFDB_PASSPHRASE=... sfdb_container.py encrypt --format chunked|oneshot --iterations N \
        [--salt HEX --nonce HEX] INPUT OUTPUT
    SFDB_PASSPHRASE=... sfdb_container.py decrypt --format chunked|oneshot --iterations N INPUT OUTPUT

The passphrase comes from the environment so it never shows in a process listing. Errors go to
stderr with exit status 1.
"""

import argparse
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

MAGIC = b"Salted__"
SALT_LEN = 8
NONCE_LEN = 12
HEADER_LEN = len(MAGIC) + SALT_LEN + NONCE_LEN
TAG_LEN = 16
CHUNK_SIZE = 65536
MAX_CHUNK_LEN = CHUNK_SIZE + TAG_LEN

# Unicode White_Space, which is what Go's strings.TrimSpace and Rust's str::trim strip.
# Python's str.strip() would also strip U+001C..U+001F, so it is not used.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


class FormatError(Exception):
    pass


def derive_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    material = passphrase.strip(WHITE_SPACE).encode("utf-8", "surrogateescape")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(material)


def chunk_nonce(base: bytes, index: int) -> bytes:
    return base[:4] + struct.pack(">Q", index)


def encrypt_chunked(plain: bytes, passphrase: str, iterations: int, salt: bytes, nonce: bytes) -> bytes:
    aead = AESGCM(derive_key(passphrase, salt, iterations))
    out = [MAGIC, salt, nonce]
    for index, start in enumerate(range(0, len(plain), CHUNK_SIZE)):
        sealed = aead.encrypt(chunk_nonce(nonce, index), plain[start:start + CHUNK_SIZE], None)
        out.append(struct.pack(">I", len(sealed)))
        out.append(sealed)
    out.append(b"\0\0\0\0")
    return b"".join(out)


def decrypt_chunked(data: bytes, passphrase: str, iterations: int) -> bytes:
    if not data.startswith(MAGIC) or len(data) < HEADER_LEN:
        raise FormatError("not an sfdbtools file or truncated header")
    salt = data[8:16]
    nonce = data[16:28]
    aead = None
    pos = HEADER_LEN
    out = []
    index = 0
    while True:
        if pos + 4 > len(data):
            raise FormatError(f"truncated at byte {len(data)}: no end marker")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if length == 0:
            if pos + 4 != len(data):
                raise FormatError(f"trailing data at byte {pos + 4}")
            return b"".join(out)
        if not TAG_LEN < length <= MAX_CHUNK_LEN:
            raise FormatError(f"bad chunk length {length} at byte {pos}")
        if pos + 4 + length > len(data):
            raise FormatError(f"truncated at byte {len(data)} inside chunk {index}")
        if aead is None:
            aead = AESGCM(derive_key(passphrase, salt, iterations))
        try:
            out.append(aead.decrypt(chunk_nonce(nonce, index), data[pos + 4:pos + 4 + length], None))
        except InvalidTag:
            raise FormatError(f"chunk {index} at byte {pos} failed authentication") from None
        pos += 4 + length
        index += 1


def encrypt_oneshot(plain: bytes, passphrase: str, iterations: int, salt: bytes, nonce: bytes) -> bytes:
    aead = AESGCM(derive_key(passphrase, salt, iterations))
    return MAGIC + salt + nonce + aead.encrypt(nonce, plain, None)


def decrypt_oneshot(data: bytes, passphrase: str, iterations: int) -> bytes:
    if not data.startswith(MAGIC) or len(data) < HEADER_LEN + TAG_LEN:
        raise FormatError("not a one-shot sfdbtools blob")
    aead = AESGCM(derive_key(passphrase, data[8:16], iterations))
    try:
        return aead.decrypt(data[16:28], data[HEADER_LEN:], None)
    except InvalidTag:
        raise FormatError("wrong key or damaged blob") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["encrypt", "decrypt"])
    parser.add_argument("--format", choices=["chunked", "oneshot"], required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--salt", help="hex, 8 bytes (default: random)")
    parser.add_argument("--nonce", help="hex, 12 bytes (default: random)")
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()

    passphrase = os.environ.get("SFDB_PASSPHRASE")
    if passphrase is None:
        print("SFDB_PASSPHRASE is not set", file=sys.stderr)
        return 2
    with open(args.input, "rb") as f:
        data = f.read()
    try:
        if args.action == "encrypt":
            salt = bytes.fromhex(args.salt) if args.salt else os.urandom(SALT_LEN)
            nonce = bytes.fromhex(args.nonce) if args.nonce else os.urandom(NONCE_LEN)
            if len(salt) != SALT_LEN or len(nonce) != NONCE_LEN:
                raise FormatError("salt must be 8 bytes and nonce 12 bytes")
            seal = encrypt_chunked if args.format == "chunked" else encrypt_oneshot
            result = seal(data, passphrase, args.iterations, salt, nonce)
        else:
            open_ = decrypt_chunked if args.format == "chunked" else decrypt_oneshot
            result = open_(data, passphrase, args.iterations)
    except FormatError as e:
        print(f"sfdb_container.py: {e}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as f:
        f.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
