"""The hosted pages a buyer sees, plain HTML without JavaScript: Checkout (`session.url`) pays
with a test card and redirects to `success_url`; the customer portal (`portal_session.url`)
cancels a subscription at period end and returns to `return_url`."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from aiohttp import web

from stripeemu.api import EMULATOR
from stripeemu.billing import TEST_CARD
from stripeemu.errors import StripeError

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head><body style="font-family: sans-serif; max-width: 32rem; margin: 2rem auto">
<p><small>Stripe emulator (test mode)</small></p><h1>{title}</h1>{body}</body></html>"""


def _html(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=_PAGE.format(title=escape(title), body=body), content_type="text/html"
    )


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


async def checkout_page(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    try:
        session = emu.store.get(request.match_info["id"], "checkout.session")
    except StripeError:
        return _html("Not found", "<p>This checkout session does not exist.</p>", 404)
    if session["status"] != "open":
        return _html("Checkout", f"<p>This session is {escape(session['status'])}.</p>", 410)
    rows = "".join(
        f"<li>{escape(item['description'])} × {item['quantity']}: "
        f"{_money(item['amount_total'], item['currency'])}</li>"
        for item in session["_line_items"]["data"]
    )
    email = escape(session["customer_email"] or "")
    cancel = (
        f'<p><a href="{escape(session["cancel_url"])}">Back</a></p>'
        if session["cancel_url"]
        else ""
    )
    body = (
        f"<ul>{rows}</ul><p>Total: <b>{_money(session['amount_total'], session['currency'])}</b>"
        f"{' per period' if session['mode'] == 'subscription' else ''}</p>"
        f'<form method="post"><label>E-mail <input name="email" type="email" value="{email}" required>'
        f'</label><br><label>Card <input name="card" value="{TEST_CARD}"></label><br>'
        f'<button type="submit">Pay</button></form>{cancel}'
    )
    return _html("Checkout", body)


async def checkout_pay(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    form = await request.post()
    try:
        session = emu.complete_checkout(
            request.match_info["id"],
            email=str(form.get("email") or "") or None,
            card=str(form.get("card") or TEST_CARD).replace(" ", ""),
        )
    except StripeError as exc:
        return _html("Checkout", f"<p>{escape(exc.message)}</p>", exc.status)
    await emu.flush()  # the app has heard of the payment before the buyer lands on its page
    target = (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session["id"])
    raise web.HTTPSeeOther(target or request.path)


async def portal_page(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    try:
        portal = emu.store.get(request.match_info["id"], "billing_portal.session")
    except StripeError:
        return _html("Not found", "<p>This portal session does not exist.</p>", 404)
    subs = [
        s
        for s in emu.store.all("subscriptions")
        if s["customer"] == portal["customer"] and s["status"] != "canceled"
    ]
    rows = []
    for sub in subs:
        item = sub["items"]["data"][0]
        name = emu.store.get(item["price"]["product"])["name"]
        if sub["cancel_at_period_end"]:
            ends = datetime.fromtimestamp(item["current_period_end"], UTC).date().isoformat()
            action = f"<small>ends on {ends}</small>"
        else:
            action = (
                f'<form method="post" action="{portal["id"]}/cancel/{sub["id"]}">'
                '<button type="submit">Cancel plan</button></form>'
            )
        rows.append(f"<li>{escape(name)} ({escape(sub['status'])}) {action}</li>")
    back = (
        f'<p><a href="{escape(portal["return_url"])}">Return</a></p>'
        if portal["return_url"]
        else ""
    )
    return _html("Your subscriptions", f"<ul>{''.join(rows) or '<li>None</li>'}</ul>{back}")


async def portal_cancel(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    try:
        portal = emu.store.get(request.match_info["id"], "billing_portal.session")
        sub = emu.store.get(request.match_info["sub"], "subscription")
        if sub["customer"] != portal["customer"]:
            raise StripeError(404, "No such subscription", code="resource_missing")
        emu.cancel_at_period_end(sub["id"])
    except StripeError as exc:
        return _html("Portal", f"<p>{escape(exc.message)}</p>", exc.status)
    await emu.flush()
    raise web.HTTPSeeOther(portal["return_url"] or request.path.rsplit("/cancel/", 1)[0])


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/c/pay/{id}", checkout_page)
    app.router.add_post("/c/pay/{id}", checkout_pay)
    app.router.add_get("/p/session/{id}", portal_page)
    app.router.add_post("/p/session/{id}/cancel/{sub}", portal_cancel)
