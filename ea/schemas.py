"""Strict parsing of what terminals POST, into `services.terminals.protocol` values; wire JSON out.

Numbers are JSON numbers (parsed exactly, as Decimal); times are Unix seconds (UTC). Unknown
fields are ignored (forward compatibility); a missing field, a wrong type or a value out of
range answers 422 with ``detail`` and ``field`` naming it (``positions[2].volume``); a body
that is not a JSON object answers 400. Never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from core.http.bodies import parse_json_object
from core.http.problems import ProblemError
from models.devices import CommandStatus
from services.terminals import symbol_map
from services.terminals.protocol import (
    AccountReport,
    AckIn,
    BarIn,
    PositionIn,
    QuoteIn,
    SymbolRefusal,
    SymbolReport,
    WireCommand,
)

T = TypeVar("T")
ACK_STATUSES = ("accepted", "placed", "filled", "rejected", "failed", "cancelled", "closed")
SIDES = ("buy", "sell")
MAX_NUMBER = Decimal(10) ** 15
MAX_TICKET = 2**63 - 1
MAX_TIME = 32_503_680_000  # year 3000
MAX_ITEMS = 5_000
MAX_QUOTES = 200  # an account report's quotes
MAX_SPREAD_POINTS = 100_000
BROKER_MAX = 64  # Device.broker


def invalid(field: str, detail: str) -> ProblemError:
    return ProblemError(422, "Unprocessable Entity", f"{field}: {detail}", field=field)


def storable(text: str) -> bool:
    """True if every database stores `text` as it is: valid UTF-8 (JSON's "\\ud800" escape
    decodes to an unpaired surrogate, which no encoder accepts) and no NUL (PostgreSQL's text
    refuses it). Refused as 422: retrying cannot help, so it must never become a 503."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Fields:
    """Typed access to one JSON object; every error names the field's full path."""

    def __init__(self, obj: dict[str, Any], prefix: str = "") -> None:
        self.obj, self.prefix = obj, prefix

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.obj or self.obj[name] is None:
            if required:
                raise invalid(self.prefix + name, "is required")
            return None
        return self.obj[name]

    def text(self, name: str, max_len: int, *, required: bool = True) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            raise invalid(self.prefix + name, f"must be a string of at most {max_len} characters")
        if not storable(value):
            detail = "must be text without NUL or unpaired surrogate characters (\\u0000, \\ud800)"
            raise invalid(self.prefix + name, detail)
        return value

    def name(self, name: str, max_len: int) -> str:
        value = self.text(name, max_len)
        if not value:
            raise invalid(self.prefix + name, "must not be empty")
        return value

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        value = self._get(name, True)
        if value not in options:
            raise invalid(self.prefix + name, f"must be one of {', '.join(options)}")
        return str(value)

    def integer(self, name: str, low: int, high: int, *, required: bool = True) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(self.prefix + name, f"must be an integer from {low} to {high}")
        return value

    def number(
        self, name: str, *, required: bool = True, positive: bool = False
    ) -> Decimal | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise invalid(self.prefix + name, "must be a JSON number")
        number = Decimal(value)
        if not abs(number) < MAX_NUMBER or (positive and number < 0):
            kind = "a non-negative number" if positive else "a number"
            raise invalid(self.prefix + name, f"must be {kind} below 1e15 in magnitude")
        return number

    def required_number(self, name: str, *, positive: bool = False) -> Decimal:
        return _present(self, name, self.number(name, positive=positive))

    def required_integer(self, name: str, low: int, high: int) -> int:
        return _present(self, name, self.integer(name, low, high))

    def time(self, name: str, *, required: bool = True) -> datetime | None:
        value = self.number(name, required=required, positive=True)
        if value is None:
            return None
        if value > MAX_TIME:
            raise invalid(self.prefix + name, "must be Unix seconds (UTC)")
        return datetime.fromtimestamp(float(value), UTC)

    def items(self, name: str, parse: Callable[[Fields], T], *, required: bool = True) -> list[T]:
        return [parse(self.item(path, item)) for path, item in self.raw_items(name, required)]

    def raw_items(self, name: str, required: bool = True) -> list[tuple[str, Any]]:
        """The list `name` as (path, item) pairs, items not yet checked (see `item`)."""
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise invalid(self.prefix + name, f"must be a list of at most {MAX_ITEMS} objects")
        return [(f"{self.prefix}{name}[{i}]", item) for i, item in enumerate(value)]

    @staticmethod
    def item(path: str, value: Any) -> Fields:
        if not isinstance(value, dict):
            raise invalid(path, "must be an object")
        return Fields(value, path + ".")


def _present(f: Fields, name: str, value: T | None) -> T:
    if value is None:  # only for the type checker: required fields raised already
        raise invalid(f.prefix + name, "is required")
    return value


def parse_ack(body: bytes) -> AckIn:
    f = Fields(parse_json_object(body))
    return AckIn(
        command_id=f.name("command_id", 40),
        status=CommandStatus(f.choice("status", ACK_STATUSES)),
        ticket=f.integer("ticket", 0, MAX_TICKET, required=False),
        price=f.number("price", required=False),
        volume=f.number("volume", required=False, positive=True),
        time=f.time("time", required=False),
        error=f.text("error", 1000, required=False),
        spread_points=f.integer("spread_points", 0, MAX_SPREAD_POINTS, required=False),
    )


def _level(f: Fields, name: str) -> Decimal | None:
    value = f.number(name, required=False)
    return None if value is None or value == 0 else value  # MetaTrader: 0 = no level


def _position(f: Fields) -> PositionIn:
    return PositionIn(
        ticket=f.required_integer("ticket", 0, MAX_TICKET),
        symbol=f.name("symbol", 32),
        side=f.choice("side", SIDES),
        volume=f.required_number("volume", positive=True),
        open_price=f.required_number("open_price"),
        sl=_level(f, "sl"),
        tp=_level(f, "tp"),
        profit=f.required_number("profit"),
        comment=f.text("comment", 64, required=False) or "",
    )


def parse_account(body: bytes) -> AccountReport:
    f = Fields(parse_json_object(body))
    return AccountReport(
        balance=f.required_number("balance"),
        equity=f.required_number("equity"),
        margin=f.required_number("margin", positive=True),
        currency=f.name("currency", 8),
        positions=tuple(f.items("positions", _position, required=False)),
        broker=f.text("broker", BROKER_MAX, required=False) or None,
        quotes=tuple(_quotes(f)),
    )


def _price(f: Fields, name: str) -> Decimal:
    value = f.required_number(name, positive=True)
    if value <= 0:
        raise invalid(f.prefix + name, "must be a positive number")
    return value


def _quote(f: Fields) -> QuoteIn:
    symbol, bid, ask = f.name("symbol", 32), _price(f, "bid"), _price(f, "ask")
    if bid > ask:
        raise invalid(f.prefix + "ask", "must not be below the bid")
    return QuoteIn(symbol, bid, ask)


def _quotes(f: Fields) -> list[QuoteIn]:
    """The optional ``quotes`` list: at most MAX_QUOTES {symbol, bid, ask}, 0 < bid <= ask."""
    items = f.raw_items("quotes", required=False)
    if len(items) > MAX_QUOTES:
        raise invalid(f.prefix + "quotes", f"must be a list of at most {MAX_QUOTES} objects")
    return [_quote(Fields.item(path, item)) for path, item in items]


def _symbol(f: Fields) -> SymbolReport:
    return SymbolReport(
        name=f.name("name", 32),
        digits=f.required_integer("digits", 0, 10),
        point=f.required_number("point", positive=True),
        tick_size=f.required_number("tick_size", positive=True),
        tick_value=f.required_number("tick_value", positive=True),
        contract_size=f.required_number("contract_size", positive=True),
        volume_min=f.required_number("volume_min", positive=True),
        volume_max=f.required_number("volume_max", positive=True),
        volume_step=f.required_number("volume_step", positive=True),
        stops_level=f.integer("stops_level", 0, 1_000_000, required=False) or 0,
    )


def parse_symbols(body: bytes) -> tuple[list[SymbolReport], list[SymbolRefusal]]:
    """Each symbol on its own: a wrong type, or a spec outside sane ranges
    (`services.terminals.symbol_map.check_report`: digits, point, tick size, volumes, ...), refuses that
    symbol only; the good ones are kept. A body without a ``symbols`` list is a 422."""
    accepted: list[SymbolReport] = []
    refused: list[SymbolRefusal] = []
    for path, item in Fields(parse_json_object(body)).raw_items("symbols"):
        name = item.get("name") if isinstance(item, dict) else None
        name = name[:32] if isinstance(name, str) and storable(name[:32]) else None
        try:
            report = _symbol(Fields.item(path, item))
        except ProblemError as exc:
            _status, _title, detail, extra = exc.problem
            where = str(extra.get("field", path))
            field = where[len(path) + 1 :] if where.startswith(path + ".") else "spec"
            refused.append(SymbolRefusal(name, where, field, str(detail)))
            continue
        try:
            symbol_map.check_report(report)
        except ValueError as exc:
            field = str(getattr(exc, "field", "spec"))
            reason = str(getattr(exc, "reason", exc))
            where = f"{path}.{field}"
            refused.append(SymbolRefusal(report.name, where, field, f"{where}: {reason}"))
            continue
        accepted.append(report)
    return accepted, refused


def refusal_json(refusal: SymbolRefusal) -> dict[str, Any]:
    return {"name": refusal.name, "field": refusal.path, "detail": refusal.detail}


def _bar(f: Fields) -> BarIn:
    return BarIn(
        symbol=f.name("symbol", 32),
        time=_present(f, "time", f.time("time")),
        open=float(f.required_number("open", positive=True)),
        high=float(f.required_number("high", positive=True)),
        low=float(f.required_number("low", positive=True)),
        close=float(f.required_number("close", positive=True)),
        volume=float(f.number("volume", required=False, positive=True) or 0),
    )


def parse_bars(body: bytes) -> list[BarIn]:
    return Fields(parse_json_object(body)).items("bars", _bar)


def _num(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def command_json(c: WireCommand) -> dict[str, Any]:
    """A command on the wire: decimals as JSON numbers, ``expires_at`` as Unix seconds."""
    return {
        "id": c.id,
        "type": c.type,
        "signal_id": c.signal_id,
        "symbol": c.symbol,
        "side": c.side,
        "order_type": c.order_type,
        "price": _num(c.price),
        "sl": _num(c.sl),
        "tp": _num(c.tp),
        "volume": _num(c.volume),
        "expires_at": None if c.expires_at is None else int(c.expires_at.timestamp()),
        "ticket": c.ticket,
        "comment": c.comment,
    }
