"""Entitlements: what a user has paid for (or was granted), as periods of access to a plan
version, and the `Access` they give now.

`access_for(user_id, now)` reads the user's entitlement rows with status active or grace whose
period contains `now`, grace included (starts_at <= now < ends_at + GRACE). Among those it picks
the best plan (out of grace first, then the highest price) and follows that plan's stacked
periods (rows of the same plan that start before the previous one ends) to the end of the
chain, so a renewal paid before the end shows one continuous period. Past ends_at but within
GRACE the access is `in_grace`.

The complimentary rule: a user whose role is subscriber or above (set by hand before billing
existed) and who has no current entitlement has `COMPLIMENTARY` access: the Starter plan's
features plus copy mode (which the role gave before), with Starter's terminal limit. Roles stay
permissions; this rule keeps what the role used to grant.

Trials: once per Telegram account, whatever the plan (`trial_use.telegram_id` is UNIQUE: two
concurrent starts cannot both win).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import bus
from models.billing import Entitlement, EntitlementSource, EntitlementStatus, Plan, TrialUse
from models.users import Role, User
from services import audit
from services.billing import catalog
from services.billing.catalog import Feature
from services.errors import InvalidInput, NotFound
from services.events import AccessChanged, LiveUpdate, UserChanged

GRACE = timedelta(hours=48)  # access continues this long after a period ends unrenewed
CURRENT = (EntitlementStatus.ACTIVE, EntitlementStatus.GRACE)
MAX_GRANT_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Access:
    """What a user may do now. `plan` None: the free tier."""

    plan: str | None
    features: frozenset[Feature]
    terminal_limit: int
    ends_at: datetime | None = None  # end of the paid period (grace comes after it)
    renews: bool = False
    in_grace: bool = False
    complimentary: bool = False  # from the role, not an entitlement row
    alert_quota: int = 0  # active price alerts allowed (the plan version's)

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    @property
    def paid(self) -> bool:
        return self.plan is not None

    def still_valid(self, now: datetime, grace: timedelta = GRACE) -> bool:
        """Whether this computed access may still be served from a cache at `now` (it can only
        change by its period ending, or by a payment event that invalidates the cache)."""
        if self.ends_at is None:
            return True
        return now < (self.ends_at + grace if self.in_grace else self.ends_at)


FREE = Access(plan=None, features=frozenset(), terminal_limit=0)
COMPLIMENTARY = Access(
    plan="starter",
    features=frozenset(
        {Feature.REALTIME_LEVELS, Feature.APPROVALS, Feature.VIP_CHANNEL, Feature.COPY_MODE}
    ),  # fmt: skip
    terminal_limit=1,
    complimentary=True,
)


@dataclass(frozen=True, slots=True)
class EntitlementInfo:
    id: int
    user_id: int
    plan: str
    plan_version_id: int
    source: EntitlementSource
    status: EntitlementStatus
    starts_at: datetime
    ends_at: datetime
    renews: bool


@dataclass(frozen=True, slots=True)
class _Period:
    plan: str
    usd_price: Decimal
    features: frozenset[Feature]
    terminal_limit: int
    alert_quota: int
    starts_at: datetime
    ends_at: datetime
    renews: bool
    status: EntitlementStatus


def _info(row: Entitlement, plan: str) -> EntitlementInfo:
    return EntitlementInfo(
        id=row.id,
        user_id=row.user_id,  # type: ignore[attr-defined]
        plan=plan,
        plan_version_id=row.plan_version_id,  # type: ignore[attr-defined]
        source=EntitlementSource(row.source),
        status=EntitlementStatus(row.status),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        renews=row.renews,
    )


def _period(row: Entitlement) -> _Period:
    version = row.plan_version
    return _Period(
        plan=version.plan.code,
        usd_price=Decimal(str(version.usd_price)),
        features=frozenset(Feature(f) for f in version.features),
        terminal_limit=version.terminal_limit,
        alert_quota=version.alert_quota,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        renews=row.renews,
        status=EntitlementStatus(row.status),
    )


def _chain_end(periods: list[_Period], first: _Period) -> _Period:
    """The last period of `first`'s plan reachable without a gap (stacked renewals)."""
    last = first
    for p in sorted(periods, key=lambda p: p.starts_at):
        if p.plan == first.plan and p.starts_at <= last.ends_at and p.ends_at > last.ends_at:
            last = p
    return last


def resolve(periods: list[_Period], now: datetime, complimentary: bool,
            grace: timedelta = GRACE) -> Access:  # fmt: skip
    """The access `periods` give at `now` (pure: the rule in the module docstring)."""
    current = [p for p in periods if p.starts_at <= now < p.ends_at + grace]
    if not current:
        return COMPLIMENTARY if complimentary else FREE
    best = max(current, key=lambda p: (now < p.ends_at, p.usd_price, p.ends_at))
    last = _chain_end(periods, best)
    in_grace = now >= last.ends_at or last.status is EntitlementStatus.GRACE
    return Access(
        plan=best.plan,
        features=best.features,
        terminal_limit=best.terminal_limit,
        ends_at=last.ends_at,
        renews=last.renews and last.status is EntitlementStatus.ACTIVE,
        in_grace=in_grace,
        alert_quota=best.alert_quota,
    )


async def _periods(
    user_ids: Iterable[int], now: datetime, grace: timedelta
) -> dict[int, list[_Period]]:
    rows = await Entitlement.filter(
        user_id__in=list(user_ids), status__in=CURRENT, ends_at__gt=now - grace
    ).prefetch_related("plan_version__plan")
    out: dict[int, list[_Period]] = {}
    for row in rows:
        out.setdefault(row.user_id, []).append(_period(row))  # type: ignore[attr-defined]
    return out


async def access_for(
    user_id: int, now: datetime, *, role: Role | None = None, grace: timedelta = GRACE
) -> Access:
    """The access of the user with primary key `user_id` at `now` (`role` read if not given)."""
    if role is None:
        row = await User.get_or_none(id=user_id).only("id", "role")
        role = Role.PUBLIC if row is None else Role(row.role)
    periods = (await _periods([user_id], now, grace)).get(user_id, [])
    return resolve(periods, now, role.at_least(Role.SUBSCRIBER), grace)


async def access_for_many(
    roles: Mapping[int, Role], now: datetime, *, grace: timedelta = GRACE
) -> dict[int, Access]:
    """`access_for` of many users at once (user primary key -> role): one query per chunk."""
    ids = list(roles)
    periods: dict[int, list[_Period]] = {}
    for start in range(0, len(ids), 500):
        periods.update(await _periods(ids[start : start + 500], now, grace))
    return {
        uid: resolve(periods.get(uid, []), now, role.at_least(Role.SUBSCRIBER), grace)
        for uid, role in roles.items()
    }


async def chain_start(user_id: int, plan_code: str, now: datetime) -> datetime:
    """Where a new period of `plan_code` starts: after the user's current one of that plan."""
    rows = await Entitlement.filter(
        user_id=user_id, status__in=CURRENT, ends_at__gt=now, plan_version__plan__code=plan_code
    ).order_by("starts_at")
    start = now
    for row in rows:
        if row.starts_at <= start < row.ends_at:
            start = row.ends_at
    return start


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A transaction whose bus events (`announce`, outbox wakes) are delivered after commit."""
    with bus.deferred():
        async with in_transaction():
            yield


async def announce(user_id: int) -> None:
    """The user's access changed: after the commit, caches of it (`UserChanged`, every
    replica) are dropped, this replica refreshes their chat's menu (`AccessChanged`) and their
    open Mini App pages re-read their plan (`LiveUpdate("access")`, every replica)."""
    row = await User.get_or_none(id=user_id).only("id", "telegram_id")
    if row is not None:
        bus.publish(UserChanged(row.telegram_id))
        bus.publish(AccessChanged(row.telegram_id))
        bus.publish(LiveUpdate("access", 0, (row.telegram_id,)))


async def _offer(plan_code: str) -> catalog.Offer:
    offer = await catalog.offer(plan_code)
    if offer is None:
        known = ", ".join(o.code for o in await catalog.offers())
        raise NotFound("error.plan_unknown", plan=plan_code[:32], known=known)
    return offer


async def add_period(
    user_id: int,
    version: catalog.Offer,
    starts: datetime,
    ends: datetime,
    *,
    source: EntitlementSource,
    actor_id: int | None = None,
    renews: bool = False,
    payment_id: int | None = None,
    subscription_ref: str | None = None,
) -> EntitlementInfo:
    """One period of access to `version` (in the caller's transaction); audited as
    `billing.granted`."""
    row = await Entitlement.create(
        user_id=user_id,
        plan_version_id=version.version_id,
        source=source,
        starts_at=starts,
        ends_at=ends,
        renews=renews,
        payment_id=payment_id,
        granted_by=actor_id,
        subscription_ref=subscription_ref,
    )
    await announce(user_id)
    await audit.record(
        "billing.granted", actor_id=actor_id, target=str(user_id), plan=version.code,
        version=version.version, source=source.value, entitlement=row.id,
        days=round((ends - starts) / timedelta(days=1), 4), starts=starts.isoformat(),
        ends=ends.isoformat(), payment=payment_id,
    )  # fmt: skip
    return _info(row, version.code)


async def grant(
    user_id: int,
    plan_code: str,
    days: int,
    *,
    source: EntitlementSource,
    now: datetime,
    actor_id: int | None = None,
    renews: bool = False,
    payment_id: int | None = None,
) -> EntitlementInfo:
    """A period of `days` on the plan's current version, stacked after the user's current period
    of the same plan (so buying early never loses days); audited as `billing.granted`."""
    if not 1 <= days <= MAX_GRANT_DAYS:
        raise InvalidInput("error.grant_days", text=str(days), min=1, max=MAX_GRANT_DAYS)
    offer = await _offer(plan_code)
    async with transaction():
        starts = await chain_start(user_id, plan_code, now)
        return await add_period(
            user_id, offer, starts, starts + timedelta(days=days), source=source,
            actor_id=actor_id, renews=renews, payment_id=payment_id,
        )  # fmt: skip


async def _load(entitlement_id: int) -> Entitlement:
    row = await Entitlement.get_or_none(id=entitlement_id).prefetch_related("plan_version__plan")
    if row is None:
        raise NotFound("error.entitlement_unknown", id=entitlement_id)
    return row


async def extend(
    entitlement_id: int,
    until: datetime,
    *,
    actor_id: int | None = None,
    renews: bool | None = None,
) -> EntitlementInfo:
    """Move the period's end to `until` (a renewal); audited as `billing.extended`."""
    async with transaction():
        row = await _load(entitlement_id)
        before = row.ends_at
        row.ends_at = max(row.ends_at, until)
        row.status = EntitlementStatus.ACTIVE
        if renews is not None:
            row.renews = renews
        await row.save(update_fields=["ends_at", "status", "renews", "updated_at"])
        await audit.record(
            "billing.extended", actor_id=actor_id, target=str(row.user_id),  # type: ignore[attr-defined]
            entitlement=row.id, before=before.isoformat(), ends=row.ends_at.isoformat(),
        )  # fmt: skip
        await announce(row.user_id)  # type: ignore[attr-defined]
    return _info(row, row.plan_version.plan.code)


async def end(
    entitlement_id: int, now: datetime, *, reason: str, actor_id: int | None = None
) -> EntitlementInfo:
    """End the period at `now` (refund, revocation, a replacing upgrade): no grace follows;
    audited as `billing.ended` with the reason."""
    async with transaction():
        row = await _load(entitlement_id)
        row.status = EntitlementStatus.ENDED
        row.ends_at = min(row.ends_at, now)
        row.renews = False
        await row.save(update_fields=["status", "ends_at", "renews", "updated_at"])
        await audit.record(
            "billing.ended", actor_id=actor_id, target=str(row.user_id),  # type: ignore[attr-defined]
            entitlement=row.id, reason=reason[:64], ends=row.ends_at.isoformat(),
        )  # fmt: skip
        await announce(row.user_id)  # type: ignore[attr-defined]
    return _info(row, row.plan_version.plan.code)


async def set_grace(entitlement_id: int) -> EntitlementInfo:
    """A renewal failed: the period is in grace (access until ends_at + GRACE)."""
    async with transaction():
        row = await _load(entitlement_id)
        row.status = EntitlementStatus.GRACE
        row.renews = False
        await row.save(update_fields=["status", "renews", "updated_at"])
        await announce(row.user_id)  # type: ignore[attr-defined]
    return _info(row, row.plan_version.plan.code)


async def start_trial(
    user_id: int, telegram_id: int, plan_code: str, now: datetime
) -> EntitlementInfo:
    """The free trial of `plan_code` (its trial_days), once per Telegram account."""
    offer = await _offer(plan_code)
    if offer.terms.trial_days <= 0:
        raise InvalidInput("error.trial_unavailable", plan=plan_code)
    plan = await Plan.get(code=plan_code)
    try:
        async with transaction():
            await TrialUse.create(telegram_id=telegram_id, plan_id=plan.id)
            return await grant(
                user_id, plan_code, offer.terms.trial_days, source=EntitlementSource.TRIAL,
                now=now, actor_id=telegram_id,
            )  # fmt: skip
    except IntegrityError:
        raise InvalidInput("error.trial_used") from None


async def history(user_id: int) -> list[EntitlementInfo]:
    """Every entitlement of the user, newest first."""
    rows = (
        await Entitlement.filter(user_id=user_id)
        .order_by("-starts_at")
        .prefetch_related("plan_version__plan")
    )
    return [_info(row, row.plan_version.plan.code) for row in rows]
