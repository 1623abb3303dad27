"""`GET /app`: the Mini App's page shell (jinja2), its static files, and the security headers of
every Mini App response.

The page loads only Telegram's web-app script (in sandbox mode the emulator's stand-in, served
from this origin) and our own modules and styles: no inline script or style, which the CSP
enforces. It may be framed by Telegram's web clients (and by the sandbox page, same origin).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from webapp.miniapp.api import CONFIG_KEY, PREFIX

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
JINJA_KEY = web.AppKey("miniapp_jinja", jinja2.Environment)
FRAME_ANCESTORS = "'self' https://web.telegram.org https://*.telegram.org"


def csp(script_url: str) -> str:
    """Scripts: ours and exactly Telegram's script URL; everything else: this origin only."""
    script = "'self'" if not urlsplit(script_url).netloc else f"'self' {script_url}"
    return (
        f"default-src 'none'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {FRAME_ANCESTORS}"
    )


def _ours(path: str) -> bool:
    return path == "/app" or path.startswith(("/app/", PREFIX + "/"))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every Mini App response (errors included): CSP, no sniffing, no referrer."""
    if not _ours(request.path):
        return
    config = request.app[CONFIG_KEY]
    response.headers["Content-Security-Policy"] = csp(config.script_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.path.startswith(PREFIX + "/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def page(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    response = aiohttp_jinja2.render_template(
        "app.html",
        request,
        {"script_url": config.script_url, "api": PREFIX, "static": "/app/static"},
        app_key=JINJA_KEY,
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def setup_pages(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        app_key=JINJA_KEY,
    )
    app.router.add_get("/app", page)
    app.router.add_static("/app/static/", STATIC, append_version=False)
    app.on_response_prepare.append(security_headers)
