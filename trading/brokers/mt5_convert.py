"""Conversions between MetaTrader 5's namedtuples/requests and our broker value types.

MT5 reports floats and server-zone unix seconds; we hand out Decimals and aware UTC datetimes.
A level of 0.0 means "no stop/take-profit" in MT5 and None here. Our ``client_id`` travels in
the order comment (MT5 keeps 31 characters), the one free-text field that comes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from trading.brokers.base import (
    Deal,
    DealEntry,
    DealReason,
    Order,
    OrderState,
    Position,
    Side,
    Tick,
)
from trading.numeric import to_decimal
from trading.symbols import SymbolSpec, symbol_kind
from trading.timeutil import to_unix_s, utc_from_unix_s

CENT = Decimal("0.01")
SYMBOL_FILLING_FOK = 1  # symbol_info().filling_mode flags (MQL5 SYMBOL_FILLING_*)
SYMBOL_FILLING_IOC = 2


class Mt5Converter:
    """Knows the module's constants and the server's UTC offset (seconds, server = UTC + offset)."""

    def __init__(self, mt5: Any, server_utc_offset_s: int = 0) -> None:
        self.mt5 = mt5
        self.offset_s = server_utc_offset_s

    def money(self, value: float) -> Decimal:
        return to_decimal(value).quantize(CENT, ROUND_HALF_EVEN)

    def price(self, value: float) -> Decimal:
        return to_decimal(value)

    def level(self, value: float) -> Decimal | None:
        return None if value == 0 else to_decimal(value)

    def time(self, server_s: int) -> datetime:
        return utc_from_unix_s(int(server_s) - self.offset_s)

    def server_s(self, time: datetime) -> int:
        return to_unix_s(time) + self.offset_s

    def spec(self, info: Any) -> SymbolSpec:
        """A :class:`SymbolSpec` from ``symbol_info`` (terminal values are the truth)."""
        return SymbolSpec(
            name=info.name,
            digits=int(info.digits),
            point=to_decimal(info.point),
            tick_size=to_decimal(info.trade_tick_size),
            tick_value=to_decimal(info.trade_tick_value),
            contract_size=to_decimal(info.trade_contract_size),
            volume_min=to_decimal(info.volume_min),
            volume_max=to_decimal(info.volume_max),
            volume_step=to_decimal(info.volume_step),
            stops_level=int(info.trade_stops_level),
            kind=symbol_kind(info.name),
        )

    def tick(self, raw: Any) -> Tick:
        return Tick(self.price(raw.bid), self.price(raw.ask), self.time(raw.time))

    def filling(self, filling_mode: int, *, market: bool) -> int:
        """Market orders: FOK if the symbol allows it, else IOC, else RETURN; pending: RETURN."""
        mt5 = self.mt5
        if not market:
            return int(mt5.ORDER_FILLING_RETURN)
        if filling_mode & SYMBOL_FILLING_FOK:
            return int(mt5.ORDER_FILLING_FOK)
        if filling_mode & SYMBOL_FILLING_IOC:
            return int(mt5.ORDER_FILLING_IOC)
        return int(mt5.ORDER_FILLING_RETURN)

    def order_state(self, state: int) -> OrderState | None:
        """A history order's final state; None for states that are not final (yet)."""
        mt5 = self.mt5
        final = {
            mt5.ORDER_STATE_FILLED: OrderState.FILLED,
            mt5.ORDER_STATE_CANCELED: OrderState.CANCELLED,
            mt5.ORDER_STATE_EXPIRED: OrderState.EXPIRED,
            mt5.ORDER_STATE_REJECTED: OrderState.REJECTED,
        }
        return final.get(state)

    def expiry(self, expires_at: datetime | None) -> dict[str, int]:
        if expires_at is None:
            return {"type_time": int(self.mt5.ORDER_TIME_GTC)}
        return {
            "type_time": int(self.mt5.ORDER_TIME_SPECIFIED),
            "expiration": self.server_s(expires_at),
        }

    def history_range(self, since: datetime) -> tuple[int, int]:
        """Server-time bounds for ``history_deals_get``: ``since`` to a day past now."""
        return self.server_s(since), self.server_s(datetime.now(since.tzinfo) + timedelta(days=1))

    def _side(self, raw_type: int, buy_types: tuple[int, ...]) -> Side:
        return Side.BUY if raw_type in buy_types else Side.SELL

    def order(self, raw: Any) -> Order:
        mt5 = self.mt5
        specified = raw.type_time == mt5.ORDER_TIME_SPECIFIED
        return Order(
            ticket=int(raw.ticket),
            symbol=raw.symbol,
            side=self._side(raw.type, (mt5.ORDER_TYPE_BUY_LIMIT, mt5.ORDER_TYPE_BUY)),
            volume=to_decimal(raw.volume_current),
            price=self.price(raw.price_open),
            sl=self.level(raw.sl),
            tp=self.level(raw.tp),
            placed_at=self.time(raw.time_setup),
            expires_at=self.time(raw.time_expiration) if specified else None,
            comment=raw.comment,
            magic=int(raw.magic),
            client_id=raw.comment,
        )

    def position(self, raw: Any) -> Position:
        return Position(
            ticket=int(raw.ticket),
            symbol=raw.symbol,
            side=self._side(raw.type, (self.mt5.POSITION_TYPE_BUY,)),
            volume=to_decimal(raw.volume),
            open_price=self.price(raw.price_open),
            sl=self.level(raw.sl),
            tp=self.level(raw.tp),
            opened_at=self.time(raw.time),
            profit_money=self.money(raw.profit),
            comment=raw.comment,
            magic=int(raw.magic),
            client_id=raw.comment,
        )

    def deal(self, raw: Any) -> Deal:
        mt5 = self.mt5
        reasons = {mt5.DEAL_REASON_SL: DealReason.SL, mt5.DEAL_REASON_TP: DealReason.TP}
        return Deal(
            ticket=int(raw.ticket),
            order=int(raw.order),
            position=int(raw.position_id),
            symbol=raw.symbol,
            side=self._side(raw.type, (mt5.DEAL_TYPE_BUY,)),
            entry=DealEntry.IN if raw.entry == mt5.DEAL_ENTRY_IN else DealEntry.OUT,
            volume=to_decimal(raw.volume),
            price=self.price(raw.price),
            time=self.time(raw.time),
            profit_money=self.money(raw.profit),
            commission_money=self.money(raw.commission),
            reason=reasons.get(raw.reason, DealReason.CLIENT),
            comment=raw.comment,
        )
