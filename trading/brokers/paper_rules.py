"""The paper broker's records, per-symbol cost constants, checks (what MT5 would refuse) and
the in-bar exit rule (:func:`exit_in_bar`). Pure: no state of its own.

Records keep float copies of their prices for the per-bar hot loop; the rest is Decimal.

Checks, with ``d = stops_level * point`` (the server's minimum distance):
buy limit ``price <= ask - d`` (and < ask), sell limit ``price >= bid + d`` (and > bid);
buy ``sl <= price - d``, ``tp >= price + d``; sell mirrored; lots in ``[min, max]`` on the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from trading.brokers.base import (
    DealReason,
    InvalidPrice,
    InvalidStops,
    InvalidVolume,
    NoMoney,
    Order,
    OrderRequest,
    OrderType,
    Side,
)
from trading.numeric import round_to_tick, to_decimal
from trading.symbols import SymbolSpec
from trading.timeutil import utc_from_unix_s


class PaperEventKind(StrEnum):
    FILLED = "filled"
    EXPIRED = "expired"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PaperEvent:
    """What a bar or tick did to order ``ticket`` (filled, expired) or position ``ticket``
    (closed; a position's ticket is its opening order's, as in MetaTrader 5)."""

    kind: PaperEventKind
    ticket: int
    time: datetime
    price: Decimal
    reason: DealReason | None = None


@dataclass(slots=True)
class Record:
    """A pending order or an open position (``opened_s`` is None while pending)."""

    ticket: int
    request: OrderRequest
    is_buy: bool
    volume: Decimal
    price: Decimal
    price_f: float
    sl: Decimal | None
    tp: Decimal | None
    placed_s: int
    expires_s: int | None
    opened_s: int | None = None
    fresh_until_s: int | None = None  # close of the bar it filled in (see exit_in_bar)

    def public_order(self) -> Order:
        r = self.request
        expires = None if self.expires_s is None else utc_from_unix_s(self.expires_s)
        return Order(
            self.ticket, r.symbol, r.side, self.volume, self.price, self.sl, self.tp,
            utc_from_unix_s(self.placed_s), expires, r.comment, r.magic, r.client_id,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SymbolCosts:
    """Per-symbol constants the book needs, precomputed once (floats for the hot loop)."""

    symbol: str
    tick_size: Decimal
    money_per_unit: Decimal  # money per 1.0 price move per lot = tick_value / tick_size
    money_per_unit_f: float
    spread: Decimal
    spread_f: float
    stops_distance: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal

    def price(self, value: float | Decimal) -> Decimal:
        """A price on the tick grid (bar prices and spread sums are floats)."""
        return round_to_tick(value, self.tick_size)

    def margin(self, price: Decimal, lots: Decimal, leverage: int) -> Decimal:
        """``price * money_per_unit * lots / leverage`` in account money."""
        return price * self.money_per_unit * lots / leverage


def symbol_costs(spec: SymbolSpec, spread_points: int) -> SymbolCosts:
    if spread_points < 0:
        msg = f"spread_points must be >= 0 for {spec.name}, got {spread_points}"
        raise ValueError(msg)
    point = to_decimal(spec.point)
    tick_size = to_decimal(spec.tick_size)
    money_per_unit = to_decimal(spec.tick_value) / tick_size
    spread = point * spread_points
    return SymbolCosts(
        symbol=spec.name,
        tick_size=tick_size,
        money_per_unit=money_per_unit,
        money_per_unit_f=float(money_per_unit),
        spread=spread,
        spread_f=float(spread),
        stops_distance=point * int(spec.stops_level),
        volume_min=to_decimal(spec.volume_min),
        volume_max=to_decimal(spec.volume_max),
        volume_step=to_decimal(spec.volume_step),
    )


def check_volume(lots: Decimal, costs: SymbolCosts) -> None:
    on_step = (lots / costs.volume_step) == (lots / costs.volume_step).to_integral_value()
    if not (costs.volume_min <= lots <= costs.volume_max and on_step):
        msg = (
            f"invalid volume {lots} lots for {costs.symbol}: use {costs.volume_min}.."
            f"{costs.volume_max} in steps of {costs.volume_step}"
        )
        raise InvalidVolume(msg)


def check_levels(
    is_buy: bool, price: Decimal, sl: Decimal | None, tp: Decimal | None, costs: SymbolCosts
) -> None:
    """Stop below / take-profit above a buy's ``price`` by at least the stops level (mirror
    for sells); ``price`` is the entry for orders, the exit-side quote for open positions."""
    d = max(costs.stops_distance, costs.tick_size)
    direction = 1 if is_buy else -1
    if sl is not None and (price - sl) * direction < d:
        side = "below" if is_buy else "above"
        msg = f"invalid stop {sl}: must be {side} {price} by at least {d} ({costs.symbol})"
        raise InvalidStops(msg)
    if tp is not None and (tp - price) * direction < d:
        side = "above" if is_buy else "below"
        msg = f"invalid take-profit {tp}: must be {side} {price} by at least {d} ({costs.symbol})"
        raise InvalidStops(msg)


def check_request(
    request: OrderRequest,
    costs: SymbolCosts,
    bid: Decimal,
    ask: Decimal,
    expires_s: int | None,
    now_s: int,
) -> Decimal:
    """Validate a new (or modified) order against the quote; returns its entry price."""
    check_volume(request.volume, costs)
    is_buy = request.side == Side.BUY
    if request.order_type == OrderType.MARKET:
        price = ask if is_buy else bid
    else:
        if request.price is None:
            msg = "a limit order needs a price; pass OrderRequest(price=...)"
            raise InvalidPrice(msg)
        price = request.price
        _check_limit_price(is_buy, price, bid, ask, costs)
        if expires_s is not None and expires_s <= now_s:
            msg = f"expiry is not in the future ({costs.symbol}); pass a later expires_at"
            raise InvalidPrice(msg)
    check_levels(is_buy, price, request.sl, request.tp, costs)
    return price


def _check_limit_price(
    is_buy: bool, price: Decimal, bid: Decimal, ask: Decimal, costs: SymbolCosts
) -> None:
    if price != costs.price(price):
        msg = f"price {price} is not on {costs.symbol}'s tick grid {costs.tick_size}"
        raise InvalidPrice(msg)
    gap = max(costs.stops_distance, costs.tick_size)
    if is_buy and price > ask - gap:
        msg = f"buy limit {price} must be below the ask {ask} by >= {gap}; use a market order"
        raise InvalidPrice(msg)
    if not is_buy and price < bid + gap:
        msg = f"sell limit {price} must be above the bid {bid} by >= {gap}; use a market order"
        raise InvalidPrice(msg)


def check_margin(free_margin: Decimal, required: Decimal) -> None:
    if required > free_margin:
        msg = f"not enough money: margin {required:.2f} needed, {free_margin:.2f} free"
        raise NoMoney(msg)


def exit_level(pos: Record, reason: DealReason) -> Decimal:
    """The stop or take-profit price ``pos`` exits at for ``reason`` (an in-bar level hit)."""
    level = pos.sl if reason == DealReason.SL else pos.tp
    if level is None:  # unreachable: exit_in_bar only reports levels that are set
        msg = f"position #{pos.ticket} has no {reason} level"
        raise RuntimeError(msg)
    return level


def exit_in_bar(
    is_buy: bool,
    sl: float | None,
    tp: float | None,
    ohlc: tuple[float, float, float, float],
    *,
    fresh: bool,
) -> tuple[DealReason, bool] | None:
    """``(reason, at_open)`` when a position exits within one bar, else None.

    ``ohlc`` are the bar's EXIT-side prices: bids for a buy position, asks for a sell.
    ``at_open`` True means the bar opened beyond the level (a gap): the exit price is the open;
    otherwise it is the level itself. Stop before take-profit when both are touched; ``fresh``
    (filled within this bar) disables the gap rule and requires the close beyond the TP.
    """
    open_, high, low, close = ohlc
    d = 1.0 if is_buy else -1.0
    if not fresh:
        if sl is not None and (open_ - sl) * d <= 0:
            return DealReason.SL, True
        if tp is not None and (open_ - tp) * d >= 0:
            return DealReason.TP, True
    worst, best = (low, high) if is_buy else (high, low)
    if sl is not None and (worst - sl) * d <= 0:
        return DealReason.SL, False
    if tp is not None and ((close if fresh else best) - tp) * d >= 0:
        return DealReason.TP, False
    return None
