import io
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trading.candles import Candles, load_csv
from trading.charting import (
    MAX_BARS,
    ChartLevels,
    chart_window,
    nice_ticks,
    price_digits,
    render_signal_chart,
    spread_apart,
    x_ticks,
)
from trading.detector import Setup, Side, detect_setups

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def eurusd() -> Candles:
    path = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
    return load_csv(path, "EURUSD").candles


@pytest.fixture(scope="module")
def setups(eurusd: Candles) -> list[Setup]:
    return detect_setups(eurusd)


def first(setups: list[Setup], side: Side) -> Setup:
    return next(s for s in setups if s.side is side)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must follow the signature."""
    assert png[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def chart_of(candles: Candles, setup: Setup, **kwargs: object) -> bytes:
    sub = candles.slice(0, setup.leg2_end_index + 1)
    levels = ChartLevels.from_setup(setup, signal_id=7)
    return render_signal_chart(sub, levels, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
@pytest.mark.parametrize(("width", "height", "dpi"), [(960, 600, 100), (640, 400, 72)])
def test_renders_png_of_requested_pixel_size(
    eurusd: Candles, setups: list[Setup], side: Side, width: int, height: int, dpi: int
) -> None:
    png = chart_of(eurusd, first(setups, side), width_px=width, height_px=height, dpi=dpi)
    assert png_size(png) == (width, height)
    with Image.open(io.BytesIO(png)) as img:
        img.load()  # decodes the whole stream: a truncated or corrupt PNG raises
        assert img.size == (width, height)
        assert len(img.getcolors(maxcolors=1 << 16) or ()) > 10  # not a blank canvas


def test_same_input_gives_same_bytes_whatever_was_rendered_before(
    eurusd: Candles, setups: list[Setup]
) -> None:
    buy, sell = first(setups, Side.BUY), first(setups, Side.SELL)
    a = chart_of(eurusd, sell)
    b = chart_of(eurusd, buy)
    assert chart_of(eurusd, sell) == a
    assert chart_of(eurusd, buy) == b
    assert a != b
    assert b"tEXt" not in a and b"tIME" not in a  # no timestamp/software metadata


def test_concurrent_renders_from_threads_match_serial(
    eurusd: Candles, setups: list[Setup]
) -> None:
    # ensure_chart renders in worker threads; the shared template must not leak between them.
    chosen = setups[3:9]
    serial = [chart_of(eurusd, s) for s in chosen]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda s: chart_of(eurusd, s), chosen))
    assert threaded == serial


def test_window_reaches_back_to_point1(eurusd: Candles, setups: list[Setup]) -> None:
    setup = max(setups, key=lambda s: s.leg2_end_index - s.point1_index)
    sub = eurusd.slice(0, setup.leg2_end_index + 1)
    levels = ChartLevels.from_setup(setup)
    bars = 10
    assert len(sub) - setup.point1_index > bars  # point 1 is older than the default window
    start, stop = chart_window(sub, levels, bars)
    assert start <= setup.point1_index < stop == len(sub)
    assert stop - start <= MAX_BARS
    assert png_size(render_signal_chart(sub, levels, bars=bars)) == (960, 600)


def test_window_is_capped_when_point1_is_very_old(eurusd: Candles, setups: list[Setup]) -> None:
    setup = setups[0]
    levels = ChartLevels.from_setup(setup)
    start, stop = chart_window(eurusd, levels, 120)
    assert (start, stop) == (len(eurusd) - MAX_BARS, len(eurusd))
    assert png_size(render_signal_chart(eurusd, levels)) == (960, 600)  # point 1 off-chart


def one_bar_levels(t0: int) -> ChartLevels:
    return ChartLevels(
        side="buy",  # type: ignore[arg-type]  # plain strings are accepted too
        entry=1922.0,
        stop=1918.5,
        take_profit=1933.375,
        point1=(t0, 1920.0),
        point2=(datetime.fromtimestamp(t0, tz=UTC), 1925.1),
    )


@pytest.mark.parametrize("n_bars", [1, 2, 15])
def test_short_series_and_nan_rsi_warm_up(n_bars: int) -> None:
    t0 = 1_700_000_000 - 1_700_000_000 % 3600
    times = t0 + 3600 * np.arange(n_bars)
    close = 1924.0 + np.sin(np.arange(n_bars))
    candles = Candles("XAUUSD", 3600, times, close, close + 1.1, close - 4.0, close, close * 0)
    png = render_signal_chart(candles, one_bar_levels(t0))  # RSI is all NaN below 14 bars
    assert png_size(png) == (960, 600)
    all_nan = np.full(n_bars, np.nan)
    assert png_size(render_signal_chart(candles, one_bar_levels(t0), rsi_values=all_nan))


def test_levels_are_validated() -> None:
    with pytest.raises(ValueError, match="finite"):
        ChartLevels(Side.SELL, float("nan"), 2.0, 0.5, (0, 1.5), (0, 1.0))
    with pytest.raises(ValueError, match="buy"):
        ChartLevels("long", 1.0, 2.0, 0.5, (0, 1.5), (0, 1.0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bars": 0}, "bars"),
        ({"width_px": 100}, "chart size"),
        ({"rsi_values": np.zeros(3)}, "RSI values"),
    ],
)
def test_bad_arguments_say_how_to_fix(
    eurusd: Candles, setups: list[Setup], kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        chart_of(eurusd, setups[5], **kwargs)


def test_empty_candles_are_refused() -> None:
    with pytest.raises(ValueError, match="no candles"):
        render_signal_chart(Candles.empty("EURUSD"), one_bar_levels(0))


@pytest.mark.parametrize(
    ("prices", "digits"),
    [
        ([1.0716, 1.07219, 1.07083], 5),  # FX: 5 decimals
        ([1923.45, 1925.1, 1920.0], 2),  # gold
        ([15000.0, 15300.0, 14900.0], 0),  # index in whole points
        ([1.0716123456789, 1.0816987654321], 4),  # noisy floats: 1/100 of the range
        ([1.07, 1.0701], 6),  # coarse data, tiny range
    ],
)
def test_price_digits(prices: list[float], digits: int) -> None:
    assert price_digits(np.array(prices)) == digits


def test_nice_ticks_are_round_and_inside() -> None:
    ticks = nice_ticks(1.11096, 1.12825)
    assert ticks.tolist() == pytest.approx([1.1125, 1.115, 1.1175, 1.12, 1.1225, 1.125, 1.1275])
    assert len(nice_ticks(1920.0, 1933.4)) <= 7
    assert nice_ticks(5.0, 5.0).tolist() == [5.0]


def test_x_ticks_label_day_starts_and_skip_short_sessions() -> None:
    sunday_21h = int(datetime(2017, 5, 28, 21, tzinfo=UTC).timestamp())
    times = sunday_21h + 3600 * np.arange(120)
    idx, labels = x_ticks(times, 3600)
    assert labels[:2] == ["29 May", "30 May"]  # Sunday's 3-bar session gives way to Monday
    assert idx[0] == 3
    assert len(idx) <= 6
    assert x_ticks(times[:5], 3600)[1][0] == "28 May 21:00"


@pytest.mark.parametrize(
    ("wanted", "gap", "placed"),
    [
        ([10.0, 50.0, 90.0], 17.0, [10.0, 50.0, 90.0]),  # far apart: untouched
        ([100.0, 105.0, 0.0], 20.0, [92.5, 112.5, 0.0]),  # a close pair centres on its mean
        ([30.0, 30.0, 30.0], 10.0, [20.0, 30.0, 40.0]),  # all equal: stacked in input order
        ([0.0, 15.0, 25.0], 20.0, [-6.666666666666668, 13.333333333333332, 33.33333333333333]),
    ],
)
def test_spread_apart_keeps_order_and_gap(
    wanted: list[float], gap: float, placed: list[float]
) -> None:
    got = spread_apart(wanted, gap)
    assert got == pytest.approx(placed)
    ordered = sorted(got)
    assert all(b - a >= gap - 1e-9 for a, b in zip(ordered, ordered[1:], strict=False))


def test_a_chart_without_fib_points(eurusd: Candles, setups: list[Setup]) -> None:
    """A manual signal has no points 1 and 2: no leg, no circled labels, the bands start at
    the last bar; the levels are still drawn (the picture differs when they move)."""
    setup = first(setups, Side.SELL)
    sub = eurusd.slice(0, setup.leg2_end_index + 1)
    manual = ChartLevels(Side.SELL, setup.entry, setup.stop, setup.take_profit, title="manual")
    assert chart_window(sub, manual, 120) == (max(0, len(sub) - 120), len(sub))
    png = render_signal_chart(sub, manual)
    assert png_size(png) == (960, 600)
    assert png == render_signal_chart(sub, manual), "deterministic"
    with_points = ChartLevels.from_setup(setup, title="manual")
    assert png != render_signal_chart(sub, with_points)
    moved = ChartLevels(
        Side.SELL, setup.entry, setup.stop * 1.001, setup.take_profit, title="manual"
    )
    assert png != render_signal_chart(sub, moved)
