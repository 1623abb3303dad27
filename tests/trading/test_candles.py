"""Candles, bars, CSV / MT5 loaders, error reporting and gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from trading.candles import (
    Bar,
    CandleDataError,
    Candles,
    Gap,
    find_gaps,
    load_csv,
    load_mt5_export,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
T0 = datetime(2017, 4, 19, 9, tzinfo=UTC)


def write(tmp_path: Path, text: str, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bundled_file_loads_as_utc_hourly_bars() -> None:
    res = load_csv(DATA, "EURUSD")
    c = res.candles
    assert len(c) == 5000
    assert (c.symbol, c.timeframe_s) == ("EURUSD", 3600)
    assert c.time_utc(0) == T0
    assert (c.open[0], c.high[0], c.low[0], c.close[0], c.volume[0]) == (
        1.0716,
        1.0722,
        1.07083,
        1.07219,
        1413.0,
    )
    assert c.time.dtype == np.int64
    assert c.close.dtype == np.float64
    # Weekends are reported as gaps (48 missing H1 bars each), never as errors.
    assert len(res.gaps) == 42
    assert res.gaps[0] == Gap(
        datetime(2017, 4, 21, 21, tzinfo=UTC), datetime(2017, 4, 23, 21, tzinfo=UTC), 48
    )


@pytest.mark.parametrize(
    "text",
    [
        "time,open,high,low,close,volume\n2017-04-19 09:00:00,1,2,0.5,1.5,10\n",
        "TIME,OPEN,HIGH,LOW,CLOSE,VOLUME\n2017-04-19 09:00:00,1,2,0.5,1.5,10\n",
        "Date,Open,High,Low,Close,Volume\n2017-04-19T09:00:00Z,1,2,0.5,1.5,10\n",
        ",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1,2,0.5,1.5,10\n",
        "2017-04-19 09:00:00,1,2,0.5,1.5,10\n",  # no header
        "2017-04-19 11:00:00+02:00,1,2,0.5,1.5,10\n",  # offset converted to UTC
        "2017.04.19 09:00,1,2,0.5,1.5,10\n",  # MT5-style date in a CSV
        f"{int(T0.timestamp())},1,2,0.5,1.5,10\n",  # unix seconds
        "\ufefftime,open,high,low,close,volume\n\n2017-04-19 09:00:00,1,2,0.5,1.5,10\n",  # BOM
    ],
)
def test_csv_variants(tmp_path: Path, text: str) -> None:
    c = load_csv(write(tmp_path, text), "X").candles
    assert len(c) == 1
    assert c.time_utc(0) == T0
    assert (c.open[0], c.high[0], c.low[0], c.close[0], c.volume[0]) == (1, 2, 0.5, 1.5, 10)


def test_csv_without_volume_and_reordered_columns(tmp_path: Path) -> None:
    text = "close,low,high,open,time\n1.5,0.5,2,1,2017-04-19 09:00\n"
    c = load_csv(write(tmp_path, text), "X").candles
    assert (c.open[0], c.high[0], c.low[0], c.close[0], c.volume[0]) == (1, 2, 0.5, 1.5, 0)
    c = load_csv(write(tmp_path, "2017-04-19 09:00,1,2,0.5,1.5\n"), "X").candles
    assert c.volume[0] == 0


def test_mt5_export(tmp_path: Path) -> None:
    text = (
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2017.04.19\t09:00:00\t1.07160\t1.07220\t1.07083\t1.07219\t1413\t0\t12\n"
        "2017.04.19\t10:00:00\t1.07214\t1.07296\t1.07214\t1.07260\t1241\t0\t10\n"
        "2017.04.19\t13:00:00\t1.07214\t1.07296\t1.07214\t1.07260\t1241\t0\t10\n"
    )
    res = load_mt5_export(write(tmp_path, text, "x.csv"), "EURUSD")
    c = res.candles
    assert len(c) == 3
    assert c.time_utc(1) == T0 + timedelta(hours=1)
    assert (c.close[0], c.volume[0]) == (1.07219, 1413.0)
    assert res.gaps == (Gap(T0 + timedelta(hours=2), T0 + timedelta(hours=4), 2),)


def test_mt5_daily_export_without_time_column(tmp_path: Path) -> None:
    text = (
        "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2017.04.19\t1.0\t1.2\t0.9\t1.1\t100\t0\t10\n"
        "2017.04.20\t1.1\t1.3\t1.0\t1.2\t100\t0\t10\n"
    )
    c = load_mt5_export(write(tmp_path, text), "EURUSD", timeframe_s=86400).candles
    assert c.time_utc(1) == datetime(2017, 4, 20, tzinfo=UTC)


GOOD = "2017-04-19 09:00:00,1,2,0.5,1.5,10\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2017-04-19 09:00:00,1,2,0.5,1.5,10", "duplicate time"),
        ("2017-04-19 08:00:00,1,2,0.5,1.5,10", "unsorted"),
        ("2017-04-19 10:00:00,1,0.4,0.5,0.45,10", "high 0.4 < low 0.5"),
        ("2017-04-19 10:00:00,0,2,0,1,10", "non-positive price"),
        ("2017-04-19 10:00:00,-1,2,0.5,1,10", "non-positive price"),
        ("2017-04-19 10:00:00,nan,2,0.5,1,10", "bad number"),  # "nan" is no number
        ("2017-04-19 10:00:00,1,inf,0.5,1,10", "bad number"),
        ("2017-04-19 10:00:00,1,2,0.5,1e999,10", "bad number"),  # a float would be inf
        ("2017-04-19 10:00:00,1,2,0.5,abc,10", "bad number"),
        # Only ASCII digits are digits: float() takes all of these
        ("2017-04-19 10:00:00,\u0661.5,2,0.5,1,10", "bad number"),  # Arabic-Indic 1
        ("2017-04-19 10:00:00,\uff11,2,0.5,1,10", "bad number"),  # fullwidth 1
        ("2017-04-19 10:00:00,1_0,20,0.5,1,10", "bad number"),
        ("\u0661\u0664\u0669\u0662\u0665\u0669\u0666\u0668\u0660\u0660,1,2,0.5,1,10", "bad time"),
        ("2017-04-19 10:00:00,1,2,0.5", "too few columns"),
        ("yesterday,1,2,0.5,1.5,10", "bad time"),
        ("2017-04-19 10:00:00,3,2,0.5,1.5,10", "open/close outside"),
        ("2017-04-19 10:00:00,1,2,0.5,1.5,-5", "negative volume"),
    ],
)
def test_bad_rows_raise_with_line_number(tmp_path: Path, row: str, reason: str) -> None:
    path = write(tmp_path, "time,open,high,low,close,volume\n" + GOOD + row + "\n")
    with pytest.raises(CandleDataError, match=reason) as err:
        load_csv(path, "X")
    assert err.value.line == 3
    assert f"{path}:3:" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_empty_file_gives_empty_candles(tmp_path: Path) -> None:
    res = load_csv(write(tmp_path, "time,open,high,low,close\n"), "X")
    assert len(res.candles) == 0
    assert res.gaps == ()


def test_loader_rejects_bad_timeframe(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timeframe_s must be > 0"):
        load_csv(write(tmp_path, GOOD), "X", timeframe_s=0)


def test_find_gaps() -> None:
    h = 3600
    assert find_gaps([0, h, 2 * h], h) == ()
    assert find_gaps([], h) == ()
    (gap,) = find_gaps([0, h, 5 * h], h)
    assert gap.missing_bars == 3
    assert gap.start == datetime.fromtimestamp(2 * h, UTC)
    assert gap.end == datetime.fromtimestamp(5 * h, UTC)


# ------------------------------------------------------------------------ Candles


def small(n: int = 5) -> Candles:
    t = int(T0.timestamp()) + 3600 * np.arange(n)
    p = np.linspace(1.0, 2.0, n)
    return Candles("X", 3600, t, p, p + 0.1, p - 0.1, p, np.ones(n))


def test_candles_slice_upto_and_bar_access() -> None:
    c = small()
    assert len(c.slice(1, 3)) == 2
    assert c.slice(1, 3).time_utc(0) == T0 + timedelta(hours=1)
    assert len(c.upto(2)) == 3
    assert len(c.upto(-1)) == 5
    assert c.close_time_utc(0) == T0 + timedelta(hours=1)
    bar = c.bar(4)
    assert (bar.time, bar.close, bar.high) == (T0 + timedelta(hours=4), 2.0, 2.1)
    assert list(c.bars())[4] == bar


def test_candles_roundtrip_from_bars_and_append() -> None:
    c = small()
    again = Candles.from_bars("X", c.bars())
    np.testing.assert_array_equal(again.time, c.time)
    np.testing.assert_array_equal(again.close, c.close)
    grown = Candles.empty("X").append(c.bar(0)).append(c.bar(1))
    assert len(grown) == 2
    with pytest.raises(ValueError, match="strictly increase"):
        grown.append(c.bar(0))


def test_closed_drops_the_forming_bar() -> None:
    c = small()
    assert len(c.closed(T0 + timedelta(hours=5))) == 5  # last bar closed exactly now
    assert len(c.closed(T0 + timedelta(hours=4, minutes=59))) == 4
    assert len(c.closed(T0)) == 0
    with pytest.raises(ValueError, match="naive"):
        c.closed(datetime(2017, 4, 19, 12))  # noqa: DTZ001 - the point of the test


def test_candles_are_immutable_copies() -> None:
    closes = np.array([1.0, 2.0])
    c = Candles("X", 3600, np.array([0, 3600]), closes, closes, closes, closes, closes)
    closes[0] = 99.0
    assert c.close[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        c.close[0] = 5.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [0, 0]}, "strictly increase"),
        ({"time": [3600, 0]}, "strictly increase"),
        ({"close": [1.0]}, "close has 1 values but time has 2"),
        ({"timeframe_s": 0}, "timeframe_s must be > 0"),
        ({"high": [[1.0, 2.0]]}, "one-dimensional"),
    ],
)
def test_candles_validation(kwargs: dict, message: str) -> None:
    args: dict = {
        "symbol": "X",
        "timeframe_s": 3600,
        "time": [0, 3600],
        "open": [1.0, 1.0],
        "high": [1.0, 1.0],
        "low": [1.0, 1.0],
        "close": [1.0, 1.0],
        "volume": [0.0, 0.0],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Candles(**args)


def test_bar_validation_and_utc_normalisation() -> None:
    with pytest.raises(ValueError, match="naive"):
        Bar(datetime(2017, 4, 19, 9), 1, 1, 1, 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="high 1 < low 2"):
        Bar(T0, 1, 1, 2, 1)
    with pytest.raises(ValueError, match="NaN"):
        Bar(T0, float("nan"), 1, 1, 1)
    cet = timezone(timedelta(hours=2))
    bar = Bar(datetime(2017, 4, 19, 11, tzinfo=cet), 1, 1, 1, 1)
    assert bar.time == T0
    assert bar.time.tzinfo is UTC


def test_empty_candles() -> None:
    c = Candles.empty("X")
    assert len(c) == 0
    assert len(c.upto(-1)) == 0
    assert list(c.bars()) == []
