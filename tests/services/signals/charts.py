"""What the signal chart tests share: the levels each chart was drawn with, recorded."""

from __future__ import annotations

from types import ModuleType

import pytest

from trading.chart_levels import ChartLevels


def record_levels(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[ChartLevels]:
    """Every `render_signal_chart` call made through `module` draws as before and appends the
    levels it drew to the returned list."""
    drawn: list[ChartLevels] = []
    real = module.render_signal_chart

    def recording(candles, levels, **kw):  # type: ignore[no-untyped-def]
        drawn.append(levels)
        return real(candles, levels, **kw)

    monkeypatch.setattr(module, "render_signal_chart", recording)
    return drawn
