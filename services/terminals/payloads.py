"""Command payloads as stored (JSON column, decimals as exact strings) and as served.

``Command.payload`` holds the wire command minus id/type/signal_id/expires_at (those have
columns). Decimals are stored as strings so nothing is lost to binary floating point.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from models.devices import CommandType
from services.terminals.protocol import AckIn, WireCommand

DECIMAL_KEYS = ("price", "sl", "tp", "volume")
# signal_id and expires_at may be repeated here; the columns of the same name are what is served.
ALLOWED_KEYS = frozenset(
    {"symbol", "side", "order_type", "ticket", "comment", "signal_id", "expires_at", *DECIMAL_KEYS}
)
SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit")
SYMBOL_MAX = 32
COMMENT_MAX = 64


def _decimal(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        msg = f"payload {name!r} must be a number, got {type(value).__name__}"
        raise ValueError(msg)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        msg = f"payload {name!r} is not a number: {value!r}"
        raise ValueError(msg) from None
    if not number.is_finite():
        msg = f"payload {name!r} must be finite, got {value!r}"
        raise ValueError(msg)
    return str(number)


def _choice(payload: Mapping[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    value = payload.get(name, default)
    if value not in options:
        msg = f"payload {name!r} must be one of {', '.join(options)}; got {value!r}"
        raise ValueError(msg)
    return str(value)


def normalise_payload(kind: CommandType, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a command payload (a programming error raises ValueError) and make it JSON-safe.

    Keys: symbol (the broker's name, required), side (buy|sell, required), order_type
    (market|limit, default market), price, sl, tp, volume (Decimal/int/str), ticket (int: the
    position or order a modify/cancel/close acts on), comment (<= 64 characters); signal_id and
    expires_at are accepted and kept, but the wire takes them from the columns.
    """
    unknown = sorted(set(payload) - ALLOWED_KEYS)
    if unknown:
        msg = f"unknown {kind.value} command payload keys: {', '.join(unknown)}"
        raise ValueError(msg)
    symbol = payload.get("symbol")
    if not isinstance(symbol, str) or not 0 < len(symbol) <= SYMBOL_MAX:
        msg = f"payload 'symbol' must be 1-{SYMBOL_MAX} characters, got {symbol!r}"
        raise ValueError(msg)
    ticket = payload.get("ticket")
    if ticket is not None and (isinstance(ticket, bool) or not isinstance(ticket, int)):
        msg = f"payload 'ticket' must be an integer, got {ticket!r}"
        raise ValueError(msg)
    comment = payload.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
        msg = f"payload 'comment' must be text of at most {COMMENT_MAX} characters"
        raise ValueError(msg)
    out: dict[str, Any] = {
        "symbol": symbol,
        "side": _choice(payload, "side", SIDES, ""),
        "order_type": _choice(payload, "order_type", ORDER_TYPES, "market"),
        "ticket": ticket,
        "comment": comment,
    }
    for key in DECIMAL_KEYS:
        out[key] = _decimal(key, payload.get(key))
    if "signal_id" in payload:
        out["signal_id"] = payload["signal_id"]
    if "expires_at" in payload:
        expires = payload["expires_at"]
        out["expires_at"] = expires.isoformat() if isinstance(expires, datetime) else expires
    return out


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def wire_command(row: Mapping[str, Any]) -> WireCommand:
    """A `WireCommand` from a ``commands`` row read with ``.values(...)``."""
    payload = row["payload"]
    if isinstance(payload, str | bytes):
        payload = json.loads(payload)
    return WireCommand(
        id=row["id"],
        type=str(row["type"].value if hasattr(row["type"], "value") else row["type"]),
        signal_id=row["signal_id"],
        symbol=payload["symbol"],
        side=payload["side"],
        order_type=payload.get("order_type", "market"),
        price=_dec(payload.get("price")),
        sl=_dec(payload.get("sl")),
        tp=_dec(payload.get("tp")),
        volume=_dec(payload.get("volume")),
        expires_at=row["expires_at"],
        ticket=payload.get("ticket"),
        comment=payload.get("comment") or "",
    )


def ack_record(ack: AckIn) -> dict[str, Any]:
    """The ack as stored in ``Command.last_ack`` (JSON: decimals as strings, time ISO 8601)."""
    return {
        "status": ack.status.value,
        "ticket": ack.ticket,
        "price": None if ack.price is None else str(ack.price),
        "volume": None if ack.volume is None else str(ack.volume),
        "time": None if ack.time is None else ack.time.isoformat(),
        "error": ack.error,
    }
