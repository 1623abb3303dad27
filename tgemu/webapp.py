"""Mini Apps in the emulator: initData signed as Telegram signs it, for the bot this emulator
serves (it knows the token it issued).

``POST /_control/webapp/init_data`` ``{"user_id", "start_param"?, "auth_date"?}`` answers
``{"init_data": "..."}``: the query string a Mini App opened by that user reads from
``Telegram.WebApp.initData`` (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
secret = HMAC-SHA256(key="WebAppData", msg=token), hash = hex HMAC-SHA256(secret, the sorted
"key=value" lines). The sandbox page opens the Mini App in a frame with it, and
`_static/telegram-web-app.js` plays Telegram's script inside that frame.
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


def add_webapp_routes(app: web.Application) -> None:
    app.router.add_post("/_control/webapp/init_data", init_data)
