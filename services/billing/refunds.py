"""Refunds: the owner's /refund and Telegram's own (`refunded_payment`), with the same effects.

Ours: a Stars payment is refunded at Telegram first (`refundStarPayment`), then recorded by
`payments.refund` (a conditional paid -> refunded update: exactly once, so a later
`refunded_payment` message for the same charge changes nothing); a Telegram answer that the
charge was already refunded still records it (an earlier attempt reached Telegram but not our
database). A card payment goes to `services.billing.stripe_billing.refund_payment`, which
creates the Stripe Refund and records it the same way. After a refund that took something away,
`services.billing.lifecycle.enforce` applies the smaller access (terminals over the limit,
copy mode off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from models.billing import Payment, PaymentStatus, Provider
from models.users import User
from services.billing import lifecycle, payments, stripe_billing
from services.billing.payments import Refunded
from services.billing.stripe_billing import StripeBilling
from services.errors import InvalidInput, NoChange, NotFound

log = logging.getLogger(__name__)


class AlreadyRefunded(Exception):  # noqa: N818 - Telegram's word
    """The port's answer when Telegram says the charge was already refunded."""


class RefundPort(Protocol):
    async def refund(self, telegram_id: int, charge_id: str) -> None:
        """refundStarPayment; raises AlreadyRefunded for CHARGE_ALREADY_REFUNDED."""


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: int
    provider: Provider
    charge_id: str
    amount: int
    currency: str
    status: PaymentStatus
    telegram_id: int | None
    language: str | None  # the payer's, for telling them
    plan: str | None
    created_at: datetime


async def find(reference: str) -> PaymentView:
    """A payment by our id or by its provider charge id (Stars or Stripe)."""
    text = reference.strip()
    row = None
    if text.isascii() and text.isdigit() and len(text) < 19:
        row = await Payment.get_or_none(id=int(text)).prefetch_related("plan_version__plan")
    if row is None:
        row = (
            await Payment.filter(provider_charge_id=text[:255])
            .prefetch_related("plan_version__plan")
            .first()
        )
    if row is None:
        raise NotFound("refund.unknown", ref=text[:64])
    user_id = row.user_id  # type: ignore[attr-defined]
    user = (
        None
        if user_id is None
        else await User.get_or_none(id=user_id).only("id", "telegram_id", "language")
    )
    version = row.plan_version
    return PaymentView(
        id=row.id, provider=Provider(row.provider), charge_id=row.provider_charge_id,
        amount=row.amount, currency=row.currency, status=PaymentStatus(row.status),
        telegram_id=None if user is None else user.telegram_id,
        language=None if user is None else user.language,
        plan=None if version is None else version.plan.code, created_at=row.created_at,
    )  # fmt: skip


async def refund(
    reference: str,
    now: datetime,
    *,
    actor_id: int,
    reason: str,
    port: RefundPort,
    stripe: StripeBilling | None = None,
) -> tuple[Refunded, PaymentView]:
    """The owner's refund of one payment (rules in the module docstring), and the payment."""
    view = await find(reference)
    if view.status is not PaymentStatus.PAID:
        raise NoChange("refund.not_paid", id=view.id)
    if view.provider is Provider.STRIPE:
        done = await _stripe_refund(view.id, now, actor_id=actor_id, reason=reason, billing=stripe)
    else:
        if view.telegram_id is None:
            raise InvalidInput("refund.no_user", id=view.id)
        try:
            await port.refund(view.telegram_id, view.charge_id)
        except AlreadyRefunded:
            log.info("Stars charge %s was already refunded at Telegram", view.charge_id)
        done = await payments.refund(view.id, now, reason=reason, actor_id=actor_id)
    await enforce_after(done, now)
    return done, view


async def telegram_refunded(charge_id: str, now: datetime) -> Refunded | None:
    """Telegram refunded a Stars charge (`refunded_payment`): the same effects as ours, once.
    None: we never recorded that charge."""
    row = await payments.find(Provider.STARS, charge_id)
    if row is None:
        log.warning("refunded_payment for an unknown Stars charge %s", charge_id)
        return None
    done = await payments.refund(row.id, now, reason="telegram refunded_payment")
    await enforce_after(done, now)
    return done


async def _stripe_refund(
    payment_id: int, now: datetime, *, actor_id: int, reason: str, billing: StripeBilling | None
) -> Refunded:
    return await stripe_billing.refund_payment(
        payment_id, now, actor_id=actor_id, reason=reason, billing=billing
    )


async def enforce_after(done: Refunded, now: datetime) -> None:
    """After a refund that ended access: `services.billing.lifecycle.enforce(user, now)`."""
    if not done.created or done.user_id is None:
        return
    await lifecycle.enforce(done.user_id, now)
