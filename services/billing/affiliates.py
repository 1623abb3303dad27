"""Affiliates: commissions on referred users' payments.

Attribution is first touch: `users.referred_by` is set once, by the referral link opened within
the first hour after registration (`services.users.profiles.apply_referral`); self-referral is
refused there. The first payment of a referred user creates their `Referral` row (with
`first_paid_at`).

Commission rule (documented in the README): `FIRST_RATE` of the first payment's US-cent value,
`RENEWAL_RATE` of each later payment made within `RENEWAL_MONTHS` of the first, nothing after.
A commission is pending for `DUE_DAYS`, then available for payout; a refund of its payment
reverses it (a paid one too: the reversal is then owed back and shows as negative available).
All of it runs in the payment's (or refund's) transaction, so a commission exists exactly when
its payment does; the UNIQUE (referral, payment) holds it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from models.billing import Commission, CommissionState, Referral
from models.users import User
from services import audit

FIRST_RATE = Decimal("30")  # percent of the first payment
RENEWAL_RATE = Decimal("15")  # percent of later payments ...
RENEWAL_MONTHS = 12  # ... made within this many months (30-day) of the first
DUE_DAYS = 14  # pending this long before it may be paid out


def commission_cents(usd_cents: int, rate_pct: Decimal) -> int:
    """The commission on `usd_cents` at `rate_pct` percent, rounded half up to a cent."""
    value = Decimal(usd_cents) * rate_pct / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_for(first_paid_at: datetime | None, paid_at: datetime) -> Decimal | None:
    """The percent for a payment at `paid_at` (None: no commission any more)."""
    if first_paid_at is None:
        return FIRST_RATE
    if paid_at - first_paid_at <= timedelta(days=30 * RENEWAL_MONTHS):
        return RENEWAL_RATE
    return None


async def _referral(user_id: int) -> Referral | None:
    referral = await Referral.get_or_none(referred_id=user_id)
    if referral is not None:
        return referral
    user = await User.get_or_none(id=user_id).only("id", "referred_by_id")
    referrer_id = None if user is None else user.referred_by_id  # type: ignore[attr-defined]
    if referrer_id is None or referrer_id == user_id:
        return None
    return await Referral.create(referrer_id=referrer_id, referred_id=user_id)


async def on_payment(
    payment_id: int, user_id: int, usd_cents: int, *, recurring: bool, now: datetime
) -> Commission | None:
    """In the payment's transaction: the referrer's commission on it, if any."""
    if usd_cents <= 0:
        return None
    referral = await _referral(user_id)
    if referral is None:
        return None
    rate = rate_for(referral.first_paid_at, now)
    if referral.first_paid_at is None:
        referral.first_paid_at = now
        await referral.save(update_fields=["first_paid_at"])
    if rate is None:
        return None
    amount = commission_cents(usd_cents, rate)
    if amount <= 0:
        return None
    row = await Commission.create(
        referral_id=referral.id,
        payment_id=payment_id,
        amount=amount,
        rate_pct=rate,
        due_at=now + timedelta(days=DUE_DAYS),
    )
    await audit.record(
        "affiliate.commission", actor_id=None, target=str(referral.referrer_id),  # type: ignore[attr-defined]
        commission=row.id, payment=payment_id, amount=amount, rate=str(rate),
        recurring=recurring,
    )  # fmt: skip
    return row


async def on_refund(payment_id: int, *, now: datetime) -> int:
    """In the refund's transaction: reverse the commissions on the payment; how many."""
    rows = await Commission.filter(payment_id=payment_id).exclude(state=CommissionState.REVERSED)
    for row in rows:
        was = row.state
        row.state = CommissionState.REVERSED
        await row.save(update_fields=["state", "updated_at"])
        await audit.record(
            "affiliate.reversed", actor_id=None, target=str(row.referral_id),  # type: ignore[attr-defined]
            commission=row.id, payment=payment_id, amount=row.amount, was=str(was),
            at=now.isoformat(),
        )  # fmt: skip
    return len(rows)
