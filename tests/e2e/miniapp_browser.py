"""What the Mini App's browser tests share: Debian's Chromium through Playwright (the test is
skipped without either), the screenshot folder, and the page's errors collected."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_sandbox import ARGS, CHROMIUM
from tests.waiting import DEADLINE_S

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts")) / "miniapp"


def playwright_api() -> Any:
    """`playwright.async_api`, its `expect` polling up to the suite's deadline (it only matters
    on a loaded machine); the screenshot folder exists."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    pw_api = pytest.importorskip("playwright.async_api")
    pw_api.expect.set_options(timeout=DEADLINE_S * 1000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return pw_api


def is_error(message: Any) -> bool:
    """A console error of the page (CSP refusals count), not the sandbox page's own favicon
    request."""
    return bool(
        message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
    )


def watch_errors(page: Any) -> list[str]:
    """The page's uncaught errors and console errors, as they happen (assert it stays [])."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} @ {m.location.get('url')}") if is_error(m) else None,
    )
    return errors


LAPTOP = {"width": 1100, "height": 860}


@asynccontextmanager
async def sandbox_chat(
    pw_api: Any, base_url: str, viewport: dict[str, int] | None = None
) -> AsyncIterator[tuple[Any, list[str]]]:
    """Debian's Chromium on the sandbox's chat page (a laptop's window unless `viewport`):
    the page and its errors as they happen (`watch_errors`); the browser closes after."""
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport=viewport or LAPTOP)
            errors = watch_errors(page)
            await page.goto(f"{base_url}/sandbox")
            yield page, errors
        finally:
            await browser.close()


async def open_from_menu(page: Any, expect: Any) -> Any:
    """Send /menu in the sandbox chat, tap its Open app and return the Mini App's frame. The
    menu is found by its own Language button: a signal card has an Open app button too."""
    await page.locator("#input").fill("/menu")
    await page.locator("#input").press("Enter")
    menu = page.locator(".row.bot", has_text="🌐 Language").last
    await menu.get_by_role("button", name="📱 Open app").click()
    await expect(page.locator("#miniapp")).to_be_visible()
    return page.frame_locator("#miniapp-frame")
