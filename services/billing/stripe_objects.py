"""Reading Stripe's objects (API 2026-10-28, stripe 16.1) into what we store: plain dicts from
the SDK's objects, the subscription an invoice belongs to, the line that bought its period, the
Price of a line, the payment intent that paid it, a subscription's renewal state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from services.billing.stripe_ledger import SubscriptionStatus

STATE_OF: Mapping[str, SubscriptionStatus] = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.FAILED,
    "unpaid": SubscriptionStatus.FAILED,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
}


def renewal_state(subscription: Mapping[str, Any]) -> SubscriptionStatus | None:
    """Active, canceled (also: set to cancel at period end) or failed (past due, unpaid)."""
    state = STATE_OF.get(str(subscription.get("status")))
    if state is SubscriptionStatus.ACTIVE and subscription.get("cancel_at_period_end"):
        return SubscriptionStatus.CANCELED
    return state


def timestamp(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def subscription_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    """API 2026-10: an invoice names its subscription under parent.subscription_details."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    sub = details.get("subscription")
    return sub if isinstance(sub, str) else None


def intent_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    for row in (invoice.get("payments") or {}).get("data") or []:
        pay = row.get("payment") or {}
        if pay.get("type") == "payment_intent" and row.get("status") == "paid":
            return str(pay.get("payment_intent"))
    return None


def main_line(invoice: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The line that bought the period: the subscription item's (not a proration), else the
    largest one."""
    lines = (invoice.get("lines") or {}).get("data") or []
    if not lines:
        return None
    regular = [
        ln for ln in lines
        if not ((ln.get("parent") or {}).get("subscription_item_details") or {}).get("proration")
    ]  # fmt: skip
    line: Mapping[str, Any] = max(regular or lines, key=lambda ln: int(ln.get("amount") or 0))
    return line


def line_price(line: Mapping[str, Any]) -> str | None:
    details = (line.get("pricing") or {}).get("price_details") or {}
    price = details.get("price")
    if isinstance(price, Mapping):
        return str(price.get("id"))
    return price if isinstance(price, str) else None


def object_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, stripe.StripeObject):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return str(value["id"]) if value.get("id") else None
    return None
