"""The cryptographic primitives the EA protocol and the at-rest seal share (`cryptography` only).

Payload encryption (optional per device) is stateless: key = HKDF-SHA256(secret, salt None,
info ``signaldesk-ea-v1``, 32 bytes), AES-256-GCM with a random 12-byte nonce, AAD = the device
id, so it survives restarts and any replica can answer. The server (`ea.api`), the Python
reference EA (`ea.client`) and the tests use these same functions; the MQL5 EA implements them
after `ea/mql5/README.md`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PAYLOAD_INFO = b"signaldesk-ea-v1"
PAYLOAD_ENC = "aes-256-gcm"
NONCE_BYTES = 12


class SecretError(ValueError):
    """A sealed value or an encrypted payload does not open (wrong key, tampered, malformed)."""


def hkdf_sha256(material: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) with no salt: ``length`` bytes bound to ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


def payload_key(secret: str) -> bytes:
    """The device's response-encryption key: HKDF-SHA256(secret, info "signaldesk-ea-v1")."""
    return hkdf_sha256(secret.encode("utf-8"), PAYLOAD_INFO)


def encrypt_payload(key: bytes, device_id: str, plaintext: bytes) -> dict[str, str]:
    """``{"enc": "aes-256-gcm", "nonce": b64, "ciphertext": b64}``; ciphertext ends with the tag."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, device_id.encode("utf-8"))
    return {
        "enc": PAYLOAD_ENC,
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
    }


def decrypt_payload(secret: str, device_id: str, envelope: dict[str, Any]) -> Any:
    """Open an encrypted response (what a terminal does) and return the decoded JSON value."""
    if envelope.get("enc") != PAYLOAD_ENC:
        msg = f"unsupported payload encryption {envelope.get('enc')!r} (expected {PAYLOAD_ENC})"
        raise SecretError(msg)
    try:
        nonce = base64.b64decode(str(envelope["nonce"]), validate=True)
        sealed = base64.b64decode(str(envelope["ciphertext"]), validate=True)
        plain = AESGCM(payload_key(secret)).decrypt(nonce, sealed, device_id.encode("utf-8"))
    except (KeyError, binascii.Error, InvalidTag, ValueError) as exc:
        msg = "encrypted payload does not open: wrong secret, device id or tampered data"
        raise SecretError(msg) from exc
    return json.loads(plain)


# The request signature of the EA protocol (ea/crypto.py documents it), also the ingest API's.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def canonical_message(
    method: str, path_with_query: str, timestamp: int | str, nonce: str, body: bytes
) -> bytes:
    """The signed string: method, path with query, timestamp, nonce, body hash; "\\n"-joined."""
    digest = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    return f"{method.upper()}\n{path_with_query}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign(secret: str, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` keyed with the secret's UTF-8 bytes."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A fresh nonce: 22 characters of [A-Za-z0-9_-] (128 random bits)."""
    return secrets.token_urlsafe(16)


def sign_request(
    secret: str,
    method: str,
    path_with_query: str,
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
    *,
    device_id: str | None = None,
) -> dict[str, str]:
    """The protocol headers for one request (X-Timestamp, X-Nonce, X-Signature, X-Device-Id).

    ``timestamp`` defaults to now (Unix seconds) and ``nonce`` to a fresh one; X-Device-Id is
    included when ``device_id`` is given.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    once = new_nonce() if nonce is None else nonce
    headers = {
        "X-Timestamp": str(ts),
        "X-Nonce": once,
        "X-Signature": sign(secret, canonical_message(method, path_with_query, ts, once, body)),
    }
    if device_id is not None:
        headers["X-Device-Id"] = device_id
    return headers
