"""Stripe's webhook: verified on the raw body, claimed once with its effects, converging
whatever the order of events.

The `Stripe-Signature` header is verified on the raw bytes
before anything is parsed (`construct_event`, 5 minutes' tolerance); a bad or stale signature
raises `BadSignature` (400). What an event needs from Stripe (a subscription's current state,
an invoice a refund belongs to, a Price's plan version) is fetched first; then, in one
transaction, the event id is claimed (`payments.claim_event`) and its effects written, so a
duplicate applies nothing and a crash applies nothing. Events converge whatever their order:
each writes what it knows (a customer row, a payment per invoice id, a refund per payment) and
renewal states follow the subscription as Stripe has it when the event is handled.

  checkout.session.completed     the customer row (link code) and its subscription
  invoice.paid                   a payment (charge id = invoice id) with the invoice line's
                                 period, subscription_ref "stripe:<sub id>"; for the linked
                                 user, or waiting for the link (`stripe_ledger`)
  invoice.payment_failed         renewal failed (grace) as long as the subscription is past due
  customer.subscription.updated  cancel_at_period_end -> canceled; taken back -> active
  customer.subscription.deleted  no renewal; access to the end of the paid period
  charge.refunded                a full refund: `payments.refund` of that invoice's payment
                                 (a partial refund is audited and keeps access)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from tortoise.exceptions import DoesNotExist

from models.billing import ProcessedEvent, Provider
from services import audit
from services.billing import catalog, payments, stripe_ledger
from services.billing.stripe_ledger import PaidInvoice
from services.billing.stripe_objects import (
    intent_of_invoice,
    line_price,
    main_line,
    object_id,
    plain,
    renewal_state,
    subscription_of_invoice,
    timestamp,
)
from services.errors import UserFacingError
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)
TOLERANCE_S = 300  # Stripe's default: older signatures are refused (replays)
SIGNATURE = _("error.stripe_signature")
Apply = Callable[[], Awaitable[None]]


class BadSignature(UserFacingError):
    """A webhook whose Stripe-Signature does not verify (wrong secret, tampered, stale)."""


@dataclass(frozen=True, slots=True)
class Handled:
    event_id: str
    type: str
    applied: bool  # False: a duplicate delivery, nothing changed


class StripeEvents:
    """Applies Stripe's events; `client` fetches what an event needs."""

    def __init__(self, client: stripe.StripeClient, webhook_secret: str) -> None:
        self.client = client
        self._webhook_secret = webhook_secret
        self._prices: dict[str, str | None] = {}  # Price id -> its plan_version_id metadata

    def verify(self, payload: bytes, signature_header: str | None) -> stripe.Event:
        """The event, once its signature verified on the raw bytes; BadSignature otherwise."""
        try:
            return self.client.construct_event(
                payload, signature_header, self._webhook_secret, TOLERANCE_S
            )
        except stripe.SignatureVerificationError:
            raise BadSignature(SIGNATURE) from None
        except ValueError:  # not UTF-8 / not JSON, yet signed: refused all the same
            raise BadSignature(SIGNATURE) from None

    async def handle(self, payload: bytes, signature_header: str | None, now: datetime) -> Handled:
        """Verify, prepare (fetch what the event needs), then claim and apply in one
        transaction (see the module docstring)."""
        event = self.verify(payload, signature_header)
        if await ProcessedEvent.exists(provider=Provider.STRIPE, event_id=event.id):
            return Handled(event.id, event.type, applied=False)  # known: skip the fetches
        obj = plain(event.data.object)
        apply = await self._prepare(event.type, obj, now)
        async with payments.transaction():
            if not await payments.claim_event(Provider.STRIPE, event.id, event.type):
                return Handled(event.id, event.type, applied=False)
            if apply is not None:
                await apply()
        return Handled(event.id, event.type, applied=True)

    async def _prepare(self, kind: str, obj: dict[str, Any], now: datetime) -> Apply | None:
        if kind == "checkout.session.completed":
            return self._on_session(obj, now)
        if kind == "invoice.paid":
            return await self._on_invoice_paid(obj, now)
        if kind in (
            "invoice.payment_failed",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ):
            sub_id = obj.get("id") if obj.get("object") == "subscription" else None
            return await self._on_subscription(sub_id or subscription_of_invoice(obj), now)
        if kind == "charge.refunded":
            return await self._on_refund(obj, now)
        return None  # another event type: claimed, nothing to apply

    def _on_session(self, session: dict[str, Any], now: datetime) -> Apply | None:
        if session.get("mode") != "subscription" or not session.get("customer"):
            return None
        details = session.get("customer_details") or {}

        async def apply() -> None:
            await stripe_ledger.ensure_customer(
                str(session["customer"]), now, subscription_id=object_id(session.get("subscription")),
                email=details.get("email") or session.get("customer_email"),
            )  # fmt: skip

        return apply

    async def _subscription(self, subscription_id: str) -> dict[str, Any]:
        return plain(await self.client.v1.subscriptions.retrieve_async(subscription_id))

    async def _on_subscription(self, subscription_id: str | None, now: datetime) -> Apply | None:
        if not subscription_id:
            return None
        sub = await self._subscription(subscription_id)
        state = renewal_state(sub)

        async def apply() -> None:
            await stripe_ledger.ensure_customer(
                str(sub["customer"]), now, subscription_id=subscription_id, email=None
            )
            if state is not None:
                await stripe_ledger.sync_renewal(subscription_id, state, now)

        return apply

    async def _paid_invoice(self, invoice: dict[str, Any]) -> PaidInvoice | None:
        sub_id = subscription_of_invoice(invoice)
        line = main_line(invoice)
        if sub_id is None or line is None or invoice.get("status") != "paid":
            return None
        version_id = await self._version_of(line_price(line), invoice)
        if version_id is None:
            log.warning("stripe invoice %s: no SignalDesk plan version", invoice.get("id"))
            return None
        period = line.get("period") or {}
        paid_at = ((invoice.get("status_transitions") or {}).get("paid_at")) or invoice["created"]
        return PaidInvoice(
            invoice_id=str(invoice["id"]),
            customer_id=str(invoice["customer"]),
            subscription_id=sub_id,
            payment_intent_id=intent_of_invoice(invoice),
            plan_version_id=version_id,
            amount=int(invoice.get("amount_paid") or 0),
            currency=str(invoice.get("currency") or "usd"),
            paid_at=timestamp(paid_at),
            period_start=timestamp(period.get("start") or invoice["period_start"]),
            period_end=timestamp(period.get("end") or invoice["period_end"]),
            recurring=invoice.get("billing_reason") == "subscription_cycle",
            email=invoice.get("customer_email"),
        )

    async def _version_of(self, price_id: str | None, invoice: Mapping[str, Any]) -> int | None:
        """The plan version of an invoice line's Price (its metadata; a Price never changes, so
        it is asked once), else the subscription's metadata; only versions that exist."""
        raw: str | None = None
        if price_id:
            if price_id not in self._prices:
                price = plain(await self.client.v1.prices.retrieve_async(price_id))
                self._prices[price_id] = (price.get("metadata") or {}).get("plan_version_id")
            raw = self._prices[price_id]
        if raw is None:
            details = (invoice.get("parent") or {}).get("subscription_details") or {}
            raw = (details.get("metadata") or {}).get("plan_version_id")
        if raw is None or not str(raw).isdigit():
            return None
        try:
            return (await catalog.version(int(raw))).version_id
        except DoesNotExist:  # a version id that is not ours (another shop on the account)
            return None

    async def _on_invoice_paid(self, invoice: dict[str, Any], now: datetime) -> Apply | None:
        paid = await self._paid_invoice(invoice)
        if paid is None:
            return None
        state = renewal_state(await self._subscription(paid.subscription_id))

        async def apply() -> None:
            await stripe_ledger.record_invoice(paid, now)
            if state is not None:
                await stripe_ledger.sync_renewal(paid.subscription_id, state, now)

        return apply

    async def _invoice_for_charge(self, charge: Mapping[str, Any]) -> PaidInvoice | None:
        """The paid invoice a charge settled, asked from Stripe (the refund came first)."""
        if not charge.get("customer"):
            return None
        listed = await self.client.v1.invoices.list_async(
            params={"customer": str(charge["customer"]), "status": "paid", "limit": 100}
        )
        for item in listed.data:
            invoice = plain(item)
            if intent_of_invoice(invoice) == charge.get("payment_intent"):
                return await self._paid_invoice(invoice)
        return None

    async def _on_refund(self, charge: dict[str, Any], now: datetime) -> Apply | None:
        intent = charge.get("payment_intent")
        if not isinstance(intent, str):
            return None
        missing = None
        if await stripe_ledger.invoice_of_intent(intent) is None:
            missing = await self._invoice_for_charge(charge)
            if missing is None:
                return None  # not a subscription payment of ours
        full = bool(charge.get("refunded"))

        async def apply() -> None:
            if missing is not None:
                await stripe_ledger.record_invoice(missing, now)
            invoice = await stripe_ledger.invoice_of_intent(intent)
            if invoice is None:
                return
            if full:
                await stripe_ledger.refund_invoice(invoice, now, reason="stripe charge refunded")
            else:
                await audit.record(
                    "billing.partial_refund", actor_id=None, target=invoice.invoice_id,
                    payment=invoice.payment_id,  # type: ignore[attr-defined]
                    refunded=int(charge.get("amount_refunded") or 0),
                )  # fmt: skip

        return apply
