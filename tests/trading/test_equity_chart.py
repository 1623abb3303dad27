"""The track record's PNG: a PNG of the requested size, with and without trades; bad input."""

from __future__ import annotations

import struct

import pytest

from trading.equity_chart import HEIGHT_PX, WIDTH_PX, EquityLabels, render_equity_png

LABELS = EquityLabels("Track record", "Equity (R)", "Drawdown (R)", "No closed signals yet")


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_record_and_an_empty_one_are_pngs_of_the_chart_size() -> None:
    drawn = render_equity_png([1_700_000_000, 1_700_086_400], [1.0, -0.5], [0.0, 1.5], LABELS)
    empty = render_equity_png([], [], [], LABELS)
    assert size(drawn) == size(empty) == (WIDTH_PX, HEIGHT_PX)
    assert drawn != empty
    # the same input gives the same bytes (no timestamp or software metadata)
    assert render_equity_png([], [], [], LABELS) == empty


def test_mismatched_series_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per closed trade"):
        render_equity_png([1, 2], [1.0], [0.0, 0.0], LABELS)
