"""Benchmark: detector and full backtest on the bundled EURUSD H1 bars, with backtesting.py's
SMA-cross example on the same bars as a yardstick. Prints ONE JSON object (best of N, ms).

Targets: detector < 20 ms, full backtest < 100 ms. Run: ``.venv/bin/python bench/backtest.py``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA

from trading.backtest import run_backtest
from trading.candles import Candles, load_csv
from trading.detector import detect_events, detect_setups
from trading.indicators import rsi
from trading.symbols import get_spec

DATA = Path(__file__).resolve().parent.parent / "data" / "samples" / "EURUSD_H1.csv"


def best_ms(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0, result


class SmaCross(Strategy):
    fast = 10
    slow = 20

    def init(self) -> None:
        self.sma_fast = self.I(SMA, self.data.Close, self.fast)
        self.sma_slow = self.I(SMA, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.sma_fast, self.sma_slow):
            self.position.close()
            self.buy()
        elif crossover(self.sma_slow, self.sma_fast):
            self.position.close()
            self.sell()


def backtesting_py(candles: Candles) -> Any:
    frame = pd.DataFrame(
        {
            "Open": candles.open,
            "High": candles.high,
            "Low": candles.low,
            "Close": candles.close,
            "Volume": candles.volume,
        },
        index=pd.to_datetime(candles.time, unit="s"),
    )
    bt = Backtest(frame, SmaCross, cash=10_000, commission=0.0, finalize_trades=True)
    return bt.run()


def main() -> None:
    candles = load_csv(DATA, "EURUSD", 3600).candles
    spec = get_spec("EURUSD")
    detector_ms, events = best_ms(
        lambda: detect_events(candles, rsi_values=rsi(candles.close)), 20
    )
    backtest_ms, result = best_ms(lambda: run_backtest(candles, spec), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yardstick_ms, stats = best_ms(lambda: backtesting_py(candles), 3)
    print(
        json.dumps(
            {
                "bars": len(candles),
                "detector_ms": round(detector_ms, 2),
                "backtest_ms": round(backtest_ms, 2),
                "backtesting_py_ms": round(yardstick_ms, 2),
                "setups": len(detect_setups(candles)),
                "events": len(events),
                "trades": len(result.trades),
                "backtesting_py_trades": int(stats["# Trades"]),
                "targets_ms": {"detector": 20, "backtest": 100},
            }
        )
    )


if __name__ == "__main__":
    main()
