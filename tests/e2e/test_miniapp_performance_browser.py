"""The Performance page in Debian's Chromium, inside the sandbox page's frame: with closed
signals and one of the subscriber's fills seeded (the sandbox itself has no closed signal yet),
the page draws the equity and drawdown curves (their canvases hold the series' colours: pixels
read in the page), shows the same figures the API answers, the monthly heatmap and the fill,
exports the CSV and the PNG (decoded: the curve is drawn), follows the dark theme, and
updates live when a signal closes (the user's own results of the last 30 days too). Screenshots: performance-light.png and
performance-dark.png in $TEST_ARTIFACTS/miniapp."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from core import clock
from models.devices import Device, Execution
from models.signals import CloseReason, SignalStatus
from services.miniapp import auth
from services.signals import lifecycle
from services.users import profiles
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, watch_errors
from tests.e2e.test_sandbox import ARGS, CHROMIUM, paused_sandbox  # noqa: F401 - the fixture
from tests.services.terminals import helpers as th
from tests.waiting import until
from tests.webapp.miniapp.test_performance import (
    EQUITY_BLUE,
    fill,
    png_pixels,
    seed_record,
    signal,
)

SAM = 1000002

# Pixels of one colour (a CSS colour or a custom property of the page, within a tolerance for
# anti-aliasing) on the canvases under `root`: the charts' drawings, read back in the page.
COLOURED_PIXELS = """([root, colour]) => {
  const css = colour.startsWith("--")
    ? getComputedStyle(document.documentElement).getPropertyValue(colour).trim() : colour;
  const probe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  const rgb = probe.getImageData(0, 0, 1, 1).data;
  let count = 0;
  for (const canvas of document.querySelectorAll(`${root} canvas`)) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 24
          && Math.abs(data[i + 1] - rgb[1]) < 24 && Math.abs(data[i + 2] - rgb[2]) < 24) count++;
    }
  }
  return count;
}"""
DRAWDOWN = "#e53935"


async def api_figures(base_url: str, bot_token: str) -> dict[str, Any]:
    token = auth.issue(SAM, clock.now(), bot_token=bot_token).token
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{base_url}/api/v1/performance", headers={"Authorization": f"Bearer {token}"}
        ) as r,
    ):
        assert r.status == 200
        body = await r.json()
    return dict(body["figures"])


@pytest.mark.browser
async def test_the_performance_page_draws_its_charts_and_matches_the_api(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    await seed_record()
    sam = await until(lambda: _user(SAM), "the sandbox seeded Sam")
    traded = await signal(status=SignalStatus.FILLED)
    box = await th.device(sam)
    made = await fill(box, traded, "1.07582", 1.5)  # 10 points worse, 1.5 s
    await Execution.filter(id=made.id).update(spread_points=14)  # as the EA reported it
    await Device.filter(id=box.id).update(broker="Sam's <Broker>")
    figures = await api_figures(sandbox.base_url, sandbox.settings.token)
    assert figures["signals"] == 5

    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(
            viewport={"width": 1100, "height": 1000}, accept_downloads=True
        )
        errors = watch_errors(page)
        await page.goto(f"{sandbox.base_url}/sandbox")
        await page.get_by_role("button", name="Sam Subscriber").click()
        app = await open_from_menu(page, expect)
        await app.get_by_role("button", name="Performance").click()

        await expect(app.locator("#perf-equity canvas").first).to_be_visible()
        handle = await page.locator("#miniapp-frame").element_handle()
        inner = await handle.content_frame()
        assert inner is not None
        equity_px = await until(
            lambda: inner.evaluate(COLOURED_PIXELS, ["#perf-equity", "--link"]),
            "the equity curve is drawn", accept=lambda n: n > 100,
        )  # fmt: skip
        drawdown_px = await until(
            lambda: inner.evaluate(COLOURED_PIXELS, ["#perf-drawdown", DRAWDOWN]),
            "the drawdown curve is drawn", accept=lambda n: n > 100,
        )  # fmt: skip
        assert equity_px > 100 and drawdown_px > 100

        await expect(app.locator('[data-figure="signals"]')).to_have_text("5 · 2 won · 3 lost")
        for key, value in figures.items():
            if key in ("wins", "losses"):  # shown in the signals figure's text
                continue
            cell = app.locator(f'[data-figure="{key}"]')
            shown = await cell.get_attribute("data-value")
            assert (
                (shown == "") if value is None else float(shown or "nan") == pytest.approx(value)
            ), key
        await expect(app.locator('[data-figure="win_rate_pct"]')).to_have_text("40.0%")
        await expect(app.locator('[data-figure="total_r"]')).to_have_text("+1.00 R")
        await expect(app.locator('[data-figure="profit_factor"]')).to_have_text("1.40")
        await expect(app.locator('[data-figure="calmar"]')).to_have_text("2.00")
        months = app.locator("#perf-months")
        await expect(months.locator("caption")).to_contain_text("Sum of R per calendar month")
        jan = months.locator('[data-month="2026-01"]')
        await expect(jan).to_have_attribute("aria-label", "January 2026: +1.00 R, signals: 2")
        await expect(jan).to_have_class("heat pos-5")
        await expect(months.locator('[data-month="2026-02"]')).to_have_class("heat none")
        await expect(months.locator('[data-month="2026-04"]')).to_have_class("heat neg-3")
        row = app.locator("#perf-mine tbody tr").first
        await expect(row).to_contain_text("Main MT5")
        await expect(row.locator("[data-slippage]")).to_have_attribute("data-slippage", "10")
        await expect(row.locator("[data-latency]")).to_have_text("1.5 sec")
        await expect(app.locator("#perf-median-latency")).to_have_text("Median latency: 1.5 sec")
        # the seeded record closed in early 2026: nothing of the last 30 days to compare yet
        await expect(app.locator("#perf-mystats")).to_contain_text(
            "No signal closed in the last 30 days."
        )
        await page.screenshot(path=str(ARTIFACTS / "performance-light-figures.png"))
        await app.locator("#perf-equity").evaluate(
            "n => n.previousElementSibling.scrollIntoView()"
        )
        await page.screenshot(path=str(ARTIFACTS / "performance-light.png"))

        async with page.expect_download() as downloading:
            await app.locator("#perf-csv").click()
        download = await downloading.value
        assert download.suggested_filename == "signaldesk-performance.csv"
        text = Path(await download.path()).read_text()
        assert (
            text.splitlines()[0].startswith("signal_id,symbol,side")
            and len(text.splitlines()) == 6
        )
        await expect(app.locator("#perf-export-status")).to_have_text(
            "Saved signaldesk-performance.csv"
        )
        async with page.expect_download() as downloading:
            await app.locator("#perf-png").click()
        image = await downloading.value
        assert image.suggested_filename == "signaldesk-performance.png"
        width, height, colours = png_pixels(Path(await image.path()).read_bytes())
        assert (width, height) == (960, 600) and EQUITY_BLUE in colours  # the curve is drawn
        await expect(app.locator("#perf-export-status")).to_have_text(
            "Saved signaldesk-performance.png"
        )

        await page.locator("#miniapp-dark").check()
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        background = await app.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
        assert background == "rgb(23, 33, 43)"
        # the charts were re-themed: their background and line take the dark theme's colours
        await until(
            lambda: inner.evaluate(COLOURED_PIXELS, ["#perf-equity", "--link"]),
            "the equity curve in the dark theme's link colour", accept=lambda n: n > 100,
        )  # fmt: skip
        dark_px = await until(
            lambda: inner.evaluate(COLOURED_PIXELS, ["#perf-equity", "--bg"]),
            "the equity chart is re-themed", accept=lambda n: n > 1000,
        )  # fmt: skip
        assert dark_px > 1000
        await app.locator("#perf-equity").evaluate(
            "n => n.previousElementSibling.scrollIntoView()"
        )
        await page.screenshot(path=str(ARTIFACTS / "performance-dark.png"))
        await app.locator("#perf-mine").scroll_into_view_if_needed()
        await page.screenshot(path=str(ARTIFACTS / "performance-dark-executions.png"))

        # a signal closes while the page is open: the stream tells it, the figures follow
        await lifecycle.transition(
            traded.id, SignalStatus.CLOSED, price=D("1.07219"), reason=CloseReason.TP
        )  # a sell from 1.07592 with its stop 373 points away, closed 373 points lower: +1 R
        await expect(app.locator('[data-figure="signals"]')).to_have_text("6 · 3 won · 3 lost")
        await expect(app.locator('[data-figure="total_r"]')).to_have_text("+2.00 R")
        # ... and the user's own results of the last 30 days (/mystats): Sam's fill of it is
        # still open on his terminal (no result yet), 10 points of 373 worse than the entry
        await expect(app.locator("#perf-mystats-summary")).to_have_text(
            "You took 1 of 1 signals; your result 0.00 R vs the strategy's +1.00 R; "
            "slippage cost +0.03 R."
        )
        await expect(app.locator("#perf-mystats-spread")).to_have_text(
            "Spread at your fills: 14.0 points (median, as your terminals reported it)"
        )
        await expect(app.locator("#perf-mystats-brokers")).to_have_text(
            "Your brokers: Sam's <Broker>"
        )  # the broker's name as text, not markup
        await browser.close()
    assert errors == [], errors


async def _user(telegram_id: int) -> Any:
    try:
        return await profiles.get_by_telegram_id(telegram_id)
    except Exception:  # noqa: BLE001 - not seeded yet
        return None
