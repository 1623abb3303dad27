"""Changing plan: upgrades take effect at once, downgrades at renewal.

Upgrade (a payment for a plan dearer than the user's current paid plan): the user pays the new
plan's normal price and gets its normal period; the old periods end now (`entitlements.end`,
reason "upgrade"), their Stars subscriptions are canceled with `editUserStarSubscription`, and
the unused value of the old periods is credited as extra days of the new plan:

    credit_days = floor( sum over the old periods of
                         unused_seconds / period_seconds * old_price_usd )
                  / new_price_usd * new_period_days )

(unused = from now, or the period's start when it has not begun, to its end; an old period's
dollar value is its version's price). The credit is one more period of the new plan placed right
after the period the payment bought; for a renewing subscription it "floats": each renewal moves
it after the new paid period, so the credited days are used when the subscription stops, never
swallowed by a renewal that overlaps them. Applied once per new period (a processed-event row
"upgrade:<entitlement id>" in the same transaction).

Downgrade (choosing a cheaper plan while a dearer one renews): nothing is charged now; the
current subscription's renewal is canceled (access continues to the end of the paid period) and
the chosen plan is stored in `plan_changes` with the date it applies. When that date passes the
user is sent the new plan's subscription link (the reminder job reads `plan_changes`: see
`due`). Terminals over a smaller plan's limit are `services.billing.lifecycle.enforce`'s.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from tortoise.expressions import Q

from models.billing import (
    Entitlement,
    EntitlementSource,
    EntitlementStatus,
    PlanChange,
    Provider,
    StarsSubscription,
    SubscriptionState,
)
from services import audit
from services.billing import catalog, entitlements, payments
from services.billing.entitlements import CURRENT, Access, EntitlementInfo
from services.billing.payments import RenewalState
from services.errors import InvalidInput, NotFound
from services.users.profiles import UserInfo

if TYPE_CHECKING:
    from services.billing.checkout import StarsPort

log = logging.getLogger(__name__)
PAID = (EntitlementSource.STARS, EntitlementSource.STRIPE)


@dataclass(frozen=True, slots=True)
class Upgrade:
    old_plan: str
    credit_days: int
    ended: tuple[int, ...]  # entitlement ids


@dataclass(frozen=True, slots=True)
class Scheduled:
    plan: str  # the plan it switches to
    current: str
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class OldPeriod:
    """One period of the old plan, for the credit rule."""

    starts_at: datetime
    ends_at: datetime
    usd_price: Fraction


def credit_days(
    old: list[OldPeriod], new_price_usd: Fraction, new_period_days: int, now: datetime
) -> int:
    """The upgrade credit in whole days (the rule in the module docstring; exact fractions)."""
    value = Fraction(0)
    for p in old:
        period = (p.ends_at - p.starts_at).total_seconds()
        unused = (p.ends_at - max(p.starts_at, now)).total_seconds()
        if period > 0 and unused > 0:
            value += Fraction(int(unused)) / Fraction(int(period)) * p.usd_price
    if new_price_usd <= 0:
        return 0
    return math.floor(value / new_price_usd * new_period_days)


async def _old_rows(user_id: int, new: EntitlementInfo, now: datetime) -> list[Entitlement]:
    return (
        await Entitlement.filter(
            user_id=user_id, status__in=CURRENT, ends_at__gt=now, source__in=PAID
        )
        .filter(id__lt=new.id)  # periods bought before it (a redelivery sees the same set)
        .exclude(plan_version__plan__code=new.plan)
        .filter(Q(subscription_ref=None) | ~Q(subscription_ref__startswith="credit:"))
        .prefetch_related("plan_version__plan")
    )


async def apply_upgrade(
    user: UserInfo, new: EntitlementInfo, now: datetime, port: StarsPort
) -> Upgrade | None:
    """If `new` (a period just paid) is dearer than the user's current paid plan: end the old
    periods, credit their unused value, cancel their Stars subscriptions. None: no upgrade."""
    offer = await catalog.version(new.plan_version_id)
    price = Fraction(offer.terms.usd_price)
    rows = [
        r for r in await _old_rows(user.id, new, now) if Fraction(r.plan_version.usd_price) < price
    ]
    if not rows:
        return None
    old = [OldPeriod(r.starts_at, r.ends_at, Fraction(r.plan_version.usd_price)) for r in rows]
    days = credit_days(old, price, offer.terms.period_days, now)
    row = await Entitlement.get(id=new.id)
    credit_ref = f"credit:{row.subscription_ref or f'entitlement:{new.id}'}"
    async with payments.transaction():
        if not await payments.claim_event(Provider.STARS, f"upgrade:{new.id}", "upgrade"):
            return None
        for r in rows:
            await entitlements.end(r.id, now, reason="upgrade")
        if days > 0:
            start = new.ends_at
            await entitlements.add_period(
                user.id, offer, start, start + timedelta(days=days), source=new.source,
                subscription_ref=credit_ref,
            )  # fmt: skip
        await audit.record(
            "billing.upgraded", actor_id=user.telegram_id, target=str(user.id),
            old=rows[0].plan_version.plan.code, new=offer.code, credit_days=days,
            ended=[r.id for r in rows],
        )  # fmt: skip
    await _cancel_subscriptions(user, {r.subscription_ref for r in rows}, now, port)
    return Upgrade(rows[0].plan_version.plan.code, days, tuple(r.id for r in rows))


async def _cancel_subscriptions(
    user: UserInfo, refs: set[str | None], now: datetime, port: StarsPort
) -> None:
    """Stop the renewal of the old plan's Stars subscriptions (their periods already ended)."""
    for ref in sorted(r for r in refs if r and r.startswith("stars:")):
        first = ref.removeprefix("stars:")
        try:
            await port.edit_subscription(user.telegram_id, first, canceled=True)
        except Exception:  # the periods are ended; an uncanceled renewal is an ops matter
            log.exception("could not cancel the replaced Stars subscription %s", first)
            continue
        await StarsSubscription.filter(first_charge_id=first).update(
            state=SubscriptionState.CANCELED
        )


async def float_credit(subscription_ref: str, period_end: datetime) -> None:
    """A renewal of `subscription_ref` paid up to `period_end`: move its upgrade credit after it."""
    rows = await Entitlement.filter(
        subscription_ref=f"credit:{subscription_ref}", starts_at__lt=period_end
    ).exclude(status=EntitlementStatus.ENDED)
    for row in rows:
        length = row.ends_at - row.starts_at
        await Entitlement.filter(id=row.id).update(
            starts_at=period_end, ends_at=period_end + length
        )
        await audit.record(
            "billing.extended", actor_id=None, target=str(row.user_id),  # type: ignore[attr-defined]
            entitlement=row.id, before=row.ends_at.isoformat(),
            ends=(period_end + length).isoformat(), reason="upgrade credit after a renewal",
        )  # fmt: skip


async def is_downgrade(access: Access, plan_code: str) -> bool:
    """Whether choosing `plan_code` is a downgrade at renewal: a cheaper plan (by its USD price)
    while a dearer paid plan renews (the chat's /plans and the Mini App's Plan page ask this)."""
    if not access.paid or access.complimentary or not access.renews:
        return False
    current = None if access.plan is None else await catalog.offer(access.plan)
    target = await catalog.offer(plan_code)
    return (
        current is not None and target is not None
        and target.terms.usd_price < current.terms.usd_price
    )  # fmt: skip


async def schedule_downgrade(
    user: UserInfo, plan_code: str, now: datetime, port: StarsPort
) -> Scheduled:
    """Switch to the cheaper `plan_code` when the current paid period ends: cancel the renewal
    now (access continues), store the change (one per user: a new choice replaces it)."""
    target = await catalog.offer(plan_code)
    if target is None or target.terms.stars_price is None:
        raise NotFound("error.plan_unknown", plan=plan_code[:32], known=plan_code[:32])
    access = await entitlements.access_for(user.id, now, role=user.role)
    current = None if access.plan is None else await catalog.offer(access.plan)
    if (
        access.complimentary or access.ends_at is None or current is None
        or current.terms.usd_price <= target.terms.usd_price
    ):  # fmt: skip
        raise InvalidInput("checkout.not_a_downgrade", plan=plan_code)
    if await Entitlement.filter(
        user_id=user.id, renews=True, ends_at__gt=now, subscription_ref__startswith="stripe:"
    ).exists():  # a card subscription changes plan in Stripe's portal, not here
        raise InvalidInput("checkout.downgrade_card", plan=plan_code)
    subs = await StarsSubscription.filter(
        user_id=user.id, state=SubscriptionState.ACTIVE, expires_at__gt=now
    )
    for sub in subs:
        await port.edit_subscription(user.telegram_id, sub.first_charge_id, canceled=True)
        await payments.set_renewal(f"stars:{sub.first_charge_id}", RenewalState.CANCELED, now)
        await StarsSubscription.filter(id=sub.id).update(state=SubscriptionState.CANCELED)
    async with payments.transaction():
        await PlanChange.filter(user_id=user.id, delivered_at=None).delete()
        await PlanChange.create(
            user_id=user.id, plan_code=target.code, from_plan=current.code,
            effective_at=access.ends_at,
        )  # fmt: skip
        await audit.record(
            "billing.downgrade_scheduled", actor_id=user.telegram_id, target=str(user.id),
            old=current.code, new=target.code, effective=access.ends_at.isoformat(),
        )  # fmt: skip
    return Scheduled(target.code, current.code, access.ends_at)


async def scheduled(user_id: int) -> Scheduled | None:
    """The user's pending change of plan, if any."""
    row = await PlanChange.get_or_none(user_id=user_id, delivered_at=None)
    return None if row is None else Scheduled(row.plan_code, row.from_plan, row.effective_at)


async def due(now: datetime, limit: int = 100) -> list[PlanChange]:
    """Scheduled changes whose date has passed and whose link was not sent yet (the reminder
    job sends the new plan's subscription link, then calls `delivered`)."""
    return (
        await PlanChange.filter(delivered_at=None, effective_at__lte=now)
        .order_by("effective_at")
        .limit(limit)
    )


async def delivered(change_id: int, now: datetime) -> bool:
    """Mark the change's link sent; False when another worker already did (send once)."""
    return bool(await PlanChange.filter(id=change_id, delivered_at=None).update(delivered_at=now))
