"""Money in and out, exactly once: recording a payment with the access it buys, refunding it,
and marking a provider event as processed.

Exactly once lives in the schema: a payment is one row per (provider, charge id) and a provider
event one row per (provider, event id), both inserted with ``INSERT ... ON CONFLICT DO NOTHING
RETURNING id`` (never by catching IntegrityError, which would abort a PostgreSQL transaction).
The first delivery inserts the row and, in the same transaction, its effects (the entitlement
period, the affiliate commission, the audit entries); every later delivery finds the row taken
and changes nothing. Concurrent deliveries wait on the winner's row lock and then see it.

Periods: a payment buys one entitlement row (`Entitlement.payment`). With the provider's period
(a Stars subscription's `subscription_expiration_date`, a Stripe invoice line's period) the row
covers exactly that period, so events that arrive out of order produce the same rows; without
one (a one-off Stars period) it starts where the user's current period of the same plan ends.
A refund ends the rows its payment bought, at once (no grace), and reverses its commission.

Subscriptions are named by a reference ("stars:<first charge id>", "stripe:<subscription id>")
stored on the periods they bought: a cancellation clears `renews` on them (access continues
to the end of the paid period), a failed renewal puts the last one in grace, re-enabling sets
`renews` again.

A payment may be recorded before its buyer is known (a card payment on the web page, before the
buyer links their Telegram account): it counts as revenue at once, and `attach` later gives it
its user, its period and its commission, once.

Every change is announced after the commit (`entitlements.announce`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.connection import connections

from core import clock
from models.billing import (
    Entitlement,
    EntitlementSource,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    Provider,
)
from services import audit
from services.billing import affiliates, catalog, entitlements
from services.billing.entitlements import EntitlementInfo
from services.billing.entitlements import transaction as transaction  # re-exported
from services.errors import NotFound

MAX_RAW_BYTES = 16_000  # the provider payload kept with a payment (truncated beyond)


class RenewalState(StrEnum):
    ACTIVE = "active"  # renews at the period's end
    CANCELED = "canceled"  # access until the paid period ends, no renewal
    FAILED = "failed"  # the renewal failed: the last period is in grace


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """A payment as a provider reported it, for `record`."""

    provider: Provider
    charge_id: str  # Telegram's telegram_payment_charge_id, Stripe's invoice or charge id
    user_id: int | None  # users.id; None: the buyer is not known yet (see `record`)
    plan_version_id: int
    amount: int  # provider's smallest unit (Stars, cents)
    currency: str
    usd_cents: int  # its value in US cents
    paid_at: datetime
    period_start: datetime | None = None  # the provider's period, when it states one
    period_end: datetime | None = None
    days: int | None = None  # without a provider period: this many days (else the plan's)
    subscription_ref: str | None = None  # "stars:<first charge id>", "stripe:<sub id>"
    is_recurring: bool = False  # a renewal (not the subscription's first payment)
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recorded:
    payment_id: int
    created: bool  # False: this charge was already recorded, nothing changed
    entitlement: EntitlementInfo | None  # the period it bought (None for a duplicate)


@dataclass(frozen=True, slots=True)
class Refunded:
    payment_id: int
    created: bool  # False: it was already refunded (or never paid), nothing changed
    user_id: int | None
    ended: tuple[EntitlementInfo, ...] = ()


def _raw(raw: Mapping[str, Any]) -> str:
    text = json.dumps(dict(raw), separators=(",", ":"), default=str, sort_keys=True)
    if len(text.encode()) > MAX_RAW_BYTES:
        text = json.dumps({"truncated": text[: MAX_RAW_BYTES // 2]})
    return text


async def insert_once(table: str, values: Mapping[str, Any]) -> int | None:
    """INSERT one row unless it conflicts with a unique key: its id, or None when the row
    already existed. Same SQL on SQLite and PostgreSQL; runs in the caller's transaction."""
    conn = connections.get("default")
    names = list(values)
    if conn.capabilities.dialect == "postgres":
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    else:
        marks = ", ".join("?" * len(names))
    columns = ", ".join(f'"{n}"' for n in names)
    sql = (
        f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING "id"'
    )
    rows = await conn.execute_query_dict(sql, [values[n] for n in names])
    return int(rows[0]["id"]) if rows else None


async def _period(
    user_id: int, paid: PaymentIn, version: catalog.Offer, now: datetime
) -> tuple[datetime, datetime]:
    if paid.period_end is not None:
        start = paid.period_start or paid.period_end - timedelta(days=version.terms.period_days)
        return start, max(paid.period_end, start)
    start = await entitlements.chain_start(user_id, version.code, now)
    return start, start + timedelta(days=paid.days or version.terms.period_days)


async def record(paid: PaymentIn, now: datetime) -> Recorded:
    """Record `paid` and grant what it bought, once per (provider, charge id).

    A payment whose buyer is not known yet (`user_id` None: a card payment before its buyer
    linked their Telegram account) is recorded, audited and counted as revenue now; the period
    it bought and its commission wait for `attach`."""
    version = await catalog.version(paid.plan_version_id)
    async with transaction():
        payment_id = await insert_once(
            "payments",
            {
                "provider": paid.provider.value,
                "provider_charge_id": paid.charge_id,
                "user_id": paid.user_id,
                "plan_version_id": paid.plan_version_id,
                "amount": paid.amount,
                "currency": paid.currency.upper(),
                "status": PaymentStatus.PAID.value,
                "is_recurring": paid.is_recurring,
                "usd_cents": paid.usd_cents,
                "raw_payload": _raw(paid.raw),
                "created_at": paid.paid_at,
            },
        )
        if payment_id is None:
            existing = await Payment.get(provider=paid.provider, provider_charge_id=paid.charge_id)
            return Recorded(existing.id, created=False, entitlement=None)
        await audit.record(
            "billing.paid", actor_id=None, payment=payment_id,
            target=None if paid.user_id is None else str(paid.user_id),
            provider=paid.provider.value, charge=paid.charge_id[:255], amount=paid.amount,
            currency=paid.currency.upper(), usd_cents=paid.usd_cents, plan=version.code,
            version=version.version, recurring=paid.is_recurring,
        )  # fmt: skip
        if paid.user_id is None:
            return Recorded(payment_id, created=True, entitlement=None)
        period = await _grant(payment_id, paid.user_id, paid, version, now)
    return Recorded(payment_id, created=True, entitlement=period)


async def _grant(
    payment_id: int, user_id: int, paid: PaymentIn, version: catalog.Offer, now: datetime
) -> EntitlementInfo:
    """What a recorded payment buys (in the caller's transaction): its period, the commission."""
    starts, ends = await _period(user_id, paid, version, now)
    source = (
        EntitlementSource.STARS if paid.provider is Provider.STARS else EntitlementSource.STRIPE
    )
    period = await entitlements.add_period(
        user_id, version, starts, ends, source=source,
        renews=paid.subscription_ref is not None, payment_id=payment_id,
        subscription_ref=paid.subscription_ref,
    )  # fmt: skip
    await affiliates.on_payment(
        payment_id, user_id, paid.usd_cents, recurring=paid.is_recurring, now=now
    )
    await entitlements.announce(user_id)
    return period


async def attach(payment_id: int, user_id: int, paid: PaymentIn, now: datetime) -> Recorded:
    """A payment recorded without a buyer now belongs to `user_id`: grant the period `paid`
    states and accrue its commission, once (the payment's user goes from NULL to `user_id` in
    the same transaction; a refunded payment, or one already attached, changes nothing)."""
    version = await catalog.version(paid.plan_version_id)
    async with transaction():
        changed = await Payment.filter(
            id=payment_id, user_id=None, status=PaymentStatus.PAID
        ).update(user_id=user_id)
        if not changed:
            return Recorded(payment_id, created=False, entitlement=None)
        await audit.record(
            "billing.attached", actor_id=None, target=str(user_id), payment=payment_id,
            provider=paid.provider.value, charge=paid.charge_id[:255],
        )  # fmt: skip
        period = await _grant(payment_id, user_id, paid, version, now)
    return Recorded(payment_id, created=True, entitlement=period)


async def find(provider: Provider, charge_id: str) -> Payment | None:
    return await Payment.get_or_none(provider=provider, provider_charge_id=charge_id)


async def refund(
    payment_id: int, now: datetime, *, reason: str, actor_id: int | None = None
) -> Refunded:
    """Mark the payment refunded (once), end the periods it bought and reverse its commission.
    The provider's own refund (refundStarPayment, a Stripe Refund) is the caller's."""
    async with transaction():
        changed = await Payment.filter(id=payment_id, status=PaymentStatus.PAID).update(
            status=PaymentStatus.REFUNDED, refunded_at=now
        )
        payment = await Payment.get_or_none(id=payment_id)
        if payment is None:
            raise NotFound("error.payment_unknown", id=payment_id)
        user_id: int | None = payment.user_id  # type: ignore[attr-defined]
        if not changed:
            return Refunded(payment_id, created=False, user_id=user_id)
        ended = []
        for row in await Entitlement.filter(payment_id=payment_id).exclude(
            status=EntitlementStatus.ENDED
        ):
            ended.append(
                await entitlements.end(row.id, now, reason=f"refund: {reason}", actor_id=actor_id)
            )
        await audit.record(
            "billing.refunded", actor_id=actor_id, target=str(user_id), payment=payment_id,
            provider=payment.provider, charge=payment.provider_charge_id, amount=payment.amount,
            currency=payment.currency, reason=reason[:128],
        )  # fmt: skip
        await affiliates.on_refund(payment_id, now=now)
        if user_id is not None:
            await entitlements.announce(user_id)
    return Refunded(payment_id, created=True, user_id=user_id, ended=tuple(ended))


async def claim_event(provider: Provider, event_id: str, event_type: str) -> bool:
    """In the caller's transaction: mark a provider event processed. False: it already was
    (the caller applies nothing); the row commits or rolls back with the effects."""
    inserted = await insert_once(
        "processed_events",
        {
            "provider": provider.value,
            "event_id": event_id[:255],
            "event_type": event_type[:64],
            "processed_at": clock.now(),
        },
    )
    return inserted is not None


async def set_renewal(subscription_ref: str, state: RenewalState, now: datetime) -> int | None:
    """A subscription's renewal changed: its current and future periods follow. Returns the
    user's primary key (None: no period bought by this subscription)."""
    async with transaction():
        rows = (
            await Entitlement.filter(
                subscription_ref=subscription_ref, ends_at__gt=now - entitlements.GRACE
            )
            .exclude(status=EntitlementStatus.ENDED)
            .order_by("ends_at")
        )
        if not rows:
            return None
        user_id: int = rows[-1].user_id  # type: ignore[attr-defined]
        ids = [r.id for r in rows]
        if state is RenewalState.FAILED:
            await Entitlement.filter(id__in=ids).update(renews=False)
            await Entitlement.filter(id=rows[-1].id).update(status=EntitlementStatus.GRACE)
        else:
            await Entitlement.filter(id__in=ids).update(
                renews=state is RenewalState.ACTIVE, status=EntitlementStatus.ACTIVE
            )
        await audit.record(
            "billing.renewal", actor_id=None, target=str(user_id), subscription=subscription_ref,
            state=state.value, ends=rows[-1].ends_at.isoformat(),
        )  # fmt: skip
        await entitlements.announce(user_id)
    return user_id
