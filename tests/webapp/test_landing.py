"""`GET /`: a small HTML page linking only what this server offers (never a JSON 404)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from webapp import health, landing

Serve = Callable[..., Awaitable[str]]


async def ok(_request: web.Request) -> web.Response:
    return web.Response(text="page")


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(*extra_paths: str) -> str:
        app = web.Application()
        app.add_routes(landing.routes)
        app.add_routes(health.routes)
        for path in extra_paths:
            app.router.add_get(path, ok)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def links(base: str) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
    assert "<h1>SignalDesk</h1>" in page and len(page) < 4000
    return re.findall(r'href="([^"]+)"', page)


@pytest.mark.parametrize(
    ("mounted", "expected"),
    [
        ((), ["/health"]),
        (("/sandbox",), ["/sandbox", "/health"]),
        (("/performance", "/pricing"), ["/pricing", "/performance", "/health"]),
        (("/sandbox", "/pricing", "/performance"),
         ["/sandbox", "/pricing", "/performance", "/health"]),
    ],
)  # fmt: skip
async def test_links_only_pages_that_exist(
    serve: Serve, mounted: tuple[str, ...], expected: list[str]
) -> None:
    base = await serve(*mounted)
    found = await links(base)
    assert found == expected
    async with aiohttp.ClientSession() as http:
        for href in found:
            async with http.get(f"{base}{href}") as resp:
                assert resp.status == 200, href


def test_the_inline_style_is_allowed_by_its_hash_only() -> None:
    page = landing.render({"/health"})
    style = re.search(r"<style>(.*)</style>", page)
    assert style is not None and style.group(1) == landing._STYLE
    assert "unsafe-inline" not in landing.CSP and "sha256-" in landing.CSP
