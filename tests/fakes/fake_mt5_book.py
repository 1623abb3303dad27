"""The book of :class:`tests.fakes.fake_mt5.FakeMT5`: ``positions_get``, ``orders_get``,
``history_deals_get`` and ``history_orders_get`` read the paper ledger's positions, pending
orders, deals and finished orders as MT5's namedtuples, in server time. What the fill race
hides (:class:`tests.fakes.fake_mt5_netting.FillRace`) is left out. It reads and owns
nothing mutable: the ledger, the race and the order desk's ``placed`` requests are given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5_netting import FillRace
from trading.brokers.base import DealEntry, DealReason, OrderState, Side
from trading.brokers.paper_ledger import Ledger

_HISTORY_STATE = {
    OrderState.FILLED: api.ORDER_STATE_FILLED,
    OrderState.CANCELLED: api.ORDER_STATE_CANCELED,
    OrderState.EXPIRED: api.ORDER_STATE_EXPIRED,
    OrderState.REJECTED: api.ORDER_STATE_REJECTED,
}


def as_server_s(value: Any) -> int:
    """A date argument (datetime or unix seconds: MT5 takes both) as unix seconds."""
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


class Book:
    """MT5's views of the ledger (times in server time: utc + ``offset_s``)."""

    def __init__(
        self,
        ledger: Ledger,
        race: FillRace,
        placed: Mapping[int, Mapping[str, Any]],
        *,
        offset_s: int,
    ) -> None:
        self.ledger = ledger
        self.race = race
        self.placed = placed  # order ticket -> the request that placed it (the desk's)
        self.offset_s = offset_s

    def _server(self, utc_s: int | None) -> int:
        return 0 if utc_s is None else utc_s + self.offset_s

    def positions(self, symbol: str | None = None, ticket: int | None = None) -> tuple[Any, ...]:
        out = []
        for record in self.ledger.all_positions():
            r = record.request
            if (symbol and r.symbol != symbol) or (ticket and record.ticket != ticket):
                continue
            if self.race.hides(record.ticket):
                continue
            t = self.ledger.market.quote(r.symbol)
            opened = self._server(record.opened_s)
            out.append(api.TradePosition(
                record.ticket, opened, opened * 1000, opened, opened * 1000,
                api.POSITION_TYPE_BUY if record.is_buy else api.POSITION_TYPE_SELL, r.magic,
                record.ticket, api.DEAL_REASON_EXPERT, float(record.volume), float(record.price),
                float(record.sl or 0), float(record.tp or 0),
                float(t.bid if record.is_buy else t.ask), 0.0,
                float(self.ledger.floating_money(record)), r.symbol, r.comment, "",
            ))  # fmt: skip
        return tuple(out)

    def orders(self, symbol: str | None = None, ticket: int | None = None) -> tuple[Any, ...]:
        out = []
        for records in self.ledger.pending_by_symbol.values():
            for record in records.values():
                r = record.request
                if (symbol and r.symbol != symbol) or (ticket and record.ticket != ticket):
                    continue
                placed = self._server(record.placed_s)
                specified = record.expires_s is not None
                out.append(api.TradeOrder(
                    record.ticket, placed, placed * 1000, 0, 0, self._server(record.expires_s),
                    api.ORDER_TYPE_BUY_LIMIT if record.is_buy else api.ORDER_TYPE_SELL_LIMIT,
                    api.ORDER_TIME_SPECIFIED if specified else api.ORDER_TIME_GTC, api.ORDER_FILLING_RETURN,
                    api.ORDER_STATE_PLACED, r.magic, 0, 0, 3, float(record.volume),
                    float(record.volume), float(record.price), float(record.sl or 0),
                    float(record.tp or 0), float(record.price), 0.0, r.symbol, r.comment, "",
                ))  # fmt: skip
        return tuple(out)

    def history_deals(
        self,
        date_from: Any = None,
        date_to: Any = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[Any, ...]:
        reasons = {DealReason.SL: api.DEAL_REASON_SL, DealReason.TP: api.DEAL_REASON_TP}
        out = []
        for d in self.ledger.deals:
            server_s = int(d.time.timestamp()) + self.offset_s
            if (ticket is not None and d.ticket != ticket) or self.race.hides(d.order):
                continue
            if position is not None and d.position != position:
                continue
            if date_from is not None and not (
                as_server_s(date_from) <= server_s <= as_server_s(date_to)
            ):
                continue
            out.append(api.TradeDeal(
                d.ticket, d.order, server_s, server_s * 1000,
                api.DEAL_TYPE_BUY if d.side == Side.BUY else api.DEAL_TYPE_SELL,
                api.DEAL_ENTRY_IN if d.entry == DealEntry.IN else api.DEAL_ENTRY_OUT, 0, d.position,
                reasons.get(d.reason, api.DEAL_REASON_EXPERT), float(d.volume), float(d.price),
                float(d.commission_money), 0.0, float(d.profit_money), 0.0, d.symbol,
                d.comment, "",
            ))  # fmt: skip
        return tuple(out)

    def history_orders(
        self,
        date_from: Any = None,
        date_to: Any = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[Any, ...]:
        """Finished orders (filled, cancelled, expired) with their final ``state``."""
        out = []
        for number, request in self.placed.items():
            if ticket and number != ticket:
                continue
            if self.race.hides(number):  # the race: the order may be in history, its deal is not
                if not self.race.order_in_history(number):
                    continue
                state: OrderState | None = OrderState.FILLED
            else:
                state = self.ledger.order_states.get(number)
                if state is None:  # still pending
                    continue
            volume, price = float(request["volume"]), float(request.get("price", 0.0))
            out.append(api.TradeOrder(
                number, 0, 0, 0, 0, int(request.get("expiration", 0)), request["type"],
                request.get("type_time", api.ORDER_TIME_GTC), request.get("type_filling", 0),
                _HISTORY_STATE[state], int(request.get("magic", 0)), number, 0, 3, volume,
                0.0, price, float(request.get("sl", 0.0)), float(request.get("tp", 0.0)), price,
                0.0, request["symbol"], str(request.get("comment", "")), "",
            ))  # fmt: skip
        return tuple(out)
