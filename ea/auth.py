"""Request authentication for /ea/v1: the signed-request scheme of the EA protocol.

Headers: ``X-Device-Id``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16-64 characters of
[A-Za-z0-9_-]) and ``X-Signature`` (see `ea.crypto`). Refused with 401 and an RFC 7807 body:
missing or malformed headers, a timestamp more than 300 s from the server's clock, an unknown
or revoked device, a bad signature, a nonce this device used within the last 600 s. The
signature is checked before the nonce is recorded, so forged requests cannot burn nonces.
Bodies over 256 KiB answer 413 (read with a hard limit, never buffered whole). The checks
themselves are `core.http.signed`'s, shared with the ingest API.
"""

from __future__ import annotations

from aiohttp import web

from core.http.bodies import read_body
from core.http.problems import Handler
from core.http.signed import MAX_SKEW_S, SignedRequest, refuse
from ea.crypto import sign_request
from services.terminals.device_auth import Credentials, DeviceAuth

__all__ = [
    "BODY_KEY",
    "CREDENTIALS_KEY",
    "DEVICE_KEY",
    "MAX_SKEW_S",
    "authenticate",
    "ea_auth_middleware",
    "sign_request",
]

MAX_BODY_BYTES = 256 * 1024
DEVICE_KEY = web.RequestKey("ea_device", DeviceAuth)
BODY_KEY = web.RequestKey("ea_body", bytes)
CREDENTIALS_KEY = web.AppKey("ea_credentials", Credentials)  # on the /ea/v1 sub-app


async def authenticate(request: web.Request) -> tuple[DeviceAuth, bytes]:
    """The calling device and the raw body, or a 401/413 `ProblemError`."""
    signed = SignedRequest.parse(request, "X-Device-Id")
    signed.check_fresh()
    body = await read_body(request, MAX_BODY_BYTES)
    credentials = request.app[CREDENTIALS_KEY]
    device = await credentials.get_for_auth(signed.caller_id)
    if device is None or device.revoked:
        refuse("unknown or revoked device", signed.caller_id)
    signed.verify(request, device.secret, body)
    if not await credentials.consume_nonce(signed.caller_id, signed.nonce):
        refuse("nonce already used", signed.caller_id)
    return device, body


@web.middleware
async def ea_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate every /ea/v1 request; handlers read `DEVICE_KEY` and `BODY_KEY`."""
    device, body = await authenticate(request)
    request[DEVICE_KEY] = device
    request[BODY_KEY] = body
    await request.app[CREDENTIALS_KEY].touch(device)
    return await handler(request)
