"""Driving the emulator over HTTP (the sandbox, other processes): `/_control/...`, authenticated
with the secret key like the API. Each action answers the object after it and the ids of the
events it emitted, once those events were delivered (when delivery is automatic).

    POST /_control/checkout/sessions/{id}/complete   email=, card=      the buyer pays
    POST /_control/subscriptions/{id}/renew                             next period paid
    POST /_control/subscriptions/{id}/fail_renewal                      renewal declined
    POST /_control/subscriptions/{id}/cancel         at_period_end=true|false (portal | now)
    POST /_control/refunds                           charge= | payment_intent=, amount=
    POST /_control/webhook                           url=, secret=
    GET  /_control/events                            every event, oldest first
    POST /_control/events/{id}/deliver               post it again (signed now)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from stripeemu import forms
from stripeemu.api import EMULATOR, authenticate, json_response
from stripeemu.emulator import StripeEmulator
from stripeemu.errors import StripeError
from stripeemu.store import new_id

Action = Callable[[StripeEmulator, web.Request, dict[str, Any]], dict[str, Any]]


def _action(act: Action) -> Callable[[web.Request], Any]:
    async def route(request: web.Request) -> web.Response:
        emu = request.app[EMULATOR]
        request_id = new_id("req", 14)
        try:
            authenticate(emu, request)
            params = forms.decode(await request.text())
            first = len(emu.events)
            obj = act(emu, request, params)
            await emu.flush()
        except StripeError as exc:
            return json_response(exc.status, exc.body(), request_id, emu)
        body = {"object": obj, "events": [e.id for e in emu.events[first:]]}
        return json_response(200, body, request_id, emu)

    return route


def _cancel(emu: StripeEmulator, request: web.Request, params: dict[str, Any]) -> dict[str, Any]:
    sub_id = request.match_info["id"]
    if forms.boolean(params, "at_period_end", True):
        return emu.cancel_at_period_end(sub_id)
    return emu.cancel_now(sub_id)


def _webhook(emu: StripeEmulator, request: web.Request, params: dict[str, Any]) -> dict[str, Any]:
    emu.configure_webhook(params.get("url") or None, params.get("secret") or None)
    return {"url": emu.sender.url}


async def _events(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    try:
        authenticate(emu, request)
    except StripeError as exc:
        return json_response(exc.status, exc.body(), new_id("req", 14), emu)
    body = [
        {
            "id": e.id,
            "type": e.type,
            "delivered": e.delivered,
            "deliveries": [d.status for d in e.deliveries],
        }
        for e in emu.events
    ]
    return json_response(200, {"object": "list", "data": body}, new_id("req", 14), emu)


async def _redeliver(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    try:
        authenticate(emu, request)
        event = next((e for e in emu.events if e.id == request.match_info["id"]), None)
        if event is None:
            raise StripeError(
                404, f"No such event: '{request.match_info['id']}'", code="resource_missing"
            )
        (delivery,) = await emu.deliver(event)
    except StripeError as exc:
        return json_response(exc.status, exc.body(), new_id("req", 14), emu)
    return json_response(200, {"id": event.id, "status": delivery.status}, new_id("req", 14), emu)


def add_control_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(
        "/_control/checkout/sessions/{id}/complete",
        _action(
            lambda e, q, p: e.complete_checkout(
                q.match_info["id"],
                email=p.get("email") or None,
                card=p.get("card") or "4242424242424242",
            )
        ),
    )
    r.add_post(
        "/_control/subscriptions/{id}/renew", _action(lambda e, q, p: e.renew(q.match_info["id"]))
    )
    r.add_post(
        "/_control/subscriptions/{id}/fail_renewal",
        _action(lambda e, q, p: e.fail_renewal(q.match_info["id"])),
    )
    r.add_post("/_control/subscriptions/{id}/cancel", _action(_cancel))
    r.add_post("/_control/refunds", _action(lambda e, q, p: e.store.render(e.refund(p))))
    r.add_post("/_control/webhook", _action(_webhook))
    r.add_get("/_control/events", _events)
    r.add_post("/_control/events/{id}/deliver", _redeliver)
