"""The owner's controls over the strategy: per-symbol state, pause switch, channel routes,
and manual signals (validated and rounded exactly like the strategy's own)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from tortoise.transactions import in_transaction

from models.signals import ChannelRoute, Signal, SignalSource, SignalStatus, SymbolState
from services import app_settings, audit, signals
from services.app_settings import Visibility
from services.errors import InvalidInput, NotFound
from services.isolation import AlertSink
from services.signal_views import SignalView
from trading.detector import Side
from trading.market_hours import is_open, next_open
from trading.orders import OrderRefused, round_levels
from trading.symbols import UnknownSymbolError, get_spec, known_symbols

MAX_EXPIRY_HOURS = 24 * 14


@dataclass(frozen=True, slots=True)
class SymbolStatus:
    symbol: str
    paused: bool
    last_bar_time: datetime | None
    bars_seen: int
    open_signals: int
    market_open: bool
    next_open: datetime


@dataclass(frozen=True, slots=True)
class Route:
    symbol: str
    chat_id: int
    title: str


def check_symbol(symbol: str) -> str:
    name = symbol.strip().upper()
    try:
        get_spec(name)
    except UnknownSymbolError:
        raise InvalidInput(
            "error.symbol_unknown", symbol=name, known=", ".join(known_symbols())
        ) from None
    return name


async def status(symbols: tuple[str, ...], now: datetime | None = None) -> list[SymbolStatus]:
    moment = now or datetime.now(UTC)
    open_states = [SignalStatus.PUBLISHED, SignalStatus.REVISED, SignalStatus.FILLED]
    out = []
    for symbol in symbols:
        state = await SymbolState.get_or_none(symbol=symbol)
        count = await Signal.filter(symbol=symbol, status__in=open_states).count()
        out.append(
            SymbolStatus(
                symbol=symbol,
                paused=bool(state and state.paused),
                last_bar_time=state.last_bar_time if state else None,
                bars_seen=state.bars_seen if state else 0,
                open_signals=count,
                market_open=is_open(symbol, moment),
                next_open=next_open(symbol, moment),
            )
        )
    return out


async def set_paused(actor_id: int, symbol: str, paused: bool) -> None:
    name = check_symbol(symbol)
    async with in_transaction():
        state, _ = await SymbolState.get_or_create(symbol=name)
        state.paused = paused
        await state.save(update_fields=["paused", "updated_at"])
        await audit.record(
            "strategy.paused" if paused else "strategy.resumed", actor_id=actor_id, target=name
        )


async def add_route(actor_id: int, symbol: str, chat_id: int, title: str) -> Route:
    name = check_symbol(symbol)
    async with in_transaction():
        row, created = await ChannelRoute.get_or_create(
            symbol=name, chat_id=chat_id, defaults={"title": title[:128], "created_by": actor_id}
        )
        if created:
            await audit.record("route.added", actor_id=actor_id, target=name, chat_id=chat_id)
    return Route(row.symbol, row.chat_id, row.title)


async def remove_route(actor_id: int, symbol: str, chat_id: int) -> None:
    name = check_symbol(symbol)
    deleted = await ChannelRoute.filter(symbol=name, chat_id=chat_id).delete()
    if not deleted:
        raise NotFound("error.route_not_found", symbol=name)
    await audit.record("route.removed", actor_id=actor_id, target=name, chat_id=chat_id)


async def routes() -> list[Route]:
    rows = await ChannelRoute.all().order_by("symbol", "id")
    return [Route(r.symbol, r.chat_id, r.title) for r in rows]


def parse_price(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("error.price_invalid", text=text[:32]) from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput("error.price_invalid", text=text[:32])
    return value


@dataclass(frozen=True, slots=True)
class ManualDraft:
    """A manual signal before publication: levels rounded to the symbol's tick."""

    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    expiry_hours: int
    note: str
    adjusted: bool


def draft_manual(
    symbol: str, side: str, entry: Decimal, stop: Decimal, take_profit: Decimal | None,
    expiry_hours: int, note: str,
) -> ManualDraft:  # fmt: skip
    """Validate and round like the strategy does; a missing take-profit is set to 3.25 R."""
    name = check_symbol(symbol)
    if side not in ("buy", "sell"):
        raise InvalidInput("error.signal_side", side=side)
    if not 1 <= expiry_hours <= MAX_EXPIRY_HOURS:
        raise InvalidInput("error.expiry_range", max=MAX_EXPIRY_HOURS)
    spec = get_spec(name)
    try:
        levels = round_levels(Side(side), entry, stop, spec)
    except OrderRefused:
        raise InvalidInput("error.signal_levels") from None
    tp = levels.take_profit
    if take_profit is not None:
        tp = take_profit.quantize(spec.tick_size)
        ok = levels.entry < tp if side == "buy" else tp < levels.entry
        if not ok:
            raise InvalidInput("error.signal_levels")
    return ManualDraft(
        name,
        side,
        levels.entry,
        levels.stop,
        tp,
        expiry_hours,
        note[:200],
        bool(levels.adjustments),
    )


async def publish_manual(
    actor_id: int,
    draft: ManualDraft,
    now: datetime | None = None,
    *,
    alerts: AlertSink | None = None,
) -> SignalView:
    moment = now or datetime.now(UTC)
    view = await signals.publish(
        signals.SignalDraft(
            setup_key=f"manual:{uuid.uuid4().hex[:16]}",
            symbol=draft.symbol,
            side=draft.side,
            entry=draft.entry,
            stop=draft.stop,
            take_profit=draft.take_profit,
            published_at=moment,
            expires_at=moment + timedelta(hours=draft.expiry_hours),
            source=SignalSource.MANUAL,
            rationale=draft.note,
            created_by=actor_id,
        ),
        alerts=alerts,
    )
    assert view is not None  # a fresh uuid key is never a duplicate
    return view


async def set_visibility(actor_id: int, value: str) -> Visibility:
    """Owner: what subscribers see of new signals (full levels, or the entry only)."""
    try:
        visibility = Visibility(value.strip().lower())
    except ValueError:
        raise InvalidInput("error.visibility_unknown", value=value[:32]) from None
    async with in_transaction():
        await app_settings.put("signals.visibility", visibility.value)
        await audit.record("signals.visibility", actor_id=actor_id, value=visibility.value)
    return visibility
