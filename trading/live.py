"""The backtester's per-bar step as an object, for the live trading loop.

`LiveStrategy.step(bar)` does exactly what one iteration of `run_backtest` does (paper-broker
fills first, then detector events into the order session), so live signals and backtests share
one code path, and returns what happened on that bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from trading.backtest_session import Session
from trading.backtest_types import BacktestConfig, OrderEvent, Trade
from trading.brokers.paper import PaperEngine
from trading.candles import Bar, to_unix_s
from trading.detector import EventKind, IncrementalDetector, SetupEvent
from trading.symbols import SymbolSpec


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one closed bar produced: detector events, order events and finished trades."""

    bar: Bar
    setup_events: tuple[SetupEvent, ...]
    order_events: tuple[OrderEvent, ...]
    trades: tuple[Trade, ...]


class LiveStrategy:
    """Detector -> orders -> paper broker for one symbol, one closed bar at a time."""

    def __init__(
        self,
        symbol: str,
        spec: SymbolSpec,
        config: BacktestConfig | None = None,
        timeframe_s: int = 3600,
    ) -> None:
        self.symbol = symbol
        self.config = config if config is not None else BacktestConfig()
        self.timeframe_s = timeframe_s
        self.engine = PaperEngine(
            {symbol: spec},
            balance=self.config.balance,
            leverage=self.config.leverage,
            spread_points=self.config.spread_points,
            commission_per_lot_money=self.config.commission_per_lot_money,
        )
        self.detector = IncrementalDetector(symbol, self.config.params, timeframe_s)
        self.session = Session(symbol, spec, self.engine, self.config)

    def step(self, bar: Bar, *, allow_new: bool = True) -> StepResult:
        """Apply one CLOSED bar. `allow_new=False` (publishing paused): new setups are not
        turned into orders, while orders and trades already live keep being managed."""
        orders_before, trades_before = len(self.session.orders), len(self.session.trades)
        fills = self.engine.on_bar(
            self.symbol, to_unix_s(bar.time), self.timeframe_s, bar.open, bar.high, bar.low,
            bar.close,
        )  # fmt: skip
        if fills:
            self.session.on_broker_events(fills)
        events = self.detector.on_bar(bar)
        passed = events if allow_new else [e for e in events if e.kind is not EventKind.PUBLISH]
        if passed:
            self.session.on_setup_events(passed)
        return StepResult(
            bar,
            tuple(events),
            tuple(self.session.orders[orders_before:]),
            tuple(self.session.trades[trades_before:]),
        )
