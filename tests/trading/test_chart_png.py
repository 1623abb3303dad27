"""What the PNG itself shows, read from its decoded pixels (the other chart tests read the
figure's artists): its size, every visible label inked where its artist says it is, and the
entry, stop and take-profit lines on the pixel rows of their prices. A rendering or encoding
shortcut that moves, drops or recolours anything fails here."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from numpy.typing import NDArray
from PIL import Image

from trading.candles import Candles
from trading.chart_figure import ENTRY, STOP, TAKE_PROFIT, ChartTemplate, chart_template
from trading.charting import ChartLevels, render_signal_chart
from trading.detector import Side

WHITE = np.array([255.0, 255.0, 255.0])


def fixed_candles(n: int = 120) -> Candles:
    t0 = int(datetime(2024, 3, 4, tzinfo=UTC).timestamp())
    close = 1.1 + 0.002 * np.sin(np.arange(n) / 9.0)
    return Candles("EURUSD", 3600, t0 + 3600 * np.arange(n), close, close + 0.0004,
                   close - 0.0004, close + 0.00005, np.zeros(n))  # fmt: skip


@pytest.fixture(scope="module")
def drawn() -> tuple[NDArray[np.float64], ChartTemplate]:
    """The PNG of a fixed buy signal, decoded, and the figure as it was drawn."""
    levels = ChartLevels(Side.BUY, 1.0995, 1.0985, 1.1018, digits=5, signal_id=4,
                         status="Pending")  # fmt: skip
    png = render_signal_chart(fixed_candles(), levels)
    with Image.open(io.BytesIO(png)) as img:
        assert img.mode == "RGB" and img.size == (960, 600)
        pixels = np.asarray(img, np.float64)
    return pixels, chart_template(960, 600, 100)


def rgb(colour: object) -> NDArray[np.float64]:
    return np.array(to_rgb(colour)) * 255  # type: ignore[arg-type]


def ink(pixels: NDArray[np.float64], box: Bbox, colour: NDArray[np.float64],
        background: NDArray[np.float64]) -> int:  # fmt: skip
    """Pixels inside `box` (display units, y up) nearer `colour` than half its distance from
    `background`."""
    height = pixels.shape[0]
    rows = slice(max(0, int(np.floor(height - box.y1))), int(np.ceil(height - box.y0)))
    cols = slice(max(0, int(np.floor(box.x0))), int(np.ceil(box.x1)))
    tol = 0.5 * float(np.linalg.norm(colour - background))
    return int((np.linalg.norm(pixels[rows, cols] - colour, axis=2) < tol).sum())


def test_every_visible_label_is_inked_where_its_artist_is(
    drawn: tuple[NDArray[np.float64], ChartTemplate],
) -> None:
    pixels, t = drawn
    renderer = t.canvas.get_renderer()
    texts = [a for a in t.fig.findobj(Text) if a.get_visible() and a.get_text()]
    expected = {"EURUSD · BUY", "Pending", "SignalDesk", "RSI 14", "0", "40", "70", "100",
                "TP 1.10180", "SL 1.09850", "ENTRY 1.09950"}  # fmt: skip
    assert expected <= {a.get_text() for a in texts}
    assert len(texts) >= len(expected) + 8  # title details, price, time and last-value tags
    for text in texts:
        box = text.get_window_extent(renderer)
        glyphs = len(text.get_text().replace(" ", ""))
        patch = text.get_bbox_patch()
        behind = WHITE if patch is None else rgb(patch.get_facecolor())
        assert ink(pixels, box, rgb(text.get_color()), behind) >= 8 * glyphs, text.get_text()
        if patch is not None:  # the tag's box around it
            assert ink(pixels, box, behind, WHITE) >= 20 * glyphs, text.get_text()


def test_level_lines_are_on_the_pixel_rows_of_their_prices(
    drawn: tuple[NDArray[np.float64], ChartTemplate],
) -> None:
    pixels, t = drawn
    height = pixels.shape[0]
    left, right = int(t.price.bbox.x0) + 3, int(t.price.bbox.x1) - 110  # clear of the tags
    for line, colour in zip(t.level_lines, (TAKE_PROFIT, STOP, ENTRY), strict=True):
        assert line.get_visible()
        y = float(t.price.transData.transform((0.0, line.get_ydata()[0]))[1])  # type: ignore[index,arg-type]
        near = np.linalg.norm(pixels[:, left:right] - rgb(colour), axis=2) < 60
        share = near.mean(axis=1)  # per row: how much of the panel's width has the colour
        best = int(share.argmax())
        assert share[best] > 0.9, colour  # the line crosses the candles (drawn over them)
        assert abs(best + 0.5 - (height - y)) <= 1.0, (colour, best, height - y)
        assert share[np.abs(np.arange(height) + 0.5 - (height - y)) > 2.5].max() < 0.2
