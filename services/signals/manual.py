"""Manual signals: the owner's own trades, checked against the market before anyone sees them.

`market` finds what a signal on a symbol is checked against (the symbol must have a live
feed: `services.signals.market_data`; its last close is the reference price), the checks themselves
are `services.signals.manual_checks`, and `publish` runs all of them again against a fresh price
before the signal goes out with a chart of the feed's recent bars. The /post dialog and any
other way in (the ingest API) go through here.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from core import clock
from models.signals import SignalSource
from services.errors import InvalidInput
from services.isolation import AlertSink
from services.signals import lifecycle as signals
from services.signals import market_data
from services.signals.manual_chart import chart_renderer
from services.signals.manual_checks import (
    ManualDraft,
    ManualLimits,
    ManualRequest,
    Market,
    validate,
)
from services.signals.strategy import check_symbol
from services.signals.views import SignalView
from trading.symbols import get_spec

CHART_BARS = 300


async def market(symbol: str, limits: ManualLimits, now: datetime | None = None) -> Market:
    """The market a manual signal on `symbol` is checked against (GOLD and XAUUSD are one
    instrument: the name the feed runs wins). Refused when no live feed serves the symbol."""
    name = check_symbol(symbol)
    moment = now or clock.now()
    target = await market_data.fed_name(name, moment)
    if target is None:
        fed = await market_data.live_symbols(moment)
        listed = ", ".join(fed)
        stale = await market_data.quote(name, moment)
        if stale is not None:
            raise InvalidInput("error.manual_feed_stale", symbol=name, time=stale.recorded_at)
        if not fed:
            raise InvalidInput("error.manual_no_feed_any", symbol=name)
        raise InvalidInput("error.manual_no_feed", symbol=name, fed=listed)
    quote = await market_data.quote(target, moment)
    assert quote is not None  # live_symbols listed it
    return Market(get_spec(target), quote, limits)


async def draft(
    request: ManualRequest, limits: ManualLimits, now: datetime | None = None
) -> ManualDraft:
    """`validate` against the symbol's market now."""
    return validate(await market(request.symbol, limits, now), request)


async def publish(
    actor_id: int,
    request: ManualRequest,
    limits: ManualLimits,
    now: datetime | None = None,
    *,
    alerts: AlertSink | None = None,
) -> SignalView:
    """Check `request` against a fresh price and publish it, with a chart of the feed's
    recent bars (levels drawn, no Fib points)."""
    moment = now or clock.now()
    m = await market(request.symbol, limits, moment)
    checked = validate(m, request)
    candles = await market_data.recent_candles(checked.symbol, CHART_BARS)
    view = await signals.publish(
        signals.SignalDraft(
            setup_key=f"manual:{uuid.uuid4().hex[:16]}",
            symbol=checked.symbol,
            side=checked.side,
            entry=checked.entry,
            stop=checked.stop,
            take_profit=checked.take_profit,
            published_at=moment,
            expires_at=moment + timedelta(hours=checked.expiry_hours),
            source=SignalSource.MANUAL,
            rationale=checked.note,
            created_by=actor_id,
        ),
        None if candles is None else chart_renderer(candles, m.spec.digits),
        alerts=alerts,
    )
    assert view is not None  # a fresh uuid key is never a duplicate
    return view
