"""`make run` without BOT_TOKEN, as a newcomer sees it: the real app in sandbox mode, the bundled
data replayed, the chat page in Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from bot.sandbox import SandboxExtension
from core.settings import load_settings
from models.signals import Signal
from tests.e2e.conftest import app_settings, running_app
from tests.waiting import DEADLINE_S
from tgemu import EmulatorServer
from trading.candles import load_csv
from trading.feeds import PushFeed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def sandbox_settings(clean_db: str, data_dir: Any, work_dir: Path) -> Any:
    """`work_dir` holds this run's files (the sandbox EA's state, charts): never ./data."""
    return load_settings(
        _env_file=None,
        database_url=clean_db,
        web_port=0,
        log_json=False,
        data_dir=str(work_dir / "data"),
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


def extension(runner: AppRunner) -> SandboxExtension:
    return next(e for e in runner.extensions if isinstance(e, SandboxExtension))


@pytest.fixture
async def sandbox(clean_db: str, data_dir: Any, tmp_path: Path) -> AsyncIterator[AppRunner]:
    """Replay as `make run` does, accelerated (bar 37 publishes the first signal)."""
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir, tmp_path))
    try:
        yield runner
    finally:
        await runner.stop()


@pytest.fixture
async def paused_sandbox(clean_db: str, data_dir: Any, tmp_path: Path) -> AsyncIterator[AppRunner]:
    """The same app, its bars pushed by the test: the first signal stays open while we click."""
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir, tmp_path), {"EURUSD": feed})
    try:
        yield runner
    finally:
        await runner.stop()


async def test_sandbox_is_loopback_only_and_serves_the_page(sandbox: AppRunner) -> None:
    assert sandbox.settings.web_host == "127.0.0.1"
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.base_url}/sandbox") as r:
        assert r.status == 200
        assert "loopback only" in await r.text()


async def landing_page(base_url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        return await resp.text()


async def test_the_landing_page_links_the_sandbox(sandbox: AppRunner) -> None:
    page = await landing_page(sandbox.base_url)
    assert 'href="/sandbox"' in page and 'href="/health"' in page


async def test_without_sandbox_the_landing_page_has_no_sandbox_link(
    clean_db: str, emulator: EmulatorServer
) -> None:
    async with running_app(app_settings(clean_db, emulator.url)) as app:
        page = await landing_page(app.base_url)
    assert 'href="/health"' in page and "/sandbox" not in page


async def test_replay_publishes_the_first_signal_to_the_subscriber_persona(
    sandbox: AppRunner,
) -> None:
    async with extension(sandbox).client() as tg:
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


@pytest.fixture
async def slow_sandbox(clean_db: str, data_dir: Any, tmp_path: Path) -> AsyncIterator[AppRunner]:
    """The replay at 0.2 s a bar with a long hold: the first signal (bar 37) holds it."""
    settings = sandbox_settings(clean_db, data_dir, tmp_path)
    settings.replay_interval_s, settings.replay_hold_s = 0.2, 600.0
    runner = await start_sandbox(settings)
    try:
        yield runner
    finally:
        await runner.stop()


def bars_played(text: str) -> int:
    return int(text.split(" bars played")[0].rsplit("· ", 1)[-1])


@pytest.mark.browser
async def test_replay_controls_and_the_terminal_panel(
    slow_sandbox: AppRunner, tmp_path: Path
) -> None:
    """Held after the first signal; pause, step exactly one bar; approve as Olivia and her
    terminal shows the command and its ack; at phone width the personas stay reachable."""
    sandbox = slow_sandbox
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    pw_api = pytest.importorskip("playwright.async_api")
    expect = pw_api.expect
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{sandbox.base_url}/sandbox")
        strip = page.locator("#replay")
        await expect(strip.locator("#replay-state")).to_have_text("✋ Held", timeout=60_000)
        signal = await Signal.get(symbol="EURUSD")
        reason = strip.locator("#replay-reason")
        await expect(reason).to_contain_text(f"held: signal #{signal.id} (EURUSD SELL) waits for")
        await expect(reason).to_contain_text("resumes by itself in")
        await expect(strip.locator("#replay-bar")).to_contain_text("EURUSD bar 2017-")

        await page.get_by_role("button", name="⏸ Pause").click()
        await expect(strip.locator("#replay-state")).to_have_text("⏸ Paused")
        before = bars_played(await strip.locator("#replay-bar").inner_text())
        bar_time = (await strip.locator("#replay-bar").inner_text()).split(" · ")[0]
        await page.get_by_role("button", name="⏭ Step one bar").click()
        await expect(strip.locator("#replay-bar")).to_contain_text(f"{before + 1} bars played")
        await expect(strip.locator("#replay-bar")).not_to_contain_text(bar_time)  # it arrived
        await expect(strip.locator("#replay-state")).to_have_text("⏸ Paused")
        assert bars_played(await strip.locator("#replay-bar").inner_text()) == before + 1

        terminal = page.locator("#terminal")
        await expect(terminal).to_contain_text("No command yet")
        await page.get_by_role("button", name="Olivia Owner").click()
        card = page.locator(".row.bot", has_text="EURUSD · SELL").first
        await expect(card).to_be_visible(timeout=30_000)
        await card.get_by_role("button", name="✅ Approve").click()
        disclaimer = page.locator(".row.bot", has_text="Risk disclaimer")
        await disclaimer.get_by_role("button", name="I understand and accept").click()
        await expect(terminal.locator(".term-command")).to_contain_text(
            "open SELL EURUSD limit", timeout=30_000
        )
        await expect(terminal.locator(".term-ack").first).to_contain_text("placed")
        await page.get_by_role("button", name="▶ Play").click()
        await expect(strip.locator("#replay-state")).to_have_text("▶ Playing")
        await page.screenshot(path=str(tmp_path / "sandbox-replay.png"))

        await page.set_viewport_size({"width": 390, "height": 844})
        for name in ("Olivia", "Sam", "Nico"):
            await expect(page.get_by_role("button", name=name)).to_be_in_viewport()
        await expect(page.locator("#composer")).to_be_in_viewport()
        await expect(page.get_by_role("button", name="⏸ Pause")).to_be_in_viewport()
        await page.screenshot(path=str(tmp_path / "sandbox-replay-390.png"))
        await page.get_by_role("button", name="Sam").click()  # fails if anything covers it
        await expect(page.get_by_role("button", name="Sam")).to_have_class("persona active")
        await browser.close()
    assert errors == []
