"""Request authentication for /ea/v1: the signed-request scheme of the EA protocol.

Headers: ``X-Device-Id``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16-64 characters of
[A-Za-z0-9_-]) and ``X-Signature`` (see `ea.crypto`). Refused with 401 and an RFC 7807 body:
missing or malformed headers, a timestamp more than 300 s from the server's clock, an unknown
or revoked device, a bad signature, a nonce this device used within the last 600 s. The
signature is checked before the nonce is recorded, so forged requests cannot burn nonces.
Bodies over 256 KiB answer 413 (read with a hard limit, never buffered whole).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from typing import NoReturn

from aiohttp import web

from core.http.bodies import read_body
from core.http.problems import Handler, ProblemError
from ea.crypto import canonical_message, sign, sign_request
from services.terminals.device_auth import Credentials, DeviceAuth
from trading.number_text import parse_int

__all__ = [
    "BODY_KEY",
    "CREDENTIALS_KEY",
    "DEVICE_KEY",
    "authenticate",
    "ea_auth_middleware",
    "sign_request",
]

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024
MAX_SKEW_S = 300
MAX_TIMESTAMP = 10**12 - 1  # twelve digits: far beyond any clock, short enough to parse
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # fullmatch: `$` would let a "\n" in
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")
DEVICE_KEY = web.RequestKey("ea_device", DeviceAuth)
BODY_KEY = web.RequestKey("ea_body", bytes)
CREDENTIALS_KEY = web.AppKey("ea_credentials", Credentials)  # on the /ea/v1 sub-app


def _refuse(detail: str, device_id: str = "", **extra: object) -> NoReturn:
    log.info("ea request refused", extra={"device": device_id, "reason": detail})
    raise ProblemError(401, "Unauthorized", detail, **extra)


def _headers(request: web.Request) -> tuple[str, int, str, str, str]:
    """(device id, timestamp, its text as signed, nonce, signature), or 401."""
    h = request.headers
    device_id = h.get("X-Device-Id", "")
    timestamp, nonce = h.get("X-Timestamp", ""), h.get("X-Nonce", "")
    signature = h.get("X-Signature", "")
    if not DEVICE_ID_RE.fullmatch(device_id):
        _refuse("missing or malformed X-Device-Id")
    try:
        seconds = parse_int(timestamp, 0, MAX_TIMESTAMP, what="X-Timestamp")
    except ValueError:
        _refuse("missing or malformed X-Timestamp (Unix seconds, digits 0-9)", device_id)
    if not NONCE_RE.fullmatch(nonce):
        _refuse("missing or malformed X-Nonce (16-64 of A-Z a-z 0-9 _ -)", device_id)
    if not SIGNATURE_RE.fullmatch(signature):
        _refuse("missing or malformed X-Signature (64 lowercase hex digits)", device_id)
    return device_id, seconds, timestamp, nonce, signature


async def authenticate(request: web.Request) -> tuple[DeviceAuth, bytes]:
    """The calling device and the raw body, or a 401/413 `ProblemError`."""
    device_id, seconds, timestamp, nonce, signature = _headers(request)
    now = int(time.time())  # freshness vs the peer's real clock: not core.clock (see there)
    if abs(now - seconds) > MAX_SKEW_S:
        detail = f"X-Timestamp is more than {MAX_SKEW_S} s from the server clock"
        _refuse(detail, device_id, server_time=now)
    body = await read_body(request, MAX_BODY_BYTES)
    credentials = request.app[CREDENTIALS_KEY]
    device = await credentials.get_for_auth(device_id)
    if device is None or device.revoked:
        _refuse("unknown or revoked device", device_id)
    message = canonical_message(request.method, request.raw_path, timestamp, nonce, body)
    if not hmac.compare_digest(sign(device.secret, message), signature):
        _refuse("bad signature", device_id)
    if not await credentials.consume_nonce(device_id, nonce):
        _refuse("nonce already used", device_id)
    return device, body


@web.middleware
async def ea_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate every /ea/v1 request; handlers read `DEVICE_KEY` and `BODY_KEY`."""
    device, body = await authenticate(request)
    request[DEVICE_KEY] = device
    request[BODY_KEY] = body
    await request.app[CREDENTIALS_KEY].touch(device)
    return await handler(request)
