"""Signed HTTP for the reference EA: every request carries the protocol's four headers.

``X-Signature`` = hex HMAC-SHA256(secret, METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n
hex(SHA256(BODY)))``, computed by the server's own :func:`ea.auth.sign_request` (one
implementation). Encrypted answers (``{"enc": "aes-256-gcm", ...}``) are opened with the key
HKDF-SHA256(secret, info ``signaldesk-ea-v1``) and the device id as associated data.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from yarl import URL

from ea.client_wire import dumps

HKDF_INFO = b"signaldesk-ea-v1"
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


def sign_request(
    secret: str, method: str, path_with_query: str, body: bytes, timestamp: int, nonce: str
) -> dict[str, str]:
    """TEMPORARY private copy until ea.auth lands (then imported from there)."""
    message = "\n".join(
        (method.upper(), path_with_query, str(timestamp), nonce, hashlib.sha256(body).hexdigest())
    )
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": str(timestamp), "X-Nonce": nonce, "X-Signature": signature}


class ServerError(Exception):
    """The server answered with an error status (``status``, RFC 7807 ``detail``)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class AuthRejected(ServerError):
    """401/403: wrong secret, revoked device, clock off by more than 300 s."""


def payload_key(secret: str) -> bytes:
    """The per-device AES-256 key: HKDF-SHA256 of the secret, no salt, info signaldesk-ea-v1."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return hkdf.derive(secret.encode())


def decrypt_payload(secret: str, device_id: str, envelope: dict[str, Any]) -> Any:
    """The JSON inside an ``aes-256-gcm`` envelope (``cryptography``'s InvalidTag if forged)."""
    if envelope.get("enc") != "aes-256-gcm":
        msg = f"unsupported payload encryption {envelope.get('enc')!r}"
        raise ValueError(msg)
    nonce = base64.b64decode(envelope["nonce"])
    ciphertext = base64.b64decode(envelope["ciphertext"])
    plain = AESGCM(payload_key(secret)).decrypt(nonce, ciphertext, device_id.encode())
    return json.loads(plain)


def backoff(base_s: float = 0.5, cap_s: float = 30.0) -> Iterator[float]:
    """Exponential delays with full jitter: ``uniform(0, min(cap, base * 2**n))``."""
    attempt = 0
    while True:
        yield random.uniform(base_s / 2, min(cap_s, base_s * 2**attempt))  # noqa: S311
        attempt += 1


class SignedClient:
    """Signed JSON requests to one server as one device."""

    def __init__(self, server: str, device_id: str, secret: str) -> None:
        self.server = server.rstrip("/")
        self.prefix = urlsplit(self.server).path.rstrip("/")
        self.device_id = device_id
        self._secret = secret
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SignedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def headers(self, method: str, path_with_query: str, body: bytes) -> dict[str, str]:
        nonce = secrets.token_urlsafe(18)  # 24 chars of [A-Za-z0-9_-]
        signed = sign_request(self._secret, method, path_with_query, body, int(time.time()), nonce)
        return {**signed, "X-Device-Id": self.device_id, "Content-Type": "application/json"}

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout_s: float = 15
    ) -> Any:
        """One attempt; the decoded (and decrypted) JSON answer, None for 204.

        Raises :class:`AuthRejected`, :class:`ServerError` or a network error.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession()
        raw = b"" if body is None else dumps(body)
        path_with_query = self.prefix + path
        url = URL(self.server.removesuffix(self.prefix) + path_with_query, encoded=True)
        headers = self.headers(method, path_with_query, raw)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self._session.request(
            method, url, data=raw or None, headers=headers, timeout=timeout
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise _error(response.status, text)
        if not text:
            return None
        data = json.loads(text)
        if isinstance(data, dict) and "enc" in data and "ciphertext" in data:
            return decrypt_payload(self._secret, self.device_id, data)
        return data


def _error(status: int, text: str) -> ServerError:
    try:
        data = json.loads(text)
        detail = str(data.get("detail") or data.get("title") or text)
    except (ValueError, AttributeError):
        detail = text[:200]
    return (AuthRejected if status in (401, 403) else ServerError)(status, detail)
