"""The Mini App's Alerts tab in Debian's Chromium, on a phone-sized screen (390 px), in the
sandbox with the bundled EURUSD bars pushed by the test: a level the server refuses shows its
reason under the field; an alert at a level the next bars reach is added and listed with the
plan's quota; the bars come, the alert fires, and the open page shows it fired without a reload
(and the chat got its message); another alert is deleted after a confirmation. Nothing is wider
than the screen and every control is at least 44 px tall. Screenshots go to
$TEST_ARTIFACTS/miniapp."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.alerts import AlertState, PriceAlert
from tests.alerts.test_sandbox_alert import (  # noqa: F401 - the fixture
    AHEAD,
    TICK,
    Replay,
    reachable_level,
    replay,
)
from tests.e2e.conftest import text
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import extension

OLIVIA, SAM = 1000001, 1000002
PHONE = {"width": 390, "height": 844}

# Controls of the alerts page shorter than a finger (checkboxes count by their label), and
# whether anything makes the page scroll sideways.
LAYOUT = """() => {
  const root = document.documentElement;
  const small = [...document.querySelectorAll("#alerts button, #alerts input, #alerts select")]
    .map((n) => (n.type === "checkbox" ? n.closest("label") : n))
    .filter((n) => n.getBoundingClientRect().height < 44)
    .map((n) => n.id || n.outerHTML.slice(0, 60));
  return { width: root.clientWidth, overflow: root.scrollWidth > root.clientWidth, small };
}"""


@pytest.mark.browser
async def test_add_refuse_fire_live_and_delete_alerts_on_a_phone(
    replay: Replay,  # noqa: F811
) -> None:
    sandbox, candles = replay.app, replay.candles
    pw_api = playwright_api()
    expect = pw_api.expect
    last, condition, level = await reachable_level(candles)
    async with extension(sandbox).client() as tg:
        await tg.send(OLIVIA, "/grant @sam_trades pro 30")
        await tg.wait_for(OLIVIA, lambda m: "Pro" in text(m) and "#1" not in text(m), timeout=30)

        async with sandbox_chat(pw_api, sandbox.base_url, PHONE) as (page, errors):
            await page.get_by_role("button", name="Sam Subscriber").click()
            app = await open_from_menu(page, expect)
            await app.get_by_role("button", name="Alerts").click()
            await expect(app.locator("#alert-list")).to_have_text("No alerts yet.")
            await expect(app.locator("#alerts-quota")).to_have_text("0 of 20 active")
            await expect(app.locator("#alert-last")).to_contain_text(f"Last price {last}")

            # a level that is not a number: the server's reason, under the field
            await app.locator("#alert-level").fill("1.2.3")
            await app.locator("#alert-add").click()
            await expect(app.locator("#alert-level-error")).not_to_be_empty()
            assert await PriceAlert.all().count() == 0

            # one the replay will reach, and one far away that is deleted later
            await app.locator("#alert-condition").select_option(condition)
            await app.locator("#alert-level").fill(str(level))
            await app.locator("#alert-note").fill("phone check")
            await app.locator("#alert-add").click()
            await expect(app.locator("#alert-status")).to_have_text("Alert added")
            await expect(app.locator("#alert-level-error")).to_be_empty()
            away = (last * Decimal("1.005")).quantize(TICK)
            await app.locator("#alert-condition").select_option("above")
            await app.locator("#alert-level").fill(str(away))
            await app.locator("#alert-note").fill("")
            await app.locator("#alert-add").click()
            await expect(app.locator("#alert-list li")).to_have_count(2)
            await expect(app.locator("#alerts-quota")).to_have_text("2 of 20 active")
            fired_row = await PriceAlert.get(user__telegram_id=SAM, note="phone check")
            item = app.locator(f'[data-alert="{fired_row.id}"]')
            await expect(item).to_contain_text(f"EURUSD · {condition.title()} {level}")
            await expect(item).to_have_attribute("data-state", "active")

            layout = await app.locator("html").evaluate(LAYOUT)
            assert layout["width"] == PHONE["width"], layout
            assert not layout["overflow"], layout
            assert layout["small"] == [], layout
            await app.locator("#alerts").evaluate("n => n.scrollIntoView()")
            await page.screenshot(path=str(ARTIFACTS / "alerts-light.png"))

            # the bars come: the alert fires, the open page follows without a reload
            replay.feed.push("EURUSD", [candles.bar(i) for i in AHEAD])
            await expect(item).to_have_attribute("data-state", "fired")
            await expect(app.locator("#alerts-news")).to_have_text("An alert just fired")
            await expect(item).to_contain_text("Fired")
            message = await tg.wait_for(SAM, lambda m: "🔔" in text(m), timeout=30)
            assert "📝 phone check" in text(message)
            await page.locator("#miniapp-dark").check()
            await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
            await app.locator("#alerts").evaluate("n => n.scrollIntoView()")
            await page.screenshot(path=str(ARTIFACTS / "alerts-dark.png"))

            # delete the other one, after a confirmation
            other = await PriceAlert.get(user__telegram_id=SAM, note="")
            await app.locator(f'[data-delete="{other.id}"]').click()
            dialog = app.locator("#confirm")
            await expect(dialog).to_contain_text(f"Delete the alert on EURUSD at {away}?")
            await dialog.locator("#confirm-yes").click()
            await expect(app.locator(f'[data-alert="{other.id}"]')).to_have_count(0)
            await expect(app.locator("#alert-list li")).to_have_count(1)
    refused = [e for e in errors if "status of 422" in e and e.endswith("/api/v1/alerts")]
    assert len(refused) == 1 and errors == refused, errors  # only the refused level's answer
    assert (await PriceAlert.get(id=fired_row.id)).state is AlertState.FIRED
    assert await PriceAlert.filter(id=other.id, state=AlertState.ACTIVE).count() == 0
