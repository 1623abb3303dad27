"""Manual signals: the owner's own trades, checked against the market before anyone sees them.

`market` finds what a signal on a symbol is checked against (the symbol must have a live
feed: `services.signals.market_data`; its last close is the reference price), the checks themselves
are `services.signals.manual_checks`, and `publish` runs all of them again against a fresh price
before the signal goes out with a chart of the feed's recent bars. The /post dialog and any
other way in (the ingest API) go through here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock
from core.settings import Settings
from models.signals import SignalSource
from services import app_settings
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


def limits_from(settings: Settings) -> ManualLimits:
    """The owner's limits for manual and ingested signals (MANUAL_* settings)."""
    return ManualLimits(
        max_entry_pct=settings.manual_max_entry_pct,
        max_stop_pct=settings.manual_max_stop_pct,
        min_reward_risk=settings.manual_min_reward_risk,
        max_reward_risk=settings.manual_max_reward_risk,
    )


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


@dataclass(frozen=True, slots=True)
class Origin:
    """An outside producer's signal (services.ingest): who, its own id, the card's label.
    Its setup key is ``ext:<producer pk>:<external_id>``, unique like every setup key."""

    producer_id: int
    external_id: str
    via: str

    @property
    def setup_key(self) -> str:
        return f"ext:{self.producer_id}:{self.external_id}"


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
    view = await _publish(actor_id, request, limits, now, alerts=alerts, origin=None)
    assert view is not None  # a fresh uuid key is never a duplicate
    return view


async def publish_external(
    origin: Origin,
    request: ManualRequest,
    limits: ManualLimits,
    now: datetime | None = None,
    *,
    actor_id: int | None = None,
    alerts: AlertSink | None = None,
) -> SignalView | None:
    """`publish` for an outside producer: the same checks at a fresh price, source EXTERNAL;
    None if the producer's `external_id` was published already (a concurrent duplicate
    raises `IntegrityError` from the unique key, nothing written)."""
    return await _publish(actor_id, request, limits, now, alerts=alerts, origin=origin)


async def _publish(
    actor_id: int | None,
    request: ManualRequest,
    limits: ManualLimits,
    now: datetime | None,
    *,
    alerts: AlertSink | None,
    origin: Origin | None,
) -> SignalView | None:
    moment = now or clock.now()
    m = await market(request.symbol, limits, moment)
    checked = validate(m, request)
    candles = await market_data.recent_candles(checked.symbol, CHART_BARS)
    hidden = await app_settings.visibility() is app_settings.Visibility.ENTRY_ONLY
    return await signals.publish(
        signals.SignalDraft(
            setup_key=f"manual:{uuid.uuid4().hex[:16]}" if origin is None else origin.setup_key,
            symbol=checked.symbol,
            side=checked.side,
            entry=checked.entry,
            stop=checked.stop,
            take_profit=checked.take_profit,
            published_at=moment,
            expires_at=moment + timedelta(hours=checked.expiry_hours),
            source=SignalSource.MANUAL if origin is None else SignalSource.EXTERNAL,
            rationale=checked.note,
            created_by=actor_id,
            producer_id=None if origin is None else origin.producer_id,
            external_id=None if origin is None else origin.external_id,
            via="" if origin is None else origin.via,
        ),
        None if candles is None else chart_renderer(candles, m.spec.digits, exits_hidden=hidden),
        alerts=alerts,
    )
