"""`GET /`: a small landing page linking what this server offers.

It lists only pages that exist on this server: the sandbox chat (mounted in sandbox mode only),
the public pricing and performance pages once they are mounted, and the health check. It reads
the application's router, so a page added later appears here without touching this module.
"""

from __future__ import annotations

import base64
import hashlib
import html

from aiohttp import web

routes = web.RouteTableDef()

# (path, title, what it is), in the order shown
PAGES: tuple[tuple[str, str, str], ...] = (
    ("/sandbox", "Sandbox chat", "try the bot in your browser: an offline Telegram emulator"),
    ("/pricing", "Pricing", "plans and how to subscribe"),
    ("/performance", "Performance", "the strategy's verifiable track record"),
    ("/health", "Health", "liveness check (JSON)"),
)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
    "color:#1f2328}a{color:#1a73c8}li{margin:.4rem 0}p.note{color:#6b7780;font-size:14px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'"


def _mounted(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


def render(paths: set[str]) -> str:
    items = "".join(
        f'<li><a href="{html.escape(path)}">{html.escape(title)}</a> - {html.escape(what)}</li>'
        for path, title, what in PAGES
        if path in paths
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SignalDesk</title><style>{_STYLE}</style></head><body>"
        "<h1>SignalDesk</h1><p>Trading signals in Telegram: a chart and entry, stop and "
        "take-profit for each setup, approved with a tap and executed by your MetaTrader 5 "
        f"terminal.</p><ul>{items}</ul>"
        '<p class="note">This server also answers the Telegram webhook and the terminals\' '
        "EA API.</p></body></html>"
    )


@routes.get("/")
async def landing(request: web.Request) -> web.Response:
    return web.Response(
        text=render(_mounted(request.app)),
        content_type="text/html",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )
