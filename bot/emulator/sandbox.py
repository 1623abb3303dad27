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

from bot.emulator.server import create_emulator_app
from bot.emulator.state import Emulator

PAGE = Path(__file__).with_name("sandbox.html")
DEFAULT_PERSONAS: tuple[dict[str, Any], ...] = (
    {"id": 1000001, "first_name": "Olivia", "username": "olivia_owner", "label": "Owner"},
    {"id": 1000002, "first_name": "Sam", "username": "sam_trades", "label": "Subscriber"},
    {"id": 1000003, "first_name": "Nico", "label": "New visitor", "started": False},
)


def make_sandbox_handler(
    control_base: str = "/emulator/_control", *, static_base: str | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler serving the page; its JS reads `control_base` from a data attribute."""
    static = static_base or control_base.rstrip("/").removesuffix("_control") + "_static"
    page = PAGE.read_text(encoding="utf-8")
    page = page.replace("{{control_base}}", html.escape(control_base.rstrip("/"), quote=True))
    page = page.replace("{{static_base}}", html.escape(static.rstrip("/"), quote=True))

    async def sandbox_page(request: web.Request) -> web.Response:
        return web.Response(
            text=page,
            content_type="text/html",
            headers={
                "Content-Security-Policy": (
                    "default-src 'self'; img-src 'self' data: http: https:; "
                    "style-src 'self'; script-src 'self'; connect-src 'self'"
                ),
                "Cache-Control": "no-store",
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
) -> web.Application:
    """Mount the emulator under `mount` and the page at `path`; returns the emulator sub-app.

    aiogram's Bot then uses `TelegramAPIServer.from_base(f"{server_base}{mount}")`.
    """
    add_personas(emulator, personas)
    subapp = create_emulator_app(emulator, loopback_only=loopback_only)
    app.add_subapp(mount, subapp)
    app.router.add_get(path, make_sandbox_handler(mount.rstrip("/") + "/_control"))
    return subapp
