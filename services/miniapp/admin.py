"""The Mini App's Admin pages (admins and the owner), each action through the chat's own service
so the rules, the audit rows and the notices are the chat's:

- users: search, one user's standing; role (`services.users.access.set_role`: the owner only),
  ban / unban (`set_banned`: below the actor's own role), a complimentary plan for N days
  (`services.billing.storefront.grant`, the chat's /grant);
- signals: pause / resume publishing per symbol (`services.signals.strategy.set_paused`, the
  switch the trading loop reads), cancel an open signal (`services.signals.lifecycle.cancel`:
  the cards update, terminals get the cancellation);
- revenue: the /revenue figures (`services.billing.revenue`), daily and per month;
- broadcasts: `services.outbox.broadcast`.

After a role or ban change every cache of the user drops (`UserChanged`, which also tells their
open Mini App) and their chat's command menu follows (`AccessChanged`), as the chat's handlers
do; a grant and a cancel announce themselves (billing, the signal lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import bus, clock
from models.signals import SymbolState
from models.users import Role
from services.billing import catalog, revenue, storefront
from services.billing.entitlements import EntitlementInfo
from services.errors import PermissionDenied
from services.events import AccessChanged, UserChanged
from services.isolation import AlertSink
from services.outbox import broadcast
from services.signals import lifecycle as signals
from services.signals import strategy
from services.signals.strategy import SymbolStatus
from services.signals.views import SignalView
from services.terminals import devices
from services.users import access, profiles, registration
from services.users.profiles import UserInfo

SEARCH_CAP = 500  # users one search pages through (narrow the text for more)
DAILY_DAYS = 90
MONTHS = 12


@dataclass(frozen=True, slots=True)
class UserStanding:
    """One user as an admin sees them: role, status, access now and terminals."""

    user: UserInfo  # with its access loaded
    terminals: int  # not revoked


@dataclass(frozen=True, slots=True)
class Granted:
    standing: UserStanding
    entitlement: EntitlementInfo


@dataclass(frozen=True, slots=True)
class Paused:
    status: SymbolStatus
    changed: bool  # False: it already was (nothing recorded)


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    mrr_cents: int
    subscribers: int


@dataclass(frozen=True, slots=True)
class RevenueView:
    report: revenue.Revenue
    daily: tuple[Point, ...]  # the end of each of the last `DAILY_DAYS` days
    monthly: tuple[Point, ...]  # the end of each of the last `MONTHS` months (this one: now)


async def search(text: str) -> list[UserInfo]:
    return await profiles.matching(text, limit=SEARCH_CAP)


async def standing(telegram_id: int) -> UserStanding:
    """The user with Telegram id `telegram_id` (NotFound if unknown)."""
    found = await registration.with_access(await profiles.get_by_telegram_id(telegram_id))
    return UserStanding(found, len(await devices.list_devices(found)))


def _announce(telegram_id: int) -> None:
    """Caches drop the user (and their open Mini App reloads its access: `push`), and this
    replica refreshes their chat's command menu."""
    bus.publish(UserChanged(telegram_id))
    bus.publish(AccessChanged(telegram_id))


async def set_role(actor: UserInfo, telegram_id: int, role: Role) -> UserStanding:
    """The chat's /role: only the owner changes roles, never an owner's."""
    updated = await access.set_role(actor, str(telegram_id), role.value)
    _announce(updated.telegram_id)
    return await standing(updated.telegram_id)


async def set_banned(actor: UserInfo, telegram_id: int, *, banned: bool) -> UserStanding:
    """The chat's /ban and /unban: admins act on users below their own role."""
    updated = await access.set_banned(actor, str(telegram_id), banned=banned)
    _announce(updated.telegram_id)
    return await standing(updated.telegram_id)


async def grant(actor: UserInfo, telegram_id: int, plan: str, days: int) -> Granted:
    """The chat's /grant: `days` of `plan`, stacked after the user's current period of it
    (the billing service announces the change to caches and the chat's menu)."""
    done = await storefront.grant(actor, str(telegram_id), plan, str(days), clock.now())
    return Granted(await standing(done.user.telegram_id), done.entitlement)


async def plans() -> list[str]:
    """Every plan's code, cheapest first (what a grant or a plan audience may name)."""
    return [o.code for o in await catalog.offers()]


async def symbols(configured: tuple[str, ...]) -> list[SymbolStatus]:
    """Every traded symbol's state: the configured ones and any the loop has a state for."""
    known = await SymbolState.all().values_list("symbol", flat=True)
    names = sorted({*configured, *(str(n) for n in known)})
    return await strategy.status(tuple(names))


async def set_paused(actor: UserInfo, symbol: str, *, paused: bool) -> Paused:
    """The chat's /strategy switch; `changed` False when it already was so."""
    changed = await strategy.set_paused(actor.telegram_id, symbol, paused)
    (status,) = await strategy.status((strategy.check_symbol(symbol),))
    return Paused(status, changed)


async def open_signals() -> list[SignalView]:
    return await signals.active()


async def cancel(actor: UserInfo, signal_id: int, alerts: AlertSink | None) -> SignalView:
    """The chat's /cancel_signal: an open signal is cancelled, a filled one closed at entry."""
    return await signals.cancel(signal_id, actor.telegram_id, alerts=alerts)


def _points(series: list[tuple[datetime, revenue.Snapshot]]) -> tuple[Point, ...]:
    return tuple(Point(t, s.mrr_cents, s.subscribers) for t, s in series)


def _month_ends(series: list[tuple[datetime, revenue.Snapshot]]) -> tuple[Point, ...]:
    last: dict[tuple[int, int], tuple[datetime, revenue.Snapshot]] = {}
    for t, s in series:
        last[(t.year, t.month)] = (t, s)
    return _points([last[k] for k in sorted(last)][-MONTHS:])


async def revenue_view(actor: UserInfo, now: datetime | None = None) -> RevenueView:
    """The /revenue figures at `now`, with MRR and subscribers per day and per month: the
    owner's, as in the chat (admins: PermissionDenied)."""
    if actor.role is not Role.OWNER:
        raise PermissionDenied("error.owner_only")
    moment = now or clock.now()
    report = await revenue.report(moment)
    year = await revenue.history(moment, days=366)
    return RevenueView(report, _points(year[-DAILY_DAYS:]), _month_ends(year))


def preview(text: str) -> str:
    return broadcast.preview(text)


async def audience(target: broadcast.Target) -> int:
    """How many users a broadcast to `target` reaches now."""
    return len(await broadcast.recipients(target, clock.now()))


async def send_broadcast(
    actor: UserInfo, target: broadcast.Target, text: str, key: str
) -> broadcast.Sent:
    return await broadcast.send(actor.telegram_id, target, text, key, clock.now())
