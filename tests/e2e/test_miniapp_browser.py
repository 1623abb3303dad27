"""The Mini App in Debian's Chromium, inside the sandbox page's frame (initData signed by the
emulator, `window.Telegram.WebApp` from the emulator's stand-in): a subscriber opens it from
/menu, sees Home and the signals list, approves the open signal through the Main button and the
consent dialog, the chat card in the emulator changes, and the dark theme applies live.
Screenshots go to $TEST_ARTIFACTS (default: ./test-artifacts/miniapp)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.app import AppRunner
from models.signals import Approval, CloseReason, Signal, SignalStatus
from services.signals import lifecycle, market_data
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import extension, paused_sandbox  # noqa: F401

SAM = 1000002


@pytest.mark.browser
async def test_a_subscriber_approves_in_the_mini_app_and_the_chat_card_changes(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    async with sandbox_chat(pw_api, sandbox.base_url) as (page, errors):
        await page.get_by_role("button", name="Sam Subscriber").click()
        card = page.locator(".row.bot", has_text="EURUSD · SELL").first
        await expect(card).to_be_visible()
        signal = await Signal.get(symbol="EURUSD")

        app = await open_from_menu(page, expect)
        await expect(app.locator("#home-pending")).to_contain_text("Pending approvals: 1")
        await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
        await page.screenshot(path=str(ARTIFACTS / "home-light.png"))
        await page.locator("#miniapp-dark").check()
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        await page.screenshot(path=str(ARTIFACTS / "home-dark.png"))
        await page.locator("#miniapp-dark").uncheck()
        await expect(app.locator("html")).to_have_attribute("data-theme", "light")

        await app.get_by_role("button", name="Signals").click()
        row = app.locator(f'[data-signal="{signal.id}"]')
        await expect(row).to_contain_text(f"#{signal.id} EURUSD · SELL")
        await expect(row).to_contain_text("Waiting for your decision")
        # the countdown runs on the replay's clock (its bars are history: by this machine's
        # clock every signal would read "Expiring now")
        quote = await market_data.quote("EURUSD")
        assert quote is not None
        now = datetime.now(UTC)
        hours = int(
            (signal.expires_at - market_data.market_now(quote, now)).total_seconds() // 3600
        )
        assert hours >= 1
        countdown = row.locator(".countdown")
        await expect(countdown).to_have_text(
            re.compile(rf"Expires in ({hours - 1}|{hours}):\d\d:\d\d")
        )
        await page.screenshot(path=str(ARTIFACTS / "signals-light.png"))
        await row.click()
        await expect(app.locator("#chart canvas").first).to_be_visible()
        # drawn as the chat's chart: entry, stop and take-profit lines, the two Fib points
        grid = Decimal("0.00001")  # EURUSD's tick
        prices = [signal.entry, signal.stop, signal.take_profit]
        points = [signal.point1_price, signal.point2_price]
        on_grid = " ".join(str(Decimal(p).quantize(grid)) for p in prices)
        await expect(app.locator("#chart")).to_have_attribute("data-lines", on_grid)
        assert None not in points
        on_grid = " ".join(str(Decimal(p).quantize(grid)) for p in points)
        await expect(app.locator("#chart")).to_have_attribute("data-points", on_grid)
        await expect(app.locator(".levels")).to_contain_text("1.07965")
        main = page.locator("#miniapp-main")
        await expect(main).to_have_text("✅ Approve")
        await expect(page.locator("#miniapp-back")).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "signal-light.png"))

        await main.click()
        dialog = app.locator("#consent")
        await expect(dialog).to_contain_text("Risk disclaimer")
        await dialog.get_by_role("button", name="I understand and accept").click()
        await expect(app.locator("#decision")).to_have_text("✅ You approved this signal")
        haptics = await page.locator("#miniapp").get_attribute("data-haptics") or ""
        assert haptics.split()[-1] == "success"  # the tab tap was a selection haptic
        await expect(main).to_be_hidden()  # approved: the Main button's action is done
        await expect(app.get_by_role("button", name="❌ Reject")).to_be_visible()
        approval = await Approval.get(signal_id=signal.id, user__telegram_id=SAM)
        assert (approval.decision, approval.source) == ("approved", "mini_app")
        await expect(card).to_contain_text("✅ You approved this signal")  # the chat card too

        await page.locator("#miniapp-dark").check()
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        background = await app.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
        assert background == "rgb(23, 33, 43)"
        await page.screenshot(path=str(ARTIFACTS / "signal-dark.png"))
        await page.locator("#miniapp-back").click()
        await expect(app.locator(f'[data-signal="{signal.id}"]')).to_contain_text(
            "You approved this signal"
        )
        await page.screenshot(path=str(ARTIFACTS / "signals-dark.png"))
        await expect(app.locator("body")).to_have_attribute("data-live", "open")
        # A decision in chat (the card's button, pressed through the emulator) reaches the open
        # Mini App over its live stream: no reload, no poll.
        async with extension(sandbox).client() as tg:
            message = await tg.wait_for(
                SAM, lambda m: "EURUSD · SELL" in (m.get("caption") or ""), after_seq=0
            )
            await tg.press(SAM, SAM, message["message_id"], text="❌ Reject")
        await expect(app.locator(f'[data-signal="{signal.id}"]')).to_contain_text(
            "You rejected this signal"
        )
        await app.locator("#signals-history").click()  # nothing has ended in this sandbox yet
        await expect(app.locator("#view")).to_contain_text("No signal has ended yet.")
        await expect(app.locator("#signals-history")).to_have_attribute("aria-pressed", "true")

        await page.locator("#miniapp-close").click()
        await expect(card).to_contain_text("❌ You rejected this signal")

        # The card's own Open app button lands on this signal's page (the URL's startapp) ...
        await card.get_by_role("button", name="📱 Open app").click()
        await expect(app.locator("h1")).to_have_text(f"#{signal.id} EURUSD · SELL")
        await expect(app.locator("#decision")).to_have_text("❌ You rejected this signal")
        await page.locator("#miniapp-close").click()
        # ... and a t.me/<bot>/app?startapp=signals link (Telegram's start_param) on that tab.
        await page.evaluate(
            "([url, user]) => window.SandboxMiniApp.open(url, user, 'signals')",
            [f"{sandbox.base_url}/app", SAM],
        )
        await expect(app.locator("#tab-signals")).to_have_attribute("aria-current", "page")
        await expect(app.locator(f'[data-signal="{signal.id}"]')).to_be_visible()
        await page.locator("#miniapp-close").click()
        await page.screenshot(path=str(ARTIFACTS / "chat-card-after.png"))
        # Telegram's start_param naming a signal lands on it; one naming nothing we know, or a
        # page that is not a subscriber's (admin), lands on Home.
        opened = "([url, user, start]) => window.SandboxMiniApp.open(url, user, start)"
        await page.evaluate(opened, [f"{sandbox.base_url}/app", SAM, f"signal_{signal.id}"])
        await expect(app.locator("h1")).to_have_text(f"#{signal.id} EURUSD · SELL")
        for start in ("nonsense", "admin", "signal_x"):
            await page.locator("#miniapp-close").click()
            await page.evaluate(opened, [f"{sandbox.base_url}/app", SAM, start])
            await expect(app.locator("#tab-home")).to_have_attribute("aria-current", "page")
            await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
            await expect(app.locator("#tab-admin")).to_have_count(0)
        # a link to a signal that does not exist says so, and the tabs still work
        await page.locator("#miniapp-close").click()
        await page.evaluate(opened, [f"{sandbox.base_url}/app", SAM, "signal_999999"])
        await expect(app.locator("#view [role=alert]")).to_have_text(re.compile(r"\S"))
        await app.locator("#tab-signals").click()
        await expect(app.locator(f'[data-signal="{signal.id}"]')).to_be_visible()
        await expect(app.locator("#view [role=alert]")).to_have_count(0)
        await page.locator("#miniapp-close").click()
        # The bot's menu button (setChatMenuButton: web_app) opens the Mini App too.
        await page.locator("#menu-app").click()
        await expect(app.locator("#home-plan")).to_contain_text("Plan: Starter")
        # The signal fills and hits its take-profit: the history shows its outcome in R.
        await lifecycle.transition(signal.id, SignalStatus.FILLED)
        await lifecycle.transition(signal.id, SignalStatus.CLOSED, price=signal.take_profit,
                                   reason=CloseReason.TP)  # fmt: skip
        closed = await Signal.get(id=signal.id)
        assert closed.result_r is not None and closed.result_r > 0
        await app.locator("#tab-signals").click()
        await app.locator("#signals-history").click()
        done = app.locator(f'[data-history="{signal.id}"]')
        await expect(done).to_contain_text("closed at take-profit")
        await expect(done).to_contain_text(f"Result: +{closed.result_r:.2f} R")
        await expect(app.locator("#history-total")).to_contain_text(
            f"+{closed.result_r:.2f} R over 1 closed"
        )
        await page.locator("#miniapp-close").click()
    missing = "404 (Not Found) @ " + f"{sandbox.base_url}/api/v1/signals/999999"
    assert [e for e in errors if not e.endswith(missing)] == [], errors  # Chromium logs the 404
