"""The reference EA's side of the /ea/v1 wire: commands in, acks and reports out.

Shapes follow the protocol in issue 5 (documented in the README): commands as the server sends
them, acks ``{"command_id", "status", "ticket", "price", "volume", "time", "error"}``, the
account report with its positions and the symbol report. Decimals travel as JSON numbers,
times as Unix seconds (integers); incoming times may also be ISO 8601 strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.brokers.base import AccountInfo, Position, Tick
from trading.symbols import SymbolSpec

MT5_COMMENT_MAX = 31  # MetaTrader 5 keeps 31 characters of an order comment
ACK_STATUSES = frozenset(
    {"accepted", "placed", "filled", "rejected", "failed", "cancelled", "closed"}
)
COMMAND_TYPES = frozenset({"open", "modify", "cancel", "close"})


class WireError(ValueError):
    """A command the EA cannot understand (acked as ``rejected`` with this message)."""


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        msg = f"{name} must be a number, got {value!r}"
        raise WireError(msg) from None
    if not number.is_finite():
        msg = f"{name} must be finite, got {value!r}"
        raise WireError(msg)
    return number


def _time(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        msg = f"{name} must be Unix seconds or ISO 8601, got {value!r}"
        raise WireError(msg) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Command:
    """One command from ``GET /ea/v1/commands`` (the protocol's fields, parsed)."""

    id: str
    type: str
    signal_id: int | None = None
    symbol: str = ""
    side: str = ""
    order_type: str = "limit"
    price: Decimal | None = None
    sl: Decimal | None = None
    tp: Decimal | None = None
    volume: Decimal | None = None
    expires_at: datetime | None = None
    ticket: int | None = None
    comment: str = ""

    @property
    def order_comment(self) -> str:
        """The broker-side comment: the server's (it carries the command reference), else the
        id, cut to MT5's 31 characters; recovery after a crash finds the order by it."""
        return (self.comment or self.id)[:MT5_COMMENT_MAX]


def parse_command(raw: Any) -> Command:
    """A :class:`Command` from its JSON object; :class:`WireError` names the bad field."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        msg = f"a command needs a string id, got {raw!r:.80}"
        raise WireError(msg)
    kind = raw.get("type")
    if kind not in COMMAND_TYPES:
        msg = f"unknown command type {kind!r}; expected one of {sorted(COMMAND_TYPES)}"
        raise WireError(msg)
    side = raw.get("side") or ""
    if kind == "open" and side not in ("buy", "sell"):
        msg = f"side must be buy or sell, got {side!r}"
        raise WireError(msg)
    ticket, signal_id = raw.get("ticket"), raw.get("signal_id")
    return Command(
        id=raw["id"],
        type=kind,
        signal_id=None if signal_id is None else int(signal_id),
        symbol=str(raw.get("symbol") or ""),
        side=side,
        order_type=str(raw.get("order_type") or "limit"),
        price=_decimal(raw.get("price"), "price"),
        sl=_decimal(raw.get("sl"), "sl"),
        tp=_decimal(raw.get("tp"), "tp"),
        volume=_decimal(raw.get("volume"), "volume"),
        expires_at=_time(raw.get("expires_at"), "expires_at"),
        ticket=None if ticket in (None, "", 0) else int(ticket),
        comment=str(raw.get("comment") or ""),
    )


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement (``POST /ea/v1/acks``)."""

    command_id: str
    status: str
    ticket: int | None = None
    price: Decimal | None = None
    volume: Decimal | None = None
    time: datetime | None = None
    error: str | None = None
    spread_points: int | None = None  # a fill's spread at the broker (SYMBOL_SPREAD)

    def to_json(self) -> dict[str, Any]:
        """The ack's JSON; ``spread_points`` only when known (a fill's)."""
        body = {
            "command_id": self.command_id,
            "status": self.status,
            "ticket": self.ticket,
            "price": _num(self.price),
            "volume": _num(self.volume),
            "time": None if self.time is None else int(self.time.timestamp()),
            "error": None if self.error is None else self.error[:250],
        }
        if self.spread_points is not None:
            body["spread_points"] = self.spread_points
        return body

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Ack:
        """The inverse of :meth:`to_json` (acks kept in the state file)."""
        return cls(
            command_id=raw["command_id"],
            status=raw["status"],
            ticket=raw.get("ticket"),
            price=_decimal(raw.get("price"), "price"),
            volume=_decimal(raw.get("volume"), "volume"),
            time=_time(raw.get("time"), "time"),
            error=raw.get("error"),
            spread_points=raw.get("spread_points"),
        )


def position_json(p: Position) -> dict[str, Any]:
    return {
        "ticket": p.ticket,
        "symbol": p.symbol,
        "side": str(p.side),
        "volume": float(p.volume),
        "open_price": float(p.open_price),
        "sl": _num(p.sl),
        "tp": _num(p.tp),
        "profit": float(p.profit_money),
        "comment": p.comment,
    }


def quote_json(symbol: str, tick: Tick) -> dict[str, Any]:
    return {"symbol": symbol, "bid": float(tick.bid), "ask": float(tick.ask)}


def account_json(
    info: AccountInfo, positions: list[Position], quotes: dict[str, Tick] | None = None
) -> dict[str, Any]:
    """The ``POST /ea/v1/account`` body; ``broker`` and ``quotes`` (the current bid/ask of
    the symbols the EA trades) when known."""
    body: dict[str, Any] = {
        "balance": float(info.balance),
        "equity": float(info.equity),
        "margin": float(info.margin),
        "currency": info.currency,
        "positions": [position_json(p) for p in positions],
    }
    if info.company:
        body["broker"] = info.company[:64]
    if quotes:
        body["quotes"] = [quote_json(s, t) for s, t in quotes.items()]
    return body


def symbols_json(specs: list[SymbolSpec]) -> dict[str, Any]:
    """The ``POST /ea/v1/symbols`` body."""
    return {
        "symbols": [
            {
                "name": s.name,
                "digits": s.digits,
                "point": float(s.point),
                "tick_size": float(s.tick_size),
                "tick_value": float(s.tick_value),
                "contract_size": float(s.contract_size),
                "volume_min": float(s.volume_min),
                "volume_max": float(s.volume_max),
                "volume_step": float(s.volume_step),
                "stops_level": s.stops_level,
            }
            for s in specs
        ]
    }


def dumps(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are hashed into the signature and sent."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
