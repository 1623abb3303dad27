"""Price alerts of a user: create (checked against the market and the plan's quota), list,
delete. Every change commits with a `LiveUpdate("alert", id, (telegram id,))`, which both the
user's open Mini App and the evaluator on the scheduler leader hear (the evaluator reloads the
alert's row: services.alerts.evaluator).

The quota is the plan version's `alert_quota` (services.billing.catalog: Starter 0, Pro 20,
Elite 100; the free tier 0); staff (admins and the owner) may keep `STAFF_QUOTA`. Only active
alerts count. Two concurrent creates of one user are serialised on the user's row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.transactions import in_transaction

from core import bus, clock
from models.alerts import AlertCondition, AlertState, PriceAlert
from models.users import Role, User
from services.alerts import rules
from services.billing import catalog
from services.billing import entitlements as billing
from services.billing.entitlements import Access
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.events import LiveUpdate
from services.signals import market_data
from services.terminals.symbol_map import canonical
from services.text.formatting import Term
from services.users.profiles import UserInfo
from trading.symbols import SymbolSpec, UnknownSymbolError, get_spec, known_symbols

STAFF_QUOTA = 1000  # admins and the owner: effectively unlimited, still bounded
LIVE_KIND = "alert"


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    symbol: str
    condition: str
    level: Decimal
    digits: int
    note: str
    repeat: bool
    cooldown_min: int
    state: str
    fired_count: int
    last_fired_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Quota:
    used: int
    limit: int
    plan: str | None


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert as the user asked for it (the level as typed)."""

    symbol: str
    condition: str
    level: str
    note: str = ""
    repeat: bool = False
    cooldown_min: int = rules.DEFAULT_COOLDOWN_MIN


def digits_of(symbol: str) -> int:
    try:
        return get_spec(symbol).digits
    except UnknownSymbolError:
        return 5


def view_of(row: PriceAlert) -> AlertView:
    return AlertView(
        id=row.id, symbol=row.symbol, condition=str(row.condition),
        level=_level(row), digits=digits_of(row.symbol),
        note=row.note, repeat=row.repeat, cooldown_min=row.cooldown_s // 60,
        state=str(row.state), fired_count=row.fired_count, last_fired_at=row.last_fired_at,
        created_at=row.created_at,
    )  # fmt: skip


def _level(row: PriceAlert) -> Decimal:
    """The stored level with the symbol's digits (the column keeps 8 places)."""
    return Decimal(str(row.level)).quantize(Decimal(1).scaleb(-digits_of(row.symbol)))


@asynccontextmanager
async def _transaction() -> AsyncIterator[None]:
    with bus.deferred():  # the LiveUpdate goes out after the commit
        async with in_transaction():
            yield


async def access(user: UserInfo) -> Access:
    if user.access is not None:
        return user.access
    return await billing.access_for(user.id, clock.now(), role=user.role)


async def quota_limit(user: UserInfo) -> tuple[int, str | None]:
    """How many active alerts `user` may keep, and the plan that says so."""
    found = await access(user)
    if user.role.at_least(Role.ADMIN):
        return max(STAFF_QUOTA, found.alert_quota), found.plan
    return found.alert_quota, found.plan


async def quota(user: UserInfo) -> Quota:
    limit, plan = await quota_limit(user)
    used = await PriceAlert.filter(user_id=user.id, state=AlertState.ACTIVE).count()
    return Quota(used, limit, plan)


async def _upgrade_plan(limit: int) -> catalog.Offer | None:
    """The cheapest plan on sale that allows more than `limit` alerts."""
    found = [o for o in await catalog.offers() if not o.terms.hidden and o.terms.access_code is None
             and o.terms.alert_quota > limit]  # fmt: skip
    return found[0] if found else None


async def _refuse_quota(limit: int, plan: str | None) -> None:
    better = await _upgrade_plan(limit)
    current = Term(f"plan.{plan}") if plan else Term("alerts.plan_free")
    if better is None:
        raise PermissionDenied("alerts.error_quota_max", quota=limit, plan=current)
    shown = {"quota": limit, "plan": current, "better": Term(f"plan.{better.code}"),
             "more": better.terms.alert_quota}  # fmt: skip
    if limit == 0:
        raise PermissionDenied("alerts.error_quota_none", **shown)
    raise PermissionDenied("alerts.error_quota", **shown)


async def resolve_symbol(typed: str) -> tuple[str, SymbolSpec, market_data.Quote]:
    """The live feed for `typed` (GOLD or XAUUSD), its spec and last price; refuses an unknown
    symbol or one without a live feed, naming those that have one."""
    name = canonical(typed)[:32]
    known = {canonical(s) for s in known_symbols()}
    live = await market_data.live_symbols()
    fed = await market_data.fed_name(name) if name else None
    if name not in known and fed is None:
        raise InvalidInput("alerts.error_symbol_unknown", symbol=typed.strip()[:32],
                           symbols=", ".join(live) or "-")  # fmt: skip
    if fed is None:
        raise InvalidInput("alerts.error_no_feed", symbol=name, symbols=", ".join(live) or "-")
    found = await market_data.quote(fed)
    assert found is not None  # fed_name answers only symbols with a stored bar
    try:
        spec = get_spec(fed)
    except UnknownSymbolError:
        spec = get_spec(name)
    return fed, spec, found


async def create(user: UserInfo, new: NewAlert) -> AlertView:
    """A new active alert, after every check (services.alerts.rules) and the quota."""
    condition = rules.check_condition(new.condition.strip().lower())
    level = rules.parse_level(new.level)
    symbol, spec, last = await resolve_symbol(new.symbol)
    checked = rules.check(spec, condition, level, last.close, new.note, new.cooldown_min)
    now = clock.now()
    async with _transaction():
        await User.filter(id=user.id).select_for_update().only("id").first()
        limit, plan = await quota_limit(user)
        used = await PriceAlert.filter(user_id=user.id, state=AlertState.ACTIVE).count()
        if used >= limit:
            await _refuse_quota(limit, plan)
        row = await PriceAlert.create(
            user_id=user.id, symbol=symbol, condition=AlertCondition(condition),
            level=checked.level, note=checked.note, repeat=new.repeat,
            cooldown_s=checked.cooldown_min * 60, created_at=now, updated_at=now,
        )  # fmt: skip
        bus.publish(LiveUpdate(LIVE_KIND, row.id, (user.telegram_id,)))
    return view_of(row)


async def alerts(user: UserInfo, *, include_fired: bool = True) -> list[AlertView]:
    """The user's alerts, newest first: active ones, and fired one-shot ones if asked."""
    states = [AlertState.ACTIVE, AlertState.FIRED] if include_fired else [AlertState.ACTIVE]
    rows = await PriceAlert.filter(user_id=user.id, state__in=states).order_by("-id")
    return [view_of(r) for r in rows]


async def alert(user: UserInfo, alert_id: int) -> AlertView:
    """One of the user's alerts (another user's, or a deleted one, is not found)."""
    row = await PriceAlert.get_or_none(id=alert_id, user_id=user.id)
    if row is None or row.state is AlertState.DELETED:
        raise NotFound("alerts.error_not_found", id=alert_id)
    return view_of(row)


async def delete(user: UserInfo, alert_id: int) -> AlertView:
    """Delete one of the user's alerts (active or fired); another user's is not found."""
    async with _transaction():
        row = await PriceAlert.filter(id=alert_id, user_id=user.id).select_for_update().first()
        if row is None or row.state is AlertState.DELETED:
            raise NotFound("alerts.error_not_found", id=alert_id)
        row.state = AlertState.DELETED
        row.updated_at = clock.now()
        await row.save(update_fields=["state", "updated_at"])
        bus.publish(LiveUpdate(LIVE_KIND, row.id, (user.telegram_id,)))
    return view_of(row)


async def symbols() -> tuple[str, ...]:
    """The symbols an alert may be set on now (those with a live feed)."""
    return await market_data.live_symbols()


@dataclass(frozen=True, slots=True)
class SymbolQuote:
    symbol: str
    last: Decimal  # on the symbol's tick
    digits: int
    tick: Decimal


async def live_quotes() -> list[SymbolQuote]:
    """Each symbol an alert may be set on now, with its last price and tick."""
    out = []
    for name in await symbols():
        found = await market_data.quote(name)
        try:
            spec = get_spec(name)
        except UnknownSymbolError:
            continue
        if found is not None:
            last = found.close.quantize(spec.tick_size)
            out.append(SymbolQuote(name, last, spec.digits, spec.tick_size))
    return out
