"""Card payments through Stripe's official SDK (async client): Checkout in subscription mode,
the customer portal, the signed webhook and refunds. What is stored lives in `stripe_ledger`.

Prices: one Stripe Price per plan version, created on first use from the catalog's USD price
with the lookup key ``signaldesk:<plan>:v<version>`` and the version in its metadata. A price
edit makes a new plan version, hence a new Price; existing subscriptions keep the Price (and
so the version) they were bought at, and an invoice's plan version is read from its line's
Price (a plan change in the portal takes effect with the next invoice).

The webhook: `stripe_webhook` (verified, claimed once, converging out of order).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import stripe

from core.settings import Settings, load_settings
from models.billing import Payment, PaymentStatus, Provider, StripeInvoice
from services.billing import catalog, payments, stripe_ledger
from services.billing.catalog import Offer
from services.billing.stripe_objects import (
    object_id,
    plain,
)
from services.billing.stripe_webhook import Handled, StripeEvents
from services.errors import InvalidInput, NotFound, UserFacingError
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)
LOOKUP_PREFIX = "signaldesk"
UNAVAILABLE = _("error.stripe_unavailable")


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
        self._token_key = hashlib.sha256(
            b"signaldesk portal link\0" + secret_key.encode()
        ).digest()
        self._prices: dict[int, str] = {}  # plan version id -> Price id (Prices never change)
        self.events = StripeEvents(self.client, webhook_secret)

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

    async def handle_event(
        self, payload: bytes, signature_header: str | None, now: datetime
    ) -> Handled:
        """The webhook: `stripe_webhook.StripeEvents.handle`."""
        return await self.events.handle(payload, signature_header, now)


def web_listed(offer: Offer) -> bool:
    """Sold on the web page: not hidden, not behind an access code, not for newcomers only
    (an anonymous buyer cannot show either)."""
    terms = offer.terms
    return not terms.hidden and terms.access_code is None and not terms.newcomers_only


async def refund_payment(
    payment_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    reason: str,
    billing: StripeBilling | None = None,
) -> payments.Refunded:
    """The cross-billing contract (/refund of a card payment): `StripeBilling.refund_payment`
    on `billing`, the assembly's instance (handlers get it injected as `stripe_billing`).
    Without one, a client is built for this call from the environment's STRIPE_* settings
    (the sandbox's fake Stripe lives only in the assembly's instance: pass it there)."""
    if billing is not None:
        return await billing.refund_payment(payment_id, now, actor_id=actor_id, reason=reason)
    built = StripeBilling.from_settings(load_settings())
    if built is None:
        raise InvalidInput("error.stripe_not_configured")
    try:
        return await built.refund_payment(payment_id, now, actor_id=actor_id, reason=reason)
    finally:
        await built.close()
