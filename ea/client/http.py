"""Signed HTTP for the reference EA: every request carries the protocol's four headers.

``X-Signature`` = hex HMAC-SHA256(secret, METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n
hex(SHA256(BODY)))``, computed by the server's own signer (:mod:`ea.crypto`, also behind
``ea.auth``: one implementation). Encrypted answers (``{"enc": "aes-256-gcm", ...}``) are
opened by :func:`ea.crypto.decrypt_payload` (key HKDF-SHA256(secret, info
``signaldesk-ea-v1``), associated data the device id).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from ea.client.wire import dumps
from ea.crypto import decrypt_payload, payload_key, sign_request

__all__ = [
    "NETWORK_ERRORS",
    "AuthRejected",
    "BadAnswer",
    "ServerError",
    "SignedClient",
    "backoff",
    "decrypt_payload",
    "payload_key",
    "sign_request",
]
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


class ServerError(Exception):
    """The server answered with an error status (``status``, RFC 7807 ``detail``)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class AuthRejected(ServerError):
    """401/403: wrong secret, revoked device, clock off by more than 300 s."""


class BadAnswer(ServerError):
    """A 2xx answer that is not JSON or does not decrypt (wrong secret or tampered)."""


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
        """The four protocol headers (timestamp now, a fresh nonce) and the content type."""
        signed = sign_request(
            self._secret, method, path_with_query, body, device_id=self.device_id
        )
        return {**signed, "Content-Type": "application/json"}

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
        try:
            data = json.loads(text)
            if isinstance(data, dict) and "enc" in data and "ciphertext" in data:
                return decrypt_payload(self._secret, self.device_id, data)
        except ValueError as exc:  # SecretError is a ValueError too
            raise BadAnswer(response.status, f"unreadable answer: {exc}") from None
        return data


def _error(status: int, text: str) -> ServerError:
    try:
        data = json.loads(text)
        detail = str(data.get("detail") or data.get("title") or text)
    except (ValueError, AttributeError):
        detail = text[:200]
    return (AuthRejected if status in (401, 403) else ServerError)(status, detail)
