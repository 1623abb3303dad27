"""Candle file parsing (plain CSV, MetaTrader 5 history export) and gap reports.

`trading.candles.load_csv` / `load_mt5_export` are the public entry points.

Rows are validated one by one so a bad file fails with its line number and the reason
(`CandleDataError`). Missing bars are not errors: markets close, brokers drop bars. They are
returned as `Gap`s for the caller to judge (weekend closures of FX/metals show up as gaps too;
filter them with `trading.market_hours.is_open` when that matters).
Naive timestamps are UTC.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from trading.number_text import parse_float, parse_int
from trading.timeutil import utc_from_unix_s


def bar_problem(open_: float, high: float, low: float, close: float, volume: float) -> str:
    """'' when the OHLCV values form a sane bar, else the reason (finite, prices > 0,
    low <= open/close <= high, volume >= 0)."""
    if not all(math.isfinite(v) for v in (open_, high, low, close, volume)):
        return "NaN or infinite value"
    if min(open_, high, low, close) <= 0:
        return "non-positive price"
    if high < low:
        return f"high {high} < low {low}"
    if not (low <= open_ <= high and low <= close <= high):
        return "open/close outside [low, high]"
    if volume < 0:
        return "negative volume"
    return ""


class CandleDataError(ValueError):
    """A candle file row is malformed, duplicated, out of order or not a sane bar."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}; fix or remove that row and load again")


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars: `start` is the open time of the first missing bar, `end` the open time of
    the bar that resumes the series; `missing_bars = (end - start) // timeframe`."""

    start: datetime
    end: datetime
    missing_bars: int


def find_gaps(time_s: Sequence[int] | np.ndarray, timeframe_s: int) -> tuple[Gap, ...]:
    """Gaps where consecutive open times differ by more than one timeframe.

    Formula: for each i with d = time[i] - time[i-1] > timeframe_s, a gap of
    d // timeframe_s - 1 bars starting at time[i-1] + timeframe_s. Units: seconds.
    """
    t = np.asarray(time_s, dtype=np.int64)
    if len(t) < 2:
        return ()
    delta = np.diff(t)
    gaps = []
    for i in np.flatnonzero(delta > timeframe_s):
        start = int(t[i]) + timeframe_s
        missing = int(delta[i]) // timeframe_s - 1
        if missing > 0:
            gaps.append(Gap(utc_from_unix_s(start), utc_from_unix_s(int(t[i + 1])), missing))
    return tuple(gaps)


MAX_UNIX_S = 32_503_680_000  # year 3000
_TIME_NAMES = {"", "time", "date", "datetime", "timestamp", "date_time", "unnamed: 0"}
_COLUMNS = ("open", "high", "low", "close", "volume")
_ALIASES = {"tickvol": "volume", "tick_volume": "volume", "vol": "real_volume"}


def _parse_time(text: str) -> int:
    """Unix seconds from ISO-like text (`2017-04-19 09:00[:00]`, `2017.04.19 09:00`, `...Z`,
    offsets) or a plain integer of unix seconds. Naive -> UTC."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return parse_int(text, 0, MAX_UNIX_S)
    if len(text) >= 10 and text[4] == "." and text[7] == ".":
        text = text[:4] + "-" + text[5:7] + "-" + text[8:]
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp())


class _Builder:
    """Accumulates validated rows; raises `CandleDataError` at the first bad one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.time: list[int] = []
        self.ohlcv: list[tuple[float, float, float, float, float]] = []

    def add(self, line: int, time_text: str, fields: Sequence[str]) -> None:
        """Validate one row (time text, [open, high, low, close, volume] texts) and keep it."""
        try:
            t = _parse_time(time_text)
        except ValueError:
            raise CandleDataError(self.path, line, f"bad time {time_text!r}") from None
        try:
            o, h, lo, c, v = (parse_float(x.strip(), exponent=True) for x in fields)
        except ValueError:
            raise CandleDataError(self.path, line, f"bad number in {list(fields)}") from None
        reason = bar_problem(o, h, lo, c, v)
        if reason:
            raise CandleDataError(self.path, line, reason)
        if self.time and t <= self.time[-1]:
            what = "duplicate" if t == self.time[-1] else "unsorted (earlier than previous row)"
            raise CandleDataError(self.path, line, f"{what} time {utc_from_unix_s(t)}")
        self.time.append(t)
        self.ohlcv.append((o, h, lo, c, v))

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """(time[n], ohlcv[n, 5]) of the rows read so far."""
        ohlcv = np.array(self.ohlcv, dtype=np.float64).reshape(-1, 5)
        return np.array(self.time, dtype=np.int64), ohlcv


def _header_map(header: Sequence[str]) -> dict[str, int] | None:
    """Column positions from a header row, or None when the row is data (no header)."""
    names = [h.strip().strip("<>").lower() for h in header]
    names = [_ALIASES.get(n, n) for n in names]
    if not {"open", "high", "low", "close"} <= set(names):
        return None
    pos = {n: i for i, n in enumerate(names) if n in _COLUMNS}
    time_cols = [i for i, n in enumerate(names) if n in _TIME_NAMES]
    if "time" in names and "date" in names:
        pos["date"], pos["time"] = names.index("date"), names.index("time")
    elif time_cols:
        pos["time"] = time_cols[0]
    else:
        return None
    return pos


def _rows(lines: Iterable[str], delimiter: str) -> Iterable[tuple[int, list[str]]]:
    for line_no, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        if row and any(cell.strip() for cell in row):
            yield line_no, row


def read_rows(path: str | Path, delimiter: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Parse and validate a candle file into (time_s[n], ohlcv[n, 5]); see `candles.load_csv`."""
    builder = _Builder(str(path))
    pos: dict[str, int] | None = None
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line_no, row in _rows(fh, delimiter):
            if pos is None:
                pos = _header_map(row)
                if pos is not None:
                    continue
                pos = {"time": 0, **{c: i + 1 for i, c in enumerate(_COLUMNS)}}
            _add_row(builder, line_no, row, pos)
    return builder.arrays()


def _add_row(builder: _Builder, line_no: int, row: list[str], pos: dict[str, int]) -> None:
    needed = [pos["time"], pos.get("date", 0)] + [pos[c] for c in _COLUMNS[:4]]
    if max(needed) >= len(row):
        raise CandleDataError(builder.path, line_no, f"too few columns in {row}")
    stamp = row[pos["time"]]
    if "date" in pos:
        stamp = f"{row[pos['date']]} {stamp}"
    volume = row[pos["volume"]] if pos.get("volume", len(row)) < len(row) else "0"
    builder.add(line_no, stamp, [*(row[pos[c]] for c in _COLUMNS[:4]), volume])
