"""Promo codes: the owner creates them (`/promo_new`), lists them (`/promos`) and switches them
off (`/promo_off`); users redeem them (`/redeem CODE`, `/start promo_CODE`).

A code gives either extra days or a percent off:
- extra days: a period of the code's plan, or else of the user's current plan (refused, with
  the reason, for a user without one), stacked after their current period of that plan, with
  source `promo` (audited as `billing.granted` and `billing.promo_redeemed`);
- percent off: stored as the user's pending discount (the redemption row, not yet consumed) for
  their next Stars purchase of a plan the code allows: checkout reads `pending_discount` and
  puts the promo id in the invoice payload; the payment's transaction calls `consume`.
  Stars price with a discount: `discounted(stars, percent)` = ceil(stars * (100 - percent) /
  100), at least 1 Star.

Limits: expiry (end of the named UTC day), the plan restriction, a maximum number of
redemptions and once per user. Once per user is the UNIQUE (promo, user) of the redemption,
inserted with ON CONFLICT DO NOTHING; the maximum is a conditional UPDATE (redemptions + 1
only while below it), so concurrent redemptions never exceed it; both in one transaction
with the grant and the audit entry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core import bus
from models.billing import EntitlementSource, Plan, PromoCode, PromoRedemption
from services import audit
from services.billing import catalog
from services.billing import entitlements as billing
from services.billing.entitlements import EntitlementInfo
from services.billing.payments import insert_once
from services.errors import InvalidInput, NoChange, NotFound
from services.events import UserChanged
from services.text.numbers import IntBound, parse_int
from services.users.profiles import UserInfo

CODE_RE = re.compile(r"^[A-Z0-9_-]{3,32}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PERCENT = IntBound("error.promo_percent", 1, 99, "a percentage")
DAYS = IntBound("error.promo_days", 1, 365, "a number of days")
USES = IntBound("error.promo_uses", 1, 1_000_000, "a number of uses")


@dataclass(frozen=True, slots=True)
class PromoInfo:
    id: int
    code: str
    percent_off: int | None
    extra_days: int | None
    plan: str | None
    max_redemptions: int | None
    redemptions: int
    expires_at: datetime | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class Redeemed:
    promo: PromoInfo
    entitlement: EntitlementInfo | None  # extra days: the period granted
    percent_off: int | None  # percent: the pending discount stored


async def _info(row: PromoCode) -> PromoInfo:
    plan = None
    if row.plan_id is not None:  # type: ignore[attr-defined]
        plan_row = await Plan.get(id=row.plan_id)  # type: ignore[attr-defined]
        plan = plan_row.code
    return PromoInfo(
        row.id, row.code, row.percent_off, row.extra_days, plan, row.max_redemptions,
        row.redemptions, row.expires_at, row.disabled_at is not None,
    )  # fmt: skip


def normalise(code: str) -> str:
    return code.strip().upper()


def discounted(stars: int, percent: int) -> int:
    """The Stars price after `percent` off: rounded up, at least 1 Star."""
    return max(1, math.ceil(stars * (100 - percent) / 100))


def _expiry(text: str, now: datetime) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("error.promo_expiry", text=text[:16]) from None
    ends = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    if ends <= now:
        raise InvalidInput("error.promo_expiry_past", text=text[:16])
    return ends


async def _options(
    rest: list[str], now: datetime
) -> tuple[Plan | None, int | None, datetime | None]:
    plan = uses = expires = None
    for token in rest:
        if DATE_RE.match(token):
            expires = _expiry(token, now)
        elif token.isascii() and token.isdigit():
            uses = parse_int(token, USES)
        else:
            plan = await Plan.get_or_none(code=token.lower())
            if plan is None:
                known = ", ".join(o.code for o in await catalog.offers())
                raise NotFound("error.plan_unknown", plan=token[:32], known=known)
    return plan, uses, expires


async def create(actor: UserInfo, args: list[str], now: datetime) -> PromoInfo:
    """`CODE percent|days VALUE [plan] [max uses] [expires YYYY-MM-DD]` (the options in any
    order, told apart by their shape); audited as `billing.promo_created`."""
    if len(args) < 3:
        raise InvalidInput("error.promo_usage")
    code, kind = normalise(args[0]), args[1].lower()
    if not CODE_RE.match(code):
        raise InvalidInput("error.promo_code_invalid", text=args[0][:40])
    if kind not in ("percent", "days"):
        raise InvalidInput("error.promo_usage")
    value = parse_int(args[2], PERCENT if kind == "percent" else DAYS)
    plan, uses, expires = await _options(args[3:], now)
    async with in_transaction():
        promo_id = await insert_once("promo_codes", {
            "code": code, "plan_id": plan.id if plan else None,
            "percent_off": value if kind == "percent" else None,
            "extra_days": value if kind == "days" else None, "max_redemptions": uses,
            "redemptions": 0, "expires_at": expires, "created_by": actor.telegram_id,
            "created_at": now,
        })  # fmt: skip
        if promo_id is None:
            raise InvalidInput("error.promo_exists", code=code)
        await audit.record(
            "billing.promo_created", actor_id=actor.telegram_id, target=code, kind=kind,
            value=value, plan=plan.code if plan else None, max_redemptions=uses,
            expires=expires.isoformat() if expires else None,
        )  # fmt: skip
    return await _info(await PromoCode.get(id=promo_id))


async def all_codes() -> list[PromoInfo]:
    """Every code, newest first."""
    return [await _info(r) for r in await PromoCode.all().order_by("-id")]


async def disable(actor: UserInfo, code_text: str, now: datetime) -> PromoInfo:
    code = normalise(code_text)
    async with in_transaction():
        row = await PromoCode.get_or_none(code=code)
        if row is None:
            raise NotFound("error.promo_unknown", code=code[:32])
        if not await PromoCode.filter(id=row.id, disabled_at__isnull=True).update(disabled_at=now):
            raise NoChange("error.promo_already_off", code=code)
        await audit.record("billing.promo_disabled", actor_id=actor.telegram_id, target=code)
    return await _info(await PromoCode.get(id=row.id))


async def _target_plan(user: UserInfo, promo: PromoInfo, now: datetime) -> str:
    if promo.plan is not None:
        return promo.plan
    access = await billing.access_for(user.id, now, role=user.role)
    if not access.paid or access.complimentary or access.plan is None:
        raise InvalidInput("error.promo_needs_plan", code=promo.code)
    return access.plan


async def redeem(user: UserInfo, code_text: str, now: datetime) -> Redeemed:
    """Redeem `code_text` for `user` (the module rules); publishes UserChanged after commit."""
    code = normalise(code_text)
    row = await PromoCode.get_or_none(code=code)
    if row is None or not CODE_RE.match(code):
        raise NotFound("error.promo_unknown", code=code[:32])
    promo = await _info(row)
    if promo.disabled or (promo.expires_at is not None and promo.expires_at <= now):
        raise InvalidInput("error.promo_expired", code=code)
    plan = await _target_plan(user, promo, now) if promo.extra_days else None
    granted = None
    async with in_transaction():
        taken = await PromoCode.filter(
            Q(max_redemptions__isnull=True) | Q(redemptions__lt=F("max_redemptions")),
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), id=promo.id,
            disabled_at__isnull=True,
        ).update(redemptions=F("redemptions") + 1)  # fmt: skip
        if not taken:
            raise InvalidInput("error.promo_exhausted", code=code)
        inserted = await insert_once("promo_redemptions", {
            "promo_id": promo.id, "user_id": user.id, "created_at": now,
            "consumed_at": now if promo.extra_days else None,
        })  # fmt: skip
        if inserted is None:
            raise InvalidInput("error.promo_already_used", code=code)  # rolls the count back
        if promo.extra_days and plan is not None:
            offer = await catalog.offer(plan)
            if offer is None:
                raise InvalidInput("error.promo_needs_plan", code=code)
            starts = await billing.chain_start(user.id, plan, now)
            granted = await billing.add_period(
                user.id, offer, starts, starts + timedelta(days=promo.extra_days),
                source=EntitlementSource.PROMO, actor_id=user.telegram_id,
            )  # fmt: skip
        await audit.record(
            "billing.promo_redeemed", actor_id=user.telegram_id, target=code, promo=promo.id,
            redemption=inserted, plan=plan or promo.plan, extra_days=promo.extra_days,
            percent_off=promo.percent_off,
            entitlement=granted.id if granted else None,
        )  # fmt: skip
    if granted is not None:
        bus.publish(UserChanged(user.telegram_id))
    fresh = await _info(await PromoCode.get(id=promo.id))
    return Redeemed(fresh, granted, promo.percent_off)


async def pending_discount(user_id: int, plan_code: str, now: datetime) -> tuple[int, int] | None:
    """The user's best unused percent-off for a purchase of `plan_code` at `now`: (promo id,
    percent), or None. The code must still be on and unexpired and allow that plan."""
    rows = await PromoRedemption.filter(
        Q(promo__plan_id__isnull=True) | Q(promo__plan__code=plan_code),
        Q(promo__expires_at__isnull=True) | Q(promo__expires_at__gt=now),
        user_id=user_id, consumed_at__isnull=True, promo__percent_off__isnull=False,
        promo__disabled_at__isnull=True,
    ).prefetch_related("promo")  # fmt: skip
    best = max(rows, key=lambda r: (r.promo.percent_off or 0, -r.promo.id), default=None)
    return None if best is None else (best.promo.id, int(best.promo.percent_off or 0))


async def consume(
    promo_id: int, user_id: int, now: datetime, *, payment_id: int | None = None
) -> bool:
    """Use the user's pending discount of `promo_id` (in the payment's transaction): True the
    first time, False when it was already used or never redeemed. Audited."""
    used = await PromoRedemption.filter(
        promo_id=promo_id, user_id=user_id, consumed_at__isnull=True
    ).update(consumed_at=now, payment_id=payment_id)
    if used:
        await audit.record("billing.promo_consumed", actor_id=None, target=str(user_id),
                           promo=promo_id, payment=payment_id)  # fmt: skip
    return bool(used)
