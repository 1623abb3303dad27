"""Signals: publish, revise and move through their state machine, fanning out via the outbox.

Every state change and the notifications it causes are written in one transaction, so a crash
never leaves a signal changed but unannounced (or announced but unchanged). Publishing is
idempotent on the setup identity (symbol, side, leg-2 start): a restart never re-publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core import bus, clock
from models.signals import CloseReason, Signal, SignalRevision, SignalSource, SignalStatus
from services import audit, business_metrics
from services.analytics import rollups
from services.copy import engine as copy_engine
from services.errors import InvalidInput, NotFound
from services.events import LiveUpdate
from services.isolation import AlertSink, Faults
from services.ledger import chain as ledger
from services.outbox import fanout
from services.signals.views import SignalView
from services.text import vocabulary

log = logging.getLogger(__name__)
S = SignalStatus

# The state machine: published -> revised* -> filled | expired | replaced | cancelled;
# filled -> closed (tp | sl | manual). Anything else is refused.
TRANSITIONS: dict[SignalStatus, frozenset[SignalStatus]] = {
    S.PUBLISHED: frozenset({S.REVISED, S.FILLED, S.EXPIRED, S.REPLACED, S.CANCELLED}),
    S.REVISED: frozenset({S.REVISED, S.FILLED, S.EXPIRED, S.REPLACED, S.CANCELLED}),
    S.FILLED: frozenset({S.CLOSED}),
    S.EXPIRED: frozenset(),
    S.REPLACED: frozenset(),
    S.CANCELLED: frozenset(),
    S.CLOSED: frozenset(),
}


class TransitionRefused(InvalidInput):
    pass


@dataclass(frozen=True, slots=True)
class SignalDraft:
    """Everything needed to publish a signal; prices on the symbol's tick grid."""

    setup_key: str
    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    published_at: datetime
    expires_at: datetime
    source: SignalSource = SignalSource.STRATEGY
    rationale: str = ""
    price_adjusted: bool = False
    trigger_time: datetime | None = None
    leg2_start: datetime | None = None
    point1: tuple[datetime, Decimal] | None = None
    point2: tuple[datetime, Decimal] | None = None
    created_by: int | None = None
    producer_id: int | None = None  # an outside producer's signal (services.ingest)
    external_id: str | None = None  # its own id: unique per producer
    via: str = ""  # the card's "via ..." label


def setup_key(symbol: str, side: str, leg2_start: datetime) -> str:
    """The setup identity as a string (STRATEGY.md: symbol, side, time of bar j)."""
    return f"{symbol}:{side}:{leg2_start.astimezone(UTC):%Y-%m-%dT%H:%M}"


def digits_for(symbol: str) -> int:
    from trading.symbols import UnknownSymbolError, get_spec

    try:
        return get_spec(symbol).digits
    except UnknownSymbolError:
        return 5


def to_view(row: Signal) -> SignalView:
    return SignalView(
        id=row.id,
        symbol=row.symbol,
        side=row.side,
        status=SignalStatus(row.status),
        close_reason=CloseReason(row.close_reason) if row.close_reason else None,
        version=row.version,
        entry=row.entry,
        stop=row.stop,
        take_profit=row.take_profit,
        digits=digits_for(row.symbol),
        published_at=row.published_at,
        expires_at=row.expires_at,
        result_r=row.result_r,
        rationale=row.rationale,
        price_adjusted=row.price_adjusted,
        source=str(row.source),
        trigger_time=row.trigger_time,
        leg2_start=row.leg2_start,
        fill_price=row.fill_price,
        exit_price=row.exit_price,
        via=row.via,
    )


ChartRenderer = Callable[[SignalView], bytes]


async def publish(
    draft: SignalDraft, chart: ChartRenderer | None = None, *, alerts: AlertSink | None = None
) -> SignalView | None:
    """Create the signal and queue its fan-out; None if this setup was already published.
    (Two concurrent publishes of one setup: the second's insert fails on the unique key and
    raises tortoise's `IntegrityError` with nothing written; `services.ingest` relies on it.)

    A recipient whose card or order fails is skipped and reported to `alerts` (ops); the
    signal reaches everyone else (services.isolation). Anything else rolls it all back."""
    if await Signal.exists(setup_key=draft.setup_key):
        return None
    _validate_levels(draft.side, draft.entry, draft.stop, draft.take_profit)
    async with copy_engine.transaction():  # commands and notices wake their pollers
        row = await Signal.create(
            setup_key=draft.setup_key,
            symbol=draft.symbol,
            side=draft.side,
            source=draft.source,
            entry=draft.entry,
            stop=draft.stop,
            take_profit=draft.take_profit,
            price_adjusted=draft.price_adjusted,
            trigger_time=draft.trigger_time,
            leg2_start=draft.leg2_start,
            point1_time=draft.point1[0] if draft.point1 else None,
            point1_price=draft.point1[1] if draft.point1 else None,
            point2_time=draft.point2[0] if draft.point2 else None,
            point2_price=draft.point2[1] if draft.point2 else None,
            rationale=draft.rationale[:255],
            published_at=draft.published_at,
            expires_at=draft.expires_at,
            created_by=draft.created_by,
            producer_id=draft.producer_id,
            external_id=draft.external_id,
            via=draft.via[:96],
        )
        await SignalRevision.create(
            signal=row, version=1, entry=row.entry, stop=row.stop, take_profit=row.take_profit,
            point2_time=row.point2_time, point2_price=row.point2_price,
        )  # fmt: skip
        view = to_view(row)
        await audit.record(
            "signal.published", actor_id=draft.created_by, target=str(row.id), key=draft.setup_key
        )
        faults = Faults(alerts)
        await fanout.announce(view, chart, faults)
        await copy_engine.on_publish(view, faults)  # copy-mode terminals
        await ledger.record(view, view.published_at)  # last: the append lock is held briefly
        bus.publish(LiveUpdate("signal", row.id))  # open Mini Apps (deferred to the commit)
    business_metrics.signal_published(draft.source)  # committed
    log.info("signal published", extra={"signal_id": row.id, "key": draft.setup_key})
    return view


def _validate_levels(side: str, entry: Decimal, stop: Decimal, take_profit: Decimal) -> None:
    if side not in ("buy", "sell"):
        raise InvalidInput("error.signal_side", side=side)
    ok = stop < entry < take_profit if side == "buy" else take_profit < entry < stop
    if not ok:
        raise InvalidInput("error.signal_levels")


async def revise(
    key: str,
    version: int,
    entry: Decimal,
    stop: Decimal,
    take_profit: Decimal,
    point2: tuple[datetime, Decimal] | None = None,
    chart: ChartRenderer | None = None,
    *,
    alerts: AlertSink | None = None,
) -> SignalView | None:
    """Move an open signal's levels (a new point 2). Idempotent on (signal, version).
    Recipients are isolated as in `publish`."""
    row = await Signal.get_or_none(setup_key=key)
    if row is None or row.version >= version:
        return None
    if SignalStatus(row.status) not in (S.PUBLISHED, S.REVISED):
        return None  # a filled trade is never modified
    _validate_levels(row.side, entry, stop, take_profit)
    async with copy_engine.transaction():
        row.entry, row.stop, row.take_profit, row.version = entry, stop, take_profit, version
        row.status = S.REVISED
        if point2 is not None:
            row.point2_time, row.point2_price = point2
        await row.save()
        await SignalRevision.create(
            signal=row, version=version, entry=entry, stop=stop, take_profit=take_profit,
            point2_time=row.point2_time, point2_price=row.point2_price,
        )  # fmt: skip
        view = to_view(row)
        await audit.record("signal.revised", actor_id=None, target=str(row.id), version=version)
        faults = Faults(alerts)
        await fanout.announce_change(view, "revised", chart, faults)
        await copy_engine.on_revise(view, faults)  # unfilled orders move with the signal
        await ledger.record(view, clock.now())
        bus.publish(LiveUpdate("signal", row.id))
    return view


def _r_multiple(row: Signal, exit_price: Decimal) -> Decimal:
    entry: Decimal = row.fill_price or row.entry
    risk = abs(entry - row.stop)
    if risk == 0:
        return Decimal(0)
    move = exit_price - entry if row.side == "buy" else entry - exit_price
    return Decimal(move / risk).quantize(Decimal("0.0001"))


async def transition(
    signal_id: int,
    new: SignalStatus,
    *,
    at: datetime | None = None,
    price: Decimal | None = None,
    reason: CloseReason | None = None,
    actor_id: int | None = None,
    alerts: AlertSink | None = None,
) -> SignalView:
    """Apply one state-machine step (filled, expired, replaced, cancelled, closed) and notify;
    recipients are isolated as in `publish`."""
    row = await Signal.get_or_none(id=signal_id)
    if row is None:
        raise NotFound("error.signal_not_found", id=signal_id)
    old = SignalStatus(row.status)
    if new not in TRANSITIONS[old]:
        raise TransitionRefused(
            "error.signal_transition",
            id=signal_id,
            old=vocabulary.signal_status(old),
            new=vocabulary.signal_status(new),
        )
    moment = at or clock.now()
    async with copy_engine.transaction():
        row.status = new
        if new is S.FILLED:
            row.filled_at, row.fill_price = moment, price or row.entry
        elif new is S.CLOSED:
            row.closed_at, row.close_reason = moment, reason or CloseReason.MANUAL
            if price is not None:
                row.exit_price = price
                row.result_r = _r_multiple(row, price)
        await row.save()
        if new is S.CLOSED:  # the track record's rollups commit with the close
            await rollups.on_close(row.id, moment, row.result_r)
        view = to_view(row)
        await audit.record(
            f"signal.{new.value}", actor_id=actor_id, target=str(row.id), old=old.value,
            reason=reason.value if reason else None, price=str(price) if price is not None else None,
        )  # fmt: skip
        faults = Faults(alerts)
        await fanout.announce_change(view, new.value, None, faults)
        await copy_engine.on_transition(view, faults)  # cancel unfilled, close managed trades
        await ledger.record(view, moment)
        bus.publish(LiveUpdate("signal", row.id))
    return view


async def cancel(
    signal_id: int, actor_id: int | None, *, alerts: AlertSink | None = None
) -> SignalView:
    """Cancel an open signal; a filled one is closed at its entry price (manual)."""
    row = await Signal.get_or_none(id=signal_id)
    if row is None:
        raise NotFound("error.signal_not_found", id=signal_id)
    if SignalStatus(row.status) is S.FILLED:
        return await transition(
            signal_id, S.CLOSED, reason=CloseReason.MANUAL, actor_id=actor_id, alerts=alerts
        )
    return await transition(signal_id, S.CANCELLED, actor_id=actor_id, alerts=alerts)


async def get(signal_id: int) -> SignalView:
    row = await Signal.get_or_none(id=signal_id)
    if row is None:
        raise NotFound("error.signal_not_found", id=signal_id)
    return to_view(row)


async def get_by_key(key: str) -> SignalView | None:
    row = await Signal.get_or_none(setup_key=key)
    return None if row is None else to_view(row)


async def active(symbol: str | None = None) -> list[SignalView]:
    query = Signal.filter(status__in=[S.PUBLISHED, S.REVISED, S.FILLED]).order_by("-published_at")
    if symbol:
        query = query.filter(symbol=symbol)
    return [to_view(r) for r in await query.limit(50)]


async def history(limit: int = 10) -> list[SignalView]:
    done = [S.CLOSED, S.EXPIRED, S.REPLACED, S.CANCELLED]
    rows = await Signal.filter(status__in=done).order_by("-updated_at").limit(limit)
    return [to_view(r) for r in rows]


async def ended(before_id: int | None, limit: int) -> list[SignalView]:
    """Signals that are over (closed, expired, replaced, cancelled), newest first by id, those
    with an id below `before_id` (keyset pages)."""
    query = Signal.filter(status__in=[S.CLOSED, S.EXPIRED, S.REPLACED, S.CANCELLED])
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return [to_view(r) for r in await query.order_by("-id").limit(limit)]


async def expire_due(now: datetime, *, alerts: AlertSink | None = None) -> list[SignalView]:
    """Expire open signals whose order window has passed (manual signals, stale ones)."""
    rows = await Signal.filter(status__in=[S.PUBLISHED, S.REVISED], expires_at__lte=now)
    return [await transition(r.id, S.EXPIRED, at=now, alerts=alerts) for r in rows]


def expiry(published_at: datetime, hours: float) -> datetime:
    return published_at + timedelta(hours=hours)
