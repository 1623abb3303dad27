"""What a paid checkout makes and what happens to it later: subscriptions with their items and
periods, invoices, payment intents, charges and refunds (Stripe's shapes for API 2026-10)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from stripeemu import forms
from stripeemu.errors import StripeError, invalid, missing
from stripeemu.resources import INTERVALS
from stripeemu.store import new_id

if TYPE_CHECKING:
    from stripeemu.emulator import StripeEmulator

TEST_CARD = "4242424242424242"
# Stripe's test cards that are declined, and the decline code each gives
DECLINED_CARDS = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}


def check_card(number: str) -> None:
    """Stripe's 402 `card_declined` for its declining test cards."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise StripeError(
            402, "Your card number is incorrect.", type_="card_error", code="incorrect_number"
        )
    if number in DECLINED_CARDS:
        raise StripeError(
            402,
            "Your card was declined.",
            type_="card_error",
            code="card_declined",
            decline_code=DECLINED_CARDS[number],
        )


def period_s(price: dict[str, Any]) -> int:
    recurring = price["recurring"]
    return int(INTERVALS[recurring["interval"]] * recurring["interval_count"])


def card_details(number: str) -> dict[str, Any]:
    """A card's public details; the fingerprint depends on the number only, as Stripe's."""
    return {
        "brand": "visa" if number.startswith("4") else "mastercard",
        "country": "US",
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
        "funding": "credit",
        "last4": number[-4:],
    }


def new_subscription(
    emu: StripeEmulator,
    customer_id: str,
    items: list[dict[str, Any]],
    metadata: dict[str, str],
    trial_days: int | None = None,
) -> dict[str, Any]:
    """An incomplete subscription; with `trial_days` its first period is the trial."""
    now = emu.now()
    trial_end = now + trial_days * 86400 if trial_days else None
    sub_id = new_id("sub", 24)
    sub_items = []
    for item in items:
        price = item["price"]
        sub_items.append(
            {
                "id": new_id("si", 14),
                "object": "subscription_item",
                "created": now,
                "current_period_end": trial_end or now + period_s(price),
                "current_period_start": now,
                "discounts": [],
                "metadata": {},
                "price": price,
                "quantity": item["quantity"],
                "subscription": sub_id,
                "tax_rates": [],
            }
        )
    return emu.put(
        {
            "id": sub_id,
            "object": "subscription",
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": items[0]["currency"],
            "customer": customer_id,
            "default_payment_method": None,
            "description": None,
            "discounts": [],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": sub_items,
                "has_more": False,
                "total_count": len(sub_items),
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": metadata,
            "pause_collection": None,
            "pending_update": None,
            "start_date": now,
            "status": "incomplete",
            "trial_end": trial_end,
            "trial_start": now if trial_end else None,
            "_pending_proration": 0,
        }
    )


def _line(
    emu: StripeEmulator,
    invoice_id: str,
    sub: dict[str, Any],
    item: dict[str, Any],
    amount: int | None = None,
    *,
    trial: bool = False,
) -> dict[str, Any]:
    """An invoice line for `item`: its price, a proration `amount`, or the free `trial`."""
    price = item["price"]
    proration = amount is not None
    if amount is None:
        amount = 0 if trial else price["unit_amount"] * item["quantity"]
    name = emu.store.get(price["product"])["name"]
    return {
        "id": new_id("il", 24),
        "object": "line_item",
        "amount": amount,
        "currency": sub["currency"],
        "description": (
            f"Trial period for {name}"
            if trial
            else f"Proration ({name})"
            if proration
            else f"{item['quantity']} × {name}"
        ),
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": sub["id"],
                "subscription_item": item["id"],
                "proration": proration,
            },
        },
        "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price["product"]},
            "unit_amount_decimal": str(price["unit_amount"]),
        },
        "quantity": item["quantity"],
    }


def new_invoice(
    emu: StripeEmulator, sub: dict[str, Any], reason: str, amount: int | None = None
) -> dict[str, Any]:
    """An open invoice for the subscription's current period with the prorations pending
    since the last one, or for a proration `amount` alone. A credit larger than the invoice
    stays pending (Stripe keeps it as customer balance)."""
    now = emu.now()
    invoice_id = new_id("in", 24)
    customer = emu.store.get(sub["customer"])
    items = sub["items"]["data"]
    if amount is not None:
        lines = [_line(emu, invoice_id, sub, items[0], amount)]
    else:
        trial = sub["status"] == "incomplete" and sub["trial_end"] is not None
        lines = [_line(emu, invoice_id, sub, item, trial=trial) for item in items]
        if sub["_pending_proration"]:
            lines.append(_line(emu, invoice_id, sub, items[0], sub["_pending_proration"]))
    total = sum(line["amount"] for line in lines)
    if amount is None:
        sub["_pending_proration"] = min(0, total)
    total = max(0, total)
    first = sub["items"]["data"][0]
    return emu.put(
        {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "attempt_count": 0,
            "attempted": False,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "hosted_invoice_url": f"{emu.public_url}/i/{invoice_id}",
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "number": f"{customer['invoice_prefix']}-{len(emu.store.all('invoices')) + 1:04d}",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(sub["metadata"]),
                    "subscription": sub["id"],
                },
            },
            "payments": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": "/v1/invoice_payments",
            },
            "period_end": first["current_period_end"] if amount is None else now,
            "period_start": first["current_period_start"] if amount is None else now,
            "status": "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": total,
            "total": total,
        }
    )


def charge(
    emu: StripeEmulator,
    *,
    amount: int,
    currency: str,
    customer_id: str | None,
    email: str | None,
    card: str,
    metadata: dict[str, str],
    description: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A succeeded PaymentIntent and its Charge, paid by `card`."""
    now = emu.now()
    pi_id = new_id("pi", 24)
    charge_id = new_id("ch", 24)
    details = card_details(card)
    intent = emu.put(
        {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": amount,
            "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{new_id('x', 24)[2:]}",
            "confirmation_method": "automatic",
            "created": now,
            "currency": currency,
            "customer": customer_id,
            "description": description,
            "last_payment_error": None,
            "latest_charge": charge_id,
            "livemode": False,
            "metadata": metadata,
            "payment_method": new_id("pm", 24),
            "payment_method_types": ["card"],
            "status": "succeeded",
        }
    )
    emu.put(
        {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "balance_transaction": new_id("txn", 24),
            "billing_details": {"email": email, "name": None, "phone": None, "address": None},
            "captured": True,
            "created": now,
            "currency": currency,
            "customer": customer_id,
            "description": description,
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": metadata,
            "outcome": {
                "network_status": "approved_by_network",
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": True,
            "payment_intent": pi_id,
            "payment_method": intent["payment_method"],
            "payment_method_details": {"type": "card", "card": details},
            "receipt_email": email,
            "receipt_url": f"{emu.public_url}/r/{charge_id}",
            "refunded": False,
            "status": "succeeded",
        }
    )
    return intent, emu.store.get(charge_id)


def pay_invoice(emu: StripeEmulator, invoice: dict[str, Any], card: str) -> None:
    """Mark `invoice` paid; a non-zero amount is charged to `card`."""
    now = emu.now()
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if invoice["amount_due"] > 0:
        intent, _ = charge(
            emu,
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer_id=invoice["customer"],
            email=invoice["customer_email"],
            card=card,
            metadata={},
            description="Subscription update"
            if invoice["billing_reason"] == "subscription_update"
            else "Subscription creation"
            if invoice["billing_reason"] == "subscription_create"
            else "Subscription cycle",
        )
        invoice["payments"]["data"].append(
            {
                "id": new_id("inpay", 24),
                "object": "invoice_payment",
                "amount_paid": invoice["amount_due"],
                "amount_requested": invoice["amount_due"],
                "created": now,
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
                "status": "paid",
                "status_transitions": {"canceled_at": None, "paid_at": now},
            }
        )
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = now


def refund_target(emu: StripeEmulator, params: dict[str, Any]) -> dict[str, Any]:
    """The charge a refund is for: `charge`, or the `payment_intent`'s latest charge."""
    if params.get("charge") and params.get("payment_intent"):
        raise invalid(
            "charge", "You may only specify one of these parameters: charge, payment_intent.", ""
        )
    if params.get("payment_intent"):
        intent = emu.store.get(str(params["payment_intent"]), "payment_intent", "payment_intent")
        target = emu.store.get(intent["latest_charge"])
    elif params.get("charge"):
        target = emu.store.get(str(params["charge"]), "charge", "charge")
    else:
        raise missing("charge")
    return target


def refund(emu: StripeEmulator, target: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A succeeded refund of `target` (a charge), in full or `amount`; the charge follows."""
    remaining = target["amount"] - target["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400,
            f"Charge {target['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    raw_amount = params.get("amount")
    amount = remaining if raw_amount in (None, "") else _amount(raw_amount)
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )
    reason = params.get("reason") or None
    if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
        raise invalid("reason", f"Invalid reason: {reason}", "parameter_invalid_string")
    refund_obj = emu.put(
        {
            "id": new_id("re", 24),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn", 24),
            "charge": target["id"],
            "created": emu.now(),
            "currency": target["currency"],
            "metadata": forms.string_map(params, "metadata"),
            "payment_intent": target["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "status": "succeeded",
        }
    )
    target["amount_refunded"] += amount
    target["refunded"] = target["amount_refunded"] == target["amount"]
    return refund_obj


def _amount(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid("amount", f"Invalid integer: {raw}", "parameter_invalid_integer") from None
    if value < 1:
        raise invalid(
            "amount", "This value must be greater than or equal to 1.", "parameter_invalid_integer"
        )
    return value
