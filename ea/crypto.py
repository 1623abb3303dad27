"""The EA protocol's cryptography, shared by the server, the Python EA and the tests.

Signature (every request)::

    X-Signature = hex(HMAC-SHA256(key = the device secret exactly as shown, UTF-8,
                                  msg = METHOD "\\n" PATH_WITH_QUERY "\\n" TIMESTAMP "\\n"
                                        NONCE "\\n" hex(SHA256(BODY))))

lowercase hex everywhere; an empty body hashes the empty string. Encrypted responses
(per device, optional): ``{"enc": "aes-256-gcm", "nonce": b64, "ciphertext": b64}`` with
key = HKDF-SHA256(secret, salt none, info "signaldesk-ea-v1", 32 bytes), AAD = device id,
ciphertext = AES-GCM output (encrypted bytes followed by the 16-byte tag), standard base64.

The functions live in `core.crypto`: the ingest API (outside producers of signals) signs its
requests the same way, and its server side (`core.http.signed`) verifies both.
"""

from __future__ import annotations

from core.crypto import (
    SecretError,
    canonical_message,
    decrypt_payload,
    encrypt_payload,
    new_nonce,
    payload_key,
    sign,
    sign_request,
)

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
