"""OHLCV candles: one immutable struct of arrays per (symbol, timeframe), plus single bars.

Times are unix seconds UTC of the bar OPEN (`time[i]`); a bar closes at `time[i] + timeframe_s`.
Only closed bars belong in a `Candles` (STRATEGY.md "Inputs": a forming bar is never used);
`Candles.closed(now)` drops a forming tail. `load_csv` / `load_mt5_export` read files
(row parsing in `trading.candle_files`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from trading.candle_files import CandleDataError, Gap, bar_problem, find_gaps, read_rows
from trading.timeutil import to_unix_s, utc_from_unix_s

__all__ = [
    "Bar",
    "CandleDataError",
    "Candles",
    "Gap",
    "LoadResult",
    "find_gaps",
    "load_csv",
    "load_mt5_export",
    "to_unix_s",
    "utc_from_unix_s",
]


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar. `time` is the aware UTC OPEN time; prices in quote units."""

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0

    def __post_init__(self) -> None:
        to_unix_s(self.time)  # rejects naive times
        if self.time.utcoffset() != timedelta(0):
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        reason = bar_problem(self.open, self.high, self.low, self.close, self.volume)
        if reason:
            msg = f"bad bar at {self.time.isoformat()}: {reason}; repair or drop the bar"
            raise ValueError(msg)


def _frozen_array(values: object, dtype: type[np.generic]) -> NDArray[np.generic]:
    arr = np.array(values, dtype=dtype)  # copy: callers cannot mutate our arrays afterwards
    if arr.ndim != 1:
        msg = f"candle arrays must be one-dimensional, got shape {arr.shape}"
        raise ValueError(msg)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Candles:
    """Closed OHLCV bars of one symbol, struct-of-arrays, strictly increasing open times.

    `time`: int64 unix seconds UTC of each bar's open; `open/high/low/close/volume`: float64.
    Arrays are copied and made read-only at construction.
    """

    symbol: str
    timeframe_s: int
    time: NDArray[np.int64]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.timeframe_s <= 0:
            msg = f"timeframe_s must be > 0 seconds (3600 for H1), got {self.timeframe_s}"
            raise ValueError(msg)
        object.__setattr__(self, "time", _frozen_array(self.time, np.int64))
        n = len(self.time)
        for name in ("open", "high", "low", "close", "volume"):
            arr = _frozen_array(getattr(self, name), np.float64)
            if len(arr) != n:
                msg = f"{name} has {len(arr)} values but time has {n}; pass equal-length arrays"
                raise ValueError(msg)
            object.__setattr__(self, name, arr)
        if n > 1 and not bool(np.all(np.diff(self.time) > 0)):
            bad = int(np.argmax(np.diff(self.time) <= 0)) + 1
            msg = (
                f"times must strictly increase; bar {bad} is not after bar {bad - 1}; sort/dedupe"
            )
            raise ValueError(msg)

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls, symbol: str, timeframe_s: int = 3600) -> Candles:
        """A zero-length series (useful as the seed of `append`)."""
        no_prices = np.empty(0, dtype=np.float64)
        times = np.empty(0, dtype=np.int64)
        return cls(symbol, timeframe_s, times, *([no_prices] * 5))

    @classmethod
    def from_bars(cls, symbol: str, bars: Iterable[Bar], timeframe_s: int = 3600) -> Candles:
        """Build from `Bar`s in time order (validated like the constructor)."""
        rows = list(bars)
        return cls(
            symbol,
            timeframe_s,
            np.array([to_unix_s(b.time) for b in rows], dtype=np.int64),
            np.array([b.open for b in rows]),
            np.array([b.high for b in rows]),
            np.array([b.low for b in rows]),
            np.array([b.close for b in rows]),
            np.array([b.volume for b in rows]),
        )

    def _take(self, sl: slice) -> Candles:
        return Candles(
            self.symbol,
            self.timeframe_s,
            self.time[sl],
            self.open[sl],
            self.high[sl],
            self.low[sl],
            self.close[sl],
            self.volume[sl],
        )

    def slice(self, start: int | None, stop: int | None) -> Candles:
        """Bars `[start, stop)` with Python slice semantics."""
        return self._take(slice(start, stop))

    def upto(self, index: int) -> Candles:
        """Bars `0..index` inclusive: the history as known at the close of bar `index`."""
        if index < 0:
            index += len(self)
        return self._take(slice(0, index + 1))

    def closed(self, now: datetime) -> Candles:
        """Only the bars whose close `time + timeframe_s <= now` (drops a forming tail bar)."""
        cut = int(np.searchsorted(self.time + self.timeframe_s, to_unix_s(now), side="right"))
        return self if cut == len(self) else self._take(slice(0, cut))

    def append(self, bar: Bar) -> Candles:
        """A new series with `bar` appended (O(n) copy; live code should use `Bar`s directly)."""
        return Candles.from_bars(self.symbol, [*self.bars(), bar], self.timeframe_s)

    def time_utc(self, i: int) -> datetime:
        """Aware UTC open time of bar `i`."""
        return utc_from_unix_s(int(self.time[i]))

    def close_time_utc(self, i: int) -> datetime:
        """Aware UTC close time of bar `i` (= open + timeframe)."""
        return utc_from_unix_s(int(self.time[i]) + self.timeframe_s)

    def bar(self, i: int) -> Bar:
        """Bar `i` as a `Bar`."""
        return Bar(
            self.time_utc(i),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )

    def bars(self) -> Iterator[Bar]:
        """Iterate over the bars in time order."""
        return (self.bar(i) for i in range(len(self)))


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A loaded series and the gaps found in it (gaps are reported, never fatal)."""

    candles: Candles
    gaps: tuple[Gap, ...]


def _load(path: str | Path, symbol: str, timeframe_s: int, delimiter: str) -> LoadResult:
    if timeframe_s <= 0:
        msg = f"timeframe_s must be > 0 seconds (3600 for H1), got {timeframe_s}"
        raise ValueError(msg)
    time_s, ohlcv = read_rows(path, delimiter)
    candles = Candles(symbol, timeframe_s, time_s, *ohlcv.T)
    return LoadResult(candles, find_gaps(time_s, timeframe_s))


def load_csv(path: str | Path, symbol: str, timeframe_s: int = 3600) -> LoadResult:
    """Load `time,open,high,low,close[,volume]` CSV (header optional, case-insensitive; an
    unnamed first column holds the time, as in `data/samples/EURUSD_H1.csv`).

    Times: ISO 8601 text (`2017-04-19 09:00:00`, `...T...Z`, offsets, `2017.04.19 09:00`) or
    unix seconds; naive means UTC. Volume defaults to 0. Raises `CandleDataError` (line number +
    reason) on malformed, duplicate or unsorted rows, high < low, non-positive prices, NaN.
    Missing bars are returned as `gaps`, not raised.
    """
    return _load(path, symbol, timeframe_s, ",")


def load_mt5_export(path: str | Path, symbol: str, timeframe_s: int = 3600) -> LoadResult:
    """Load a MetaTrader 5 history export: tab-separated
    `<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>`, date `2017.04.19`,
    time `09:00:00` (daily exports may omit `<TIME>`). Tick volume becomes `volume`.

    Times are taken as UTC: MT5 exports in the broker's server time, so convert the file first
    when the server is not on UTC. Errors and gaps as in `load_csv`.
    """
    return _load(path, symbol, timeframe_s, "\t")
