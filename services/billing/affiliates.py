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

Fraud checks at accrual flag a commission (it stays pending until the owner approves or
rejects it with `/commissions_flagged`):
- `same_payer`: the referred user's payment carries a payer identity (e-mail, Stripe customer,
  card fingerprint) that one of the referrer's own payments carries;
- `referral_burst`: more than `BURST_MAX` users were attributed to the referrer within
  `BURST_WINDOW` of this referral's registration;
- `refund_rate`: at least `REFUND_MIN_PAYMENTS` payments by the referrer's referrals, and at
  least `REFUND_RATE_MAX` of them refunded.

Payouts: `/payout` claims every available, unflagged, unassigned commission of the affiliate
into one payout request when they sum to at least `MIN_PAYOUT_CENTS` (a conditional UPDATE, so
concurrent requests cannot claim a commission twice); the owner marks it paid with a reference
(commissions become paid) or rejects it (they return to available).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.billing import (
    AffiliateClick,
    Commission,
    CommissionState,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Referral,
)
from models.users import User
from services import audit
from services.billing.entitlements import transaction
from services.errors import InvalidInput, NoChange, NotFound
from services.text.formatting import Money

FIRST_RATE = Decimal("30")  # percent of the first payment
RENEWAL_RATE = Decimal("15")  # percent of later payments ...
RENEWAL_MONTHS = 12  # ... made within this many months (30-day) of the first
DUE_DAYS = 14  # pending this long before it may be paid out
MIN_PAYOUT_CENTS = 5000  # $50
BURST_WINDOW = timedelta(hours=1)
BURST_MAX = 5
REFUND_MIN_PAYMENTS = 3
REFUND_RATE_MAX = Decimal("0.3")
PAYER_KEYS = frozenset({"fingerprint", "customer_email", "email", "customer", "payer"})


def usd(cents: int) -> Money:
    """US cents as money to show."""
    return Money(Decimal(cents) / 100, "USD")


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
    referrer_id: int = referral.referrer_id  # type: ignore[attr-defined]
    flag = await fraud_flag(referrer_id, user_id, payment_id)
    row = await Commission.create(
        referral_id=referral.id,
        payment_id=payment_id,
        amount=amount,
        rate_pct=rate,
        due_at=now + timedelta(days=DUE_DAYS),
        flagged=flag,
    )
    await audit.record(
        "affiliate.commission", actor_id=None, target=str(referrer_id), commission=row.id,
        payment=payment_id, amount=amount, rate=str(rate), recurring=recurring, flagged=flag,
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


# --- fraud checks ----------------------------------------------------------------------------


def payer_identities(raw: Any) -> set[str]:
    """Payer identities found anywhere in a provider payload (lower-cased `key:value`)."""
    found: set[str] = set()
    stack = [raw]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PAYER_KEYS and isinstance(item, str) and item.strip():
                    found.add(f"{key}:{item.strip().lower()}")
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return found


async def _identities(user_id: int, *, exclude: int | None = None) -> set[str]:
    query = Payment.filter(user_id=user_id)
    if exclude is not None:
        query = query.exclude(id=exclude)
    out: set[str] = set()
    for raw in await query.values_list("raw_payload", flat=True):
        out |= payer_identities(raw)
    return out


async def fraud_flag(referrer_id: int, referred_id: int, payment_id: int) -> str | None:
    """Why this commission must wait for the owner (the module docstring's checks), or None."""
    payment = await Payment.get(id=payment_id).only("id", "raw_payload")
    mine = payer_identities(payment.raw_payload)
    if mine and mine & await _identities(referrer_id):
        return "same_payer"
    referred = await User.get(id=referred_id).only("id", "created_at")
    near = await User.filter(
        referred_by_id=referrer_id,
        created_at__gte=referred.created_at - BURST_WINDOW,
        created_at__lte=referred.created_at + BURST_WINDOW,
    ).count()
    if near > BURST_MAX:
        return "referral_burst"
    referred_ids = await User.filter(referred_by_id=referrer_id).values_list("id", flat=True)
    statuses: list[Any] = list(
        await Payment.filter(user_id__in=list(referred_ids))
        .exclude(id=payment_id)
        .values_list("status", flat=True)
    )
    refunded = sum(1 for status in statuses if status == PaymentStatus.REFUNDED)
    if len(statuses) >= REFUND_MIN_PAYMENTS and Decimal(refunded) >= REFUND_RATE_MAX * len(
        statuses
    ):
        return "refund_rate"
    return None


async def flagged() -> list[Commission]:
    """Flagged commissions waiting for the owner, oldest first."""
    return (
        await Commission.filter(state=CommissionState.PENDING, flagged__not_isnull=True)
        .order_by("id")
        .prefetch_related("referral__referrer", "referral__referred")
    )


async def review(commission_id: int, *, approve: bool, actor_id: int, now: datetime) -> Commission:
    """The owner's decision on a flagged commission: approved, it follows the due period as any
    other (available at once if due); rejected, it is reversed. Audited."""
    async with transaction():
        row = await Commission.get_or_none(id=commission_id)
        if row is None:
            raise NotFound("error.commission_unknown", id=commission_id)
        if row.state is not CommissionState.PENDING or row.flagged is None:
            raise NoChange("affiliate.review_nothing", id=commission_id)
        was = row.flagged
        row.flagged = None
        if approve:
            row.state = CommissionState.AVAILABLE if row.due_at <= now else row.state
        else:
            row.state = CommissionState.REVERSED
        await row.save(update_fields=["flagged", "state", "updated_at"])
        await audit.record(
            "affiliate.reviewed", actor_id=actor_id, target=str(row.referral_id),  # type: ignore[attr-defined]
            commission=row.id, approved=approve, flag=was,
        )  # fmt: skip
    return row


# --- clicks, balances, due period ------------------------------------------------------------


async def record_click(code: str, telegram_id: int, *, attributed: bool, now: datetime) -> bool:
    """Count an opening of the link with `code` (False: no affiliate has that code)."""
    referrer = await User.get_or_none(referral_code=code.strip().upper()[:16]).only("id")
    if referrer is None:
        return False
    await AffiliateClick.create(
        referrer_id=referrer.id, telegram_id=telegram_id, attributed=attributed, created_at=now
    )
    return True


@dataclass(frozen=True, slots=True)
class Summary:
    code: str
    clicks: int
    signups: int
    paying: int
    pending_cents: int
    available_cents: int
    requested_cents: int  # in an open payout request
    paid_cents: int
    flagged: int


async def _commissions(referrer_id: int) -> list[Commission]:
    return await Commission.filter(referral__referrer_id=referrer_id)


async def summary(user_id: int) -> Summary:
    user = await User.get(id=user_id).only("id", "referral_code")
    rows = await _commissions(user_id)

    def total(state: CommissionState, *, assigned: bool | None = None) -> int:
        return sum(
            r.amount
            for r in rows
            if r.state is state and (assigned is None or (r.payout_id is not None) is assigned)  # type: ignore[attr-defined]
        )

    return Summary(
        code=user.referral_code,
        clicks=await AffiliateClick.filter(referrer_id=user_id).count(),
        signups=await User.filter(referred_by_id=user_id).count(),
        paying=await Referral.filter(referrer_id=user_id, first_paid_at__not_isnull=True).count(),
        pending_cents=total(CommissionState.PENDING),
        available_cents=total(CommissionState.AVAILABLE, assigned=False),
        requested_cents=total(CommissionState.AVAILABLE, assigned=True),
        paid_cents=total(CommissionState.PAID),
        flagged=sum(1 for r in rows if r.state is CommissionState.PENDING and r.flagged),
    )


async def release_due(now: datetime) -> int:
    """Pending, unflagged commissions past their due date become available; how many."""
    released = await Commission.filter(
        state=CommissionState.PENDING, flagged__isnull=True, due_at__lte=now
    ).update(state=CommissionState.AVAILABLE)
    if released:
        await audit.record("affiliate.released", actor_id=None, count=released, at=now.isoformat())
    return int(released)


async def owed_cents() -> int:
    """Commissions the business owes: pending (not flagged) and available, unpaid."""
    rows = await Commission.filter(
        state__in=(CommissionState.PENDING, CommissionState.AVAILABLE)
    ).values_list("amount", "flagged")
    return sum(amount for amount, flag in rows if flag is None)


# --- payouts ---------------------------------------------------------------------------------


async def request_payout(user_id: int, now: datetime) -> Payout:
    """Claim the affiliate's available commissions into one payout request (at least
    `MIN_PAYOUT_CENTS`; one open request at a time). Audited."""
    async with transaction():
        # One request per affiliate at a time: without the lock a second request that
        # read after the first committed saw no available commissions and answered
        # "below the minimum" instead of "a payout is already open".
        await User.filter(id=user_id).select_for_update().only("id").first()
        if await Payout.exists(affiliate_id=user_id, status=PayoutStatus.REQUESTED):
            raise NoChange("affiliate.payout_open")
        rows = await Commission.filter(
            referral__referrer_id=user_id, state=CommissionState.AVAILABLE, payout_id__isnull=True
        ).values_list("id", "amount")
        total = sum(amount for _id, amount in rows)
        if total < MIN_PAYOUT_CENTS:
            raise InvalidInput(
                "affiliate.payout_minimum", available=usd(total), minimum=usd(MIN_PAYOUT_CENTS)
            )
        payout = await Payout.create(affiliate_id=user_id, amount=0, requested_at=now)
        await Commission.filter(
            id__in=[pk for pk, _amount in rows], payout_id__isnull=True,
            state=CommissionState.AVAILABLE,
        ).update(payout_id=payout.id)  # fmt: skip
        claimed = await Commission.filter(payout_id=payout.id).values_list("amount", flat=True)
        payout.amount = sum(claimed)
        if payout.amount < MIN_PAYOUT_CENTS:  # a concurrent request took them first
            raise NoChange("affiliate.payout_open")
        await payout.save(update_fields=["amount"])
        await audit.record(
            "affiliate.payout_requested", actor_id=None, target=str(user_id), payout=payout.id,
            amount=payout.amount, commissions=len(claimed),
        )  # fmt: skip
    return payout


async def open_payouts() -> list[Payout]:
    return (
        await Payout.filter(status=PayoutStatus.REQUESTED)
        .order_by("requested_at")
        .prefetch_related("affiliate")
    )


async def settle_payout(
    payout_id: int, *, paid: bool, note: str, actor_id: int, now: datetime
) -> Payout:
    """Mark a requested payout paid (with the transfer's reference) or rejected (its
    commissions return to available). Exactly once; audited."""
    note = note.strip()[:255]
    if not note:
        raise InvalidInput("affiliate.payout_note_missing")
    async with transaction():
        status = PayoutStatus.PAID if paid else PayoutStatus.REJECTED
        changed = await Payout.filter(id=payout_id, status=PayoutStatus.REQUESTED).update(
            status=status, reference=note, paid_at=now if paid else None
        )
        payout = await Payout.get_or_none(id=payout_id)
        if payout is None:
            raise NotFound("error.payout_unknown", id=payout_id)
        if not changed:
            raise NoChange("affiliate.payout_settled", id=payout_id)
        if paid:
            await Commission.filter(payout_id=payout_id).update(state=CommissionState.PAID)
        else:
            await Commission.filter(payout_id=payout_id).update(payout_id=None)
        await audit.record(
            "affiliate.payout_paid" if paid else "affiliate.payout_rejected", actor_id=actor_id,
            target=str(payout.affiliate_id), payout=payout_id, amount=payout.amount,  # type: ignore[attr-defined]
            note=note,
        )  # fmt: skip
    return payout
