"""The sandbox chat page: a browser stand-in for Telegram, talking to the emulator's control API.

Mounting in the main app (sandbox mode, no BOT_TOKEN)::

    emulator = Emulator(token)
    setup_sandbox(app, emulator)  # /sandbox page + emulator sub-app at /emulator/
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(f"{base}/emulator")))
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from tgemu.control_io import problem_response
from tgemu.errors import Problem
from tgemu.guard import check_host_and_origin
from tgemu.server import CONTROL_TOKEN, create_emulator_app
from tgemu.state import Emulator

PAGE = Path(__file__).with_name("sandbox.html")
DEFAULT_PERSONAS: tuple[dict[str, Any], ...] = (
    {"id": 1000001, "first_name": "Olivia", "username": "olivia_owner", "label": "Owner"},
    {"id": 1000002, "first_name": "Sam", "username": "sam_trades", "label": "Subscriber"},
    {"id": 1000003, "first_name": "Nico", "label": "New visitor", "started": False},
)


def make_sandbox_handler(
    control_base: str = "/emulator/_control",
    *,
    control_token: str,
    static_base: str | None = None,
    panels_base: str = "",
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler serving the page; its JS reads `control_base`, the control token and
    `panels_base` (the optional replay and terminal API; empty = no panels) from data
    attributes. The page answers a loopback Host only: with DNS rebinding a foreign page
    could otherwise read the token out of it."""
    static = static_base or control_base.rstrip("/").removesuffix("_control") + "_static"
    page = PAGE.read_text(encoding="utf-8")
    values = {
        "control_base": control_base.rstrip("/"),
        "static_base": static.rstrip("/"),
        "control_token": control_token,
        "panels_base": panels_base.rstrip("/"),
    }
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", html.escape(value, quote=True))

    async def sandbox_page(request: web.Request) -> web.Response:
        try:
            check_host_and_origin(request)
        except Problem as problem:
            return problem_response(problem, request.path)
        return web.Response(
            text=page,
            content_type="text/html",
            headers={
                "Content-Security-Policy": (
                    "default-src 'self'; img-src 'self' blob: data: http: https:; "
                    "style-src 'self'; script-src 'self'; connect-src 'self'; "
                    "frame-ancestors 'none'"
                ),
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY",
            },
        )

    return sandbox_page


def add_personas(emulator: Emulator, personas: Iterable[dict[str, Any]]) -> None:
    """Register personas (users with a `label`) the page offers to act as."""
    for persona in personas:
        fields = {k: v for k, v in persona.items() if k not in ("id", "first_name")}
        emulator.add_user(int(persona["id"]), str(persona["first_name"]), **fields)


def setup_sandbox(
    app: web.Application,
    emulator: Emulator,
    *,
    path: str = "/sandbox",
    mount: str = "/emulator/",
    personas: Iterable[dict[str, Any]] = DEFAULT_PERSONAS,
    loopback_only: bool = True,
    control_token: str | None = None,
    panels_base: str = "",
) -> web.Application:
    """Mount the emulator under `mount` and the page at `path`; returns the emulator sub-app
    (its control token: `subapp[CONTROL_TOKEN]`, made fresh unless `control_token` is given).

    aiogram's Bot then uses `TelegramAPIServer.from_base(f"{server_base}{mount}")`.
    `panels_base`: where the page finds the replay and terminal panels' API (see the README).
    """
    add_personas(emulator, personas)
    subapp = create_emulator_app(
        emulator, loopback_only=loopback_only, control_token=control_token
    )
    app.add_subapp(mount, subapp)
    handler = make_sandbox_handler(
        mount.rstrip("/") + "/_control",
        control_token=subapp[CONTROL_TOKEN],
        panels_base=panels_base,
    )
    app.router.add_get(path, handler)
    return subapp
