"""Request bodies for every aiohttp route: the raw bytes under a hard limit, strict JSON.

One place for what the EA API, the web app and the coming Mini App API and payment webhooks
read: a body over its limit answers 413 as soon as the limit is passed (the bytes are read in
chunks, never buffered whole first), a body that is not JSON answers 400, a JSON body of the
wrong shape answers 400 too. Numbers parse as exact `Decimal`s when they have a fraction or an
exponent; ``NaN`` and ``Infinity`` are refused (they are not JSON). Payment webhooks verify a
signature over the raw bytes, so they read with `read_body` and parse afterwards.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from core.http.problems import ProblemError

DEFAULT_LIMIT_BYTES = 256 * 1024


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, "Payload Too Large", f"the body must be at most {limit} bytes")


async def read_body(request: web.Request, limit: int = DEFAULT_LIMIT_BYTES) -> bytes:
    """The raw body, or a 413 problem as soon as it exceeds ``limit`` bytes (a declared
    Content-Length over the limit is refused before one byte is read)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> Any:
    msg = f"{name} is not a valid JSON number"
    raise ValueError(msg)


def parse_json(body: bytes) -> Any:
    """`body` as JSON (UTF-8; decimals exact), or a 400 problem saying what is wrong."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        detail = f"malformed JSON: {str(exc)[:120]}" if body else "empty body: send a JSON object"
        raise ProblemError(400, "Bad Request", detail) from None


def parse_json_object(body: bytes) -> dict[str, Any]:
    """`body` as a JSON object, or a 400 problem."""
    value = parse_json(body)
    if not isinstance(value, dict):
        raise ProblemError(400, "Bad Request", "the body must be a JSON object")
    return value


async def read_json_object(
    request: web.Request, limit: int = DEFAULT_LIMIT_BYTES
) -> dict[str, Any]:
    """The body as a JSON object: 413 over ``limit`` bytes, 400 if malformed or not an object."""
    return parse_json_object(await read_body(request, limit))
