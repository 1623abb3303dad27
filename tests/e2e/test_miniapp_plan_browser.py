"""The Mini App's Plan and Settings pages in Debian's Chromium, inside the sandbox page's frame:
a free visitor opens the Mini App from /menu and lands on Plan (and the Signals page offers
them no approval buttons), buys a plan with Telegram Stars through `Telegram.WebApp.openInvoice`
(the emulator's payment sheet, paid through its Stars flow: pre-checkout and
successful_payment reach the bot), and the page shows the new plan from our server's state;
then, in the dark theme, turns new-signal notifications off in Settings and switches the page
to Spanish.
Screenshots go to $TEST_ARTIFACTS (default: ./test-artifacts/miniapp)."""

from __future__ import annotations

import pytest

from bot.app import AppRunner
from models.billing import Entitlement, StarsSubscription
from models.notifications import NotificationPreference
from models.users import User
from services.billing import catalog
from tests.e2e.miniapp_browser import ARTIFACTS, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import paused_sandbox  # noqa: F401 - the fixture
from tests.waiting import until

NICO = 1000003
# What a lying or buggy client could make of the sheet: the host tells the frame the invoice
# was paid (Telegram's invoice_closed event, status "paid") though nothing was paid.
FALSE_PAID = """(slug) => {
  const frame = document.getElementById("miniapp-frame");
  const message = { eventType: "invoice_closed", eventData: { slug, status: "paid" } };
  frame.contentWindow.postMessage(JSON.stringify(message), new URL(frame.src).origin);
}"""


@pytest.mark.browser
async def test_a_free_user_buys_a_plan_with_stars_in_the_mini_app(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    starter = await catalog.offer("starter")
    assert starter is not None and starter.terms.stars_price is not None
    stars = starter.terms.stars_price
    async with sandbox_chat(pw_api, sandbox.base_url) as (page, errors):
        await page.get_by_role("button", name="Nico New visitor").click()
        for command in ("/start", "/menu"):
            await page.locator("#input").fill(command)
            await page.locator("#input").press("Enter")
        menu = page.locator(".row.bot", has_text="🌐 Language").last  # the menu, not a card
        await menu.get_by_role("button", name="📱 Open app").click()
        await expect(page.locator("#miniapp")).to_be_visible()
        app = page.frame_locator("#miniapp-frame")

        # a free user lands on Plan, with the plans sold for Stars
        current = app.locator("#plan-current")
        await expect(current).to_have_attribute("data-plan", "")
        await expect(app.locator("#tab-plan")).to_have_attribute("aria-current", "page")
        offer = app.locator('[data-plan="starter"].plan-offer')
        await expect(offer).to_contain_text(f"{stars:,} ⭐ per 30 days")
        await expect(page.locator("#miniapp-main")).to_have_text(
            f"Subscribe · {stars:,} ⭐ a month"
        )
        await page.screenshot(path=str(ARTIFACTS / "plan-light.png"))

        # the Signals page shows the open signal without approval buttons
        await app.locator("#tab-signals").click()
        await expect(app.locator("#signal-list")).to_contain_text("EURUSD")
        await expect(app.get_by_role("button", name="✅ Approve")).to_have_count(0)
        await expect(app.locator("[data-signal]")).to_have_count(0)  # no detail to decide on
        await expect(page.locator("#miniapp-main")).to_be_hidden()

        # buy through openInvoice: the emulator's payment sheet, paid with Stars
        await app.locator("#tab-plan").click()
        async with page.expect_response(lambda r: r.url.endswith("/api/v1/plan/checkout")) as made:
            await offer.locator('button[data-kind="subscription"]').click()
        link = (await (await made.value).json())["url"]
        sheet = page.locator("#miniapp-invoice")
        await expect(sheet).to_be_visible()
        await expect(sheet).to_contain_text(f"⭐ {stars} every 30 days")

        # a client that says "paid" without Telegram's successful_payment: invoiceClosed
        # reaches the page with status "paid", the plan shown stays our state (none)
        await page.evaluate(FALSE_PAID, link.rsplit("$", 1)[1])
        status = app.locator("#plan-status")
        await expect(status).to_have_text("Waiting for Telegram to confirm the payment…")
        await expect(current).to_have_attribute("data-plan", "")
        await expect(current).to_contain_text("Your plan: Free")
        await expect(offer).to_have_attribute("data-action", "buy")
        await expect(app.locator("#plan-cancel")).to_have_count(0)
        await expect(page.locator("#miniapp-main")).to_have_text(
            f"Subscribe · {stars:,} ⭐ a month"
        )
        assert not await Entitlement.exists(user__telegram_id=NICO)
        await app.locator("#tab-settings").click()  # drawn again from the server: still free
        await app.locator("#tab-plan").click()
        await expect(current).to_have_attribute("data-plan", "")
        await expect(status).to_have_text("")
        await sheet.get_by_role("button", name=f"Pay ⭐ {stars}").click()
        await expect(sheet).to_be_hidden()
        # what the page shows is our state after successful_payment reached the bot
        await expect(current).to_have_attribute("data-plan", "starter")
        await expect(current).to_contain_text("Your plan: Starter")
        await expect(app.locator("#plan-renewal")).to_contain_text("Renews on")
        await expect(app.locator("#plan-status")).to_have_text(
            "Payment received: Starter is active."
        )
        await expect(offer).to_have_attribute("data-action", "current")
        await expect(app.locator("#plan-cancel")).to_be_visible()
        entitlement = await Entitlement.get(user__telegram_id=NICO)
        assert entitlement.renews and entitlement.subscription_ref.startswith("stars:")
        assert await StarsSubscription.filter(user__telegram_id=NICO, state="active").exists()
        await page.screenshot(path=str(ARTIFACTS / "plan-paid-light.png"))

        # Settings in the dark theme: new signals off, stored for this user
        await page.locator("#miniapp-dark").check()
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        await app.locator("#tab-settings").click()
        kind = app.locator('[data-kind="new_signal"]')
        await expect(kind.get_by_role("radio", name="On")).to_be_checked()
        await kind.get_by_text("Off", exact=True).click()
        await expect(app.locator("#settings-status")).to_have_text("Saved")
        saved = await until(
            lambda: NotificationPreference.get_or_none(user__telegram_id=NICO, kind="new_signal"),
            "the new-signal preference stored",
        )
        assert saved.mode == "off"
        await expect(kind.get_by_role("radio", name="Off")).to_be_checked()
        # the chat card style: compact cards from now on, stored for this user
        styles = app.locator("#settings-card-style")
        await expect(styles.get_by_role("radio", name="Full")).to_be_checked()
        await styles.get_by_text("Compact", exact=True).click()
        await until(
            lambda: User.get_or_none(telegram_id=NICO, card_style="compact"),
            "compact cards stored",
        )
        await expect(styles.get_by_role("radio", name="Compact")).to_be_checked()
        await page.screenshot(path=str(ARTIFACTS / "settings-dark.png"))

        # the language, as /language sets it: the page and its tabs follow at once
        await app.locator("#settings-language").select_option("es")
        await expect(app.locator("#tab-settings")).to_have_text("Ajustes")
        await expect(app.locator("#tab-plan")).to_have_text("Mi plan")
        await expect(app.locator('[data-kind="new_signal"] legend')).to_have_text("Señales nuevas")
        await expect(kind.get_by_role("radio", name="Desactivadas")).to_be_checked()
        nico = await until(
            lambda: User.get_or_none(telegram_id=NICO, language="es"), "language es"
        )
        assert nico.language == "es"
    assert errors == [], errors
