"""The Admin tab in Debian's Chromium, inside the sandbox page's frame: the owner persona opens
the Mini App from /menu, finds the subscriber by name, previews a broadcast and sees its
audience count (nothing queued by a preview); the subscriber persona has no Admin tab.
Screenshots go to $TEST_ARTIFACTS (default: ./test-artifacts/miniapp)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import AppRunner
from core import clock
from models.notifications import Notification
from services.outbox import broadcast
from services.outbox.broadcast import Reach, Target
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import paused_sandbox  # noqa: F401 - the fixture

SAM = 1000002


async def open_app(page: Any, persona: str, expect: Any) -> Any:
    """Pick `persona` on the sandbox page, send /menu and open the Mini App from it."""
    await page.get_by_role("button", name=persona).click()
    return await open_from_menu(page, expect)


@pytest.mark.browser
async def test_the_owner_searches_users_and_previews_a_broadcast_a_subscriber_sees_no_admin(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    async with sandbox_chat(pw_api, sandbox.base_url) as (page, errors):
        # Sam first: the subscriber persona's Mini App has no Admin tab (and Sam exists).
        app = await open_app(page, "Sam Subscriber", expect)
        await expect(app.locator("#tab-signals")).to_be_visible()
        await expect(app.locator("#tab-admin")).to_have_count(0)
        await page.locator("#miniapp-close").click()

        app = await open_app(page, "Olivia Owner", expect)
        await app.locator("#tab-admin").click()
        await app.locator("#admin-q").fill("sam")
        await app.locator("#admin-search").click()
        row = app.locator(f'[data-user="{SAM}"]')
        await expect(row).to_contain_text("@sam_trades")
        await expect(app.locator("#admin-user-list li")).to_have_count(1)
        await row.click()
        await expect(app.locator("#admin-user")).to_contain_text("Sam")
        await expect(app.locator(".levels")).to_contain_text("Subscriber")
        await expect(app.locator("#admin-ban")).to_have_text("Ban")
        await page.screenshot(path=str(ARTIFACTS / "admin-user-light.png"))

        await app.locator("#admin-broadcast").click()
        await app.locator("#bc-audience").select_option("plan")
        await expect(app.locator("#bc-plan")).to_be_visible()
        await app.locator("#bc-audience").select_option("paid")
        await expect(app.locator("#bc-plan")).to_be_hidden()
        text = "Markets close early today."
        await app.locator("#bc-text").fill(text)
        await app.locator("#bc-preview-button").click()
        await expect(app.locator("#bc-bubble")).to_have_text(text)
        paid = len(await broadcast.recipients(Target(Reach.PAID), clock.now()))
        assert paid >= 2  # the owner and Sam at least
        await expect(app.locator("#bc-count")).to_have_text(f"Recipients: {paid}")
        await expect(page.locator("#miniapp-main")).to_have_text("Send")
        await page.screenshot(path=str(ARTIFACTS / "admin-light.png"))
        assert not await Notification.exists(dedupe_key__startswith="broadcast:")

        await app.locator("#admin-signals").click()  # the other sections draw too
        await expect(app.locator('#admin-symbols [data-symbol="EURUSD"]')).to_contain_text(
            "Publishing"
        )
        await app.locator("#admin-revenue").click()
        await expect(app.locator("#revenue-figures")).to_contain_text("$0.00")
        await expect(app.locator("#revenue-daily canvas").first).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "admin-revenue-light.png"))
    assert errors == [], errors
