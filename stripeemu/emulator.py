"""The emulator's state and the buyer's and the dashboard's actions, each emitting the events
Stripe sends for it (delivered as signed webhooks when an endpoint is configured)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any

from stripeemu import billing, forms
from stripeemu.errors import StripeError, invalid
from stripeemu.resources import create_customer
from stripeemu.store import Store, new_id
from stripeemu.webhooks import Delivery, Event, WebhookSender

API_VERSION = "2026-10-28.endive"  # what stripe 16.1 pins (`stripe.api_version`)
DEFAULT_SECRET_KEY = "sk_test_emulator"
DEFAULT_WEBHOOK_SECRET = "whsec_emulator"


class StripeEmulator:
    """Stripe's state for one test account, with the actions tests and the sandbox drive.

    `clock` (unix seconds) stamps objects, periods and events; `auto_deliver` sends every event
    to `webhook_url` as it happens (`await flush()` waits for them); without it events are only
    recorded in `events` and go out with `deliver`, in the order the caller chooses.
    """

    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        webhook_url: str | None = None,
        clock: Callable[[], float] = time.time,
        signing_clock: Callable[[], float] = time.time,
        auto_deliver: bool = True,
        api_version: str = API_VERSION,
        public_url: str = "",
    ) -> None:
        self.secret_key = secret_key
        self.clock = clock
        self.api_version = api_version
        self.auto_deliver = auto_deliver
        self.public_url = public_url
        self.store = Store()
        self.events: list[Event] = []
        self.sender = WebhookSender(
            url=webhook_url, secret=webhook_secret, signing_clock=signing_clock
        )
        self._seq = 0

    # bookkeeping ---------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        obj.setdefault("_seq", self._seq)
        return self.store.put(obj)

    def get(self, object_id: str) -> dict[str, Any]:
        """An object as the API would render it (unexpanded)."""
        return self.store.render(self.store.get(object_id))

    def configure_webhook(self, url: str | None, secret: str | None = None) -> None:
        self.sender.url = url
        if secret is not None:
            self.sender.secret = secret

    @property
    def webhook_secret(self) -> str:
        return self.sender.secret

    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        request: tuple[str | None, str | None] = (None, None),
    ) -> Event:
        """Record (and, with `auto_deliver`, queue) an event about `obj` as it is now."""
        data: dict[str, Any] = {"object": self.store.render(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = Event(
            {
                "id": new_id("evt", 24),
                "object": "event",
                "api_version": self.api_version,
                "created": self.now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if self.sender.url else 0,
                "request": {"id": request[0], "idempotency_key": request[1]},
                "type": type_,
            }
        )
        self.events.append(event)
        self.store.put(event.payload)
        if self.auto_deliver and self.sender.url:
            self.sender.enqueue(event)
        return event

    def events_of(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]

    async def deliver(
        self, events: Event | str | Iterable[Event | str], *, signed_at: int | None = None
    ) -> list[Delivery]:
        """Post these events now, once each, in the order given (again if already delivered)."""
        if isinstance(events, (Event, str)):
            events = [events]
        by_id = {e.id: e for e in self.events}
        out = []
        for item in events:
            event = by_id[item] if isinstance(item, str) else item
            out.append(await self.sender.deliver(event, signed_at=signed_at))
        return out

    def signed(
        self, event: Event | str, *, signed_at: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers (`Stripe-Signature`) a delivery of `event` would carry."""
        found = (
            event if isinstance(event, Event) else next(e for e in self.events if e.id == event)
        )
        return self.sender.signed(found, signed_at=signed_at)

    async def flush(self) -> None:
        await self.sender.flush()

    async def close(self) -> None:
        await self.sender.close()

    # the buyer -----------------------------------------------------------------------------

    def complete_checkout(
        self, session_id: str, *, email: str | None = None, card: str = billing.TEST_CARD
    ) -> dict[str, Any]:
        """The buyer pays the session with a test card: customer (if needed), subscription and
        its paid first invoice, or the one-off payment; `checkout.session.completed` and the
        events Stripe sends with it."""
        session = self.store.get(session_id, "checkout.session")
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            session["status"] = "expired"
        if session["status"] != "open":
            raise StripeError(
                400, f"This Checkout Session is no longer open ({session['status']})."
            )
        billing.check_card(card)
        email = email or session["customer_email"] or "buyer@example.com"
        customer_id = session["customer"]
        needs_customer = (
            session["mode"] == "subscription" or session["customer_creation"] == "always"
        )
        if customer_id is None and needs_customer:
            customer_id = create_customer(self, {"email": email})["id"]
        items = session["_line_items"]["data"]
        session.update(
            customer=customer_id,
            customer_details={
                "email": email,
                "name": None,
                "phone": None,
                "address": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
            status="complete",
            payment_status="paid",
        )
        if session["mode"] == "subscription":
            terms = session["_subscription_data"]
            sub = billing.new_subscription(
                self, customer_id, items, terms["metadata"], terms["trial_period_days"]
            )
            invoice = billing.new_invoice(self, sub, "subscription_create")
            billing.pay_invoice(self, invoice, card)
            status = "trialing" if sub["trial_end"] else "active"
            sub.update(status=status, latest_invoice=invoice["id"], _card=card)
            session.update(subscription=sub["id"], invoice=invoice["id"])
            self.emit("customer.subscription.created", sub)
            self.emit("checkout.session.completed", session)
            self.emit("invoice.paid", invoice)
        else:
            intent, _ = billing.charge(
                self,
                amount=session["amount_total"],
                currency=session["currency"],
                customer_id=customer_id,
                email=email,
                card=card,
                metadata=session["_payment_intent_metadata"],
            )
            session["payment_intent"] = intent["id"]
            self.emit("checkout.session.completed", session)
        return self.store.render(session)

    # time passing --------------------------------------------------------------------------

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """The period ends: the next invoice is paid and the period advances; an open (failed)
        invoice is paid instead; a subscription set to cancel at period end ends."""
        sub = self._live(subscription_id)
        before = copy.deepcopy(sub)
        latest = self.store.get(sub["latest_invoice"]) if sub["latest_invoice"] else None
        if latest is not None and latest["status"] == "open":
            billing.pay_invoice(self, latest, sub.get("_card", billing.TEST_CARD))
            sub["status"] = "active"
            self.emit("invoice.paid", latest)
            self.emit("customer.subscription.updated", sub, _changed(before, sub))
            return self.store.render(sub)
        if sub["cancel_at_period_end"]:
            return self._end(sub, "cancellation_requested")
        self._advance(sub)
        invoice = billing.new_invoice(self, sub, "subscription_cycle")
        billing.pay_invoice(self, invoice, sub.get("_card", billing.TEST_CARD))
        sub.update(status="active", latest_invoice=invoice["id"])
        self.emit("invoice.paid", invoice)
        self.emit("customer.subscription.updated", sub, _changed(before, sub))
        return self.store.render(sub)

    def fail_renewal(self, subscription_id: str) -> dict[str, Any]:
        """The renewal charge is declined: an open invoice, `invoice.payment_failed`, the
        subscription `past_due` (the period advances regardless, as Stripe's). A second failure
        retries the same invoice."""
        sub = self._live(subscription_id)
        before = copy.deepcopy(sub)
        latest = self.store.get(sub["latest_invoice"]) if sub["latest_invoice"] else None
        if latest is None or latest["status"] != "open":
            if sub["cancel_at_period_end"]:  # nothing to charge: it ends
                return self._end(sub, "cancellation_requested")
            self._advance(sub)
            latest = billing.new_invoice(self, sub, "subscription_cycle")
        latest["attempt_count"] += 1
        latest["attempted"] = True
        latest["next_payment_attempt"] = self.now() + 3 * 86400
        sub.update(status="past_due", latest_invoice=latest["id"])
        self.emit("invoice.payment_failed", latest)
        if sub != before:
            self.emit("customer.subscription.updated", sub, _changed(before, sub))
        return self.store.render(sub)

    def cancel_at_period_end(self, subscription_id: str, *, cancel: bool = True) -> dict[str, Any]:
        """The customer cancels in the portal (access until the period ends), or takes it back."""
        sub = self._live(subscription_id)
        before = copy.deepcopy(sub)
        end = sub["items"]["data"][0]["current_period_end"]
        sub.update(
            cancel_at_period_end=cancel,
            cancel_at=end if cancel else None,
            canceled_at=self.now() if cancel else None,
        )
        sub["cancellation_details"]["reason"] = "cancellation_requested" if cancel else None
        if sub != before:
            self.emit("customer.subscription.updated", sub, _changed(before, sub))
        return self.store.render(sub)

    def cancel_now(
        self, subscription_id: str, reason: str = "cancellation_requested"
    ) -> dict[str, Any]:
        """The subscription ends at once (`customer.subscription.deleted`)."""
        return self._end(self._live(subscription_id), reason)

    def refund(
        self, params: dict[str, Any], request: tuple[str | None, str | None] = (None, None)
    ) -> dict[str, Any]:
        """A refund (API or dashboard): `charge` or `payment_intent`, optional `amount`;
        `charge.refunded` with the charge as it is after."""
        target = billing.refund_target(self, params)
        before = copy.deepcopy(target)
        refund_obj = billing.refund(self, target, params)
        self.emit("charge.refunded", target, _changed(before, target), request)
        return refund_obj

    def update_subscription(
        self,
        subscription_id: str,
        params: dict[str, Any],
        request: tuple[str | None, str | None] = (None, None),
    ) -> dict[str, Any]:
        """POST /v1/subscriptions/{id}: cancel_at_period_end, metadata, an item's price (with
        proration_behavior create_prorations | none | always_invoice)."""
        sub = self._live(subscription_id)
        before = copy.deepcopy(sub)
        behavior = params.get("proration_behavior") or "create_prorations"
        if behavior not in ("create_prorations", "none", "always_invoice"):
            raise invalid(
                "proration_behavior",
                f"Invalid proration_behavior: {behavior}",
                "parameter_invalid_string",
            )
        work = copy.deepcopy(sub)  # all or nothing: a refused param leaves `sub` as it was
        flag = forms.boolean(params, "cancel_at_period_end")
        if flag is not None:
            end = work["items"]["data"][0]["current_period_end"]
            work.update(
                cancel_at_period_end=flag,
                cancel_at=end if flag else None,
                canceled_at=self.now() if flag else None,
            )
            work["cancellation_details"]["reason"] = "cancellation_requested" if flag else None
        for key, value in forms.string_map(params, "metadata").items():
            if value == "":
                work["metadata"].pop(key, None)
            else:
                work["metadata"][key] = value
        proration = sum(
            self._change_item(work, i, change)
            for i, change in enumerate(forms.listed(params, "items"))
        )
        sub.clear()
        sub.update(work)
        if proration > 0 and behavior == "always_invoice":
            invoice = billing.new_invoice(self, sub, "subscription_update", amount=proration)
            billing.pay_invoice(self, invoice, sub.get("_card", billing.TEST_CARD))
            sub["latest_invoice"] = invoice["id"]
            self.emit("invoice.paid", invoice, request=request)
        elif proration and behavior != "none":  # a credit, or charged with the next invoice
            sub["_pending_proration"] += proration
        if sub != before:
            self.emit("customer.subscription.updated", sub, _changed(before, sub), request)
        return sub

    def _change_item(self, sub: dict[str, Any], index: int, change: Any) -> int:
        """Swap an item's price; the proration (unused time credited, the rest charged)."""
        where = f"items[{index}]"
        if not isinstance(change, dict):
            raise invalid(where, f"Invalid object: {where}", "parameter_invalid_string")
        items = sub["items"]["data"]
        item = next((it for it in items if it["id"] == change.get("id")), None)
        if item is None:
            if change.get("id"):
                raise invalid(
                    f"{where}[id]",
                    f"No such subscription item: '{change['id']}'",
                    "resource_missing",
                )
            if len(items) != 1:
                raise invalid(
                    f"{where}[id]", "Missing required param: items[][id].", "parameter_missing"
                )
            item = items[0]
        if not change.get("price"):
            return 0
        price = self.store.get(str(change["price"]), "price", f"{where}[price]")
        if price["type"] != "recurring" or price["currency"] != sub["currency"]:
            raise invalid(
                f"{where}[price]",
                "The price must be recurring and in the subscription's currency.",
                "",
            )
        start, end = item["current_period_start"], item["current_period_end"]
        left: float = max(0, end - self.now()) / max(1, end - start)
        old_amount = int(item["price"]["unit_amount"]) * int(item["quantity"])
        item["price"] = price
        if change.get("quantity"):
            item["quantity"] = int(change["quantity"])
        return round((int(price["unit_amount"]) * int(item["quantity"]) - old_amount) * left)

    def _live(self, subscription_id: str) -> dict[str, Any]:
        sub = self.store.get(subscription_id, "subscription")
        if sub["status"] == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        return sub

    def _advance(self, sub: dict[str, Any]) -> None:
        for item in sub["items"]["data"]:
            start = item["current_period_end"]
            item["current_period_start"] = start
            item["current_period_end"] = start + billing.period_s(item["price"])

    def _end(self, sub: dict[str, Any], reason: str) -> dict[str, Any]:
        now = self.now()
        sub.update(
            status="canceled",
            ended_at=now,
            canceled_at=sub["canceled_at"] or now,
            cancel_at=sub["cancel_at"] or now,
        )
        sub["cancellation_details"]["reason"] = reason
        self.emit("customer.subscription.deleted", sub)
        return self.store.render(sub)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's `previous_attributes`: the old values of the top-level fields that changed."""
    return {
        key: copy.deepcopy(_strip(value))
        for key, value in before.items()
        if not key.startswith("_") and after.get(key) != value
    }


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
