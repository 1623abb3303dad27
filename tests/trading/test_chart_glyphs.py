"""The glyph-caching renderer draws the very pixels matplotlib's own Agg renderer draws, cold
and warm, at every position within a pixel; and it is in use on the installed matplotlib (it
relies on matplotlib internals: an upgrade that moves them fails here, not silently)."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

from trading import chart_glyphs
from trading.chart_figure import chart_template
from trading.chart_glyphs import FAST_TEXT, GlyphCacheCanvas, GlyphCacheRenderer

WIDTH, HEIGHT, DPI = 240, 120, 100
STRINGS = ["TP 1.06379 ▼", "SL 1923.45 ▲", "0 %", "127 %", "H1 · 31 May 2017 09:00 UTC · #12",
           "EURUSD · SELL", "1 swing high", "leg 2", "RSI 14", "SignalDesk", "Wq|gÅ"]  # fmt: skip
FONTS = [
    FontProperties(size=8),
    FontProperties(size=7.5),
    FontProperties(size=9, weight="bold"),
    FontProperties(size=13, weight="bold"),
    FontProperties(size=9, weight="bold", style="italic"),
]
# Fractions of a pixel in both axes (1/64 steps and odd ones), and texts hanging off the canvas.
POSITIONS = [
    (3 + fx, 40 + fy)
    for fx, fy in itertools.product((0, 0.2, 0.5, 0.77, 0.999), (0, 0.015625, 0.33, 0.6))
]
POSITIONS += [(-7.3, 60.2), (200.4, 5.1), (20.0, 118.6), (50.5, -3.25)]  # fmt: skip


def pixels(renderer: RendererAgg) -> bytes:
    return bytes(renderer.buffer_rgba())  # type: ignore[no-untyped-call]


def draw_all(renderer: RendererAgg, text: Text, strings: list[str]) -> list[bytes]:
    """Each string in each font at each position, one picture per (string, font)."""
    out = []
    for s, prop in itertools.product(strings, FONTS):
        renderer.clear()  # type: ignore[no-untyped-call]
        gc = renderer.new_gc()
        gc.set_foreground((0.12, 0.14, 0.19, 1.0), isRGBA=True)
        for x, y in POSITIONS:
            renderer.draw_text(gc, x, y, s, prop, 0, mtext=text)  # type: ignore[no-untyped-call]
        gc.restore()
        out.append(pixels(renderer))
    return out


def test_the_fast_path_is_on_for_the_installed_matplotlib() -> None:
    assert FAST_TEXT, (
        f"matplotlib {matplotlib.__version__}: check GlyphCacheRenderer against its "
        "RendererAgg.draw_text, then add the version to VERIFIED_MATPLOTLIB"
    )


def test_cached_glyphs_are_the_pixels_matplotlib_draws() -> None:
    text = Text(0, 0, "")
    reference = draw_all(RendererAgg(WIDTH, HEIGHT, DPI), text, STRINGS)  # type: ignore[no-untyped-call]
    cached = GlyphCacheRenderer(WIDTH, HEIGHT, DPI)
    cold = draw_all(cached, text, STRINGS)
    warm = draw_all(cached, text, STRINGS)  # every layout and glyph remembered
    n = len(FONTS)
    backwards = draw_all(cached, text, STRINGS[::-1])  # another history, the same pictures
    assert [backwards[(len(STRINGS) - 1 - i // n) * n + i % n] for i in range(len(warm))] == warm
    for (s, prop), ref, first, second in zip(
        itertools.product(STRINGS, FONTS), reference, cold, warm, strict=True
    ):
        assert ref != bytes(len(ref)), "something was drawn"
        assert first == ref, (s, prop)
        assert second == ref, (s, prop)


def test_rotated_and_math_text_are_left_to_matplotlib() -> None:
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    fig.text(0.1, 0.2, "RSI 14", rotation=30, fontsize=9)
    fig.text(0.5, 0.5, r"$\alpha^2$ 1.2", fontsize=9)
    ours = GlyphCacheCanvas(fig)
    ours.draw()  # type: ignore[no-untyped-call]
    mine = bytes(ours.buffer_rgba())  # type: ignore[no-untyped-call]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    theirs = FigureCanvasAgg(fig)
    theirs.draw()  # type: ignore[no-untyped-call]
    assert mine == bytes(theirs.buffer_rgba())  # type: ignore[no-untyped-call]
    assert isinstance(ours.get_renderer(), GlyphCacheRenderer)


def test_caches_stay_within_their_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_glyphs, "MAX_LAYOUTS", 5)
    monkeypatch.setattr(chart_glyphs, "MAX_GLYPHS", 40)
    renderer = GlyphCacheRenderer(WIDTH, HEIGHT, DPI)
    reference = RendererAgg(WIDTH, HEIGHT, DPI)  # type: ignore[no-untyped-call]
    text = Text(0, 0, "")
    strings = [f"{v:.5f}" for v in np.linspace(1.05, 1.15, 12)]
    assert draw_all(renderer, text, strings) == draw_all(reference, text, strings)
    layouts, glyphs = renderer.cache_sizes()
    assert 0 < layouts <= 5 and 0 < glyphs <= 40


def test_the_chart_template_draws_through_the_glyph_cache() -> None:
    t = chart_template(960, 600, 100)
    assert isinstance(t.canvas.get_renderer(), GlyphCacheRenderer)
