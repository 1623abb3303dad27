"""Account-type and timing models of :class:`tests.fakes.fake_mt5.FakeMT5`: a netting account
(one position per symbol; a fill merges into it or reduces it) and the fill race (an order
has left the pending list but its deal, its position and maybe its history order are not
visible yet). A mixin; ``FakeMT5.__init__`` sets the state declared here.

Netting, as MT5 does it: a fill in the position's direction adds to it (volume-weighted open
price; the order's SL/TP, when set, replace the position's) and its IN deal carries the
existing position's id; an opposite fill is an OUT deal of the existing position (realising
its profit) and, when larger than the position, an IN deal of a new one for the rest (MT5
books that reversal as one INOUT deal; this fake books OUT + IN).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from tests.fakes import mt5_api as api
from trading.brokers.base import DealEntry, DealReason
from trading.brokers.paper import PaperEngine
from trading.brokers.paper_rules import Record


class NettingMixin:
    """``netting`` merges positions after every engine change; ``hide_fill`` models the race."""

    engine: PaperEngine
    margin_mode: int
    hidden: dict[int, bool]  # order ticket -> its history order is visible already

    @property
    def netting(self) -> bool:
        return self.margin_mode != api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING

    def hide_fill(self, order_ticket: int, *, order_in_history: bool = False) -> None:
        """The fill race: hide the deals and the position of ``order_ticket`` (and its history
        order unless ``order_in_history``) until :meth:`reveal`."""
        self.hidden[order_ticket] = order_in_history

    def reveal(self) -> None:
        self.hidden.clear()

    def _net(self) -> None:
        """On a netting account, fold every symbol's positions into its oldest one."""
        if not self.netting:
            return
        for positions in self.engine.ledger.open_by_symbol.values():
            while len(positions) > 1:
                base, new = sorted(positions.values(), key=lambda r: (r.opened_s, r.ticket))[:2]
                if base.is_buy == new.is_buy:
                    self._merge(positions, base, new)
                else:
                    self._reduce(positions, base, new)

    def _entry_deal(self, order_ticket: int) -> int:
        return next(
            i
            for i, d in enumerate(self.engine.ledger.deals)
            if d.order == order_ticket and d.entry == DealEntry.IN
        )

    def _merge(self, positions: dict[int, Record], base: Record, new: Record) -> None:
        volume = base.volume + new.volume
        base.price = (base.price * base.volume + new.price * new.volume) / volume
        base.price_f, base.volume = float(base.price), volume
        base.sl = new.sl if new.sl is not None else base.sl
        base.tp = new.tp if new.tp is not None else base.tp
        del positions[new.ticket]
        i = self._entry_deal(new.ticket)
        self.engine.ledger.deals[i] = dataclasses.replace(
            self.engine.ledger.deals[i], position=base.ticket
        )

    def _reduce(self, positions: dict[int, Record], base: Record, new: Record) -> None:
        engine = self.engine
        lots = min(base.volume, new.volume)
        i = self._entry_deal(new.ticket)
        entry = engine.ledger.deals[i]
        profit = engine.ledger.profit_money(base, new.price, lots)
        engine.ledger.balance += profit
        engine.ledger.deals[i] = dataclasses.replace(
            entry, position=base.ticket, entry=DealEntry.OUT, volume=lots, profit_money=profit,
            reason=DealReason.CLIENT,
        )  # fmt: skip
        base.volume -= lots
        new.volume -= lots
        if base.volume == 0:
            del positions[base.ticket]
        if new.volume == 0:
            del positions[new.ticket]
        else:  # a reversal: the rest opens a position of its own
            engine.ledger.book(
                new, DealEntry.IN, new.volume, new.price, new.opened_s or 0, Decimal(0)
            )

    def _visible_deal(self, deal: Any) -> bool:
        return deal.order not in self.hidden

    def _visible_position(self, record: Record) -> bool:
        return record.ticket not in self.hidden
