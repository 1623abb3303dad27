"""Shared set-up of the ingest tests: a live EURUSD feed (last close 1.08412) and producers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from models.ingest import ProducerMode
from services.ingest import producers
from services.ingest.intake import SignalIn
from services.outbox import fanout
from services.signals import market_data
from trading.candles import Bar

LAST = 1.08412
OWNER = 1001


@pytest.fixture(autouse=True)
def chart_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Published signals' charts go to the test's directory, not the worktree's data/."""
    charts = tmp_path / "charts"
    monkeypatch.setattr(fanout, "CHART_DIR", charts)
    return charts


async def feed(symbol: str = "EURUSD", close: float = LAST, bars: int = 5) -> None:
    """`bars` hourly bars ending an hour ago, stored now: a live feed."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(bars):
        t = end - timedelta(hours=bars - 1 - i)
        await market_data.record_bar(
            symbol, Bar(t, close, close * 1.001, close * 0.999, close), 3600
        )


async def producer(
    name: str = "Gold breakout", mode: ProducerMode = ProducerMode.PUBLISH, **kw: Any
) -> producers.Credentials:
    symbols = kw.pop("symbols", ("EURUSD", "XAUUSD"))
    return await producers.register(name, symbols, mode=mode, actor_id=OWNER, **kw)


def signal(external_id: str = "s-1", **kw: Any) -> SignalIn:
    values: dict[str, Any] = {
        "symbol": "EURUSD", "side": "buy", "entry": D("1.0800"), "stop": D("1.0750"),
        "take_profit": D("1.0950"),
    }  # fmt: skip
    values.update(kw)
    return SignalIn(external_id=external_id, **values)
