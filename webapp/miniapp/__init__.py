"""The Telegram Mini App: the page shell and static files (`pages`) and its JSON API under
/api/v1 (`api`: the framework; `routes` and one `routes_<domain>` module per domain: the
operations; `openapi`: the document).

`setup_miniapp(app, config)` mounts all of it; the assembly (`bot.app`) calls it.
"""

from __future__ import annotations

from aiohttp import web

from webapp.miniapp import (
    routes,
    routes_admin,
    routes_alerts,
    routes_mystats,
    routes_performance,
    routes_plan,
    routes_stream,
    routes_terminals,
)
from webapp.miniapp.api import CONFIG_KEY, Api, MiniAppConfig
from webapp.miniapp.downloads import setup_downloads
from webapp.miniapp.pages import TELEGRAM_SCRIPT, setup_pages

__all__ = ["API", "TELEGRAM_SCRIPT", "MiniAppConfig", "setup_miniapp"]

# Every domain's routes, in the document's order.
API = Api.combine(
    routes.api,
    routes_stream.api,
    routes_terminals.api,
    routes_performance.api,
    routes_mystats.api,
    routes_plan.api,
    routes_alerts.api,
    routes_admin.api,
)


def setup_miniapp(app: web.Application, config: MiniAppConfig) -> None:
    app[CONFIG_KEY] = config
    API.register(app)
    setup_pages(app)
    setup_downloads(app)  # /app/ea/{name}: the EA's files
