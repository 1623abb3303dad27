"""The public track record (`/performance`) in Debian's Chromium, as a sceptical visitor sees
it on a laptop and on a phone (390 px): the figures of the seeded closed signals, the charts
drawn (PNG images that loaded), each signal linking to its ledger entries (which answer JSON),
the tables scrolling inside themselves so the page never scrolls sideways, and the embeddable
widget. Screenshots go to $TEST_ARTIFACTS/miniapp (README: docs/screenshots)."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import AppRunner
from tests.e2e.miniapp_browser import ARTIFACTS, playwright_api, watch_errors
from tests.e2e.test_sandbox import ARGS, CHROMIUM, paused_sandbox  # noqa: F401 - the fixture
from tests.webapp.miniapp.test_performance import seed_record

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1100, "height": 900}
CHARTS_DRAWN = """() => [...document.images].map((i) => ({
  src: i.getAttribute("src"), drawn: i.complete && i.naturalWidth > 100 }))"""
SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


@pytest.mark.browser
async def test_the_public_record_on_a_laptop_and_a_phone(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    base = paused_sandbox.base_url
    rows = await seed_record()
    pw_api = playwright_api()
    expect = pw_api.expect
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page = await browser.new_page(viewport=viewport)
            errors = watch_errors(page)
            await page.goto(f"{base}/performance?lang=en")
            await expect(page.locator('[data-figure="signals"]')).to_contain_text("5")
            await expect(page.locator("table.signals tbody tr[id^=signal-]")).to_have_count(5)
            images = await page.evaluate(CHARTS_DRAWN)
            assert images and all(i["drawn"] for i in images), images
            assert not await page.evaluate(SIDEWAYS), f"{name}: the page scrolls sideways"
            await page.screenshot(path=str(ARTIFACTS / f"public-performance-{name}.png"),
                                  full_page=name == "laptop")  # fmt: skip
            assert errors == [], errors
            await page.close()
        ledger = await _ledger_link(browser, base, rows[0].id)
        async with aiohttp.ClientSession() as http, http.get(base + ledger) as r:
            assert r.status == 200 and r.content_type == "application/json"
            assert all(e["signal_id"] == rows[0].id for e in (await r.json())["entries"])
        widget = await browser.new_page(viewport={"width": 420, "height": 300})
        await widget.goto(f"{base}/performance/widget?lang=en")
        await expect(widget.locator(".widget")).to_contain_text("R")
        await widget.locator(".widget").screenshot(path=str(ARTIFACTS / "public-widget.png"))
        await browser.close()


async def _ledger_link(browser: object, base: str, signal_id: int) -> str:
    """The href of the signal's "ledger entries" link on the page."""
    page = await browser.new_page()  # type: ignore[attr-defined]
    await page.goto(f"{base}/performance?lang=en")
    href = await page.locator(f"#signal-{signal_id} a").last.get_attribute("href")
    await page.close()
    assert href and href.startswith("/ledger?"), href
    return str(href)
