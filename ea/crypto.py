"""The EA protocol's cryptography, shared by the server, the Python EA and the tests.

Signature (every request)::

    X-Signature = hex(HMAC-SHA256(key = the device secret exactly as shown, UTF-8,
                                  msg = METHOD "\\n" PATH_WITH_QUERY "\\n" TIMESTAMP "\\n"
                                        NONCE "\\n" hex(SHA256(BODY))))

lowercase hex everywhere; an empty body hashes the empty string. Encrypted responses
(per device, optional): ``{"enc": "aes-256-gcm", "nonce": b64, "ciphertext": b64}`` with
key = HKDF-SHA256(secret, salt none, info "signaldesk-ea-v1", 32 bytes), AAD = device id,
ciphertext = AES-GCM output (encrypted bytes followed by the 16-byte tag), standard base64.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from core.crypto import SecretError, decrypt_payload, encrypt_payload, payload_key

__all__ = [
    "SecretError",
    "canonical_message",
    "decrypt_payload",
    "encrypt_payload",
    "new_nonce",
    "payload_key",
    "sign",
    "sign_request",
]

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
