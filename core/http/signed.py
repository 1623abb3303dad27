"""Signed requests (the EA protocol's scheme), verified in one place for every caller kind.

A caller (an EA device, an outside producer of signals) sends its public id in a header of its
kind (``X-Device-Id``, ``X-Producer-Id``), ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16-64
of [A-Za-z0-9_-]) and ``X-Signature`` = hex HMAC-SHA256 over `core.crypto.canonical_message`.
`SignedRequest.parse` refuses malformed headers, `check_fresh` a timestamp more than
`MAX_SKEW_S` from the server's clock, `verify` a bad signature (constant-time compare). The
caller's lookup and its nonce store stay with the caller's service; the order is the
protocol's: headers, freshness, body (under its limit), caller, signature, then the nonce, so
a forged request cannot burn nonces. Every refusal is a 401 RFC 7807 problem.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web

from core.crypto import canonical_message, sign
from core.http.problems import ProblemError
from trading.number_text import parse_int

log = logging.getLogger(__name__)
MAX_SKEW_S = 300
MAX_TIMESTAMP = 10**12 - 1  # twelve digits: far beyond any clock, short enough to parse
CALLER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # fullmatch: `$` would let a "\n" in
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")


def refuse(detail: str, caller_id: str = "", **extra: object) -> NoReturn:
    log.info("signed request refused", extra={"caller": caller_id, "reason": detail})
    raise ProblemError(401, "Unauthorized", detail, **extra)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The protocol headers of one request, well formed (not yet verified)."""

    caller_id: str
    seconds: int
    timestamp: str  # as signed
    nonce: str
    signature: str

    @classmethod
    def parse(cls, request: web.Request, id_header: str) -> SignedRequest:
        """The headers, or a 401 naming the first one missing or malformed."""
        h = request.headers
        caller_id = h.get(id_header, "")
        timestamp, nonce = h.get("X-Timestamp", ""), h.get("X-Nonce", "")
        signature = h.get("X-Signature", "")
        if not CALLER_ID_RE.fullmatch(caller_id):
            refuse(f"missing or malformed {id_header}")
        try:
            seconds = parse_int(timestamp, 0, MAX_TIMESTAMP, what="X-Timestamp")
        except ValueError:
            refuse("missing or malformed X-Timestamp (Unix seconds, digits 0-9)", caller_id)
        if not NONCE_RE.fullmatch(nonce):
            refuse("missing or malformed X-Nonce (16-64 of A-Z a-z 0-9 _ -)", caller_id)
        if not SIGNATURE_RE.fullmatch(signature):
            refuse("missing or malformed X-Signature (64 lowercase hex digits)", caller_id)
        return cls(caller_id, seconds, timestamp, nonce, signature)

    def check_fresh(self) -> None:
        """401 when the timestamp is more than `MAX_SKEW_S` from the server's clock."""
        now = int(time.time())  # freshness vs the peer's real clock, not core.clock
        if abs(now - self.seconds) > MAX_SKEW_S:
            detail = f"X-Timestamp is more than {MAX_SKEW_S} s from the server clock"
            refuse(detail, self.caller_id, server_time=now)

    def verify(self, request: web.Request, secret: str, body: bytes) -> None:
        """401 unless the signature is the caller's secret's over this request."""
        message = canonical_message(
            request.method, request.raw_path, self.timestamp, self.nonce, body
        )
        if not hmac.compare_digest(sign(secret, message), self.signature):
            refuse("bad signature", self.caller_id)
