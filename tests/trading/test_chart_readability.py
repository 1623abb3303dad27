"""What a trader reads on the signal chart, asserted on the drawn figure's artists (texts, lines,
limits, extents) rather than on pixels: title, named points, Fib levels, last price, time labels
inside the figure, far levels as edge arrows, the watermark clear of everything, the RSI scale.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from trading.candles import Candles, load_csv
from trading.chart_figure import ChartTemplate, chart_template
from trading.chart_layout import MAX_LEVEL_STRETCH
from trading.charting import ChartLevels, chart_window, render_signal_chart
from trading.detector import Setup, Side, StrategyParams, detect_setups
from trading.indicators import rsi


@pytest.fixture(scope="module")
def eurusd() -> Candles:
    path = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
    return load_csv(path, "EURUSD").candles


@pytest.fixture(scope="module")
def setups(eurusd: Candles) -> list[Setup]:
    return detect_setups(eurusd)


def first(setups: list[Setup], side: Side) -> Setup:
    return next(s for s in setups if s.side is side)


def drawn(candles: Candles, levels: ChartLevels, **kw: int) -> ChartTemplate:
    """Render, then hand back the figure as drawn (templates are per pixel size)."""
    render_signal_chart(candles, levels, **kw)  # type: ignore[arg-type]
    return chart_template(kw.get("width_px", 960), kw.get("height_px", 600), kw.get("dpi", 100))


def at_publication(candles: Candles, setup: Setup) -> Candles:
    return candles.slice(0, setup.leg2_end_index + 1)


def shown(texts: list[Text]) -> list[str]:
    return [t.get_text() for t in texts if t.get_visible()]


def extent(t: ChartTemplate, artist: Text) -> Bbox:
    return artist.get_window_extent(t.canvas.get_renderer())


def price_px(t: ChartTemplate, price: float) -> float:
    return float(t.price.transData.transform((0.0, price))[1])


def test_title_names_symbol_side_timeframe_bar_time_signal_and_revision(
    eurusd: Candles, setups: list[Setup]
) -> None:
    sell = first(setups, Side.SELL)
    candles = at_publication(eurusd, sell)
    bar = datetime.fromtimestamp(int(candles.time[-1]), tz=UTC)
    t = drawn(candles, ChartLevels.from_setup(sell, signal_id=12, status="Pending"))
    assert t.title.get_text() == "EURUSD · SELL"
    assert t.title_detail.get_text() == f"H1 · {bar:%d %b %Y %H:%M} UTC · #12"
    assert t.status.get_text() == "Pending"
    assert extent(t, t.title_detail).x0 > extent(t, t.title).x1  # after the headline
    assert extent(t, t.title_detail).x1 < extent(t, t.status).x0  # clear of the status
    t = drawn(candles, ChartLevels.from_setup(sell, signal_id=12, version=2))
    assert t.title_detail.get_text().endswith("· #12 · revision 2")


@pytest.mark.parametrize(("side", "names"), [(Side.SELL, ("1 swing high", "2 swing low")),
                                             (Side.BUY, ("1 swing low", "2 swing high"))])  # fmt: skip
def test_points_1_and_2_say_what_they_are(
    eurusd: Candles, setups: list[Setup], side: Side, names: tuple[str, str]
) -> None:
    setup = first(setups, side)
    candles, levels = at_publication(eurusd, setup), ChartLevels.from_setup(setup)
    t = drawn(candles, levels)
    assert shown(t.point_labels) == list(names)
    points = ((setup.point1_index, setup.point1_price), (setup.point2_index, setup.point2_price))
    start, _ = chart_window(candles, levels)
    for label, (index, price) in zip(t.point_labels, points, strict=True):
        x, y = t.price.transData.transform((index - start, price))
        box = extent(t, label)
        assert x - 15 <= box.x1 <= x  # just left of its point
        assert box.y0 - 25 <= y <= box.y1 + 25  # level with it or just beyond its extreme


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
def test_fib_retracement_levels_are_drawn_and_labelled(
    eurusd: Candles, setups: list[Setup], side: Side
) -> None:
    setup = first(setups, side)
    t = drawn(at_publication(eurusd, setup), ChartLevels.from_setup(setup))
    assert shown(t.fib_labels) == ["0 %", "74 %", "100 %", "127 %"]
    lines = {round(float(seg[0][1]), 8) for seg in t.fib_lines.get_segments()}
    leg = setup.point1_price - setup.point2_price
    expected = [setup.point2_price + r * leg for r in (0.0, 0.74, 1.0, 1.27)]
    assert lines == {round(p, 8) for p in expected}
    assert expected[1] == pytest.approx(setup.entry) and expected[3] == pytest.approx(setup.stop)
    for label, price in zip(t.fib_labels, expected, strict=True):  # just above its own line
        assert 0 <= extent(t, label).y0 - price_px(t, price) < 20


def test_tuned_ratios_are_the_levels_drawn(eurusd: Candles, setups: list[Setup]) -> None:
    setup = first(setups, Side.SELL)
    params = StrategyParams(entry_ratio=0.618, stop_ratio=0.2, rsi_low=30.0)
    t = drawn(at_publication(eurusd, setup), ChartLevels.from_setup(setup, params=params))
    assert shown(t.fib_labels) == ["0 %", "61.8 %", "100 %", "120 %"]
    assert [line.get_ydata()[0] for line in t.rsi_thresholds] == [70.0, 30.0]  # type: ignore[index]


def test_last_price_is_marked_on_the_price_scale(eurusd: Candles, setups: list[Setup]) -> None:
    for setup in setups[:6]:
        candles = at_publication(eurusd, setup)
        t = drawn(candles, ChartLevels.from_setup(setup, digits=5))
        close = float(candles.close[-1])
        assert t.last_tag.get_visible() and t.last_tag.get_text() == f"{close:.5f}"
        assert t.last_tag.get_position()[1] == close
        assert extent(t, t.last_tag).x0 >= t.price.bbox.x1  # on the scale, right of the panel
        rising = candles.close[-1] >= candles.open[-1]
        patch = t.last_tag.get_bbox_patch()
        assert patch is not None
        assert patch.get_facecolor()[:3] == pytest.approx(
            (0x26 / 255, 0xA6 / 255, 0x9A / 255)
            if rising
            else (0xEF / 255, 0x53 / 255, 0x50 / 255)
        )
        tag = extent(t, t.last_tag)
        for label in t.price_labels:  # no tick label under the tag
            if label.get_visible():
                assert not extent(t, label).overlaps(tag)


def test_time_labels_stay_inside_the_figure(eurusd: Candles) -> None:
    # A window starting at 23:00 UTC puts a day label on its second bar, at the left edge
    # (it was cut off there); few bars put time labels closer than their width.
    late = int(np.flatnonzero(eurusd.time % 86400 == 23 * 3600)[3])
    for bars in (300, 120, 30, 5, 2):
        candles = eurusd.slice(late, late + bars)
        levels = ChartLevels(Side.BUY, float(candles.close[-1]), float(candles.low.min()),
                             float(candles.high.max()) + 0.001)  # fmt: skip
        t = drawn(candles, levels, bars=bars)
        visible = [label for label in t.time_labels if label.get_visible()]
        assert visible, bars
        for label in visible:
            box = extent(t, label)
            assert box.x0 >= t.price.bbox.x0 and box.x1 <= t.fig.bbox.x1, (bars, label)
        boxes = [extent(t, label) for label in visible]
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))  # no overlap


def synthetic(n: int = 120, base: float = 1.1000, swing: float = 0.0020) -> Candles:
    t0 = int(datetime(2024, 3, 4, tzinfo=UTC).timestamp())
    close = base + swing * np.sin(np.arange(n) / 9.0)
    return Candles("EURUSD", 3600, t0 + 3600 * np.arange(n), close, close + 0.0004,
                   close - 0.0004, close + 0.00005, np.zeros(n))  # fmt: skip


def test_far_take_profit_is_an_edge_arrow_and_candles_keep_the_height() -> None:
    candles = synthetic()
    lo, hi = float(candles.low.min()), float(candles.high.max())
    entry, stop = hi - 0.0005, hi + 0.0006
    take_profit = entry - 3.25 * (stop - entry) * 4  # far below the candles
    t = drawn(candles, ChartLevels(Side.SELL, entry, stop, take_profit, digits=5))
    y0, y1 = t.price.get_ylim()
    assert (hi - lo) / (y1 - y0) >= 1 / (MAX_LEVEL_STRETCH * 1.2)  # candles fill the panel
    assert y0 > take_profit
    tp_line, sl_line, entry_line = t.level_lines
    assert not tp_line.get_visible() and sl_line.get_visible() and entry_line.get_visible()
    tp_tag = t.level_tags[0]
    assert tp_tag.get_text() == f"TP {take_profit:.5f} ▼"
    assert y0 <= tp_tag.get_position()[1] <= y1
    panel = t.price.bbox
    for tag in t.level_tags:  # every tag inside the panel, none on another
        box = extent(t, tag)
        assert panel.y0 <= box.y0 and box.y1 <= panel.y1
    boxes = [extent(t, tag) for tag in t.level_tags]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_near_levels_are_lines_and_a_far_stop_points_up() -> None:
    candles = synthetic()
    lo, hi = float(candles.low.min()), float(candles.high.max())
    near = ChartLevels(Side.BUY, lo + 0.0010, lo - 0.0005, hi, digits=5)
    t = drawn(candles, near)
    assert all(line.get_visible() for line in t.level_lines)
    assert all("▲" not in tag.get_text() and "▼" not in tag.get_text() for tag in t.level_tags)
    y0, y1 = t.price.get_ylim()
    assert y0 < near.stop and y1 > near.take_profit
    far_stop = ChartLevels(Side.SELL, hi - 0.0005, hi + 0.05, lo - 0.0001, digits=5)
    t = drawn(candles, far_stop)
    assert t.level_tags[1].get_text() == f"SL {hi + 0.05:.5f} ▲"
    assert not t.level_lines[1].get_visible()


def test_watermark_never_covers_a_level_line_tag_or_label(
    eurusd: Candles, setups: list[Setup]
) -> None:
    for setup in setups[::7]:
        t = drawn(at_publication(eurusd, setup), ChartLevels.from_setup(setup, signal_id=3))
        mark = extent(t, t.watermark)
        assert not mark.overlaps(t.price.bbox) and not mark.overlaps(t.rsi.bbox)
        texts = [*t.level_tags, *t.fib_labels, *t.time_labels, *t.price_labels, *t.rsi_scale,
                 t.last_tag, t.rsi_last_tag, *t.point_labels]  # fmt: skip
        for text in texts:
            if text.get_visible():
                assert not mark.overlaps(extent(t, text)), text.get_text()


def test_rsi_panel_has_a_0_to_100_scale_with_the_strategy_thresholds(
    eurusd: Candles, setups: list[Setup]
) -> None:
    setup = first(setups, Side.SELL)
    candles = at_publication(eurusd, setup)
    t = drawn(candles, ChartLevels.from_setup(setup))
    assert t.rsi.get_ylim() == (0.0, 100.0)
    assert [line.get_ydata()[0] for line in t.rsi_thresholds] == [70.0, 40.0]  # type: ignore[index]
    last = float(rsi(candles.close)[-1])
    assert t.rsi_last_tag.get_visible() and t.rsi_last_tag.get_text() == f"{last:.1f}"
    scale = {text.get_text(): text for text in t.rsi_scale}
    assert set(scale) == {"0", "40", "70", "100"}
    tag = extent(t, t.rsi_last_tag)
    for text in t.rsi_scale:  # every value shown, except one the last-RSI tag would cover
        if text.get_visible():
            assert not extent(t, text).overlaps(tag), text.get_text()
        else:
            text.set_visible(True)
            box = extent(t, text)
            text.set_visible(False)
            assert abs((box.y0 + box.y1) / 2 - (tag.y0 + tag.y1) / 2) < 1.5 * tag.height
    assert scale["0"].get_visible() and scale["100"].get_visible()
    assert t.rsi_title.get_text() == "RSI 14"
    assert shown(t.rsi_mark_labels) == ["trigger", "leg 2"]


def test_a_manual_signal_without_fib_points_is_drawn_with_its_levels(
    eurusd: Candles,
) -> None:
    candles = eurusd.slice(200, 320)
    close = float(candles.close[-1])
    manual = ChartLevels(Side.BUY, close - 0.001, close - 0.003, close + 0.0055, signal_id=9)
    png = render_signal_chart(candles, manual)
    t = chart_template(960, 600, 100)
    assert shown(t.point_labels) == [] and shown(t.fib_labels) == []
    assert len(t.fib_lines.get_segments()) == 0
    assert [tag.get_text().split()[0] for tag in t.level_tags] == ["TP", "SL", "ENTRY"]
    assert t.bands[0].get_x() == len(candles) - 1  # risk and reward from the last bar on
    assert t.title.get_text() == "EURUSD · BUY" and t.title_detail.get_text().endswith("#9")
    assert render_signal_chart(candles, manual) == png


def test_every_variant_is_deterministic_whatever_was_drawn_before(
    eurusd: Candles, setups: list[Setup]
) -> None:
    candles = synthetic()
    hi = float(candles.high.max())
    far = ChartLevels(Side.SELL, hi - 0.0005, hi + 0.0006, hi - 0.03, digits=5)
    revised = ChartLevels.from_setup(setups[4], signal_id=5, version=3)
    manual = ChartLevels(Side.BUY, 1.1, 1.098, 1.1065)
    jobs = [(candles, far), (at_publication(eurusd, setups[4]), revised), (candles, manual)]
    first_pass = [render_signal_chart(c, lv) for c, lv in jobs]
    second_pass = [render_signal_chart(c, lv) for c, lv in reversed(jobs)][::-1]
    assert first_pass == second_pass
    assert len(set(first_pass)) == 3


def test_entry_only_visibility_draws_the_entry_alone(eurusd: Candles, setups: list[Setup]) -> None:
    """The owner keeps the stop and take-profit private: no stop or take-profit line, tag or
    band, no Fib point or level (the stop follows from them), no price range stretched to
    them, no text naming either price; the next chart drawn in full has them all again."""
    for setup in (first(setups, Side.SELL), first(setups, Side.BUY)):
        candles = at_publication(eurusd, setup)
        full = ChartLevels.from_setup(setup, signal_id=3, digits=5)
        hidden = replace(full, exits_hidden=True)
        assert hidden.point1 is None and hidden.point2 is None
        t = drawn(candles, hidden)
        assert shown(t.level_tags) == [f"ENTRY {setup.entry:.5f}"]
        assert [line.get_visible() for line in t.level_lines] == [False, False, True]
        assert not any(band.get_visible() for band in t.bands)
        assert shown(t.point_labels) == [] and shown(t.fib_labels) == []
        assert len(t.fib_lines.get_segments()) == 0 and len(t.leg.get_xdata()) == 0
        texts = [*t.level_tags, *t.fib_labels, *t.price_labels, t.title, t.title_detail,
                 t.status, t.last_tag, *t.point_labels]  # fmt: skip
        secret = {f"{setup.stop:.5f}", f"{setup.take_profit:.5f}"}
        assert not [x.get_text() for x in texts if x.get_visible() and
                    any(s in x.get_text() for s in secret)]  # fmt: skip
        t = drawn(candles, full)
        assert [tag.get_text().split()[0] for tag in t.level_tags if tag.get_visible()] == [
            "TP", "SL", "ENTRY"
        ]  # fmt: skip
        assert all(band.get_visible() for band in t.bands)
        png = render_signal_chart(candles, hidden)
        assert png != render_signal_chart(candles, full)
        # nothing drawn depends on the hidden prices: other exits, the same pixels
        risk = setup.stop - setup.entry
        moved = replace(full, stop=setup.stop + 5 * risk, take_profit=setup.entry - 9 * risk,
                        exits_hidden=True)  # fmt: skip
        assert render_signal_chart(candles, moved) == png
