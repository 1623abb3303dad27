"""What card payments store: Stripe customers and their link codes, paid invoices as payments,
renewal states, refunds; every function runs in the caller's transaction unless it says so.

The buyer on the web page is anonymous: Stripe knows an e-mail, we know Telegram accounts. The
first event that names a customer (checkout.session.completed, or an invoice.paid that arrived
first) creates its `StripeCustomer` row with a one-time link code (`LINK_TTL`); the success page
shows it and the buyer sends `/start link_CODE` to the bot. Until then the customer's paid
invoices are recorded as payments without a user (revenue counts them at once) and the periods
they bought wait: `link` attaches them (`payments.attach`: the period of each invoice and its
affiliate commission, exactly once), and later invoices go straight to the linked user.

A code is refused when unknown, expired (7 days; the success page issues a fresh one), or
already linked to another Telegram account; sent again by its own account it changes nothing.
Every link and every refused attempt is audited.

Renewal states converge whatever the order of events: the caller hands the subscription as
Stripe has it now (fetched through the SDK), `sync_renewal` compares it with the state of the
periods we stored and changes them only when they differ.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.billing import (
    Entitlement,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    Provider,
    StripeCustomer,
    StripeInvoice,
)
from services import audit
from services.billing import payments
from services.billing.entitlements import EntitlementInfo
from services.billing.payments import PaymentIn, RenewalState
from services.errors import InvalidInput, NoChange, NotFound, PermissionDenied

log = logging.getLogger(__name__)
LINK_TTL = timedelta(days=7)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen
CODE_LENGTH = 10  # ~50 bits: not guessable within the code's week
REF_PREFIX = "stripe:"


class SubscriptionStatus(StrEnum):
    """What a Stripe subscription's renewal is, from its status and cancel_at_period_end."""

    ACTIVE = "active"
    CANCELED = "canceled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    user_id: int | None
    link_code: str | None
    link_expires_at: datetime | None
    subscription_id: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class PaidInvoice:
    """An invoice.paid as we record it (from the invoice and its price's plan version)."""

    invoice_id: str
    customer_id: str
    subscription_id: str
    payment_intent_id: str | None
    plan_version_id: int
    amount: int  # cents
    currency: str
    paid_at: datetime
    period_start: datetime
    period_end: datetime
    recurring: bool
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Linked:
    customer_id: str
    user_id: int
    granted: tuple[EntitlementInfo, ...]


def subscription_ref(subscription_id: str) -> str:
    return REF_PREFIX + subscription_id


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _customer(row: StripeCustomer) -> Customer:
    return Customer(
        customer_id=row.customer_id,
        user_id=row.user_id,  # type: ignore[attr-defined]
        link_code=row.link_code,
        link_expires_at=row.link_expires_at,
        subscription_id=row.subscription_id,
        email=row.email,
    )


async def ensure_customer(
    customer_id: str, now: datetime, *, subscription_id: str | None, email: str | None
) -> Customer:
    """The customer's row, created with a link code by whichever event names it first; the
    subscription and e-mail are filled in when a later event knows them."""
    row = await StripeCustomer.get_or_none(customer_id=customer_id)
    for _ in range(3):  # another row holding the same random code: draw again
        if row is not None:
            break
        await payments.insert_once(
            "stripe_customers",
            {
                "customer_id": customer_id[:255],
                "email": (email or None) and email[:255],
                "subscription_id": None,
                "link_code": new_code(),
                "link_expires_at": now + LINK_TTL,
                "created_at": now,
            },
        )
        row = await StripeCustomer.get_or_none(customer_id=customer_id)
    if row is None:
        msg = f"stripe customer {customer_id}: no free link code"
        raise RuntimeError(msg)
    updates: dict[str, object] = {}
    if email and row.email is None:
        updates["email"] = email[:255]
    if subscription_id and row.subscription_id is None:
        taken = await StripeCustomer.filter(subscription_id=subscription_id).exists()
        if not taken:
            updates["subscription_id"] = subscription_id[:255]
    elif subscription_id and row.subscription_id != subscription_id:
        log.info("stripe customer %s has another subscription %s", customer_id, subscription_id)
    if updates:
        await StripeCustomer.filter(id=row.id).update(**updates)
        row = await StripeCustomer.get(id=row.id)
    return _customer(row)


async def customer(customer_id: str) -> Customer | None:
    row = await StripeCustomer.get_or_none(customer_id=customer_id)
    return None if row is None else _customer(row)


async def fresh_code(customer_id: str, now: datetime) -> Customer:
    """The customer's link code, renewed when it expired before anyone linked it (the success
    page asks: whoever holds the Checkout Session id is the buyer)."""
    async with payments.transaction():
        row = await StripeCustomer.get(customer_id=customer_id)
        expired = row.link_expires_at is None or row.link_expires_at <= now
        if row.user_id is None and expired:  # type: ignore[attr-defined]
            await StripeCustomer.filter(id=row.id, user_id=None).update(
                link_code=new_code(), link_expires_at=now + LINK_TTL
            )
            row = await StripeCustomer.get(id=row.id)
    return _customer(row)


def _payment_in(paid: PaidInvoice, user_id: int | None) -> PaymentIn:
    return PaymentIn(
        provider=Provider.STRIPE,
        charge_id=paid.invoice_id,
        user_id=user_id,
        plan_version_id=paid.plan_version_id,
        amount=paid.amount,
        currency=paid.currency.upper(),
        usd_cents=paid.amount if paid.currency.lower() == "usd" else 0,
        paid_at=paid.paid_at,
        period_start=paid.period_start,
        period_end=paid.period_end,
        subscription_ref=subscription_ref(paid.subscription_id),
        is_recurring=paid.recurring,
        raw={
            "invoice": paid.invoice_id,
            "customer": paid.customer_id,
            "subscription": paid.subscription_id,
            "payment_intent": paid.payment_intent_id,
        },
    )


async def record_invoice(paid: PaidInvoice, now: datetime) -> payments.Recorded:
    """The paid invoice as a payment (once per invoice id): for the linked user, or waiting for
    the link; its period and payment intent are kept beside it."""
    found = await ensure_customer(
        paid.customer_id, now, subscription_id=paid.subscription_id, email=paid.email
    )
    recorded = await payments.record(_payment_in(paid, found.user_id), now)
    if recorded.created:
        await StripeInvoice.create(
            invoice_id=paid.invoice_id[:255],
            payment_id=recorded.payment_id,
            customer_id=paid.customer_id[:255],
            subscription_id=paid.subscription_id[:255],
            payment_intent_id=paid.payment_intent_id,
            period_start=paid.period_start,
            period_end=paid.period_end,
        )
    return recorded


async def _local_state(ref: str) -> SubscriptionStatus | None:
    last = (
        await Entitlement.filter(subscription_ref=ref)
        .exclude(status=EntitlementStatus.ENDED)
        .order_by("-ends_at")
        .first()
    )
    if last is None:
        return None
    if last.status == EntitlementStatus.GRACE:
        return SubscriptionStatus.FAILED
    return SubscriptionStatus.ACTIVE if last.renews else SubscriptionStatus.CANCELED


async def sync_renewal(
    subscription_id: str, state: SubscriptionStatus, now: datetime
) -> int | None:
    """The periods bought by this subscription follow its renewal state as Stripe has it now;
    nothing changes (nor is audited) when they already do. The user's pk, or None."""
    await StripeCustomer.filter(subscription_id=subscription_id).update(
        subscription_state=state.value
    )
    ref = subscription_ref(subscription_id)
    local = await _local_state(ref)
    if local is None or local is state:
        return None
    return await payments.set_renewal(ref, RenewalState(state.value), now)


async def invoice_of_intent(payment_intent_id: str) -> StripeInvoice | None:
    return await StripeInvoice.get_or_none(payment_intent_id=payment_intent_id)


async def refund_invoice(
    invoice: StripeInvoice, now: datetime, *, reason: str, actor_id: int | None = None
) -> payments.Refunded:
    """A refund Stripe reports (ours or the dashboard's): the same effects as `/refund`."""
    return await payments.refund(invoice.payment_id, now, reason=reason, actor_id=actor_id)  # type: ignore[attr-defined]


async def _refused(telegram_id: int, code: str, why: str) -> None:
    await audit.record(
        "billing.stripe_link_refused", actor_id=telegram_id, target=code[:16], reason=why
    )


async def _claim(user_id: int, telegram_id: int, code: str, now: datetime) -> StripeCustomer:
    row = await StripeCustomer.get_or_none(link_code=code)
    if row is None:
        raise NotFound("error.link_unknown")
    owner: int | None = row.user_id  # type: ignore[attr-defined]
    if owner == user_id:
        raise NoChange("error.link_already_yours")
    if owner is not None:
        raise PermissionDenied("error.link_other_account")
    if row.link_expires_at is None or row.link_expires_at <= now:
        raise InvalidInput("error.link_expired")
    changed = await StripeCustomer.filter(id=row.id, user_id=None).update(
        user_id=user_id, linked_at=now
    )
    if not changed:  # another account linked it a moment ago
        raise PermissionDenied("error.link_other_account")
    await audit.record(
        "billing.stripe_linked", actor_id=telegram_id, target=str(user_id),
        customer=row.customer_id,
    )  # fmt: skip
    return row


async def link(user_id: int, telegram_id: int, code: str, now: datetime) -> Linked:
    """`/start link_CODE`: the card buyer's Stripe customer becomes this user's, once; the
    periods its invoices bought are granted now (see the module docstring)."""
    clean = code.strip().upper()[:32]
    try:
        async with payments.transaction():
            row = await _claim(user_id, telegram_id, clean, now)
            granted = []
            invoices = await StripeInvoice.filter(customer_id=row.customer_id).order_by(
                "period_start"
            )
            for invoice in invoices:
                attached = await _attach(invoice, user_id, now)
                if attached is not None:
                    granted.append(attached)
            if row.subscription_id and row.subscription_state:
                await sync_renewal(
                    row.subscription_id, SubscriptionStatus(row.subscription_state), now
                )
    except (NotFound, NoChange, PermissionDenied, InvalidInput) as exc:
        await _refused(telegram_id, clean, exc.key)
        raise
    return Linked(row.customer_id, user_id, tuple(granted))


async def _attach(invoice: StripeInvoice, user_id: int, now: datetime) -> EntitlementInfo | None:
    payment = await Payment.get(id=invoice.payment_id)  # type: ignore[attr-defined]
    if payment.user_id is not None or payment.status != PaymentStatus.PAID:  # type: ignore[attr-defined]
        return None
    paid = PaidInvoice(
        invoice_id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id or "",
        payment_intent_id=invoice.payment_intent_id,
        plan_version_id=payment.plan_version_id,  # type: ignore[attr-defined]
        amount=payment.amount,
        currency=payment.currency,
        paid_at=payment.created_at,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        recurring=payment.is_recurring,
    )
    recorded = await payments.attach(payment.id, user_id, _payment_in(paid, user_id), now)
    return recorded.entitlement
