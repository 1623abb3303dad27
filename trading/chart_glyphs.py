"""An Agg renderer that remembers text layouts and glyph bitmaps, for the signal chart.

Why: matplotlib 3.11 draws text glyph by glyph, and for every text it shapes the string again
(~25 us a glyph) and for every glyph it loads, hints and rasterises it again (~60 us): about
24 of the chart's 27 ms of drawing went to its ~30 texts. Most of them repeat from chart to
chart (tick values, day labels, level names, the RSI scale, the title), so `GlyphCacheRenderer`
keeps the shaped glyph list per (thread, fonts, size, dpi, string) and each rasterised glyph
per (font face, size, dpi, glyph, hinting, position within its pixel in 1/64 px), and blends
the remembered bitmap exactly where matplotlib would have blended its fresh one: the pixels
are the same, byte for byte (`tests/trading/test_chart_glyphs.py` draws texts both ways).

Why the position within the pixel is enough: matplotlib places each glyph with a 26.6
fixed-point translation after hinting; a whole-pixel part of it moves the outline by exact
multiples of 64 units, so the rasterised bitmap is the same, shifted by that many pixels.

Private matplotlib API (`FT2Font._layout`, `_set_transform`, `_render_glyph`,
`RendererAgg._prepare_font`, `_renderer.draw_text_image`, `fontManager._find_fonts_by_props`,
each called as matplotlib's own `draw_text` calls it) is used in `_draw_cached` only, and
only on the matplotlib versions in `VERIFIED_MATPLOTLIB` that have all of it (`FAST_TEXT`);
elsewhere, and for mathtext, rotated or aliased text, matplotlib draws as usual. The test
fails when `FAST_TEXT` is off on the installed version or when the pixels differ, so an
upgrade is re-verified, never silently slower or different.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

import matplotlib
import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ft2font import FT2Font, RenderMode
from numpy.typing import NDArray

VERIFIED_MATPLOTLIB = ((3, 11),)  # draw_text checked byte for byte against these versions
MAX_LAYOUTS = 4096  # shaped strings kept (a chart has ~30 texts, most repeat)
MAX_GLYPHS = 8192  # rasterised glyphs kept, ~0.4 KB each with its key (~4,000 after 200 charts)


def _fast_text_supported() -> bool:
    version = tuple(int(part) for part in matplotlib.__version__.split(".")[:2])
    internals = ("_layout", "_set_transform", "_render_glyph")
    return (
        version in VERIFIED_MATPLOTLIB
        and all(hasattr(FT2Font, name) for name in internals)
        and hasattr(RendererAgg, "_prepare_font")
    )


FAST_TEXT = _fast_text_supported()
_IDENTITY = np.array([[0x10000, 0], [0, 0x10000]])  # 16.16 fixed point, as matplotlib sets it

# (font object, glyph index, x, y in px from the text origin, y upwards) per glyph.
Layout = list[tuple[FT2Font, int, float, float]]
# Coverage bitmap (rows, columns), its left column and top row for a glyph at (0..63, 0..63).
Bitmap = tuple[NDArray[np.uint8], int, int]


class GlyphCacheRenderer(RendererAgg):
    """`RendererAgg` whose `draw_text` reuses shaped strings and rasterised glyphs. Not
    thread-safe (neither is a renderer): one per canvas, used by one draw at a time."""

    def __init__(self, width: int, height: int, dpi: float) -> None:
        super().__init__(width, height, dpi)  # type: ignore[no-untyped-call]
        self._layouts: dict[Hashable, Layout] = {}
        self._glyphs: dict[Hashable, Bitmap] = {}

    def cache_sizes(self) -> tuple[int, int]:
        """How many shaped strings and rasterised glyphs are remembered."""
        return len(self._layouts), len(self._glyphs)

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: bool | str = False,
        mtext: Any = None,
    ) -> None:
        if not FAST_TEXT or ismath or angle != 0 or not gc.get_antialiased():
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]
            return
        features = None if mtext is None else mtext.get_fontfeatures()
        language = None if mtext is None else mtext.get_language()
        if not (features is None or isinstance(features, tuple)) or isinstance(language, list):
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]
            return
        self._draw_cached(gc, x, y, s, prop, features, language)

    def _draw_cached(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        features: tuple[str, ...] | None,
        language: str | tuple[tuple[str, int, int], ...] | None,
    ) -> None:
        """matplotlib 3.11's `RendererAgg.draw_text` for upright antialiased text, with its
        `font._layout` and `font._render_glyph` results remembered (see the module doc)."""
        flags = get_hinting_flag()  # type: ignore[no-untyped-call]
        size = prop.get_size_in_points()
        fonts = tuple(fontManager._find_fonts_by_props(prop))
        # The font objects in a layout are those `get_font` hands this thread (matplotlib
        # keeps them per thread: they are not thread-safe), so layouts are per thread too.
        rc = (rcParams["text.kerning_factor"], rcParams["font.enable_last_resort"])
        key = (threading.get_ident(), fonts, rc, size, self.dpi, s, flags, features, language)
        layout = self._layouts.get(key)
        if layout is None:
            font = self._prepare_font(prop)  # type: ignore[no-untyped-call]
            items = font._layout(s, flags=flags, features=features, language=language)
            layout = [(i.ft_object, int(i.glyph_index), i.x, i.y) for i in items]
            _remember(self._layouts, key, layout, MAX_LAYOUTS)
        height = int(self.height)
        for font, glyph, dx, dy in layout:
            # matplotlib's translation of this glyph in 1/64 px (FreeType's y is upwards).
            tx, ty = round(0x40 * (x + dx)), round(0x40 * (self.height - y + dy))
            face = (font.fname, font.face_index)  # the bitmap is the face's, any thread's
            glyph_key = (face, size, self.dpi, glyph, flags, tx & 63, ty & 63)
            bitmap = self._glyphs.get(glyph_key)
            if bitmap is None:
                font.set_size(size, self.dpi)
                font._set_transform(_IDENTITY, [tx & 63, ty & 63])  # type: ignore[attr-defined]
                drawn = font._render_glyph(glyph, flags, RenderMode.NORMAL)  # type: ignore[attr-defined]
                bitmap = (np.array(drawn.buffer, np.uint8), int(drawn.left), int(drawn.top))
                _remember(self._glyphs, glyph_key, bitmap, MAX_GLYPHS)
            buffer, left, top = bitmap
            self._renderer.draw_text_image(
                buffer, left + (tx >> 6), height - (top + (ty >> 6)) + buffer.shape[0], 0, gc
            )


def _remember(cache: dict[Hashable, Any], key: Hashable, value: Any, limit: int) -> None:
    """Store `value`; past `limit` entries the oldest is dropped (insertion order)."""
    if len(cache) >= limit:
        del cache[next(iter(cache))]
    cache[key] = value


class GlyphCacheCanvas(FigureCanvasAgg):
    """`FigureCanvasAgg` drawing with one `GlyphCacheRenderer`, rebuilt only when the figure's
    pixel size or dpi changes (as `FigureCanvasAgg` does with its own renderer)."""

    _glyph_renderer: GlyphCacheRenderer | None = None
    _glyph_renderer_key: tuple[int, int, float] | None = None

    def get_renderer(self) -> GlyphCacheRenderer:
        width, height = self.get_width_height(physical=True)
        key = (width, height, float(self.figure.dpi))
        if self._glyph_renderer is None or self._glyph_renderer_key != key:
            self._glyph_renderer = GlyphCacheRenderer(width, height, self.figure.dpi)
            self._glyph_renderer_key = key
        return self._glyph_renderer
