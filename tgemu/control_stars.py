"""Control API, Telegram's side of Stars: renewals, the user's cancel/re-enable, disputes."""

from __future__ import annotations

from aiohttp import web

from tgemu import actions, stars
from tgemu.botapi import EMULATOR
from tgemu.control_io import Body, query_int
from tgemu.errors import Problem
from tgemu.models import PaymentRec
from tgemu.state import Emulator


def _payment(emu: Emulator, body: Body) -> PaymentRec:
    charge_id = body.req_str("telegram_payment_charge_id")
    payment = emu.payments.get(charge_id)
    if payment is None or payment.currency != stars.STARS:
        raise Problem(404, "Unknown charge", f"no Stars payment {charge_id}")
    return payment


def _subscription(emu: Emulator, body: Body) -> stars.SubscriptionRec:
    payment = _payment(emu, body)
    subscription = emu.stars.subscription_of(payment)
    if subscription is None:
        detail = f"payment {payment.charge_id} is not a subscription payment"
        raise Problem(404, "Not a subscription", detail)
    return subscription


async def list_subscriptions(request: web.Request) -> web.Response:
    """Stars subscriptions, optionally of one user (`?user_id=`), in the order they began."""
    emu = request.app[EMULATOR]
    user_id = query_int(request, "user_id", None, 1, 2**53)
    subs = [
        s.control(emu.now())
        for s in emu.stars.subscriptions.values()
        if user_id is None or s.user_id == user_id
    ]
    return web.json_response({"subscriptions": subs})


async def renew(request: web.Request) -> web.Response:
    """The subscription's period is over: Telegram charges the next one (or fails to)."""
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    subscription = _subscription(emu, body)
    result = stars.renew(emu, subscription, fail=body.flag("fail", False))
    return web.json_response({**result, "seq": emu.seq})


async def cancel(request: web.Request) -> web.Response:
    """The user cancels (`canceled: true`) or re-enables their subscription in Telegram."""
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    subscription = _subscription(emu, body)
    if subscription.user_id != user.id:
        raise Problem(403, "Not your subscription", f"{subscription.id} is another user's")
    update_id = stars.user_cancel(emu, subscription, body.flag("canceled", True))
    return web.json_response(
        {"subscription": subscription.control(emu.now()), "update_id": update_id}
    )


async def dispute_refund(request: web.Request) -> web.Response:
    """Telegram refunds a Stars payment itself (a dispute): `refunded_payment` to the bot."""
    emu = request.app[EMULATOR]
    payment = _payment(emu, await Body.read(request))
    if payment.refunded:
        raise Problem(409, "Already refunded", f"payment {payment.charge_id} was refunded")
    refunded, msg, update_id = stars.refund(emu, payment)
    return web.json_response(
        {
            "refunded_payment": refunded,
            "message": msg.control(emu.files),
            "update_id": update_id,
            "seq": emu.seq,
        }
    )


async def star_transactions(request: web.Request) -> web.Response:
    """What getStarTransactions answers the bot, all of it."""
    emu = request.app[EMULATOR]
    entries = stars.transactions(emu, 0, len(emu.stars.transactions))
    return web.json_response({"transactions": entries})


def add_stars_routes(app: web.Application) -> None:
    app.router.add_get("/_control/subscriptions", list_subscriptions)
    app.router.add_post("/_control/subscriptions/renew", renew)
    app.router.add_post("/_control/subscriptions/cancel", cancel)
    app.router.add_post("/_control/refund", dispute_refund)
    app.router.add_get("/_control/star_transactions", star_transactions)
