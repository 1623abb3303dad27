"""A producer's client of SignalDesk's ingest API: send, revise and cancel signals.

Standard library only, and no import of SignalDesk's packages (an import contract and a test
hold both), so an owner can copy this one file next to their own script::

    from ingest_client import IngestError, SignalDeskProducer

    desk = SignalDeskProducer("https://desk.example.com", "prd_...", os.environ["SECRET"])
    result = desk.send("breakout-42", "EURUSD", "buy", stop="1.0750", entry="1.0800",
                       reward_risk=2)
    desk.revise("breakout-42", stop="1.0770")
    desk.cancel("breakout-42")

Each request is signed as the server's `core.crypto` signs (the EA protocol's scheme):
``X-Signature`` = lowercase hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, over
``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nsha256hex(body)``, with ``X-Producer-Id``, ``X-Timestamp``
(Unix seconds: the server refuses a clock more than 5 minutes off) and ``X-Nonce`` (fresh per
request). A send is safe to repeat: the server answers a repeat of `external_id` with the
first signal and changes nothing (``Result.repeated``), so after a network error, send again.

Prices (Decimal, str, int or float) travel as JSON numbers with their exact decimal text
(``Decimal("1.0800")`` is sent as ``1.0800``; a float as its shortest repr), never through a
binary float. Every refusal of the server (an RFC 7807 problem) raises `IngestError` with its
status, title, detail and the refused field; a network failure raises it with status 0. Bad
arguments (a malformed price or id) raise ValueError before anything is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SIGNALS_PATH = "/api/v1/signals"
USER_AGENT = "signaldesk-producer/1"
PRODUCER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # the server's caller id
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9._:@/-]{1,64}")  # the server's external_id
PRODUCER_ID_SHAPE = "1-40 of A-Z a-z 0-9 _ -"
EXTERNAL_ID_SHAPE = "1-64 of A-Z a-z 0-9 . _ : @ / -"
NUMBER_TEXT_RE = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
MAX_ERROR_TEXT = 200  # of a body that is not a problem document (a proxy's HTML page)


class IngestError(Exception):
    """The server refused the request (`status` its HTTP status, `field` the refused field
    when it named one), or the network failed (`status` 0)."""

    def __init__(self, status: int, title: str, detail: str = "", field: str | None = None):
        super().__init__(status, title, detail, field)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field

    def __str__(self) -> str:
        text = f"{self.status} {self.title}" if self.status else self.title
        if self.detail:
            text += f": {self.detail}"
        if self.field and self.field not in self.detail:
            text += f" (field {self.field})"
        return text


@dataclass(frozen=True, slots=True)
class Result:
    """The server's answer: `signal_id` None while a held signal waits for the owner
    (`held_id`) and for a cancel (the server answers only the status); `repeated` True when
    `external_id` was sent before (nothing changed); `version` after a revision."""

    signal_id: int | None
    status: str
    external_id: str
    repeated: bool = False
    held_id: int | None = None
    version: int | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as an error: following it would re-send a signature made for
    another path (and urllib turns a redirected POST into a GET)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Number:
    """A price as the JSON number text it is sent as."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def canonical_message(method: str, path: str, timestamp: int | str, nonce: str,
                      body: bytes) -> bytes:  # fmt: skip
    """What is signed: method, path (with query, as sent), timestamp, nonce and the body's
    SHA-256 hex, joined by newlines."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign_headers(secret: str, method: str, path: str, body: bytes, timestamp: int | None = None,
                 nonce: str | None = None) -> dict[str, str]:  # fmt: skip
    """X-Timestamp, X-Nonce and X-Signature for one request (now and a fresh nonce unless
    given)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    once = secrets.token_urlsafe(16) if nonce is None else nonce
    message = canonical_message(method, path, ts, once, body)
    signature = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return {"X-Timestamp": str(ts), "X-Nonce": once, "X-Signature": signature}


def number_text(value: object, name: str) -> str:
    """The exact decimal text of a price or ratio; ValueError for anything else (NaN, an
    exponent, a bool, "1_000", spaces)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, str, int, float)):
        msg = f"{name} must be a number (Decimal, str, int or float), got {type(value).__name__}"
        raise ValueError(msg)
    if isinstance(value, str):
        text = value
    else:
        try:
            exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            text = format(exact, "f") if exact.is_finite() else ""
        except (InvalidOperation, ValueError):
            text = ""
    if not NUMBER_TEXT_RE.fullmatch(text):
        msg = f"{name} must be a decimal number like 1.0850 (digits 0-9), got {str(value)[:32]!r}"
        raise ValueError(msg)
    return text


def _encode(fields: dict[str, Any]) -> bytes:
    """JSON with `_Number` values as their text; None values left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        shown = value.text if isinstance(value, _Number) else json.dumps(value)
        parts.append(f"{json.dumps(key)}: {shown}")
    return ("{" + ", ".join(parts) + "}").encode("utf-8")


def _check_id(value: str, pattern: re.Pattern[str], name: str, shape: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        msg = f"{name} must be {shape}, got {str(value)[:70]!r}"
        raise ValueError(msg)
    return value


def _problem(status: int, reason: str, raw: bytes) -> IngestError:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        text = raw.decode("utf-8", "replace").strip().replace("\n", " ")[:MAX_ERROR_TEXT]
        return IngestError(status, reason or "HTTP error", text)
    field, said = body.get("field"), body.get("status")
    return IngestError(
        said if isinstance(said, int) and not isinstance(said, bool) else status,
        str(body.get("title") or reason), str(body.get("detail") or ""),
        None if field is None else str(field),
    )  # fmt: skip


class SignalDeskProducer:
    """One producer's connection to a SignalDesk server (`base_url`: scheme and host, and the
    path prefix if the API sits under one). Blocking; `timeout` in seconds per request."""

    def __init__(self, base_url: str, producer_id: str, secret: str, timeout: float = 10):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"base_url must be an http:// or https:// URL, got {base_url[:80]!r}"
            raise ValueError(msg)
        if not secret:
            msg = "secret is empty: give the producer's secret shown at registration"
            raise ValueError(msg)
        self.producer_id = _check_id(producer_id, PRODUCER_ID_RE, "producer_id", PRODUCER_ID_SHAPE)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self._secret = secret
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(
        self,
        external_id: str,
        symbol: str,
        side: str,
        stop: Decimal | str | float,
        entry: Decimal | str | float | None = None,
        take_profit: Decimal | str | float | None = None,
        reward_risk: Decimal | str | float | None = None,
        order_type: str = "limit",
        expiry_hours: int | None = None,
        note: str = "",
    ) -> Result:
        """Publish a signal (or have it held for the owner, as the producer's mode says). A
        limit order enters at `entry`; a market order (or no entry) at the last price. Give
        `take_profit` or `reward_risk` (the take-profit that many stop distances away)."""
        _check_id(external_id, EXTERNAL_ID_RE, "external_id", EXTERNAL_ID_SHAPE)
        if side not in ("buy", "sell"):
            msg = f"side must be 'buy' or 'sell', got {str(side)[:16]!r}"
            raise ValueError(msg)
        if order_type not in ("limit", "market"):
            msg = f"order_type must be 'limit' or 'market', got {str(order_type)[:16]!r}"
            raise ValueError(msg)
        if take_profit is not None and reward_risk is not None:
            msg = "give take_profit or reward_risk, not both"
            raise ValueError(msg)
        if expiry_hours is not None and (
            isinstance(expiry_hours, bool) or not isinstance(expiry_hours, int)
        ):
            msg = f"expiry_hours must be a whole number of hours, got {expiry_hours!r}"
            raise ValueError(msg)
        body = {
            "external_id": external_id, "symbol": symbol, "side": side,
            "order_type": order_type, "entry": _price(entry, "entry"),
            "stop": _Number(number_text(stop, "stop")),  # required
            "take_profit": _price(take_profit, "take_profit"),
            "reward_risk": _price(reward_risk, "reward_risk"), "expiry_hours": expiry_hours,
            "note": note or None,
        }  # fmt: skip
        status, answer = self._request("POST", SIGNALS_PATH, _encode(body))
        return Result(
            answer.get("signal_id"), str(answer.get("status", "")), external_id,
            repeated=status == 200, held_id=answer.get("held_id"),
        )  # fmt: skip

    def revise(
        self,
        external_id: str,
        entry: Decimal | str | float | None = None,
        stop: Decimal | str | float | None = None,
        take_profit: Decimal | str | float | None = None,
    ) -> Result:
        """Move the levels of the producer's open signal; the ones not given stay."""
        path = self._signal_path(external_id)
        if entry is None and stop is None and take_profit is None:
            msg = "nothing to revise: give entry, stop or take_profit"
            raise ValueError(msg)
        body = {"entry": _price(entry, "entry"), "stop": _price(stop, "stop"),
                "take_profit": _price(take_profit, "take_profit")}  # fmt: skip
        _, answer = self._request("PATCH", path, _encode(body))
        return Result(answer.get("signal_id"), str(answer.get("status", "")), external_id,
                      version=answer.get("version"))  # fmt: skip

    def cancel(self, external_id: str) -> Result:
        """Cancel the producer's signal (a filled one closes at its entry), or discard it
        while it is held; `status` is what it became."""
        _, answer = self._request("DELETE", self._signal_path(external_id), b"")
        return Result(None, str(answer.get("status", "")), external_id)

    def _signal_path(self, external_id: str) -> str:
        _check_id(external_id, EXTERNAL_ID_RE, "external_id", EXTERNAL_ID_SHAPE)
        return f"{SIGNALS_PATH}/{urllib.parse.quote(external_id, safe='')}"

    def _request(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Signed `method` on `path`: the status and the JSON object answered, else
        IngestError."""
        full_path = self._prefix + path
        headers = {
            "Content-Type": "application/json", "Accept": "application/json",
            "User-Agent": USER_AGENT, "X-Producer-Id": self.producer_id,
            **sign_headers(self._secret, method, full_path, body),
        }  # fmt: skip
        request = urllib.request.Request(
            self._origin + full_path, data=body if body else None, headers=headers, method=method
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read()
            if 300 <= exc.code < 400:
                where = exc.headers.get("Location", "")
                raise IngestError(exc.code, "Redirected", f"use the URL {where}") from None
            raise _problem(exc.code, str(exc.reason), raw) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            reason = getattr(exc, "reason", exc)
            raise IngestError(0, "Network error", f"{type(exc).__name__}: {reason}") from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            answer = None
        if not isinstance(answer, dict):
            shown = raw[:MAX_ERROR_TEXT].decode("utf-8", "replace")
            raise IngestError(status, "Unreadable answer", f"not a JSON object: {shown!r}")
        return status, answer


def _price(value: object, name: str) -> _Number | None:
    return None if value is None else _Number(number_text(value, name))
