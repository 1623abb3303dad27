"""Account-type and timing models of :class:`tests.fakes.fake_mt5.FakeMT5`: the account model
(hedging: positions stand side by side; netting: one position per symbol, a fill merges into
it or reduces it) and the fill race (an order has left the pending list but its deal, its
position and maybe its history order are not visible yet). Each owns its state; the account
model changes the paper ledger only through the ledger's own operations.

Netting, as MT5 does it: a fill in the position's direction adds to it (volume-weighted open
price; the order's SL/TP, when set, replace the position's) and its IN deal carries the
existing position's id; an opposite fill is an OUT deal of the existing position (realising
its profit) and, when larger than the position, an IN deal of a new one for the rest (MT5
books that reversal as one INOUT deal; this fake books OUT + IN).
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes import mt5_api as api
from trading.brokers.base import DealEntry, DealReason
from trading.brokers.paper_ledger import Ledger
from trading.brokers.paper_rules import Record


class FillRace:
    """Orders whose fill the terminal does not show yet (ticket -> its history order shows)."""

    def __init__(self) -> None:
        self._hidden: dict[int, bool] = {}

    def hide(self, order_ticket: int, *, order_in_history: bool = False) -> None:
        """Hide the deals and the position of ``order_ticket`` (and its history order unless
        ``order_in_history``) until :meth:`reveal`."""
        self._hidden[order_ticket] = order_in_history

    def reveal(self) -> None:
        self._hidden.clear()

    def hides(self, order_ticket: int) -> bool:
        return order_ticket in self._hidden

    def order_in_history(self, order_ticket: int) -> bool:
        """Whether a hidden order already shows in the order history (always, when not hidden)."""
        return self._hidden.get(order_ticket, True)


class AccountModel:
    """Hedging or netting (``margin_mode``), applied by :meth:`settle` after each change."""

    def __init__(self, ledger: Ledger, margin_mode: int) -> None:
        self.ledger = ledger
        self.margin_mode = margin_mode

    @property
    def netting(self) -> bool:
        return self.margin_mode != api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING

    def settle(self) -> None:
        """On a netting account, fold every symbol's positions into its oldest one."""
        if not self.netting:
            return
        for positions in self.ledger.open_by_symbol.values():
            while len(positions) > 1:
                base, new = sorted(positions.values(), key=lambda r: (r.opened_s, r.ticket))[:2]
                if base.is_buy == new.is_buy:
                    self._merge(base, new)
                else:
                    self._reduce(base, new)

    def _entry_deal(self, order_ticket: int) -> int:
        return next(
            i
            for i, d in enumerate(self.ledger.deals)
            if d.order == order_ticket and d.entry == DealEntry.IN
        )

    def _merge(self, base: Record, new: Record) -> None:
        volume = base.volume + new.volume
        base.price = (base.price * base.volume + new.price * new.volume) / volume
        base.price_f, base.volume = float(base.price), volume
        base.sl = new.sl if new.sl is not None else base.sl
        base.tp = new.tp if new.tp is not None else base.tp
        self.ledger.discard_position(new)
        self.ledger.amend_deal(self._entry_deal(new.ticket), position=base.ticket)

    def _reduce(self, base: Record, new: Record) -> None:
        ledger = self.ledger
        lots = min(base.volume, new.volume)
        profit = ledger.profit_money(base, new.price, lots)
        ledger.amend_deal(
            self._entry_deal(new.ticket), position=base.ticket, entry=DealEntry.OUT, volume=lots,
            profit_money=profit, reason=DealReason.CLIENT,
        )  # fmt: skip
        base.volume -= lots
        new.volume -= lots
        if base.volume == 0:
            ledger.discard_position(base)
        if new.volume == 0:
            ledger.discard_position(new)
        else:  # a reversal: the rest opens a position of its own
            ledger.book(new, DealEntry.IN, new.volume, new.price, new.opened_s or 0, Decimal(0))
