"""The Telegram Mini App: the page shell and static files (`pages`) and its JSON API under
/api/v1 (`api`: the framework; `routes`: the operations; `openapi`: the document).

`setup_miniapp(app, config)` mounts all of it; the assembly (`bot.app`) calls it.
"""

from __future__ import annotations

from aiohttp import web

from webapp.miniapp import routes
from webapp.miniapp.api import CONFIG_KEY, MiniAppConfig
from webapp.miniapp.pages import TELEGRAM_SCRIPT, setup_pages

__all__ = ["TELEGRAM_SCRIPT", "MiniAppConfig", "setup_miniapp"]


def setup_miniapp(app: web.Application, config: MiniAppConfig) -> None:
    app[CONFIG_KEY] = config
    routes.api.register(app)
    setup_pages(app)
