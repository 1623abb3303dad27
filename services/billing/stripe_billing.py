"""Card payments through Stripe's official SDK (async client): Checkout in subscription mode,
the customer portal, the signed webhook and refunds. What is stored lives in `stripe_ledger`.

Prices: one Stripe Price per plan version, created on first use from the catalog's USD price
with the lookup key ``signaldesk:<plan>:v<version>`` and the version in its metadata. A price
edit makes a new plan version, hence a new Price; existing subscriptions keep the Price (and
so the version) they were bought at, and an invoice's plan version is read from its line's
Price (a plan change in the portal takes effect with the next invoice).

The webhook (`handle_event`): the `Stripe-Signature` header is verified on the raw bytes
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

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import stripe

from core.settings import Settings
from models.billing import Payment, PaymentStatus, Provider, StripeInvoice
from services import audit
from services.billing import catalog, payments, stripe_ledger
from services.billing.catalog import Offer
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
from services.errors import InvalidInput, NotFound, UserFacingError
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)
TOLERANCE_S = 300  # Stripe's default: older signatures are refused (replays)
LOOKUP_PREFIX = "signaldesk"
SIGNATURE = _("error.stripe_signature")
UNAVAILABLE = _("error.stripe_unavailable")


class BadSignature(UserFacingError):
    """A webhook whose Stripe-Signature does not verify (wrong secret, tampered, stale)."""


class ProviderFailed(UserFacingError):
    """Stripe refused or could not be reached; the message says to try again."""

    problem_status: ClassVar[int] = 502
    problem_title: ClassVar[str] = "Bad Gateway"


@dataclass(frozen=True, slots=True)
class Started:
    """A hosted page to send the buyer to (Checkout or the portal)."""

    id: str
    url: str


@dataclass(frozen=True, slots=True)
class Handled:
    event_id: str
    type: str
    applied: bool  # False: a duplicate delivery, nothing changed


@dataclass(frozen=True, slots=True)
class SuccessView:
    """What the success page shows for a completed Checkout Session."""

    customer_id: str
    plan: str | None
    link_code: str | None  # None once linked
    link_expires_at: datetime | None
    linked: bool
    portal_token: str


class StripeBilling:
    """The Stripe side of card payments, built once by the assembly (`from_settings`)."""

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.AIOHTTPClient()
        addresses: dict[str, str] = {"api": api_base} if api_base else {}
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._token_key = hashlib.sha256(
            b"signaldesk portal link\0" + secret_key.encode()
        ).digest()
        self._prices: dict[int, str] = {}  # plan version id -> Price id (Prices never change)

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeBilling | None:
        """None without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET: no card payments."""
        if settings.stripe_secret_key is None or settings.stripe_webhook_secret is None:
            return None
        return cls(
            settings.stripe_secret_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
        )

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # prices and hosted pages ----------------------------------------------------------------

    async def price_for(self, offer: Offer) -> str:
        """The Stripe Price of this plan version (created on first use, found by lookup key)."""
        cached = self._prices.get(offer.version_id)
        if cached is not None:
            return cached
        key = f"{LOOKUP_PREFIX}:{offer.code}:v{offer.version}"
        found = await self.client.v1.prices.list_async(params={"lookup_keys": [key]})
        if not found.data:
            try:
                await self._create_price(offer, key)
            except stripe.InvalidRequestError:  # created concurrently: the list finds it
                log.info("stripe price %s created concurrently", key)
            found = await self.client.v1.prices.list_async(params={"lookup_keys": [key]})
        if not found.data:
            raise ProviderFailed(UNAVAILABLE)
        self._prices[offer.version_id] = found.data[0].id
        return found.data[0].id

    async def _create_price(self, offer: Offer, key: str) -> None:
        meta = {
            "plan": offer.code,
            "plan_version_id": str(offer.version_id),
            "version": str(offer.version),
        }
        await self.client.v1.prices.create_async(
            params={
                "currency": "usd",
                "unit_amount": int(offer.terms.usd_price * 100),
                "recurring": {"interval": "day", "interval_count": offer.terms.period_days},
                "lookup_key": key,
                "metadata": meta,
                "product_data": {"name": f"SignalDesk {offer.code} (v{offer.version})"},
            },
            options={"idempotency_key": f"{key}:price"},
        )

    async def checkout(
        self, plan_code: str, *, email: str | None, success_url: str, cancel_url: str
    ) -> Started:
        """A Checkout Session (subscription mode) for the plan's current version.
        `success_url` should carry ``{CHECKOUT_SESSION_ID}``, which Stripe fills in."""
        offer = await catalog.offer(plan_code)
        if offer is None or not web_listed(offer):
            raise NotFound("error.plan_unknown", plan=plan_code[:32], known="")
        price = await self.price_for(offer)
        meta = {"plan": offer.code, "plan_version_id": str(offer.version_id)}
        params: dict[str, Any] = {
            "mode": "subscription",
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": meta,
            "subscription_data": {"metadata": meta},
        }
        if email:
            params["customer_email"] = email
        session = await self._call(self.client.v1.checkout.sessions.create_async, params)
        return Started(session.id, str(session.url))

    async def portal(self, customer_id: str, return_url: str) -> Started:
        """A customer portal session (cancel, change card) for `customer_id`."""
        if await stripe_ledger.customer(customer_id) is None:
            raise NotFound("error.stripe_customer_unknown")
        session = await self._call(
            self.client.v1.billing_portal.sessions.create_async,
            {"customer": customer_id, "return_url": return_url},
        )
        return Started(session.id, str(session.url))

    def portal_token(self, customer_id: str) -> str:
        """What the portal link carries beside the customer id: HMAC-SHA256 under a key derived
        from the secret key, so only links we issued open a customer's portal."""
        return hmac.new(self._token_key, customer_id.encode(), hashlib.sha256).hexdigest()[:32]

    def portal_allowed(self, customer_id: str, token: str) -> bool:
        return hmac.compare_digest(self.portal_token(customer_id), token)

    async def success(self, session_id: str, now: datetime) -> SuccessView:
        """The completed session's customer and link code (the session is fetched from Stripe,
        so the page works before the webhook arrives)."""
        if not session_id.startswith("cs_") or len(session_id) > 255:
            raise NotFound("error.stripe_session_unknown")
        try:
            session = await self.client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.InvalidRequestError:
            raise NotFound("error.stripe_session_unknown") from None
        except stripe.StripeError as exc:
            log.warning("stripe unavailable: %s", type(exc).__name__)
            raise ProviderFailed(UNAVAILABLE) from None
        data = plain(session)
        if data.get("status") != "complete" or not data.get("customer"):
            raise InvalidInput("error.stripe_session_open")
        customer_id = str(data["customer"])
        email = (data.get("customer_details") or {}).get("email")
        async with payments.transaction():
            await stripe_ledger.ensure_customer(
                customer_id,
                now,
                subscription_id=object_id(data.get("subscription")),
                email=email,
            )
        found = await stripe_ledger.fresh_code(customer_id, now)
        linked = found.user_id is not None
        return SuccessView(
            customer_id=customer_id,
            plan=(data.get("metadata") or {}).get("plan"),
            link_code=None if linked else found.link_code,
            link_expires_at=None if linked else found.link_expires_at,
            linked=linked,
            portal_token=self.portal_token(customer_id),
        )

    async def _call(self, method: Callable[..., Awaitable[Any]], params: dict[str, Any]) -> Any:
        try:
            return await method(params=params)
        except stripe.StripeError as exc:
            log.warning("stripe call failed: %s %s", type(exc).__name__, exc.code or "")
            raise ProviderFailed(UNAVAILABLE) from None

    # refunds ---------------------------------------------------------------------------------

    async def refund_payment(
        self, payment_id: int, now: datetime, *, actor_id: int | None, reason: str
    ) -> payments.Refunded:
        """Refund a card payment in full: the Stripe Refund first (idempotent per payment), then
        `payments.refund` (access ends, the commission is reversed). The charge.refunded
        webhook that follows changes nothing more."""
        payment = await Payment.get_or_none(id=payment_id, provider=Provider.STRIPE)
        if payment is None:
            raise NotFound("error.payment_unknown", id=payment_id)
        invoice = await StripeInvoice.get_or_none(payment_id=payment_id)
        if payment.status == PaymentStatus.PAID and invoice and invoice.payment_intent_id:
            try:
                await self.client.v1.refunds.create_async(
                    params={
                        "payment_intent": invoice.payment_intent_id,
                        "reason": "requested_by_customer",
                        "metadata": {"payment_id": str(payment_id)},
                    },
                    options={"idempotency_key": f"{LOOKUP_PREFIX}:refund:{payment_id}"},
                )
            except stripe.InvalidRequestError as exc:
                if exc.code != "charge_already_refunded":  # refunded in the dashboard: ours too
                    log.warning("stripe refund refused: %s", exc.code)
                    raise ProviderFailed(UNAVAILABLE) from None
            except stripe.StripeError as exc:
                log.warning("stripe refund failed: %s", type(exc).__name__)
                raise ProviderFailed(UNAVAILABLE) from None
        return await payments.refund(payment_id, now, reason=reason, actor_id=actor_id)

    # the webhook -----------------------------------------------------------------------------

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

    async def handle_event(
        self, payload: bytes, signature_header: str | None, now: datetime
    ) -> Handled:
        """Verify, prepare (fetch what the event needs), then claim and apply in one
        transaction (see the module docstring)."""
        event = self.verify(payload, signature_header)
        obj = plain(event.data.object)
        apply = await self._prepare(event.type, obj, now)
        async with payments.transaction():
            if not await payments.claim_event(Provider.STRIPE, event.id, event.type):
                return Handled(event.id, event.type, applied=False)
            if apply is not None:
                await apply()
        return Handled(event.id, event.type, applied=True)

    async def _prepare(
        self, kind: str, obj: dict[str, Any], now: datetime
    ) -> Callable[[], Awaitable[None]] | None:
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

    def _on_session(
        self, session: dict[str, Any], now: datetime
    ) -> Callable[[], Awaitable[None]] | None:
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

    async def _on_subscription(
        self, subscription_id: str | None, now: datetime
    ) -> Callable[[], Awaitable[None]] | None:
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
        """The plan version of an invoice line's Price (its metadata), else the subscription's
        metadata; only versions that exist."""
        raw: str | None = None
        if price_id:
            price = plain(await self.client.v1.prices.retrieve_async(price_id))
            raw = (price.get("metadata") or {}).get("plan_version_id")
        if raw is None:
            details = (invoice.get("parent") or {}).get("subscription_details") or {}
            raw = (details.get("metadata") or {}).get("plan_version_id")
        if raw is None or not str(raw).isdigit():
            return None
        try:
            return (await catalog.version(int(raw))).version_id
        except Exception:  # a version id that is not ours (another shop on the account)
            return None

    async def _on_invoice_paid(
        self, invoice: dict[str, Any], now: datetime
    ) -> Callable[[], Awaitable[None]] | None:
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

    async def _on_refund(
        self, charge: dict[str, Any], now: datetime
    ) -> Callable[[], Awaitable[None]] | None:
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


def web_listed(offer: Offer) -> bool:
    """Sold on the web page: not hidden, not behind an access code, not for newcomers only
    (an anonymous buyer cannot show either)."""
    terms = offer.terms
    return not terms.hidden and terms.access_code is None and not terms.newcomers_only
