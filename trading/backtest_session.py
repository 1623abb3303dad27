"""The order logic of the trading loop, shared by backtests (and meant for the live loop).

STRATEGY.md "Life of a setup": one live setup per (symbol, side); a newer setup on the same
side replaces an older one whose order has not filled; a revision modifies a pending order
(cancel + re-place when the volume changes, as MT5 cannot modify a pending order's volume),
never a filled trade; a setup cancelled by the detector cancels its pending order; no
placement or revision while the market is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading.backtest_types import BacktestConfig, OrderEvent, OrderEventKind, Trade
from trading.brokers.base import BrokerError, DealEntry, OrderRequest, OrderType, Side
from trading.brokers.paper import PaperEngine, PaperEvent, PaperEventKind
from trading.detector import EventKind, Setup, SetupEvent
from trading.market_hours import is_open
from trading.orders import OrderPlan, OrderRefused, build_order
from trading.symbols import SymbolSpec

K = OrderEventKind


def pip_size(spec: SymbolSpec) -> Decimal:
    """One pip in price units: 10 points on 3/5-digit quotes (fractional pips), else 1 point."""
    return spec.point * 10 if spec.digits in (3, 5) else spec.point


@dataclass(slots=True)
class _Live:
    setup: Setup
    ticket: int
    plan: OrderPlan


class Session:
    """Turns detector events and broker events into orders, order events and trades."""

    def __init__(
        self, symbol: str, spec: SymbolSpec, engine: PaperEngine, config: BacktestConfig
    ) -> None:
        self.symbol = symbol
        self.spec = spec
        self.engine = engine
        self.config = config
        self.orders: list[OrderEvent] = []
        self.trades: list[Trade] = []
        self._latest: dict[tuple[datetime, Side], Setup] = {}
        self._cancelled: set[tuple[Side, datetime]] = set()
        self._live: dict[Side, _Live] = {}  # the unfilled order of each side
        self._by_ticket: dict[int, _Live] = {}  # every order ever placed
        self._pip = float(pip_size(spec))

    # -- detector events --------------------------------------------------------------------
    def on_setup_events(self, events: list[SetupEvent]) -> None:
        for ev in events:
            setup = ev.setup
            self._latest[setup.leg2_start, setup.side] = setup
            if ev.kind is EventKind.PUBLISH:
                self._publish(ev)
            elif ev.kind is EventKind.REVISE:
                self._revise(ev)
            elif ev.kind is EventKind.CANCEL:
                self._cancelled.add((setup.side, setup.leg2_start))
                self._drop(setup, ev.bar_time, K.CANCELLED, "setup rejected by a revision")

    def _closed_market(self, ev: SetupEvent) -> bool:
        if self.config.market_hours and not is_open(self.spec, ev.bar_time):
            self._log(K.SKIPPED, ev.bar_time, ev.setup, None, note="market closed")
            return True
        return False

    def _publish(self, ev: SetupEvent) -> None:
        if ev.too_old:
            self._log(K.SKIPPED, ev.bar_time, ev.setup, None, note="setup too old")
            return
        if self._closed_market(ev):
            return
        previous = self._live.get(ev.setup.side)
        if previous is not None:
            self._drop(previous.setup, ev.bar_time, K.REPLACED, "a newer setup took its side")
        self._place(ev.setup, ev.bar_time, K.PLACED)

    def _revise(self, ev: SetupEvent) -> None:
        live = self._live.get(ev.setup.side)
        if live is None or live.setup.leg2_start != ev.setup.leg2_start:
            return  # filled, expired, replaced or never placed: a trade is never modified
        if self._closed_market(ev):
            return
        plan = self._plan(ev.setup, ev.bar_time)
        if plan is None:
            self._drop(live.setup, ev.bar_time, K.CANCELLED, "revised levels refused")
            return
        if plan.volume != live.plan.volume:
            self.engine.cancel(live.ticket)
            del self._live[ev.setup.side]
            self._place(ev.setup, ev.bar_time, K.REVISED, plan)
            return
        try:
            self.engine.modify_order(live.ticket, plan.entry, plan.stop, plan.take_profit)
        except BrokerError as exc:
            self._drop(live.setup, ev.bar_time, K.CANCELLED, f"modify refused: {exc.code}")
            return
        live.setup, live.plan = ev.setup, plan
        self._log(K.REVISED, ev.bar_time, ev.setup, live.ticket, plan)

    def _plan(self, setup: Setup, now: datetime) -> OrderPlan | None:
        tick = self.engine.market.quote(self.symbol)
        try:
            return build_order(
                setup,
                self.spec,
                balance=self.engine.ledger.balance,
                risk_pct=self.config.risk_pct,
                bid=tick.bid,
                ask=tick.ask,
                now=now,
                params=self.config.params,
            )
        except OrderRefused as exc:
            self._log(K.REFUSED, now, setup, None, note=str(exc.code))
            return None

    def _place(
        self, setup: Setup, now: datetime, kind: OrderEventKind, plan: OrderPlan | None = None
    ) -> None:
        plan = plan if plan is not None else self._plan(setup, now)
        if plan is None:
            return
        request = OrderRequest(
            self.symbol, setup.side, OrderType.LIMIT, plan.volume, plan.entry, plan.stop,
            plan.take_profit, plan.expires_at, client_id=f"{setup.side}:{setup.leg2_start:%Y%m%d%H}",
        )  # fmt: skip
        try:
            ticket = self.engine.place(request).ticket
        except BrokerError as exc:
            self._log(K.REFUSED, now, setup, None, note=f"{exc.code}: {exc.message}")
            return
        live = _Live(setup, ticket, plan)
        self._live[setup.side] = live
        self._by_ticket[ticket] = live
        self._log(kind, now, setup, ticket, plan, ",".join(plan.adjustments))

    def _drop(self, setup: Setup, now: datetime, kind: OrderEventKind, note: str) -> None:
        """Cancel the pending order of ``setup`` (if it is the live one of its side)."""
        live = self._live.get(setup.side)
        if live is None or live.setup.leg2_start != setup.leg2_start:
            return
        self.engine.cancel(live.ticket)
        del self._live[setup.side]
        self._log(kind, now, setup, live.ticket, live.plan, note)

    def _log(
        self,
        kind: OrderEventKind,
        time: datetime,
        setup: Setup,
        ticket: int | None,
        plan: OrderPlan | None = None,
        note: str = "",
    ) -> None:
        self.orders.append(
            OrderEvent(
                kind,
                time,
                setup.side,
                setup.leg2_start,
                ticket,
                None if plan is None else plan.entry,
                None if plan is None else plan.stop,
                None if plan is None else plan.take_profit,
                None if plan is None else plan.volume,
                note,
            )  # fmt: skip
        )

    # -- broker events ----------------------------------------------------------------------
    def on_broker_events(self, events: list[PaperEvent]) -> None:
        for ev in events:
            live = self._by_ticket[ev.ticket]
            if ev.kind is PaperEventKind.CLOSED:
                self._close_trade(live)
                continue
            if self._live.get(live.setup.side) is live:
                del self._live[live.setup.side]
            kind = K.FILLED if ev.kind is PaperEventKind.FILLED else K.EXPIRED
            self._log(kind, ev.time, live.setup, ev.ticket, live.plan)

    def _close_trade(self, live: _Live) -> None:
        deals = [d for d in self.engine.ledger.deals if d.position == live.ticket]
        entry, out = deals[0], deals[-1]
        if out.entry is not DealEntry.OUT:
            return
        direction = 1 if live.setup.side is Side.BUY else -1
        move = float(out.price - entry.price) * direction
        risk = float(abs(entry.price - live.plan.stop))
        self.trades.append(
            Trade(
                live.ticket,
                live.setup.side,
                live.setup.leg2_start,
                entry.time,
                entry.price,
                out.time,
                out.price,
                str(out.reason).replace("client", "manual"),
                live.plan.stop,
                live.plan.take_profit,
                out.volume,
                move / self._pip,
                move / risk if risk else 0.0,
                out.profit_money + out.commission_money + entry.commission_money,
                out.commission_money + entry.commission_money,
            )  # fmt: skip
        )

    # -- end ----------------------------------------------------------------------------------
    def equity(self) -> float:
        return self.engine.ledger.equity_float()

    def finish(self, now: datetime) -> None:
        """End of data: cancel pending orders, close open positions at the last close."""
        for live in list(self._live.values()):
            self._drop(live.setup, now, K.CANCELLED, "end of data")
        for deal in self.engine.close_all():
            self._close_trade(self._by_ticket[deal.position])

    def setups(self) -> tuple[Setup, ...]:
        """The latest state of every setup seen, minus the cancelled, by leg-2 start."""
        kept = [s for s in self._latest.values() if (s.side, s.leg2_start) not in self._cancelled]
        return tuple(sorted(kept, key=lambda s: (s.leg2_start, s.side is Side.SELL)))
