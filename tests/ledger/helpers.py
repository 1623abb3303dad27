"""Signals through the real lifecycle, and the ledger as the public reads it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from models.signals import CloseReason, Signal, SignalSource, SignalStatus
from services.ledger import public, verify
from services.signals import lifecycle as signals
from services.signals.views import SignalView

S = SignalStatus
_keys = itertools.count(1)
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def draft(symbol: str = "XAUUSD", side: str = "buy", at: datetime = T0) -> signals.SignalDraft:
    entry, stop, tp = (D("2030.50"), D("2020.25"), D("2051.00"))
    if side == "sell":
        entry, stop, tp = D("2030.50"), D("2040.75"), D("2010.00")
    return signals.SignalDraft(
        setup_key=f"{symbol}:{side}:{next(_keys)}", symbol=symbol, side=side, entry=entry,
        stop=stop, take_profit=tp, published_at=at, expires_at=at + timedelta(hours=8),
        source=SignalSource.STRATEGY,
    )  # fmt: skip


async def publish(symbol: str = "XAUUSD", side: str = "buy") -> SignalView:
    view = await signals.publish(draft(symbol, side))
    assert view is not None
    return view


async def revise(view: SignalView, version: int = 2) -> SignalView:
    """Move the levels up by one tick per version (a new point 2)."""
    row = await Signal.get(id=view.id)
    step = D("0.01") * version
    revised = await signals.revise(
        row.setup_key, version, row.entry + step, row.stop + step, row.take_profit + step
    )
    assert revised is not None
    return revised


async def entries() -> list[verify.Entry]:
    return [e async for e in public.all_entries()]


async def check() -> verify.Verdict:
    heads = public.as_heads(await public.published_heads())
    return verify.check(await entries(), heads)


__all__ = ["S", "CloseReason", "D", "T0", "check", "draft", "entries", "publish", "revise"]
