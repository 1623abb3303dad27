"""The `/v1` routes the SDK calls, with Stripe's authentication and idempotency rules.

Authentication: `Authorization: Bearer <secret key>` (or the key as the Basic user), else 401.
Idempotency (POST): the first answer (2xx, or 402) to an `Idempotency-Key` is stored and replayed
with `Idempotent-Replayed: true` for the same method, path and params; the same key with other
params is a 400 `idempotency_error`. Validation failures are not stored, as Stripe's.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stripeemu import forms, resources, sessions
from stripeemu.emulator import StripeEmulator
from stripeemu.errors import StripeError, unknown
from stripeemu.known_params import KNOWN_PARAMS
from stripeemu.store import list_object, new_id, search_object

logger = logging.getLogger(__name__)
EMULATOR: web.AppKey[StripeEmulator] = web.AppKey("stripe_emulator", StripeEmulator)
REQUEST: web.RequestKey[tuple[str | None, str | None]] = web.RequestKey("stripe_request", tuple)
IDEMPOTENCY: web.AppKey[OrderedDict[str, Any]] = web.AppKey("stripe_idempotency", OrderedDict)
MAX_KEYS = 10_000

Handler = Callable[[StripeEmulator, web.Request, dict[str, Any]], Any]


def json_response(status: int, body: Any, request_id: str, emu: StripeEmulator) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, indent=2),
        content_type="application/json",
        headers={"Request-Id": request_id, "Stripe-Version": emu.api_version},
    )


def _api_key(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except ValueError:
            return None
    return None


def authenticate(emu: StripeEmulator, request: web.Request) -> None:
    key = _api_key(request)
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if not secrets.compare_digest(key.encode(), emu.secret_key.encode()):
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else "****"
        raise StripeError(401, f"Invalid API Key provided: {shown}")


def endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Auth, params (query for GET/DELETE, form for POST), idempotency, errors, `expand`."""

    async def route(request: web.Request) -> web.Response:
        emu = request.app[EMULATOR]
        request_id = new_id("req", 14)
        key: str | None = None
        try:
            authenticate(emu, request)
            text = await request.text() if request.method == "POST" else request.query_string
            params = forms.decode(text)
            _check_names(request, params)
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            fingerprint = f"{request.method} {request.path} {json.dumps(params, sort_keys=True)}"
            if key:
                replay = _replay(request.app[IDEMPOTENCY], key, fingerprint, emu)
                if replay is not None:
                    return replay
            status, body = 200, await _call(handler, emu, request, params, (request_id, key))
        except StripeError as exc:
            status, body = exc.status, exc.body()
            if exc.status != 402:
                return json_response(status, body, request_id, emu)
        except Exception:  # a bug here answers as Stripe's 500 does, and says so in the log
            logger.exception("stripe emulator failed on %s %s", request.method, request.path)
            body = {"error": {"type": "api_error", "message": "An unknown error occurred"}}
            return json_response(500, body, request_id, emu)
        if key:
            store = request.app[IDEMPOTENCY]
            store[key] = (fingerprint, status, body, request_id)
            while len(store) > MAX_KEYS:
                store.popitem(last=False)
        return json_response(status, body, request_id, emu)

    return route


async def _call(
    handler: Handler,
    emu: StripeEmulator,
    request: web.Request,
    params: dict[str, Any],
    req: tuple[str, str | None],
) -> Any:
    request[REQUEST] = req
    obj = handler(emu, request, params)
    if isinstance(obj, Awaitable):
        obj = await obj
    expand = forms.expand_paths(params)
    if obj.get("object") in ("list", "search_result"):
        rendered = dict(obj)
        rendered["data"] = [
            emu.store.render(item, [p[5:] for p in expand if p.startswith("data.")])
            for item in obj["data"]
        ]
        return rendered
    return emu.store.render(obj, expand)


def _check_names(request: web.Request, params: dict[str, Any]) -> None:
    resource = request.match_info.route.resource
    known = KNOWN_PARAMS.get(f"{request.method} {resource.canonical if resource else ''}")
    if known is None:
        return
    for name in params:
        if name not in known:
            raise unknown(name)


def _replay(
    store: OrderedDict[str, Any], key: str, fingerprint: str, emu: StripeEmulator
) -> web.Response | None:
    stored = store.get(key)
    if stored is None:
        return None
    first, status, body, original = stored
    if first != fingerprint:
        err = StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            type_="idempotency_error",
        )
        return json_response(400, err.body(), new_id("req", 14), emu)
    response = json_response(status, body, new_id("req", 14), emu)
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Original-Request"] = original
    return response


def _req(request: web.Request) -> tuple[str | None, str | None]:
    return request[REQUEST]


# handlers: (emulator, request, params) -> stored object or list envelope


def _get(kind: str, name: str = "id") -> Handler:
    return lambda emu, request, params: emu.store.get(request.match_info[name], kind)


def _listing(
    url: str, rows: Callable[[StripeEmulator, dict[str, Any]], list[dict[str, Any]]]
) -> Handler:
    return lambda emu, request, params: list_object(url, rows(emu, params), params)


def _invoices(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = emu.store.all("invoices")
    if params.get("subscription"):
        emu.store.get(str(params["subscription"]), "subscription", "subscription")
        rows = [
            i
            for i in rows
            if i["parent"]["subscription_details"]["subscription"] == params["subscription"]
        ]
    if params.get("customer"):
        rows = [i for i in rows if i["customer"] == params["customer"]]
    if params.get("status"):
        rows = [i for i in rows if i["status"] == params["status"]]
    return rows


def _subscriptions(emu: StripeEmulator, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = emu.store.all("subscriptions")
    if params.get("customer"):
        rows = [s for s in rows if s["customer"] == params["customer"]]
    status = params.get("status") or None
    if status is None:
        return [s for s in rows if s["status"] != "canceled"]
    if status != "all":
        return [s for s in rows if s["status"] == status]
    return rows


def _line_items(emu: StripeEmulator, request: web.Request, params: dict[str, Any]) -> Any:
    session = emu.store.get(request.match_info["id"], "checkout.session")
    return list_object(
        session["_line_items"]["url"],
        [{**item, "_seq": n} for n, item in enumerate(session["_line_items"]["data"])],
        params,
    )


def _cancel(emu: StripeEmulator, request: web.Request, params: dict[str, Any]) -> Any:
    sub_id = request.match_info["id"]
    emu.cancel_now(sub_id)
    return emu.store.get(sub_id)


def add_api_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/customers", endpoint(lambda e, q, p: resources.create_customer(e, p)))
    r.add_get("/v1/customers", endpoint(_listing("/v1/customers", resources.list_customers)))
    r.add_get(
        "/v1/customers/search",
        endpoint(
            lambda e, q, p: search_object(
                "/v1/customers/search", resources.search_customers(e, p), p
            )
        ),
    )
    r.add_get("/v1/customers/{id}", endpoint(_get("customer")))
    r.add_post(
        "/v1/customers/{id}",
        endpoint(lambda e, q, p: resources.update_customer(e, q.match_info["id"], p)),
    )
    r.add_post("/v1/products", endpoint(lambda e, q, p: resources.create_product(e, p)))
    r.add_get("/v1/products", endpoint(_listing("/v1/products", resources.list_products)))
    r.add_get("/v1/products/{id}", endpoint(_get("product")))
    r.add_post("/v1/prices", endpoint(lambda e, q, p: resources.create_price(e, p)))
    r.add_get("/v1/prices", endpoint(_listing("/v1/prices", resources.list_prices)))
    r.add_get("/v1/prices/{id}", endpoint(_get("price")))
    r.add_post(
        "/v1/checkout/sessions", endpoint(lambda e, q, p: sessions.create_checkout_session(e, p))
    )
    r.add_get("/v1/checkout/sessions/{id}", endpoint(_get("checkout.session")))
    r.add_get("/v1/checkout/sessions/{id}/line_items", endpoint(_line_items))
    r.add_post(
        "/v1/billing_portal/sessions",
        endpoint(lambda e, q, p: sessions.create_portal_session(e, p)),
    )
    r.add_get("/v1/subscriptions", endpoint(_listing("/v1/subscriptions", _subscriptions)))
    r.add_get("/v1/subscriptions/{id}", endpoint(_get("subscription")))
    r.add_post(
        "/v1/subscriptions/{id}",
        endpoint(lambda e, q, p: e.update_subscription(q.match_info["id"], p, _req(q))),
    )
    r.add_delete("/v1/subscriptions/{id}", endpoint(_cancel))
    r.add_get("/v1/invoices", endpoint(_listing("/v1/invoices", _invoices)))
    r.add_get("/v1/invoices/{id}", endpoint(_get("invoice")))
    r.add_post("/v1/refunds", endpoint(lambda e, q, p: e.refund(p, _req(q))))
    r.add_get("/v1/refunds/{id}", endpoint(_get("refund")))
    r.add_get("/v1/charges/{id}", endpoint(_get("charge")))
    r.add_get("/v1/payment_intents/{id}", endpoint(_get("payment_intent")))
    r.add_get("/v1/events/{id}", endpoint(_get("event")))
