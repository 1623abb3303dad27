"""The Mini App's view belongs to the page the user went to last: a live update's reload of the
page just left, still on its way when the user taps elsewhere, never replaces the page they
went to, nor leaves its Back or Main button behind (a reload of Home arriving after a tap on
Signals used to put Home back under the Signals tab). Each case holds the stale reload's request
in the browser (Playwright's routing) until the user has moved on, then lets it through.
And a server that cannot be reached is an error in the page, not a page waiting for ever."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.app import AppRunner
from models.signals import CloseReason, Signal, SignalStatus
from services.signals import lifecycle
from tests.e2e.miniapp_browser import open_from_menu, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import extension, paused_sandbox  # noqa: F401
from tests.waiting import DEADLINE_S

SAM = 1000002


class Gate:
    """Holds the page's requests whose URL matches `pattern` until `release()`."""

    def __init__(self, page: Any, pattern: str) -> None:
        self.page = page
        self.pattern = re.compile(pattern)
        self.held: list[Any] = []
        self.arrived = asyncio.Event()
        self.open = False

    async def _hold(self, route: Any) -> None:
        if self.open:
            await route.continue_()
            return
        self.held.append(route)
        self.arrived.set()

    async def __aenter__(self) -> Gate:
        await self.page.route(self.pattern, self._hold)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()

    async def wait(self) -> None:
        """Until a request has been held (the reload is under way)."""
        await asyncio.wait_for(self.arrived.wait(), DEADLINE_S)

    async def release(self) -> None:
        self.open = True
        for route in self.held:
            await route.continue_()
        self.held.clear()
        await self.page.unroute(self.pattern, self._hold)


@pytest.mark.browser
async def test_a_reload_of_the_page_left_never_replaces_the_page_the_user_went_to(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    async with sandbox_chat(pw_api, sandbox.base_url) as (page, errors):
        await page.get_by_role("button", name="Sam Subscriber").click()
        await expect(page.locator(".row.bot", has_text="EURUSD · SELL").first).to_be_visible()
        signal = await Signal.get(symbol="EURUSD")
        app = await open_from_menu(page, expect)
        view = app.locator("#view")
        back, main = page.locator("#miniapp-back"), page.locator("#miniapp-main")
        await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
        await expect(app.locator("body")).to_have_attribute("data-live", "open")

        # 1. A signal's page reloads (a decision in chat) while the user presses Back: the list
        #    stays, without the signal page's Back button or its Main button.
        await app.locator("#tab-signals").click()
        await app.locator(f'[data-signal="{signal.id}"]').click()
        await expect(app.locator("#decision")).to_have_text("Waiting for your decision")
        await expect(main).to_have_text("✅ Approve")
        async with Gate(page, rf"/api/v1/signals/{signal.id}$") as gate:
            async with extension(sandbox).client() as tg:
                card = await tg.wait_for(
                    SAM, lambda m: "EURUSD · SELL" in (m.get("caption") or ""), after_seq=0
                )
                await tg.press(SAM, SAM, card["message_id"], text="❌ Reject")
            await gate.wait()
            await back.click()
            await expect(app.locator("#tab-signals")).to_have_attribute("aria-current", "page")
        await expect(view).to_have_attribute("aria-busy", "false")
        row = app.locator(f'[data-signal="{signal.id}"]')
        await expect(row).to_contain_text("You rejected this signal")
        await expect(app.locator("#decision")).to_have_count(0)
        await expect(back).to_be_hidden()
        await expect(main).to_be_hidden()

        # 2. The open list reloads (the signal fills) while the user switches to History.
        async with Gate(page, r"/api/v1/signals\?limit=50$") as gate:
            await lifecycle.transition(signal.id, SignalStatus.FILLED)
            await gate.wait()
            await app.locator("#signals-history").click()
        await expect(view).to_have_attribute("aria-busy", "false")
        await expect(app.locator("#signals-history")).to_have_attribute("aria-pressed", "true")
        await expect(view).to_contain_text("No signal has ended yet.")
        await expect(app.locator("#signal-list")).to_have_count(0)

        # 3. Home reloads (the signal closes) while the user taps Signals.
        await app.locator("#tab-home").click()
        await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
        async with Gate(page, r"/api/v1/me$") as gate:
            await lifecycle.transition(signal.id, SignalStatus.CLOSED, price=signal.take_profit,
                                       reason=CloseReason.TP)  # fmt: skip
            await gate.wait()
            await app.locator("#tab-signals").click()
        await expect(view).to_have_attribute("aria-busy", "false")
        await expect(app.locator("#tab-signals")).to_have_attribute("aria-current", "page")
        await expect(app.locator("#signals-open")).to_have_attribute("aria-pressed", "true")
        await expect(app.locator("#home-plan")).to_have_count(0)
        # the live stream still reaches the page the user is on
        await app.locator("#signals-history").click()
        await expect(app.locator(f'[data-history="{signal.id}"]')).to_contain_text(
            "closed at take-profit"
        )

        # 4. A server that cannot be reached: the page says so in the user's words, and the
        #    tabs still work once it answers again.
        unreachable = re.compile(r"/api/v1/performance$")
        await page.route(unreachable, lambda route: route.abort("connectionrefused"))
        await app.locator("#tab-performance").click()
        await expect(app.locator("#view [role=alert]")).to_have_text(
            "Could not reach the server. Check your connection and try again."
        )
        await page.unroute(unreachable)
        await app.locator("#tab-home").click()
        await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
        await page.locator("#miniapp-close").click()
    # the refused request's console line is the browser's own; nothing else went wrong
    assert [e for e in errors if "/api/v1/performance" not in e] == []
