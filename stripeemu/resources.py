"""The API's resources built from request params: customers, products, prices, checkout and
portal sessions, and the reads and edits on subscriptions, invoices, charges and refunds.

Each function takes the emulator (store, clock, events) and the decoded params, validates what
Stripe validates for the fields we support, and returns the stored object.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stripeemu import forms
from stripeemu.errors import invalid, missing
from stripeemu.store import new_id

if TYPE_CHECKING:
    from stripeemu.emulator import StripeEmulator

INTERVALS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}


def _required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def _at(where: str, name: str) -> str:
    """A param's name as Stripe reports it: `line_items[0][price_data][currency]`."""
    return f"{where}[{name}]" if where else name


def _metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    merged = dict(current or {})
    for key, value in forms.string_map(params, "metadata").items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# customers ------------------------------------------------------------------------------------


def create_customer(emu: StripeEmulator, params: dict[str, Any]) -> dict[str, Any]:
    return emu.put(
        {
            "id": new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": emu.now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description") or None,
            "email": params.get("email") or None,
            "invoice_prefix": new_id("X", 6)[2:].upper(),
            "invoice_settings": {"default_payment_method": None, "footer": None},
            "livemode": False,
            "metadata": _metadata(params),
            "name": params.get("name") or None,
            "phone": params.get("phone") or None,
            "preferred_locales": forms.listed(params, "preferred_locales"),
            "tax_exempt": "none",
        }
    )


def update_customer(
    emu: StripeEmulator, customer_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    customer = emu.store.get(customer_id, "customer")
    for name in ("email", "name", "phone", "description"):
        if name in params:
            customer[name] = params[name] or None
    customer["metadata"] = _metadata(params, customer["metadata"])
    return customer


def list_customers(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = emu.store.all("customers")
    if params.get("email"):
        rows = [c for c in rows if c["email"] == params["email"]]
    return rows


_CLAUSE = re.compile(r"""^\s*(\w+)(?:\[['"]([^'"]+)['"]\])?\s*:\s*['"]([^'"]*)['"]\s*$""")


def search_customers(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Stripe's search language for what we query: `field:'value'` clauses joined by AND
    (fields email, name, phone, metadata['key'])."""
    query = str(_required(params, "query"))
    rows = emu.store.all("customers")
    for clause in re.split(r"\s+AND\s+", query.strip()):
        match = _CLAUSE.match(clause)
        if match is None or match.group(1) not in ("email", "name", "phone", "metadata"):
            raise invalid("query", f"Invalid search query: {query}", "parameter_invalid_string")
        field_name, key, value = match.groups()
        if field_name == "metadata":
            rows = [c for c in rows if c["metadata"].get(key or "") == value]
        else:
            rows = [c for c in rows if c[field_name] == value]
    return rows


# products and prices --------------------------------------------------------------------------


def create_product(emu: StripeEmulator, params: dict[str, Any]) -> dict[str, Any]:
    now = emu.now()
    return emu.put(
        {
            "id": params.get("id") or new_id("prod", 14),
            "object": "product",
            "active": forms.boolean(params, "active", True),
            "created": now,
            "default_price": None,
            "description": params.get("description") or None,
            "images": forms.listed(params, "images"),
            "livemode": False,
            "marketing_features": [],
            "metadata": _metadata(params),
            "name": str(_required(params, "name")),
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": now,
            "url": None,
        }
    )


def _unit_amount(params: dict[str, Any], where: str) -> int:
    amount = forms.integer(params, "unit_amount")
    if amount is None and params.get("unit_amount_decimal"):
        try:
            amount = int(str(params["unit_amount_decimal"]).split(".")[0])
        except ValueError:
            raise invalid(
                _at(where, "unit_amount_decimal"), "Invalid decimal", "parameter_invalid_string"
            ) from None
    if amount is None:
        raise missing(_at(where, "unit_amount"))
    if amount < 0:
        raise invalid(
            _at(where, "unit_amount"),
            "This value must be greater than or equal to 0.",
            "parameter_invalid_integer",
        )
    return amount


def _recurring(params: dict[str, Any], where: str) -> dict[str, Any] | None:
    recurring = forms.mapping(params, "recurring")
    if not recurring:
        return None
    interval = recurring.get("interval")
    if interval not in INTERVALS:
        raise invalid(
            _at(where, "recurring") + "[interval]",
            "Invalid recurring[interval]: must be one of day, month, week, or year",
            "parameter_invalid_string",
        )
    return {
        "interval": interval,
        "interval_count": forms.integer(recurring, "interval_count", 1),
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def create_price(
    emu: StripeEmulator, params: dict[str, Any], *, where: str = ""
) -> dict[str, Any]:
    """A price; `where` prefixes error params when it comes from a session's `price_data`."""
    currency = str(params.get("currency") or "").lower()
    if not currency:
        raise missing(_at(where, "currency"))
    amount = _unit_amount(params, where)
    recurring = _recurring(params, where)
    product_id = params.get("product")
    if product_id:
        emu.store.get(str(product_id), "product", _at(where, "product"))
    elif not params.get("product_data"):
        raise missing(_at(where, "product"))
    lookup_key = params.get("lookup_key") or None
    holder = _lookup_key_holder(emu, lookup_key, forms.boolean(params, "transfer_lookup_key"))
    if not product_id:
        product_id = create_product(emu, forms.mapping(params, "product_data"))["id"]
    if holder is not None:
        holder["lookup_key"] = None  # transferred
    return emu.put(
        {
            "id": new_id("price", 24),
            "object": "price",
            "active": forms.boolean(params, "active", True),
            "billing_scheme": "per_unit",
            "created": emu.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": lookup_key,
            "metadata": _metadata(params),
            "nickname": params.get("nickname") or None,
            "product": product_id,
            "recurring": recurring,
            "tax_behavior": params.get("tax_behavior") or "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
    )


def _lookup_key_holder(
    emu: StripeEmulator, lookup_key: str | None, transfer: bool | None
) -> dict[str, Any] | None:
    """The price that has `lookup_key` now, when it may be transferred; refused otherwise."""
    holder = next(
        (p for p in emu.store.all("prices") if lookup_key and p["lookup_key"] == lookup_key), None
    )
    if holder is not None and not transfer:
        raise invalid(
            "lookup_key",
            f"A price (`{holder['id']}`) already uses that lookup key.",
            "parameter_invalid_string",
        )
    return holder


def list_prices(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = emu.store.all("prices")
    keys = forms.listed(params, "lookup_keys")
    if keys:
        rows = [p for p in rows if p["lookup_key"] in keys]
    active = forms.boolean(params, "active")
    if active is not None:
        rows = [p for p in rows if p["active"] == active]
    if params.get("product"):
        rows = [p for p in rows if p["product"] == params["product"]]
    if params.get("type"):
        rows = [p for p in rows if p["type"] == params["type"]]
    return rows


def list_products(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = emu.store.all("products")
    active = forms.boolean(params, "active")
    if active is not None:
        rows = [p for p in rows if p["active"] == active]
    return rows
