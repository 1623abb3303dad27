"""The owner's controls over the strategy: per-symbol state, pause switch, channel routes and
what subscribers see. Manual signals live in `services.signals.manual`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from core import clock
from models.signals import ChannelRoute, Signal, SignalStatus, SymbolState
from services import app_settings, audit
from services.app_settings import Visibility
from services.errors import InvalidInput, NotFound
from services.signals import market_data
from trading.market_hours import is_open, next_open
from trading.symbols import UnknownSymbolError, get_spec, known_symbols


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


@dataclass(frozen=True, slots=True)
class RouteAdded:
    route: Route
    created: bool  # False: the route already existed (nothing changed)


@dataclass(frozen=True, slots=True)
class VisibilitySet:
    value: Visibility
    changed: bool  # False: it already was `value`


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
    moment = now or clock.now()
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


async def set_paused(actor_id: int, symbol: str, paused: bool) -> bool:
    """Pause or resume publishing on `symbol`; False (and no audit row) when it already was."""
    name = check_symbol(symbol)
    async with in_transaction():
        state, _ = await SymbolState.get_or_create(symbol=name)
        if state.paused == paused:
            return False
        state.paused = paused
        await state.save(update_fields=["paused", "updated_at"])
        await audit.record(
            "strategy.paused" if paused else "strategy.resumed", actor_id=actor_id, target=name
        )
    return True


async def routable_symbol(symbol: str, now: datetime | None = None) -> str:
    """The name a route for `symbol` is kept under: a known symbol whose feed is live (the one
    "has a feed" rule of `services.signals.market_data`; GOLD finds an XAUUSD feed). A symbol without
    a feed would never publish a card to the chat: refused, naming the symbols that have one."""
    name = check_symbol(symbol)
    fed = await market_data.fed_name(name, now)
    if fed is not None:
        return fed
    live = await market_data.live_symbols(now)
    if not live:
        raise InvalidInput("error.route_no_feed_any", symbol=name)
    raise InvalidInput("error.route_no_feed", symbol=name, fed=", ".join(live))


async def add_route(actor_id: int, symbol: str, chat_id: int, title: str) -> RouteAdded:
    """Route `symbol`'s public cards to a chat; `created` False when the route existed."""
    name = check_symbol(symbol)
    async with in_transaction():
        row, created = await ChannelRoute.get_or_create(
            symbol=name, chat_id=chat_id, defaults={"title": title[:128], "created_by": actor_id}
        )
        if created:
            await audit.record("route.added", actor_id=actor_id, target=name, chat_id=chat_id)
    return RouteAdded(Route(row.symbol, row.chat_id, row.title), created)


async def remove_route(actor_id: int, symbol: str, chat_id: int) -> None:
    name = check_symbol(symbol)
    deleted = await ChannelRoute.filter(symbol=name, chat_id=chat_id).delete()
    if not deleted:
        raise NotFound("error.route_not_found", symbol=name)
    await audit.record("route.removed", actor_id=actor_id, target=name, chat_id=chat_id)


async def routes() -> list[Route]:
    rows = await ChannelRoute.all().order_by("symbol", "id")
    return [Route(r.symbol, r.chat_id, r.title) for r in rows]


async def set_visibility(actor_id: int, value: str) -> VisibilitySet:
    """Owner: what subscribers see of new signals (full levels, or the entry only); nothing
    changes (no audit row) when it already is `value`."""
    try:
        visibility = Visibility(value.strip().lower())
    except ValueError:
        raise InvalidInput("error.visibility_unknown", value=value[:32]) from None
    async with in_transaction():
        if await app_settings.visibility() is visibility:
            return VisibilitySet(visibility, changed=False)
        await app_settings.put("signals.visibility", visibility.value)
        await audit.record("signals.visibility", actor_id=actor_id, value=visibility.value)
    return VisibilitySet(visibility, changed=True)
