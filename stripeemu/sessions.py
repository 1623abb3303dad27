"""Checkout Sessions and Billing Portal sessions (create, retrieve, line items)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripeemu import forms
from stripeemu.errors import invalid, missing
from stripeemu.resources import create_price
from stripeemu.store import new_id

if TYPE_CHECKING:
    from stripeemu.emulator import StripeEmulator

SESSION_TTL_S = 24 * 3600


def _line_items(emu: StripeEmulator, params: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    raw = forms.listed(params, "line_items")
    if not raw:
        raise missing("line_items")
    items = []
    for i, entry in enumerate(raw):
        where = f"line_items[{i}]"
        if not isinstance(entry, dict):
            raise invalid(where, f"Invalid object: {where}", "parameter_invalid_string")
        if entry.get("price"):
            price = emu.store.get(str(entry["price"]), "price", f"{where}[price]")
            if not price["active"]:
                raise invalid(f"{where}[price]", f"The price `{price['id']}` is not active.", "")
        elif entry.get("price_data"):
            price = create_price(
                emu, forms.mapping(entry, "price_data"), where=f"{where}[price_data]"
            )
            price["active"] = False  # inline prices are not reusable, as Stripe's
        else:
            raise missing(f"{where}[price]")
        quantity = forms.integer(entry, "quantity", 1) or 0
        if quantity < 1:
            raise invalid(
                f"{where}[quantity]",
                "This value must be greater than or equal to 1.",
                "parameter_invalid_integer",
            )
        amount = price["unit_amount"] * quantity
        items.append(
            {
                "id": new_id("li", 24),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": emu.store.get(price["product"])["name"],
                "metadata": {},
                "price": price,
                "quantity": quantity,
            }
        )
    recurring = [item for item in items if item["price"]["type"] == "recurring"]
    if mode == "subscription" and not recurring:
        raise invalid(
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            "",
        )
    if mode == "payment" and recurring:
        raise invalid(
            "line_items",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
            "",
        )
    if len({item["currency"] for item in items}) > 1:
        raise invalid("line_items", "All prices must use the same currency.", "")
    return items


def create_checkout_session(emu: StripeEmulator, params: dict[str, Any]) -> dict[str, Any]:
    mode = params.get("mode")
    if not mode:
        raise missing("mode")
    if mode not in ("payment", "subscription"):
        raise invalid(
            "mode",
            f"Invalid mode: {mode} (this emulator supports payment and subscription)",
            "parameter_invalid_string",
        )
    ui_mode = params.get("ui_mode") or "hosted"
    if ui_mode == "hosted" and not params.get("success_url"):
        raise missing("success_url")
    customer = params.get("customer") or None
    if customer:
        emu.store.get(str(customer), "customer", "customer")
        if params.get("customer_email"):
            raise invalid(
                "customer_email",
                "You may only specify one of these parameters: customer, customer_email.",
                "",
            )
    subscription_data = forms.mapping(params, "subscription_data")
    if subscription_data and mode != "subscription":
        raise invalid(
            "subscription_data", "You can not pass `subscription_data` in `payment` mode.", ""
        )
    trial_days = _trial_days(subscription_data)
    reference = params.get("client_reference_id") or None
    if reference is not None and len(str(reference)) > 200:
        raise invalid(
            "client_reference_id",
            "client_reference_id must be at most 200 characters.",
            "parameter_invalid_string",
        )
    metadata = forms.string_map(params, "metadata")
    items = _line_items(emu, params, str(mode))  # last: inline prices are stored as made
    now = emu.now()
    session_id = new_id("cs_test", 58)
    total = sum(item["amount_total"] for item in items)
    return emu.put(
        {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url") or None,
            "client_reference_id": reference,
            "created": now,
            "currency": items[0]["currency"],
            "customer": customer,
            "customer_creation": None
            if customer or mode == "subscription"
            else params.get("customer_creation") or "if_required",
            "customer_details": None,
            "customer_email": params.get("customer_email") or None,
            "expires_at": forms.integer(params, "expires_at", now + SESSION_TTL_S),
            "invoice": None,
            "livemode": False,
            "locale": params.get("locale") or None,
            "metadata": metadata,
            "mode": mode,
            "payment_intent": None,
            "payment_method_types": forms.listed(params, "payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": params.get("success_url") or None,
            "ui_mode": ui_mode,
            "url": f"{emu.public_url}/c/pay/{session_id}" if ui_mode == "hosted" else None,
            "_line_items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/checkout/sessions/{session_id}/line_items",
            },
            "_subscription_data": {
                "metadata": forms.string_map(subscription_data, "metadata"),
                "trial_period_days": trial_days,
            },
            "_payment_intent_metadata": forms.string_map(
                forms.mapping(params, "payment_intent_data"), "metadata"
            ),
        }
    )


def _trial_days(subscription_data: dict[str, Any]) -> int | None:
    days = forms.integer(subscription_data, "trial_period_days")
    if days is not None and not 1 <= days <= 730:
        raise invalid(
            "subscription_data[trial_period_days]",
            "The trial period must be between 1 and 730 days.",
            "parameter_invalid_integer",
        )
    return days


def create_portal_session(emu: StripeEmulator, params: dict[str, Any]) -> dict[str, Any]:
    customer = params.get("customer")
    if not customer:
        raise missing("customer")
    emu.store.get(str(customer), "customer", "customer")
    session_id = new_id("bps", 24)
    return emu.put(
        {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_emulator",
            "created": emu.now(),
            "customer": customer,
            "flow": None,
            "livemode": False,
            "locale": params.get("locale") or None,
            "on_behalf_of": None,
            "return_url": params.get("return_url") or None,
            "url": f"{emu.public_url}/p/session/{session_id}",
        }
    )
