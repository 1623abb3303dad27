"""Objects by id, Stripe's list and search envelopes, and `expand`.

Objects are stored as the API renders them, references as ids. Keys starting with `_` are the
emulator's own bookkeeping and never leave it.
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from stripeemu.errors import StripeError, invalid, no_such

_ALPHABET = string.ascii_letters + string.digits

# id prefix -> (collection, the noun Stripe's "No such ..." message uses)
KINDS: dict[str, tuple[str, str]] = {
    "cus": ("customers", "customer"),
    "cs": ("checkout_sessions", "checkout.session"),
    "price": ("prices", "price"),
    "prod": ("products", "product"),
    "sub": ("subscriptions", "subscription"),
    "si": ("subscription_items", "subscription item"),
    "in": ("invoices", "invoice"),
    "ch": ("charges", "charge"),
    "pi": ("payment_intents", "payment_intent"),
    "re": ("refunds", "refund"),
    "bps": ("portal_sessions", "billing_portal.session"),
    "evt": ("events", "event"),
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Store:
    """Every object the emulator made, by collection and id."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            table: {} for table, _ in KINDS.values()
        }

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.tables[self._table(obj["id"])][obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str | None = None, param: str = "id") -> dict[str, Any]:
        """The object with this id, or Stripe's 404 `resource_missing` naming `kind`."""
        prefix = object_id.split("_", 1)[0]
        table, noun = KINDS.get(prefix, ("", kind or "object"))
        obj = self.tables.get(table, {}).get(object_id)
        if obj is None or (kind is not None and noun != kind):
            raise no_such(kind or noun, object_id, param)
        return obj

    def all(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables[table].values())

    def _table(self, object_id: str) -> str:
        return KINDS[object_id.split("_", 1)[0]][0]

    def render(self, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
        """A copy for the wire: private keys dropped, `expand` paths replaced by objects."""
        out: dict[str, Any] = _public(obj)
        for path in expand or []:
            self._expand(out, obj, path.split("."), path)
        return out

    def _expand(
        self, out: dict[str, Any], source: dict[str, Any], parts: list[str], path: str
    ) -> None:
        head, rest = parts[0], parts[1:]
        if head == "data" and out.get("object") == "list":
            for item_out, item in zip(out["data"], source["data"], strict=True):
                if rest:
                    self._expand(item_out, item, rest, path)
            return
        if head not in out and f"_{head}" in source:  # includable, like a session's line_items
            source = {**source, head: source[f"_{head}"]}
            out[head] = _public(source[head])
        if head not in out:
            raise invalid("expand", f"This property cannot be expanded ({path}).", "")
        value = out[head]
        if isinstance(value, str) and value.split("_", 1)[0] in KINDS:
            target = self.get(value)
            out[head] = _public(target)
            if rest:
                self._expand(out[head], target, rest, path)
        elif isinstance(value, dict) and rest:
            self._expand(
                value, source[head] if isinstance(source.get(head), dict) else value, rest, path
            )
        elif value is not None and not isinstance(value, dict):
            raise invalid("expand", f"This property cannot be expanded ({path}).", "")


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return copy.copy(value)


def list_object(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Stripe's cursor page over `items` (newest first): `limit` 1..100, `starting_after`."""
    try:
        limit = int(params.get("limit") or 10)
    except ValueError:
        raise invalid("limit", "Invalid integer: limit", "parameter_invalid_integer") from None
    if not 1 <= limit <= 100:
        raise StripeError(
            400,
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            code="parameter_invalid_integer",
            param="limit",
        )
    ordered = sorted(items, key=lambda o: (o.get("created", 0), o["_seq"]), reverse=True)
    after = params.get("starting_after")
    if after:
        ids = [o["id"] for o in ordered]
        if after not in ids:
            raise no_such("object", after, "starting_after")
        ordered = ordered[ids.index(after) + 1 :]
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "has_more": len(ordered) > limit,
        "url": url,
    }


def search_object(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    page = list_object(url, items, {"limit": params.get("limit")})
    return {
        "object": "search_result",
        "data": page["data"],
        "has_more": page["has_more"],
        "next_page": None,
        "url": url,
    }
