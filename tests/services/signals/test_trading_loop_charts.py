"""The live loop's charts: each signal version is rendered with the signal's id and version,
the strategy's parameters and the symbol's digits (the title is composed from them), and its
PNG is stored once per version.

Bundled data facts (tests/e2e/test_signals.py): bar 37 publishes a SELL; bar 270 publishes a
BUY that bar 271 revises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.signals import ChartFile, Signal
from models.users import Role
from services import app_settings
from services.outbox import fanout
from services.signals import trading_loop
from services.signals.trading_loop import SymbolRunner
from services.users import profiles as users
from tests.services.signals.charts import record_levels
from trading.candles import load_csv
from trading.chart_levels import ChartLevels, chart_title
from trading.symbols import get_spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_each_version_is_charted_with_its_signal_and_revision(
    database: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)
    await users.seed(2101, "Sam", "sam", Role.SUBSCRIBER)  # a card to revise
    drawn: list[tuple[ChartLevels, int]] = []
    real = trading_loop.render_signal_chart

    def recording(candles, levels, **kw):  # type: ignore[no-untyped-def]
        drawn.append((levels, int(candles.time[-1])))
        return real(candles, levels, **kw)

    monkeypatch.setattr(trading_loop, "render_signal_chart", recording)
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    runner = SymbolRunner("EURUSD", get_spec("EURUSD"))
    for i in range(272):
        await runner.process(candles.bar(i))

    buy = await Signal.get(side="buy", version=2)
    charts = {row.version: row for row in await ChartFile.filter(signal_id=buy.id)}
    assert set(charts) == {1, 2}
    for row in charts.values():
        assert Path(row.path).read_bytes()[:8] == PNG_SIGNATURE
    by_version = {lv.version: (lv, bar) for lv, bar in drawn if lv.signal_id == buy.id}
    assert set(by_version) == {1, 2}
    for version, (levels, bar) in by_version.items():
        assert levels.title == ""  # composed by the chart from the fields below
        assert (levels.digits, levels.params) == (5, runner.strategy.config.params)
        assert levels.point1 is not None and levels.point2 is not None
        headline, details = chart_title(levels, "EURUSD", 3600, bar)
        assert headline == "EURUSD · BUY"
        assert f"· #{buy.id}" in details
        assert details.endswith("revision 2") == (version == 2)
    assert by_version[2][1] == int(candles.time[271])  # the revision's bar
    assert by_version[2][0].entry == float(buy.entry)  # the revised levels
    first = await Signal.filter(side="sell").order_by("id").first()  # bar 37's SELL
    assert first is not None
    assert any(lv.signal_id == first.id and lv.version == 1 for lv, _ in drawn)


async def test_entry_only_visibility_charts_the_entry_alone(
    database: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner keeps the stop and take-profit private: the chart sent with the card shows
    the entry alone (no exits, no Fib points), as the card's text does."""
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)
    await app_settings.put("signals.visibility", app_settings.Visibility.ENTRY_ONLY.value)
    drawn = record_levels(monkeypatch, trading_loop)
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    runner = SymbolRunner("EURUSD", get_spec("EURUSD"))
    for i in range(38):  # bar 37 publishes a SELL
        await runner.process(candles.bar(i))
    sell = await Signal.get(side="sell")
    assert [lv.signal_id for lv in drawn] == [sell.id]
    assert drawn[0].exits_hidden and drawn[0].point1 is None and drawn[0].point2 is None
    await app_settings.put("signals.visibility", app_settings.Visibility.FULL.value)
    for i in range(38, 272):  # bar 270's BUY, in full again
        await runner.process(candles.bar(i))
    buy = await Signal.get(side="buy", version=2)
    assert all(not lv.exits_hidden for lv in drawn if lv.signal_id == buy.id)
