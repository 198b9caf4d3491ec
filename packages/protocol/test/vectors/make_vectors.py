#!/usr/bin/env python3
"""Writes signatures.json: the Part B 11 test vectors (API.md), computed with
Python's standard library and the `cryptography` package — independently of
the TypeScript code under test, which must reproduce every value.

Run from the repository root:  python3 packages/protocol/test/vectors/make_vectors.py

Everything is deterministic (Ed25519 signatures are, RFC 8032), so running it
again rewrites the same file. It reads the RSA test key and the envelope
parameters from vectors.json (made by generate.ts) so both files describe the
same key.
"""
import base64
import hashlib
import json
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = pathlib.Path(__file__).resolve().parent
base = json.loads((HERE / "vectors.json").read_text())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256_line(b64_text: str) -> str:
    """base64(SHA-256(decoded bytes)); an absent value hashes the empty string."""
    return b64(hashlib.sha256(base64.b64decode(b64_text, validate=True)).digest())


def signing_key(seed_hex: str):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key, b64(raw_public), pkcs8


# RFC 8032 section 7.1, TEST 1 and TEST 2; the third is an arbitrary fixed seed.
KEY1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
KEY2_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
KEY3_SEED = "01" * 32
key1, pub1, pkcs8_1 = signing_key(KEY1_SEED)
key2, pub2, pkcs8_2 = signing_key(KEY2_SEED)
key3, pub3, pkcs8_3 = signing_key(KEY3_SEED)
assert pub1 == b64(bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
assert pub2 == b64(bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"))

rsa_pem = base["rsa"]["public_key"]
spki_b64 = b64(serialization.load_pem_public_key(rsa_pem.encode()).public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def key_link_text(username: str, key_id: int, spki: str, signing_public_key: str) -> str:
    return "\n".join(["securechat/key/v1", username.lower(), str(key_id), spki, signing_public_key])


def message_text(m: dict) -> str:
    return "\n".join([
        "securechat/msg/v1",
        m["sender"].lower(),
        m["recipient"].lower(),
        m["client_id"],
        str(m["key_id"]),
        "" if m.get("sender_key_id") is None else str(m["sender_key_id"]),
        m["encrypted_symmetric_key"],
        m.get("sender_encrypted_symmetric_key", ""),
        m.get("message_nonce", ""),
        sha256_line(m.get("encrypted_message", "")),
        m.get("attachment_nonce", ""),
        sha256_line(m.get("encrypted_attachment", "")),
        b64(m.get("attachment_name", "").encode("utf-8")),
        b64(m.get("attachment_mime", "").encode("utf-8")),
    ])


def signed(key, text: str) -> dict:
    return {"bytes_utf8": text, "signature": b64(key.sign(text.encode("utf-8")))}


# 1. A key link: Alice's version 2 (RSA test key, signing key 3), vouched for by version 1's signing key (key 1).
key_link_input = {"username": "Alice", "key_id": 2, "public_key": rsa_pem, "spki_base64": spki_b64, "signing_public_key": pub3}
key_link = {"signer_public_key": pub1, "input": key_link_input,
            **signed(key1, key_link_text("Alice", 2, spki_b64, pub3))}

# 2. Messages signed by Alice's version 2 signing key (key 3): every field present; then text only.
enc = base["message"]["encrypted"]
full_message = {
    "sender": "Alice", "recipient": "Bob", "client_id": "3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34",
    "key_id": 3, "sender_key_id": 2,
    "encrypted_symmetric_key": enc["encrypted_symmetric_key"],
    "sender_encrypted_symmetric_key": enc["encrypted_symmetric_key"],
    "message_nonce": enc["message_nonce"], "encrypted_message": enc["encrypted_message"],
    "attachment_nonce": enc["attachment_nonce"], "encrypted_attachment": enc["encrypted_attachment"],
    "attachment_name": "résumé ✓ 2026.pdf", "attachment_mime": "application/pdf",
}
text_only = {
    "sender": "alice", "recipient": "BOB", "client_id": "00000000-0000-4000-8000-000000000001",
    "key_id": 1, "sender_key_id": 2,
    "encrypted_symmetric_key": enc["encrypted_symmetric_key"],
    "message_nonce": enc["message_nonce"], "encrypted_message": enc["encrypted_message"],
}
messages = [
    {"name": "every field", "signer_public_key": pub3, "fields": full_message, **signed(key3, message_text(full_message))},
    {"name": "text only: absent values are empty, the attachment hash is SHA-256 of nothing",
     "signer_public_key": pub3, "fields": text_only, **signed(key3, message_text(text_only))},
]
assert message_text(text_only).split("\n")[11] == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

# 3. Safety numbers.
def safety_half(username: str, key_b64: str) -> str:
    key = base64.b64decode(key_b64)
    digest = hashlib.sha512(b"\x00\x00" + key + username.lower().encode("utf-8") + key).digest()
    for _ in range(5_200 - 1):
        digest = hashlib.sha512(digest + key).digest()
    return "".join("%05d" % (int.from_bytes(digest[i:i + 5], "big") % 100_000) for i in range(0, 30, 5))


def safety_number(a: tuple, b: tuple) -> str:
    digits = "".join(sorted([safety_half(*a), safety_half(*b)]))
    return " ".join(digits[i:i + 5] for i in range(0, 60, 5))


safety = [
    {"a": {"username": "alice", "signing_public_key": pub1}, "b": {"username": "bob", "signing_public_key": pub2},
     "number": safety_number(("alice", pub1), ("bob", pub2))},
    {"a": {"username": "Carol.Example", "signing_public_key": pub3}, "b": {"username": "alice", "signing_public_key": pub1},
     "number": safety_number(("Carol.Example", pub3), ("alice", pub1))},
]
assert safety[0]["number"] == "13091 32294 92263 76313 26174 49443 42493 13209 61591 80933 39727 51357"

# 4. The signing key sealed in the envelope of vectors.json, under the same PBKDF2 key, with its own nonce.
env = base["envelope"]
derived = hashlib.pbkdf2_hmac("sha256", env["password"].encode("utf-8"), bytes.fromhex(env["salt_hex"]), env["iterations"], 32)
assert derived.hex() == env["derived_key_hex"]
signing_nonce = bytes.fromhex("b0b1b2b3b4b5b6b7b8b9babb")
sealed_signing = {
    "signing_key_pkcs8": b64(pkcs8_3), "signing_public_key": pub3, "signing_key_nonce_hex": signing_nonce.hex(),
    "sealed": {**env["sealed"], "encrypted_signing_key": b64(AESGCM(derived).encrypt(signing_nonce, pkcs8_3, None)),
               "signing_key_nonce": b64(signing_nonce)},
}

# 5. A key chain: v1 server-made (no signing key), v2 starts the chain (key 1), v3 vouched by v2 (key 2),
#    v4 vouched by v3 (key 3); then the same history with v4's signature forged by v2's key.
def version(key_id, signing_public_key=None, key_signature=None):
    return {"key_id": key_id, "public_key": rsa_pem, "signing_public_key": signing_public_key,
            "key_signature": key_signature, "created_at": "2026-11-25T16:30:00.000Z"}


def link_sig(signer, key_id, pub):
    return b64(signer.sign(key_link_text("dave", key_id, spki_b64, pub).encode("utf-8")))


chain = [version(1), version(2, pub1), version(3, pub2, link_sig(key1, 3, pub2)), version(4, pub3, link_sig(key2, 4, pub3))]
forged = chain[:3] + [version(4, pub3, link_sig(key1, 4, pub3))]
chains = [
    {"name": "unsigned, start, vouched, vouched", "username": "Dave", "versions": chain,
     "statuses": ["unsigned", "start", "vouched", "vouched"]},
    {"name": "the last link signed by the wrong key", "username": "dave", "versions": forged,
     "statuses": ["unsigned", "start", "vouched", "broken"]},
]

out = {
    "note": "Part B 11 vectors, written by make_vectors.py with Python's hashlib and cryptography, not by our TypeScript. See README.md.",
    "signing_keys": [{"seed_hex": s, "public_key": p, "pkcs8": b64(k)} for s, p, k in
                     [(KEY1_SEED, pub1, pkcs8_1), (KEY2_SEED, pub2, pkcs8_2), (KEY3_SEED, pub3, pkcs8_3)]],
    "empty_sha256": b64(hashlib.sha256(b"").digest()),
    "key_link": key_link,
    "messages": messages,
    "safety_numbers": safety,
    "sealed_signing_key": sealed_signing,
    "key_chains": chains,
}
(HERE / "signatures.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
print("wrote signatures.json")
