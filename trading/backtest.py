"""The backtester: the LIVE code path replayed over history.

Per closed bar, in the live loop's order: (1) the paper broker applies the bar to the orders
and positions that existed before it (fills, stops, take-profits, expiry; see
:mod:`trading.brokers.paper`); (2) ``IncrementalDetector.on_bar`` reports the setup events of
the bar's close; (3) each event becomes order actions through ``build_order`` (publish ->
place a LIMIT that expires 100 h after publication, replacing an unfilled order of the same
side; revise -> modify the pending order, never a filled trade; cancel -> cancel it);
(4) equity is sampled at the bar close. Open trades are closed at the last close ("end").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trading.backtest_session import Session
from trading.backtest_types import (
    BacktestConfig,
    BacktestResult,
    OrderEvent,
    OrderEventKind,
    Trade,
)
from trading.brokers.paper import PaperEngine
from trading.candles import Bar, Candles
from trading.detector import IncrementalDetector
from trading.metrics import compute_metrics
from trading.symbols import SymbolSpec
from trading.timeutil import to_unix_s, utc_from_unix_s

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "OrderEvent",
    "OrderEventKind",
    "Trade",
    "run_backtest",
]


@dataclass(frozen=True, slots=True)
class _Range:
    warmup: int  # bars before the traded range (detector warm-up only)
    stop: int  # one past the last traded bar


def _select(candles: Candles, config: BacktestConfig) -> _Range:
    times = candles.time
    first = 0 if config.start is None else int(np.searchsorted(times, to_unix_s(config.start)))
    stop = len(times) if config.end is None else int(np.searchsorted(times, to_unix_s(config.end)))
    if stop <= first:
        span = f"{config.start or 'the start'} to {config.end or 'the end'}"
        msg = (
            f"no {candles.symbol} bars from {span}; the data covers "
            f"{_span(candles)}: pick dates inside it"
        )
        raise ValueError(msg)
    return _Range(first, stop)


def _span(candles: Candles) -> str:
    if len(candles) == 0:
        return "nothing (empty series)"
    return f"{candles.time_utc(0).isoformat()} .. {candles.time_utc(len(candles) - 1).isoformat()}"


def run_backtest(
    candles: Candles, spec: SymbolSpec, config: BacktestConfig | None = None
) -> BacktestResult:
    """Replay ``candles`` through detector -> orders -> paper broker; see the module docstring.

    Raises ValueError when the selected range holds no bars.
    """
    cfg = config if config is not None else BacktestConfig()
    rng = _select(candles, cfg)
    engine = PaperEngine(
        {candles.symbol: spec},
        balance=cfg.balance,
        leverage=cfg.leverage,
        spread_points=cfg.spread_points,
        commission_per_lot_money=cfg.commission_per_lot_money,
    )
    detector = IncrementalDetector(candles.symbol, cfg.params, candles.timeframe_s)
    session = Session(candles.symbol, spec, engine, cfg)
    tf = candles.timeframe_s
    t_all, o_all = candles.time.tolist(), candles.open.tolist()
    h_all, l_all, c_all = candles.high.tolist(), candles.low.tolist(), candles.close.tolist()
    for i in range(rng.warmup):
        detector.on_bar(Bar(utc_from_unix_s(t_all[i]), o_all[i], h_all[i], l_all[i], c_all[i]))
    n = rng.stop - rng.warmup
    equity = np.empty(n, dtype=np.float64)
    on_bar, detect = engine.on_bar, detector.on_bar
    symbol = candles.symbol
    for k, i in enumerate(range(rng.warmup, rng.stop)):
        t, o, h, lo, c = t_all[i], o_all[i], h_all[i], l_all[i], c_all[i]
        fills = on_bar(symbol, t, tf, o, h, lo, c)
        if fills:
            session.on_broker_events(fills)
        events = detect(Bar(utc_from_unix_s(t), o, h, lo, c))
        if events:
            session.on_setup_events(events)
        equity[k] = session.equity()
    session.finish(utc_from_unix_s(t_all[rng.stop - 1] + tf))
    equity[-1] = float(engine.ledger.balance)
    return _result(candles, cfg, rng, session, equity)


def _result(
    candles: Candles,
    cfg: BacktestConfig,
    rng: _Range,
    session: Session,
    equity: np.ndarray,
) -> BacktestResult:
    open_times = candles.time[rng.warmup : rng.stop]
    close_times = (open_times + candles.timeframe_s).astype(np.int64)
    trades = tuple(session.trades)
    metrics = compute_metrics(
        close_times,
        equity,
        [float(t.profit_money) for t in trades],
        [t.r_multiple for t in trades],
        [to_unix_s(t.entry_time) for t in trades],
        [to_unix_s(t.exit_time) for t in trades],
        exposure_time_s=open_times,
    )
    equity.setflags(write=False)
    close_times.setflags(write=False)
    return BacktestResult(
        symbol=candles.symbol,
        config=cfg,
        bars=rng.stop - rng.warmup,
        setups=session.setups(),
        orders=tuple(session.orders),
        trades=trades,
        equity_time_s=close_times,
        equity=equity,
        metrics=metrics,
    )
