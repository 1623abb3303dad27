"""What the Mini App's API serves, from the same services the chat uses.

Every function takes the user as loaded for the request (`current_user`: as they are now, with
their `Access`), decides what they may see with the one entitlement service, and returns frozen
dataclasses; another user's object is `NotFound`, never a hint that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core import clock
from models.signals import ApprovalSource, Decision, Signal, SignalStatus
from models.users import Role
from services import app_settings
from services.app_settings import Visibility
from services.billing.entitlements import Access
from services.errors import NotFound, PermissionDenied
from services.isolation import AlertSink
from services.miniapp import auth
from services.signals import approvals, consent, market_data
from services.signals import lifecycle as signals
from services.signals.approvals import ApprovalResult
from services.signals.views import SignalView
from services.terminals import overview
from services.users import entitlements, profiles, registration
from services.users.cache import ChangeProbe, UserCache
from services.users.profiles import UserInfo

CHART_BARS = 120  # as many bars as the chat's chart shows
# Over: nothing more will be traded on it, so its levels are no secret any more.
ENDED = frozenset({SignalStatus.CLOSED, SignalStatus.EXPIRED, SignalStatus.REPLACED,
                   SignalStatus.CANCELLED})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Levels:
    """What a user may see of a signal's prices (None: hidden by visibility or access)."""

    entry: Decimal | None
    stop: Decimal | None
    take_profit: Decimal | None
    reward_risk: Decimal | None


@dataclass(frozen=True, slots=True)
class SignalItem:
    view: SignalView
    levels: Levels
    decision: Decision | None
    can_decide: bool
    expires_in_s: int | None = None  # by the market's clock (`time_left`); None: not asked


@dataclass(frozen=True, slots=True)
class FibPoint:
    time: datetime
    price: Decimal


@dataclass(frozen=True, slots=True)
class Candle:
    time: int  # unix seconds, bar open
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class SignalDetail:
    item: SignalItem
    points: tuple[FibPoint, ...]  # the two Fib points of a strategy setup (none: manual)
    candles: tuple[Candle, ...]
    counts: dict[Decision, int]


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision's outcome: `needs_consent` is the disclaimer version to accept first."""

    item: SignalItem
    changed: bool
    needs_consent: str | None


async def login(
    init_data: str,
    bot_token: str,
    *,
    owners: frozenset[int],
    max_age: timedelta,
    callers: Callers | None = None,
) -> tuple[UserInfo, auth.Session]:
    """Validate Telegram's initData, register the user if new, refuse a banned one, and issue
    a session token. The user as just loaded replaces any cached copy."""
    now = clock.now()
    found = auth.validate_init_data(init_data, bot_token, now=now, max_age=max_age)
    cache = None if callers is None else callers.cache
    generation = None if cache is None else cache.generation
    contact = await registration.ensure_contact(found.profile, owners=owners)
    user = await registration.with_access(contact.user, now, first_contact=contact.first_contact)
    if cache is not None:
        cache.put(user, generation)
    _refuse_banned(user)
    stale = found.auth_date + max_age  # the session ends when its initData would
    return user, auth.issue(user.telegram_id, now, bot_token=bot_token, not_after=stale)


@dataclass(frozen=True)
class Callers:
    """Where API calls find their caller: the process's user cache (the chat's own, so every
    invalidation the bot honours, from this replica, the replica bus or on SQLite the
    `probe` of another process's writes, reaches the Mini App too). No cache: every call loads."""

    cache: UserCache | None = None
    probe: ChangeProbe | None = None


NO_CACHE = Callers()


async def session_user(token: str, bot_token: str, callers: Callers = NO_CACHE) -> UserInfo:
    """The user a session token of this bot was issued to, as they are now."""
    return await current_user(auth.verify(token, clock.now(), bot_token=bot_token), callers)


async def init_data_user(
    init_data: str, bot_token: str, *, max_age: timedelta, callers: Callers = NO_CACHE
) -> UserInfo:
    """`Authorization: tma <initData>`: the known user it names (third-party clients)."""
    found = auth.validate_init_data(init_data, bot_token, now=clock.now(), max_age=max_age)
    return await current_user(found.profile.telegram_id, callers)


async def caller(
    authorization: str, bot_token: str, *, max_age: timedelta, callers: Callers = NO_CACHE
) -> UserInfo:
    """The caller of an API route, from its `Authorization` header: ``Bearer <session token>``
    or ``tma <initData>``; `Unauthenticated` without either."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if value and scheme.lower() == "bearer":
        return await session_user(value, bot_token, callers)
    if value and scheme.lower() == "tma":
        return await init_data_user(value, bot_token, max_age=max_age, callers=callers)
    raise auth.Unauthenticated(auth.REFUSED)


def require_admin(user: UserInfo) -> None:
    if not user.role.at_least(Role.ADMIN):
        raise PermissionDenied("miniapp.error_admin_only")


async def current_user(telegram_id: int, callers: Callers = NO_CACHE) -> UserInfo:
    """The user as they are now: from the cache while their access period lasts and nothing
    about them changed, else loaded (and cached unless a change came in meanwhile)."""
    now = clock.now()
    cache = callers.cache
    if cache is not None and callers.probe is not None and await callers.probe.changed():
        cache.clear()
    if cache is not None:
        cached = cache.get(telegram_id)
        if cached is not None and cached.access is not None and cached.access.still_valid(now):
            _refuse_banned(cached)
            return cached
    generation = None if cache is None else cache.generation
    try:
        user = await profiles.get_by_telegram_id(telegram_id)
    except NotFound as exc:  # a token of a user that no longer exists
        raise auth.Unauthenticated(auth.REFUSED) from exc
    user = await registration.with_access(user, now)
    if cache is not None:
        cache.put(user, generation)
    _refuse_banned(user)
    return user


def _refuse_banned(user: UserInfo) -> None:
    if user.is_banned:
        raise PermissionDenied("miniapp.error_banned")


def access(user: UserInfo) -> Access:
    return entitlements.access_of(user)


def require_paid(user: UserInfo) -> None:
    """Signals' levels, details and decisions: the paid feature (403 for the free tier)."""
    if not entitlements.can_trade_signals(user):
        raise PermissionDenied("error.signal_not_entitled")


def _levels(view: SignalView, paid: bool, visibility: Visibility) -> Levels:
    """Prices on the symbol's tick grid (what the chat shows), hidden as the user may not see."""
    if not paid:
        return Levels(None, None, None, None)
    tick = Decimal(10) ** -view.digits
    entry = view.entry.quantize(tick)
    if visibility is Visibility.FULL:
        return Levels(entry, view.stop.quantize(tick), view.take_profit.quantize(tick),
                      view.reward_risk)  # fmt: skip
    return Levels(entry, None, None, None)


async def _item(user: UserInfo, view: SignalView, visibility: Visibility) -> SignalItem:
    paid = entitlements.can_trade_signals(user)
    decision = await approvals.decision_of(user, view.id) if paid else None
    left = (await time_left([view]))[view.id]
    return SignalItem(view, _levels(view, paid, visibility), decision, paid and view.is_open, left)


async def time_left(views: list[SignalView]) -> dict[int, int]:
    """Seconds until each signal expires by its symbol's market clock
    (`market_data.market_now`: the real clock with a live feed, the bars' time in a replay),
    0 once past; one read per symbol."""
    now = clock.now()
    clocks = {}
    for symbol in {v.symbol for v in views}:
        clocks[symbol] = market_data.market_now(await market_data.quote(symbol, now), now)
    return {v.id: max(0, int((v.expires_at - clocks[v.symbol]).total_seconds())) for v in views}


async def open_signals(user: UserInfo) -> list[SignalItem]:
    """Open and filled signals, newest first. The free tier sees what the chat's delayed
    summary shows: signals older than the free delay, without levels."""
    views = await signals.active()
    if not entitlements.can_trade_signals(user):
        cutoff = clock.now() - timedelta(hours=await app_settings.free_delay_hours())
        views = [v for v in views if v.published_at <= cutoff]
    visibility = await app_settings.visibility()
    paid = entitlements.can_trade_signals(user)
    mine = await approvals.decisions_of(user, [v.id for v in views]) if paid else {}
    left = await time_left(views)
    return [
        SignalItem(v, _levels(v, paid, visibility), mine.get(v.id), paid and v.is_open, left[v.id])
        for v in views
    ]


async def history(user: UserInfo, before_id: int | None, limit: int) -> list[SignalItem]:
    """Signals that are over, newest first, with their outcome in R. Once a signal is over its
    levels are no secret to a paying user (all of them, whatever the visibility setting); the
    free tier sees outcomes without levels, delayed as the open list is."""
    paid = entitlements.can_trade_signals(user)
    views = await signals.ended(before_id, limit)
    if not paid:
        cutoff = clock.now() - timedelta(hours=await app_settings.free_delay_hours())
        views = [v for v in views if v.published_at <= cutoff]
    mine = await approvals.decisions_of(user, [v.id for v in views]) if paid else {}
    return [
        SignalItem(view, _levels(view, paid, Visibility.FULL), mine.get(view.id), False)
        for view in views
    ]


async def pending(user: UserInfo) -> list[SignalItem]:
    """Open signals the user has not decided yet (Home's pending approvals)."""
    if not entitlements.can_trade_signals(user):
        return []
    items = await open_signals(user)
    return [i for i in items if i.can_decide and i.decision is None]


async def signal_detail(user: UserInfo, signal_id: int) -> SignalDetail:
    """A signal with its chart data (the stored market bars) and Fib points (paid only).

    The Fib points are the stop and the take-profit in disguise (stop = p2 + 1.27 (p1 - p2),
    STRATEGY.md), so they are sent only with those levels: not while the owner keeps them
    private (entry_only). Once the signal is over its levels are no secret (as `history`)."""
    found = await approvals.details(user, signal_id)  # PermissionDenied for the free tier
    view = found.signal
    visibility = Visibility.FULL if view.status in ENDED else await app_settings.visibility()
    levels = _levels(view, True, visibility)
    left = (await time_left([view]))[view.id]
    item = SignalItem(view, levels, found.mine, view.is_open, left)
    row = await Signal.get(id=signal_id)
    tick = Decimal(10) ** -view.digits  # on the symbol's grid, as the levels
    points = tuple(
        FibPoint(t, p.quantize(tick))
        for t, p in ((row.point1_time, row.point1_price), (row.point2_time, row.point2_price))
        if t is not None and p is not None and levels.stop is not None
    )
    bars = await market_data.recent_candles(found.signal.symbol, CHART_BARS)
    candles: tuple[Candle, ...] = ()
    if bars is not None:
        candles = tuple(
            Candle(int(bars.time[i]), float(bars.open[i]), float(bars.high[i]),
                   float(bars.low[i]), float(bars.close[i]))
            for i in range(len(bars))
        )  # fmt: skip
    return SignalDetail(item, points, candles, found.counts)


async def decide(
    user: UserInfo,
    signal_id: int,
    decision: Decision,
    *,
    accept_disclaimer: str | None = None,
    alerts: AlertSink | None = None,
) -> Decided:
    """Approve or reject through the chat's service (same audit, same terminals' orders). A
    first approval answers `needs_consent` with the disclaimer version; the client shows it and
    sends the decision again with `accept_disclaimer` set to that version."""
    require_paid(user)
    if decision is Decision.APPROVED and accept_disclaimer is not None:
        await signals.get(signal_id)  # NotFound before the consent is recorded
        outcome = await consent.accept_and_approve(
            user,
            signal_id,
            consent.version_tag(accept_disclaimer),
            alerts=alerts,
            source=ApprovalSource.MINI_APP,
        )
        result = outcome.approval
        if result is None:  # consent recorded; the signal left its window meanwhile
            raise approvals.SignalNotOpen(outcome.signal)
    else:
        result = await approvals.decide(
            user, signal_id, decision, ApprovalSource.MINI_APP, alerts=alerts
        )
    return await _decided(user, result)


async def _decided(user: UserInfo, result: ApprovalResult) -> Decided:
    """The decided signal as the lists show it: the view the decision was checked against,
    with the decision it left (asked for consent: the one the user had before, if any)."""
    visibility = await app_settings.visibility()
    view = result.signal
    decision = result.decision
    if result.needs_consent is not None:
        decision = await approvals.decision_of(user, view.id)
    left = (await time_left([view]))[view.id]
    item = SignalItem(view, _levels(view, True, visibility), decision, view.is_open, left)
    return Decided(item, result.changed, result.needs_consent)


async def terminals(user: UserInfo) -> list[overview.TerminalView]:
    """The user's devices (a paid feature: the free tier has none to see)."""
    return await overview.terminals(user)


async def terminal(user: UserInfo, device_id: str) -> overview.TerminalView:
    """One of the user's own terminals; another user's (or a revoked one) is `NotFound`."""
    return await overview.terminal(user, device_id)


async def terminals_online(user: UserInfo) -> tuple[int, int]:
    """(online, total) of the user's terminals; (0, 0) for the free tier."""
    if not entitlements.can_trade_signals(user):
        return 0, 0
    views = await overview.terminals(user)
    return sum(1 for v in views if v.online), len(views)


async def today(user: UserInfo) -> list[overview.DayFigures]:
    """Home's open positions and today's P&L; none for the free tier (no terminals)."""
    if not entitlements.can_trade_signals(user):
        return []
    return await overview.today(user)


async def change_settings(
    user: UserInfo, language: str | None, card_style: str | None
) -> UserInfo:
    """The language (the same setting as /language) and the chat card style (the profile
    service tells every user cache)."""
    updated = user
    if language is not None:
        updated = await profiles.set_language(user.telegram_id, language)
    if card_style is not None:
        updated = await profiles.set_card_style(user.telegram_id, card_style)
    return updated
