"""The Terminals and Positions pages in Debian's Chromium, inside the sandbox page's frame: a
subscriber adds a terminal (the secret is shown once, copied with its button), renames it,
switches it to copy mode and back, the terminal reports through the real EA protocol with that
secret, a refused risk setting shows the server's message under its field, the Positions page
shows the account, the position and the equity chart, and the terminal's next reports appear
without a reload; a position is closed after a confirmation, and revoking (declined once:
nothing changes; then confirmed in a danger dialog) makes the EA's next request fail.
Screenshots go to $TEST_ARTIFACTS/miniapp."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from ea.crypto import sign_request
from models.devices import AccountSnapshot, Command, CommandType, Device
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, watch_errors
from tests.e2e.test_sandbox import ARGS, CHROMIUM, paused_sandbox  # noqa: F401 - the fixture
from tests.waiting import until


async def ea_call(base: str, device_id: str, secret: str, method: str, path: str,
                  body: Any = None) -> int:  # fmt: skip
    data = b"" if body is None else json.dumps(body).encode()
    headers = sign_request(secret, method, path, data, device_id=device_id)
    headers["Content-Type"] = "application/json"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base + path, data=data, headers=headers) as r,
    ):
        return r.status


async def history(device_id: str) -> None:
    """A week of account snapshots before the report (the equity curve's past)."""
    device = await Device.get(device_id=device_id)
    now = datetime.now(UTC)
    for i, equity in enumerate(("10000", "10120", "10080", "10240", "10190", "10310")):
        snap = await AccountSnapshot.create(
            device=device, balance=D(10000), equity=D(equity), margin=0, currency="USD",
            high_water=D(10310), drawdown_pct=0,
        )  # fmt: skip
        await AccountSnapshot.filter(id=snap.id).update(created_at=now - timedelta(days=6 - i))


@pytest.mark.browser
async def test_add_report_validate_close_and_revoke_a_terminal(
    paused_sandbox: AppRunner,  # noqa: F811
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    base = sandbox.base_url
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 1100, "height": 1000})
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"{base}/sandbox")
        await page.get_by_role("button", name="Sam Subscriber").click()
        app = await open_from_menu(page, expect)
        main = page.locator("#miniapp-main")
        await app.get_by_role("button", name="Terminals").click()
        await expect(app.locator("#terminal-list")).to_contain_text("No terminals yet")
        await expect(app.locator("#ea-files a.download")).to_have_count(2)

        # add: the secret is shown this once, with a copy button
        await app.get_by_label("Name").fill("Desk MT5")
        await expect(main).to_have_text("➕ Add terminal")
        await main.click()
        card = app.locator("#new-terminal")
        await expect(card).to_contain_text("Terminal “Desk MT5” added")
        device_id = (await app.locator("#new-device-id").text_content() or "").strip()
        secret = (await app.locator("#new-secret").text_content() or "").strip()
        assert device_id.startswith("dev_") and len(secret) >= 43
        await expect(card).to_contain_text("it is shown only this once")
        await expect(app.locator(".steps li")).to_have_count(4)
        await expect(app.locator(".steps")).to_contain_text(f"Server URL {base}")
        await app.locator("#copy-secret").click()
        await expect(app.locator("#copy-secret")).to_have_text("Copied")
        copied = await app.locator("body").evaluate("() => navigator.clipboard.readText()")
        assert copied == secret
        await page.screenshot(path=str(ARTIFACTS / "terminal-added-light.png"))

        # the terminal reports through the EA protocol with the secret the page showed
        await history(device_id)
        position = {"ticket": 5001, "symbol": "EURUSD", "side": "sell", "volume": 0.1,
                    "open_price": 1.07592, "sl": 1.07965, "tp": 1.06379, "profit": 42.5,
                    "comment": ""}  # fmt: skip
        report = {"balance": 10000, "equity": 10042.5, "margin": 35.2, "currency": "USD",
                  "positions": [position]}  # fmt: skip
        assert await ea_call(base, device_id, secret, "POST", "/ea/v1/account", report) == 204

        await main.click()  # "I saved the secret": the list, where the secret is gone for good
        row = app.locator(f'[data-terminal="{device_id}"]')
        await expect(row).to_contain_text("Desk MT5")
        await expect(row).to_contain_text("10,042.50 USD")
        assert secret not in (await app.locator("body").inner_text())
        await expect(app.locator("#terminal-limit")).to_contain_text("terminal limit is reached")
        await expect(main).to_be_hidden()  # Starter: one terminal, no second to add
        await page.screenshot(path=str(ARTIFACTS / "terminals-light.png"))
        await page.locator("#miniapp-dark").check()
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        await page.screenshot(path=str(ARTIFACTS / "terminals-dark.png"))
        await page.locator("#miniapp-dark").uncheck()
        await expect(app.locator("html")).to_have_attribute("data-theme", "light")

        # rename, and approval / copy mode (Sam's complimentary access includes copy mode)
        await row.click()
        await expect(app.locator("#terminal-title")).to_have_text("Desk MT5")
        rename = app.locator("#rename")
        await rename.get_by_label("Name").fill("  Desk   MT5 ")
        await app.locator("#rename-save").click()
        await expect(rename.locator(".form-status")).to_have_text("✅ Saved")
        await expect(app.locator("#terminal-title")).to_have_text("Desk MT5")
        await until(lambda: Device.get_or_none(device_id=device_id, name="Desk MT5"),
                    "the name stored trimmed")  # fmt: skip
        await rename.get_by_label("Name").fill("Home MT5")
        await app.locator("#rename-save").click()
        await expect(app.locator("#terminal-title")).to_have_text("Home MT5")
        assert (await Device.get(device_id=device_id)).name == "Home MT5"
        mode = app.locator("#mode")
        await mode.locator('input[value="copy"]').check()
        await expect(mode.locator(".form-status")).to_have_text("✅ Saved")
        assert (await Device.get(device_id=device_id)).mode == "copy"
        await mode.locator('input[value="approval"]').check()
        await until(lambda: Device.get_or_none(device_id=device_id, mode="approval"),
                    "back in approval mode")  # fmt: skip
        await expect(mode.locator('input[value="approval"]')).to_be_checked()

        # a refused risk setting: the server's message under its field
        await app.locator("#field-risk_pct").fill("50")
        await app.locator("#risk-save").click()
        message = app.locator('[data-error-for="risk_pct"]')
        await expect(message).to_contain_text("Risk per trade must be a number from 0.1 to 10")
        await expect(app.locator("#field-risk_pct")).to_have_attribute("aria-invalid", "true")
        await page.screenshot(path=str(ARTIFACTS / "terminal-risk-light.png"))
        await app.locator("#field-risk_pct").fill("1.5")
        await app.locator("#risk-save").click()
        await expect(app.locator("#risk-status")).to_have_text("✅ Saved")
        await expect(message).to_have_text("")

        # positions: account figures, the position, the equity chart; close it (confirmed)
        await app.locator("#to-positions").click()
        item = app.locator('[data-ticket="5001"]')
        await expect(item).to_contain_text("EURUSD")
        await expect(item).to_contain_text("42.50 USD")
        await expect(app.locator("#positions-account")).to_contain_text("10,042.50 USD")
        await expect(app.locator("#equity-chart canvas").first).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "positions-light.png"))

        # the terminal reports again: the page shows it without a reload (server-sent events)
        await expect(page.locator("#miniapp-frame")).to_be_visible()
        await app.locator("body[data-live='open']").wait_for()
        moved = {**position, "profit": 55.25}
        second = {**position, "ticket": 5002, "side": "buy", "profit": -3.1}
        report = {**report, "equity": 10052.15, "positions": [moved, second]}
        assert await ea_call(base, device_id, secret, "POST", "/ea/v1/account", report) == 204
        await expect(item).to_contain_text("55.25 USD")
        await expect(app.locator('[data-ticket="5002"]')).to_contain_text("EURUSD · BUY")
        await expect(app.locator("#positions-account")).to_contain_text("10,052.15 USD")
        await item.get_by_role("button", name="Close position 5001").click()
        dialog = app.locator("#confirm")
        await expect(dialog).to_contain_text("Close position 5001?")
        await dialog.locator("#confirm-yes").click()
        await expect(item).to_contain_text("Close sent to the terminal")
        close = await Command.get(type=CommandType.CLOSE, device__device_id=device_id)
        assert close.payload["ticket"] == 5001
        report = {**report, "positions": [second]}  # the EA closed it and reports
        assert await ea_call(base, device_id, secret, "POST", "/ea/v1/account", report) == 204
        await expect(item).to_have_count(0)
        await expect(app.locator('[data-ticket="5002"]')).to_be_visible()

        # revoke, confirmed in a danger dialog: the EA is refused from then on
        await page.locator("#miniapp-back").click()
        await expect(app.locator("#terminal-title")).to_have_text("Home MT5")
        await app.locator("#revoke").click()  # declined first: nothing happens
        await expect(dialog).to_contain_text("Revoke “Home MT5”?")
        await dialog.locator("#confirm-no").click()
        await expect(dialog).to_be_hidden()
        assert await ea_call(base, device_id, secret, "GET", "/ea/v1/ping") == 200
        await app.locator("#revoke").click()
        await expect(dialog).to_contain_text("Revoke “Home MT5”?")
        await expect(dialog.locator("#confirm-yes")).to_have_class("danger")
        await dialog.locator("#confirm-yes").click()
        await expect(app.locator("#revoked")).to_have_text("🗑 Terminal “Home MT5” revoked.")
        await expect(app.locator("#terminal-list")).to_contain_text("No terminals yet")
        assert await ea_call(base, device_id, secret, "GET", "/ea/v1/ping") == 401
        await browser.close()
    refused = [e for e in errors if "status of 422" in e and e.endswith(f"/{device_id}/risk")]
    assert len(refused) == 1 and errors == refused, errors  # only the refused setting's answer
