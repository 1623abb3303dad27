"""The checks of a manual signal against the market: pure functions over a `Market` (the
symbol's spec, its last known price, the limits), each refusal an `InvalidInput` whose
parameters name the numbers. `validate` is the one set of checks; the /post dialog runs its
parts step by step (`check_entry`, `check_stop`, `check_take_profit`, `check_expiry`).

- the entry lies within `max_entry_pct` % of the last price;
- prices go on the symbol's tick grid (nearest tick), with a `Note` when one moved;
- the stop is on the protective side, at least max(5 points, stops_level) from the entry
  (STRATEGY.md's minimum stop distance), at most `max_stop_pct` % of the entry away, and the
  market is not already beyond it;
- the take-profit is on the profit side, with reward:risk in [min_reward_risk,
  max_reward_risk]; none given means the strategy's 3.25 R, rounded away from the entry
  (`trading.orders.round_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.errors import InvalidInput
from services.signals.market_data import Quote
from services.terminals.symbol_map import canonical
from services.text.formatting import plural
from services.text.numbers import IntBound, check_int, parse_decimal
from trading import constants as C
from trading.detector import Side
from trading.numeric import round_to_tick
from trading.orders import OrderRefused, round_levels
from trading.symbols import SymbolSpec

MAX_EXPIRY_HOURS = 24 * 14
EXPIRY_HOURS = IntBound("error.expiry_invalid", 1, MAX_EXPIRY_HOURS, "an expiry in hours")
SIDES = ("buy", "sell")


@dataclass(frozen=True, slots=True)
class ManualLimits:
    """How far a manual signal may stray: percentages of the price, reward:risk bounds."""

    max_entry_pct: Decimal = Decimal(5)
    max_stop_pct: Decimal = Decimal(5)
    min_reward_risk: Decimal = Decimal(1)
    max_reward_risk: Decimal = Decimal(20)


@dataclass(frozen=True, slots=True)
class Note:
    """Something the owner should know about an accepted value (`key`: a message id)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    def kwargs(self) -> dict[str, object]:
        return dict(self.params)


def _note(key: str, **params: object) -> Note:
    return Note(key, tuple(params.items()))


@dataclass(frozen=True, slots=True)
class Checked:
    """A price that passed its checks, on the tick grid, with what was done to it."""

    value: Decimal
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Market:
    """What a manual signal is checked against: the spec, the last known price, the limits."""

    spec: SymbolSpec
    quote: Quote
    limits: ManualLimits

    @property
    def symbol(self) -> str:
        return self.spec.name

    def price(self, value: Decimal) -> Decimal:
        """`value` shown with the symbol's digits (1.0841 -> 1.08410 on EURUSD)."""
        return value.quantize(Decimal(1).scaleb(-self.spec.digits))


@dataclass(frozen=True, slots=True)
class ManualRequest:
    """A manual signal as the owner asked for it (prices as typed; None: automatic TP)."""

    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    take_profit: Decimal | None
    expiry_hours: int = C.ORDER_EXPIRY_HOURS
    note: str = ""


@dataclass(frozen=True, slots=True)
class ManualDraft:
    """A manual signal that passed every check: levels on the tick grid, ready to publish."""

    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    expiry_hours: int
    note: str
    notes: tuple[Note, ...]
    last_price: Decimal
    last_bar_time: datetime


def parse_price(text: str) -> Decimal:
    """A positive plain decimal typed by a person ("1.0850", "1,0850"), else InvalidInput."""
    value = parse_decimal(text)
    if value is None or value <= 0:
        raise InvalidInput("error.price_invalid", text=text.strip()[:32])
    return value


def _side(side: str) -> int:
    """+1 for a buy, -1 for a sell: the stop lies at entry - sign * distance."""
    if side not in SIDES:
        raise InvalidInput("error.signal_side", side=side[:16])
    return 1 if side == "buy" else -1


def _on_grid(m: Market, typed: Decimal) -> Checked:
    tick = m.spec.tick_size
    value = round_to_tick(typed, tick)
    if value <= 0:
        raise InvalidInput(
            "error.manual_below_tick", price=_typed(typed), tick=_typed(tick), symbol=m.symbol
        )
    if value == typed:
        return Checked(value)
    note = _note(
        "post.note_rounded", price=_typed(typed), tick=_typed(tick), rounded=m.price(value)
    )
    return Checked(value, (note,))


def _typed(value: Decimal) -> str:
    """A price as the owner typed it, in plain notation (0.0000000001, never 1E-10)."""
    return f"{value:f}"


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    pct = abs(part) / whole * 100
    return pct.quantize(Decimal(1) if pct >= 1000 else Decimal("0.01"))


def check_entry(m: Market, side: str, entry: Decimal) -> Checked:
    """The entry on the tick grid, within `max_entry_pct` % of the last price."""
    sign = _side(side)
    checked = _on_grid(m, entry)
    last = m.quote.close
    pct = _pct(checked.value - last, last)
    if pct > m.limits.max_entry_pct:
        raise InvalidInput(
            "error.manual_entry_far", entry=_typed(entry), pct=pct, last=m.price(last),
            max=m.limits.max_entry_pct, symbol=m.symbol,
        )  # fmt: skip
    if sign * (last - checked.value) > 0:
        return checked
    # a buy limit at or above the market (a sell at or below): terminals adjust it
    shown = {"last": m.price(last), "entry": m.price(checked.value)}
    if sign > 0:
        note = _note("post.note_through_buy", points=C.LIMIT_ADJUST_POINTS, **shown)
    else:
        note = _note("post.note_through_sell", points=C.LIMIT_ADJUST_POINTS, **shown)
    return Checked(checked.value, (*checked.notes, note))


def check_stop(m: Market, side: str, entry: Decimal, stop: Decimal) -> Checked:
    """The stop on the grid and the protective side, max(5 points, stops_level) to
    `max_stop_pct` % of the entry away from it, and not already passed by the market."""
    sign = _side(side)
    checked = _on_grid(m, stop)
    if sign * (entry - checked.value) <= 0:
        if sign > 0:
            raise InvalidInput(
                "error.manual_stop_side_buy", stop=_typed(stop), entry=m.price(entry)
            )
        raise InvalidInput("error.manual_stop_side_sell", stop=_typed(stop), entry=m.price(entry))
    distance = abs(entry - checked.value)
    point = m.spec.point
    min_points = max(C.MIN_STOP_POINTS, m.spec.stops_level)
    if distance < min_points * point:
        raise InvalidInput(
            "error.manual_stop_close", stop=m.price(checked.value), entry=m.price(entry),
            points=plural("unit.points", int(distance / point)),
            min=plural("unit.points", int(min_points)),
        )  # fmt: skip
    pct = _pct(distance, entry)
    if pct > m.limits.max_stop_pct:
        raise InvalidInput(
            "error.manual_stop_far", stop=_typed(stop), entry=m.price(entry), distance=m.price(distance),
            pct=pct, max=m.limits.max_stop_pct,
        )  # fmt: skip
    last = m.quote.close
    if sign * (last - checked.value) <= 0:
        raise InvalidInput(
            "error.manual_stop_passed", stop=m.price(checked.value), last=m.price(last)
        )
    return checked


def check_take_profit(
    m: Market, side: str, entry: Decimal, stop: Decimal, take_profit: Decimal | None
) -> Checked:
    """The take-profit on the grid and the profit side with reward:risk within the limits;
    None: the strategy's reward:risk from the rounded entry and stop, rounded away from it."""
    sign = _side(side)
    if take_profit is None:
        try:
            levels = round_levels(Side(side), entry, stop, m.spec)
        except OrderRefused:
            raise InvalidInput("error.manual_tp_auto", entry=m.price(entry)) from None
        auto = _note("post.note_auto_tp", tp=m.price(levels.take_profit), rr=C.REWARD_RISK)
        checked = Checked(levels.take_profit, (auto,))
    else:
        checked = _on_grid(m, take_profit)
    if sign * (checked.value - entry) <= 0:
        shown = {"tp": m.price(checked.value), "entry": m.price(entry)}
        if sign > 0:
            raise InvalidInput("error.manual_tp_side_buy", **shown)
        raise InvalidInput("error.manual_tp_side_sell", **shown)
    rr = (abs(checked.value - entry) / abs(entry - stop)).quantize(Decimal("0.01"))
    low, high = m.limits.min_reward_risk, m.limits.max_reward_risk
    if not low <= rr <= high:
        raise InvalidInput(
            "error.manual_rr_range", tp=m.price(checked.value), rr=rr, min=low, max=high
        )
    return checked


def check_expiry(hours: int) -> int:
    return check_int(hours, EXPIRY_HOURS)


def validate(m: Market, request: ManualRequest) -> ManualDraft:
    """Every check, in the dialog's order; the first failure raises InvalidInput."""
    if canonical(request.symbol) != canonical(m.symbol):
        raise InvalidInput("error.manual_no_feed", symbol=request.symbol, fed=m.symbol)
    entry = check_entry(m, request.side, request.entry)
    stop = check_stop(m, request.side, entry.value, request.stop)
    tp = check_take_profit(m, request.side, entry.value, stop.value, request.take_profit)
    return ManualDraft(
        symbol=m.symbol,
        side=request.side,
        entry=entry.value,
        stop=stop.value,
        take_profit=tp.value,
        expiry_hours=check_expiry(request.expiry_hours),
        note=request.note.strip()[:200],
        notes=(*entry.notes, *stop.notes, *tp.notes),
        last_price=m.quote.close,
        last_bar_time=m.quote.bar_time,
    )
