"""The checks of a manual signal against the market, as the dialog and the ingest API use them:
one `validate`, refusals that carry the numbers, publication re-checked at a fresh price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from models.signals import ChartFile, Signal, SignalSource
from services import app_settings
from services.errors import InvalidInput
from services.outbox import fanout
from services.signals import manual, manual_chart, market_data
from services.signals.manual_checks import ManualLimits, ManualRequest
from services.text.formatting import plural
from tests.services.signals.charts import record_levels
from trading.candles import Bar

LIMITS = ManualLimits()
LAST = 1.08412


async def feed(symbol: str = "EURUSD", close: float = LAST, bars: int = 5) -> None:
    """`bars` hourly bars ending an hour ago, stored now: a live feed."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(bars):
        t = end - timedelta(hours=bars - 1 - i)
        await market_data.record_bar(
            symbol, Bar(t, close, close * 1.001, close * 0.999, close), 3600
        )


def request(side: str = "buy", entry: str = "1.0800", stop: str = "1.0750", tp: str | None = None,
            **kw: object) -> ManualRequest:  # fmt: skip
    take_profit = None if tp is None else D(tp)
    return ManualRequest("EURUSD", side, D(entry), D(stop), take_profit, **kw)  # type: ignore[arg-type]


async def test_a_good_buy_gets_the_strategys_take_profit(database: str) -> None:
    await feed()
    draft = await manual.draft(request(note="  Support  "), LIMITS)
    assert (draft.symbol, draft.entry, draft.stop, draft.take_profit) == (
        "EURUSD", D("1.08000"), D("1.07500"), D("1.09625"),
    )  # fmt: skip
    assert draft.note == "Support" and draft.last_price == D("1.08412")
    assert [n.key for n in draft.notes] == ["post.note_auto_tp"]


async def test_prices_go_on_the_tick_grid_and_say_so(database: str) -> None:
    await feed()
    draft = await manual.draft(request(entry="1.080004", stop="1.075006", tp="1.0950049"), LIMITS)
    assert (draft.entry, draft.stop, draft.take_profit) == (
        D("1.08000"),
        D("1.07501"),
        D("1.09500"),
    )
    assert [n.kwargs()["rounded"] for n in draft.notes] == [
        D("1.08000"),
        D("1.07501"),
        D("1.09500"),
    ]


@pytest.mark.parametrize(
    ("req", "limits", "key", "params"),
    [
        (request(entry="100000", stop="99999"), LIMITS, "error.manual_entry_far",
         {"entry": "100000", "pct": D(9223971), "last": D("1.08412"), "max": D(5)}),
        (request(entry="1.096"), ManualLimits(max_entry_pct=D(1)), "error.manual_entry_far",
         {"pct": D("1.10"), "max": D(1)}),
        (request(entry="0.0000000001"), LIMITS, "error.manual_below_tick",
         {"price": "0.0000000001", "tick": "0.00001"}),
        (request(stop="1.09"), LIMITS, "error.manual_stop_side_buy", {"stop": "1.09"}),
        (request("sell", entry="1.09", stop="1.08"), LIMITS, "error.manual_stop_side_sell", {}),
        (request(stop="1.07997"), LIMITS, "error.manual_stop_close",
         {"points": plural("unit.points", 3), "min": plural("unit.points", 5)}),
        (request(stop="1.02"), LIMITS, "error.manual_stop_far", {"pct": D("5.56")}),
        (request(entry="1.09", stop="1.085"), LIMITS, "error.manual_stop_passed",
         {"last": D("1.08412")}),
        (request(tp="1.07"), LIMITS, "error.manual_tp_side_buy", {"tp": D("1.07000")}),
        (request("sell", entry="1.09", stop="1.095", tp="1.10"), LIMITS,
         "error.manual_tp_side_sell", {}),
        (request(tp="1.0801"), LIMITS, "error.manual_rr_range", {"rr": D("0.02"), "min": D(1)}),
        (request(stop="1.0799", tp="1.2"), LIMITS, "error.manual_rr_range", {"rr": D(1200)}),
        (request("sell", entry="1.08", stop="1.5"), ManualLimits(max_stop_pct=D(100)),
         "error.manual_tp_auto", {}),
        (request(expiry_hours=0), LIMITS, "error.expiry_invalid", {"max": 336}),
        (request(expiry_hours=337), LIMITS, "error.expiry_invalid", {"min": 1}),
        (request(side="long"), LIMITS, "error.signal_side", {"side": "long"}),
    ],
)  # fmt: skip
async def test_refusals_name_the_numbers(
    database: str, req: ManualRequest, limits: ManualLimits, key: str, params: dict[str, object]
) -> None:
    await feed()
    with pytest.raises(InvalidInput) as caught:
        await manual.draft(req, limits)
    assert caught.value.key == key
    assert params.items() <= caught.value.params.items()


async def test_a_sell_mirrors_the_checks(database: str) -> None:
    await feed()
    draft = await manual.draft(request("sell", entry="1.0900", stop="1.0950", tp="1.0800"), LIMITS)
    assert (draft.side, draft.take_profit, draft.notes) == ("sell", D("1.08000"), ())


@pytest.mark.parametrize("typed", ["GOLD", "xauusd", " Gold "])
async def test_gold_and_xauusd_are_one_feed(database: str, typed: str) -> None:
    await feed("XAUUSD", 2350.0)
    m = await manual.market(typed, LIMITS)
    assert m.symbol == "XAUUSD" and m.quote.close == D("2350.0")


async def test_no_feed_stale_feed_and_unknown_symbol(database: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await manual.market("EURUSD", LIMITS)
    assert caught.value.key == "error.manual_no_feed_any"
    await feed("EURUSD")
    with pytest.raises(InvalidInput) as caught:
        await manual.market("XAUUSD", LIMITS)
    assert (caught.value.key, caught.value.params["fed"]) == ("error.manual_no_feed", "EURUSD")
    later = datetime.now(UTC) + timedelta(days=8)
    with pytest.raises(InvalidInput) as caught:
        await manual.market("EURUSD", LIMITS, now=later)
    assert caught.value.key == "error.manual_feed_stale"
    with pytest.raises(InvalidInput) as caught:
        await manual.market("BTCXYZ", LIMITS)
    assert caught.value.key == "error.symbol_unknown"


async def test_publish_checks_again_at_the_fresh_price(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)
    await feed()
    await manual.draft(request(), LIMITS)  # fine at 1.08412 ...
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await market_data.record_bar("EURUSD", Bar(now, 1.2, 1.2, 1.2, 1.2), 3600)  # ... then a jump
    with pytest.raises(InvalidInput) as caught:
        await manual.publish(1, request(), LIMITS)
    assert caught.value.key == "error.manual_entry_far"
    assert not await Signal.exists()

    await market_data.record_bar("EURUSD", Bar(now + timedelta(hours=1), *[1.081] * 4), 3600)
    view = await manual.publish(7, request(tp="1.0950", expiry_hours=24), LIMITS)
    row = await Signal.get(id=view.id)
    assert (row.source, row.created_by, row.take_profit) == (SignalSource.MANUAL, 7, D("1.095"))
    assert row.expires_at - row.published_at == timedelta(hours=24)
    chart = await ChartFile.get(signal_id=view.id, version=1)
    assert Path(chart.path).read_bytes().startswith(b"\x89PNG")


async def test_entry_only_visibility_charts_a_manual_signal_without_its_exits(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the owner's "entry only" the chart of a manual (or outside producer's) signal
    shows the entry alone, as its card's text does; in full, every level."""
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)
    drawn = record_levels(monkeypatch, manual_chart)
    await app_settings.put("signals.visibility", app_settings.Visibility.ENTRY_ONLY.value)
    await feed()
    hidden = await manual.publish(7, request(tp="1.0950"), LIMITS)
    await app_settings.put("signals.visibility", app_settings.Visibility.FULL.value)
    full = await manual.publish(7, request(tp="1.0950"), LIMITS)
    assert [(lv.signal_id, lv.exits_hidden) for lv in drawn] == [(None, True), (None, False)]
    for view in (hidden, full):
        chart = await ChartFile.get(signal_id=view.id, version=1)
        assert Path(chart.path).read_bytes().startswith(b"\x89PNG")
