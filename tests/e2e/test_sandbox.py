"""`make run` without BOT_TOKEN, as a newcomer sees it: the real app in sandbox mode, the bundled
data replayed, the chat page in Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from bot.emulator import EmulatorClient
from bot.sandbox import SandboxExtension
from bot.settings import load_settings
from models.signals import Signal
from tests.waiting import DEADLINE_S
from trading.candles import load_csv
from trading.feeds import PushFeed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def sandbox_settings(clean_db: str, data_dir: Any) -> Any:
    return load_settings(
        _env_file=None,
        database_url=clean_db,
        web_port=0,
        log_json=False,
        replay_file=str(data_dir / "EURUSD_H1.csv"),
        replay_interval_s=0.05,  # accelerated replay: bar 37 publishes the first signal
        replay_history_bars=24,
    )


async def start_sandbox(settings: Any, feeds: dict[str, Any] | None = None) -> AppRunner:
    assert settings.sandbox
    runner = AppRunner(settings, migrate=False, feeds=feeds)
    runner.extensions.append(SandboxExtension())
    await runner.start()
    return runner


@pytest.fixture
async def sandbox(clean_db: str, data_dir: Any) -> AsyncIterator[AppRunner]:
    """Replay as `make run` does, accelerated (bar 37 publishes the first signal)."""
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir))
    try:
        yield runner
    finally:
        await runner.stop()


@pytest.fixture
async def paused_sandbox(clean_db: str, data_dir: Any) -> AsyncIterator[AppRunner]:
    """The same app, its bars pushed by the test: the first signal stays open while we click."""
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir), {"EURUSD": feed})
    try:
        yield runner
    finally:
        await runner.stop()


async def test_sandbox_is_loopback_only_and_serves_the_page(sandbox: AppRunner) -> None:
    assert sandbox.settings.web_host == "127.0.0.1"
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.base_url}/sandbox") as r:
        assert r.status == 200
        assert "loopback only" in await r.text()


async def test_replay_publishes_the_first_signal_to_the_subscriber_persona(
    sandbox: AppRunner,
) -> None:
    async with EmulatorClient(f"{sandbox.base_url}/emulator") as tg:
        card = await tg.wait_for(
            1000002, lambda m: "EURUSD · SELL" in (m.get("caption") or ""), timeout=60, after_seq=0
        )
    assert card["photo"] and card["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Approve"
    assert await Signal.exists(symbol="EURUSD")


@pytest.mark.browser
async def test_newcomer_chats_and_approves_a_signal(paused_sandbox: AppRunner) -> None:
    sandbox = paused_sandbox
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    pw_api = pytest.importorskip("playwright.async_api")
    expect = pw_api.expect
    expect.set_options(timeout=DEADLINE_S * 1000)  # polls; only matters on a loaded machine
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{sandbox.base_url}/sandbox")
        await page.get_by_role("button", name="Sam Subscriber").click()
        await page.locator("#input").fill("/start")
        await page.locator("#input").press("Enter")
        welcome = page.locator(".row.bot", has_text="Welcome to SignalDesk")
        await expect(welcome).to_be_visible()
        await welcome.get_by_role("button", name="❓ Help").click()
        await expect(page.locator(".row.bot", has_text="/history")).to_be_visible()

        card = page.locator(".row.bot", has_text="EURUSD · SELL").first
        await expect(card).to_be_visible()
        await expect(card.locator("img.photo")).to_be_visible()
        await card.get_by_role("button", name="✅ Approve").click()
        disclaimer = page.locator(".row.bot", has_text="Risk disclaimer")
        await expect(disclaimer).to_be_visible()
        await disclaimer.get_by_role("button", name="I understand and accept").click()
        await expect(page.locator("#toast")).to_contain_text("You approved signal")
        await page.screenshot(path="/tmp/sandbox-signal.png")
        await browser.close()
    assert errors == []
