"""The live trading loop for one symbol: closed bar -> strategy step -> persisted signal changes.

Restart-safe: every bar's effects are idempotent (publish by setup identity, revisions by
version, transitions refused when already applied), and `SymbolState.last_bar_time` advances
only after they are stored. On start the runner replays history silently to rebuild the
detector and paper-broker state, then goes live.

Retry-safe in the same way: the in-memory strategy advances only with a bar whose effects were
stored. When applying a bar fails anywhere (a database error, a bug), the runner rebuilds its
strategy from the journal of bars it had applied (the strategy is deterministic: the same bars
give the same state), so the retry of that bar is a fresh attempt with exactly the effects a
fault-free run has, and heals as soon as the fault is gone, without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from core import clock
from models.signals import CloseReason, SignalSource, SignalStatus, SymbolState
from services import app_settings
from services.errors import InvalidInput
from services.isolation import AlertSink
from services.signals import lifecycle as signals
from services.signals import market_data
from services.signals.views import SignalView
from trading.backtest_types import BacktestConfig, OrderEvent, OrderEventKind, Trade
from trading.candles import Bar, Candles, to_unix_s
from trading.charting import ChartLevels, render_signal_chart
from trading.detector import Setup, SetupEvent
from trading.live import LiveStrategy, StepResult
from trading.market_hours import is_open
from trading.symbols import SymbolSpec

log = logging.getLogger(__name__)
K = OrderEventKind
CHART_BARS = 300
TRANSITION_OF = {
    K.FILLED: SignalStatus.FILLED,
    K.EXPIRED: SignalStatus.EXPIRED,
    K.REPLACED: SignalStatus.REPLACED,
    K.CANCELLED: SignalStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class BarOutcome:
    bar_time: datetime
    published: int
    revised: int
    transitions: int


class SymbolRunner:
    """Owns one symbol's `LiveStrategy` and a rolling window of bars for charts.

    It also keeps the journal of every bar it applied (H1: about 6,000 a year per symbol), the
    history its strategy is rebuilt from after a failed bar."""

    def __init__(
        self,
        symbol: str,
        spec: SymbolSpec,
        config: BacktestConfig | None = None,
        timeframe_s: int = 3600,
        *,
        charts: bool = True,
        alerts: AlertSink | None = None,
    ) -> None:
        self.symbol = symbol
        self.spec = spec
        self.config = config
        self.timeframe_s = timeframe_s
        self.charts = charts
        self.alerts = alerts  # ops: recipients skipped inside a signal event
        self._journal: list[tuple[Bar, bool]] = []  # (bar, allow_new) of every applied bar
        self._fresh()
        self.last_bar_time: datetime | None = None

    def _fresh(self) -> None:
        self.strategy = LiveStrategy(self.symbol, self.spec, self.config, self.timeframe_s)
        self._bars: list[Bar] = []
        self._setups: dict[tuple[str, datetime], Setup] = {}
        self._versions: dict[tuple[str, datetime], int] = {}

    # -- state ------------------------------------------------------------------------------
    async def load_state(self) -> SymbolState:
        state, _ = await SymbolState.get_or_create(symbol=self.symbol)
        return state

    def _remember(self, result: StepResult) -> None:
        self._bars.append(result.bar)
        if len(self._bars) > CHART_BARS * 2:
            del self._bars[:-CHART_BARS]
        for ev in result.setup_events:
            key = (ev.setup.side.value, ev.setup.leg2_start)
            self._setups[key] = ev.setup
        for order in result.order_events:
            key = (order.side.value, order.setup_key)
            if order.kind is K.PLACED:
                self._versions[key] = 1
            elif order.kind is K.REVISED:
                self._versions[key] = self._versions.get(key, 1) + 1

    def _step(self, bar: Bar, allow_new: bool = True) -> StepResult:
        result = self.strategy.step(bar, allow_new=allow_new)
        self._journal.append((bar, allow_new))
        self._remember(result)
        return result

    def _rewind(self, applied: int) -> None:
        """Back to the state after the first `applied` journal entries: a fresh strategy fed
        them again (the failed step may have changed the detector, the order session or the
        paper engine halfway; rebuilding is exact where undoing would be guesswork)."""
        journal = self._journal[:applied]
        self._journal = []
        self._fresh()
        for bar, allow_new in journal:
            self._step(bar, allow_new)

    def replay(self, bars: list[Bar]) -> None:
        """Rebuild in-memory state from bars already processed before a restart (no effects)."""
        applied = len(self._journal)
        try:
            for bar in bars:
                self._step(bar)
                self.last_bar_time = bar.time
        except BaseException:
            self._rewind(applied)
            raise

    # -- live ---------------------------------------------------------------------------------
    async def process(self, bar: Bar) -> BarOutcome:
        """Apply one closed bar: step the strategy, store its effects, then advance. When any
        part fails the strategy is rewound to before the bar and the error propagates: calling
        again with the same bar is a fresh attempt (the loop retries it)."""
        state = await self.load_state()
        if state.last_bar_time is not None and bar.time <= state.last_bar_time:
            self.replay([bar])  # already applied before a restart: rebuild state only
            return BarOutcome(bar.time, 0, 0, 0)
        # The last known price for every replica (manual signals); stored before the strategy
        # steps, so a failure here leaves nothing consumed and the retry starts clean.
        await market_data.record_bar(self.symbol, bar, self.timeframe_s)
        applied = len(self._journal)
        try:
            outcome = await self._apply(self._step(bar, allow_new=not state.paused))
            state.last_bar_time = bar.time
            state.bars_seen += 1
            await state.save(update_fields=["last_bar_time", "bars_seen", "updated_at"])
        except BaseException:
            self._rewind(applied)
            raise
        self.last_bar_time = bar.time
        return outcome

    async def _apply(self, result: StepResult) -> BarOutcome:
        published = revised = moved = 0
        for order in result.order_events:
            if order.kind is K.PLACED:
                published += await self._publish(order)
            elif order.kind is K.REVISED:
                revised += await self._revise(order)
            elif order.kind in TRANSITION_OF:
                moved += await self._move(order, TRANSITION_OF[order.kind])
        for trade in result.trades:
            moved += await self._close(trade)
        return BarOutcome(result.bar.time, published, revised, moved)

    def _key(self, side: str, leg2_start: datetime) -> str:
        return signals.setup_key(self.symbol, side, leg2_start)

    async def _publish(self, order: OrderEvent) -> int:
        setup = self._setups[(order.side.value, order.setup_key)]
        assert order.price is not None and order.stop is not None and order.take_profit is not None
        expiry_h = self.strategy.config.params.order_expiry_hours
        draft = signals.SignalDraft(
            setup_key=self._key(order.side.value, order.setup_key),
            symbol=self.symbol,
            side=order.side.value,
            entry=order.price,
            stop=order.stop,
            take_profit=order.take_profit,
            published_at=order.time,
            expires_at=order.time + timedelta(hours=expiry_h),
            source=SignalSource.STRATEGY,
            price_adjusted="price_adjusted" in order.note,
            trigger_time=setup.trigger_time,
            leg2_start=setup.leg2_start,
            point1=(setup.point1_time, Decimal(str(setup.point1_price))),
            point2=(setup.point2_time, Decimal(str(setup.point2_price))),
        )
        chart = self._chart_renderer(setup, await _exits_hidden()) if self.charts else None
        view = await signals.publish(draft, chart, alerts=self.alerts)
        return int(view is not None)

    async def _revise(self, order: OrderEvent) -> int:
        skey = (order.side.value, order.setup_key)
        setup = self._setups[skey]
        assert order.price is not None and order.stop is not None and order.take_profit is not None
        view = await signals.revise(
            self._key(*skey),
            self._versions.get(skey, 2),
            order.price,
            order.stop,
            order.take_profit,
            point2=(setup.point2_time, Decimal(str(setup.point2_price))),
            chart=self._chart_renderer(setup, await _exits_hidden()) if self.charts else None,
            alerts=self.alerts,
        )
        return int(view is not None)

    async def _move(self, order: OrderEvent, status: SignalStatus) -> int:
        view = await signals.get_by_key(self._key(order.side.value, order.setup_key))
        if view is None:
            return 0
        try:
            await signals.transition(
                view.id, status, at=order.time, price=order.price, alerts=self.alerts
            )
        except InvalidInput:
            return 0  # already applied (restart) or not applicable
        return 1

    async def _close(self, trade: Trade) -> int:
        view = await signals.get_by_key(self._key(trade.side.value, trade.setup_key))
        if view is None:
            return 0
        reason = {"tp": CloseReason.TP, "sl": CloseReason.SL}.get(
            trade.exit_reason, CloseReason.MANUAL
        )
        try:
            await signals.transition(
                view.id,
                SignalStatus.CLOSED,
                at=trade.exit_time,
                price=trade.exit_price,
                reason=reason,
                alerts=self.alerts,
            )
        except InvalidInput:
            return 0
        return 1

    # -- charts -------------------------------------------------------------------------------
    def _chart_renderer(self, setup: Setup, exits_hidden: bool) -> Callable[[SignalView], bytes]:
        """The signal's chart; with `exits_hidden` (the owner's visibility "entry only") the
        entry alone, as the card's text shows it."""
        bars = self._bars[-CHART_BARS:]  # a copy: the render runs later, in a thread

        params = self.strategy.config.params

        def render(view: SignalView) -> bytes:
            window = candles_of(self.symbol, bars, self.timeframe_s)
            levels = ChartLevels(
                side=setup.side,
                entry=float(view.entry),
                stop=float(view.stop),
                take_profit=float(view.take_profit),
                point1=(setup.point1_time, setup.point1_price),
                point2=(setup.point2_time, setup.point2_price),
                trigger_time=setup.trigger_time,
                leg2_start=setup.leg2_start,
                digits=self.spec.digits,
                signal_id=view.id,
                version=view.version,
                params=params,
                exits_hidden=exits_hidden,
            )  # the title: symbol, side, timeframe, bar time, #id, "revision N" once revised
            return render_signal_chart(window, levels)

        return render

    def market_open(self, now: datetime | None = None) -> bool:
        return is_open(self.spec, now or clock.now())


async def _exits_hidden() -> bool:
    return await app_settings.visibility() is app_settings.Visibility.ENTRY_ONLY


def candles_of(symbol: str, bars: list[Bar], timeframe_s: int) -> Candles:
    """A `Candles` snapshot of `bars` (copied: safe to hand to a render thread)."""
    return Candles(
        symbol=symbol,
        timeframe_s=timeframe_s,
        time=np.array([to_unix_s(b.time) for b in bars], dtype=np.int64),
        open=np.array([b.open for b in bars], dtype=np.float64),
        high=np.array([b.high for b in bars], dtype=np.float64),
        low=np.array([b.low for b in bars], dtype=np.float64),
        close=np.array([b.close for b in bars], dtype=np.float64),
        volume=np.array([b.volume for b in bars], dtype=np.float64),
    )


__all__ = ["BarOutcome", "SetupEvent", "SymbolRunner", "candles_of"]
