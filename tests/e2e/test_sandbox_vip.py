"""The sandbox's VIP group: set as the VIP chat at start, a subscriber persona asks /vip on the
chat page, clicks their invite link and is a member (Debian's Chromium)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import AppRunner
from bot.sandbox import SANDBOX_VIP_CHAT_ID
from models.billing import VipMembership
from services.billing import vip
from tests.e2e.test_sandbox import ARGS, CHROMIUM, extension, sandbox_settings, start_sandbox
from tests.waiting import DEADLINE_S, until
from trading.feeds import PushFeed

SAM = 1000002


@pytest.fixture
async def quiet_sandbox(clean_db: str, data_dir: Any, tmp_path: Path) -> AsyncIterator[AppRunner]:
    """The sandbox with no bars played (no signals to wait for)."""
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir, tmp_path), {"EURUSD": feed})
    try:
        yield runner
    finally:
        await runner.stop()


async def test_the_sandbox_group_is_the_vip_chat(quiet_sandbox: AppRunner) -> None:
    assert await vip.current_chat() == vip.VipChat(SANDBOX_VIP_CHAT_ID, "SignalDesk VIP")
    async with extension(quiet_sandbox).client() as tg:
        await tg.send(SAM, "/vip")
        reply = await tg.wait_for(SAM, lambda m: "invite link" in (m.get("text") or ""))
    assert "https://t.me/+" in reply["text"]


@pytest.mark.browser
async def test_a_subscriber_joins_the_vip_group_from_the_page(quiet_sandbox: AppRunner) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    pw_api = pytest.importorskip("playwright.async_api")
    expect = pw_api.expect
    expect.set_options(timeout=DEADLINE_S * 1000)
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{quiet_sandbox.base_url}/sandbox")
        await page.get_by_role("button", name="Sam Subscriber").click()
        await page.locator("#input").fill("/vip")
        await page.locator("#input").press("Enter")
        invite = page.locator(".row.bot", has_text="personal invite link")
        await expect(invite).to_be_visible()
        await invite.locator("a[href^='https://t.me/+']").click()
        await expect(page.locator("#toast")).to_contain_text("Joined SignalDesk VIP")
        await browser.close()
    assert errors == []
    await until(lambda: VipMembership.exists(chat_id=SANDBOX_VIP_CHAT_ID), "Sam's membership")
