"""Mini Apps in the emulator: initData signed as Telegram signs it, for the bot this emulator
serves (it knows the token it issued).

``POST /_control/webapp/init_data`` ``{"user_id", "start_param"?, "auth_date"?}`` answers
``{"init_data": "..."}``: the query string a Mini App opened by that user reads from
``Telegram.WebApp.initData`` (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
secret = HMAC-SHA256(key="WebAppData", msg=token), hash = hex HMAC-SHA256(secret, the sorted
"key=value" lines). The sandbox page opens the Mini App in a frame with it, and
`_static/telegram-web-app.js` plays Telegram's script inside that frame.

``GET /_control/webapp/invoice/{slug}`` answers what Telegram's payment sheet shows for an
invoice link the bot made (``https://t.me/$<slug>``): ``{slug, title, description, currency,
total_amount, subscription_period}``. `Telegram.WebApp.openInvoice(url)` in the frame asks the
host page (``web_app_open_invoice {slug}``) to show that sheet; paying it is ``POST pay
{user_id, invoice_link}`` (the emulator's Stars flow: pre-checkout, then successful_payment in
the user's chat with the bot) and the frame hears ``invoice_closed {slug, status}`` with status
paid / cancelled / failed, as in Telegram.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlencode

from aiohttp import web

from tgemu import actions
from tgemu.botapi import EMULATOR
from tgemu.control_io import Body
from tgemu.errors import Problem


def sign(fields: dict[str, str], token: str) -> str:
    """`fields` with Telegram's `hash` appended, as a query string."""
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


async def init_data(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    auth_date = body.integer("auth_date", emu.now())
    start_param = body.string("start_param")
    if start_param is not None and not 1 <= len(start_param) <= 512:
        raise Problem(422, "Invalid field", "'start_param' must be 1-512 characters")
    profile = user.api()
    profile.pop("is_bot", None)
    fields = {
        "query_id": "AAE" + secrets.token_urlsafe(12),
        "user": json.dumps(profile, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(auth_date),
        "signature": secrets.token_urlsafe(32),  # Telegram's Ed25519 one; bots ignore it
    }
    if start_param is not None:
        fields["start_param"] = start_param
    return web.json_response({"init_data": sign(fields, emu.token)})


async def invoice(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    slug = request.match_info["slug"]
    found = emu.invoice_links.get(slug)
    if found is None:
        raise Problem(404, "Unknown invoice link", f"https://t.me/${slug} was not made by the bot")
    return web.json_response(
        {
            "slug": slug,
            "title": found.title,
            "description": found.description,
            "currency": found.currency,
            "total_amount": found.total_amount,
            "subscription_period": found.subscription_period,
        }
    )


def add_webapp_routes(app: web.Application) -> None:
    app.router.add_post("/_control/webapp/init_data", init_data)
    app.router.add_get("/_control/webapp/invoice/{slug}", invoice)
