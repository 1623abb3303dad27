"""The sandbox pays by card offline: `make run` without BOT_TOKEN and without Stripe keys starts
the fake Stripe on loopback; /pricing completes a "card payment" on its hosted page, its signed
webhook reaches our /stripe/webhook, and the new visitor links the payment in the sandbox chat."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from core.settings import load_settings
from models.billing import Payment
from services.billing import entitlements as ent
from services.users import profiles as users_service
from tests.e2e.test_sandbox import ARGS, CHROMIUM, extension, start_sandbox
from tests.waiting import DEADLINE_S

NICO = 1000003  # the sandbox's new visitor


@pytest.fixture
async def sandbox(clean_db: str, tmp_path: Path) -> AsyncIterator[AppRunner]:
    settings = load_settings(
        _env_file=None, database_url=clean_db, web_port=0, log_json=False,
        data_dir=str(tmp_path / "data"), market_data="none",
    )  # fmt: skip
    runner = await start_sandbox(settings)
    try:
        yield runner
    finally:
        await runner.stop()


async def _follow(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> str:
    async with http.request(method, url, allow_redirects=False, **kw) as resp:
        assert resp.status == 303, await resp.text()
        return resp.headers["Location"]


async def test_a_newcomer_pays_by_card_and_links_the_chat(sandbox: AppRunner) -> None:
    ext = extension(sandbox)
    assert ext.stripe is not None and sandbox.settings.stripe_api_base == ext.stripe.url
    base = sandbox.base_url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as resp:
            assert 'href="/pricing"' in await resp.text()
        async with http.get(f"{base}/pricing") as resp:
            page = await resp.text()
        assert 'value="starter"' in page and "Subscribe by card" in page
        pay = await _follow(http, "POST", f"{base}/pricing/checkout", data={"plan": "starter"})
        assert pay.startswith(f"{ext.stripe.url}/c/pay/")
        async with http.get(pay) as resp:  # the fake's hosted checkout, no JavaScript
            assert "Pay" in await resp.text()
        done = await _follow(
            http, "POST", pay, data={"email": "nico@example.com", "card": "4242424242424242"}
        )
        async with http.get(done) as resp:
            success = unescape(await resp.text())
    match = re.search(r"/start link_([A-Z0-9]+)", success)
    assert match is not None
    assert await Payment.filter(user_id=None).count() == 1  # the signed webhook arrived
    async with ext.client() as tg:
        await tg.send(NICO, f"/start link_{match.group(1)}")
        reply = await tg.wait_for(
            NICO, lambda m: "card payment is linked" in (m.get("text") or "")
        )
    assert "Starter" in reply["text"]
    nico = await users_service.get_by_telegram_id(NICO)
    payment = await Payment.get()
    assert payment.user_id == nico.id  # type: ignore[attr-defined]
    assert (await ent.access_for(nico.id, payment.created_at)).plan == "starter"


@pytest.mark.browser
async def test_the_card_flow_works_in_a_browser_without_javascript(sandbox: AppRunner) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    pw_api = pytest.importorskip("playwright.async_api")
    expect = pw_api.expect
    expect.set_options(timeout=DEADLINE_S * 1000)
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        await page.goto(f"{sandbox.base_url}/pricing")
        plan = page.locator("#plan-starter")
        await expect(plan).to_contain_text("$99.00 every 30 days")
        await plan.get_by_label("E-mail for the receipt (optional)").fill("nico@example.com")
        await plan.get_by_role("button", name="Subscribe by card").click()
        await expect(page.get_by_role("heading", name="Checkout")).to_be_visible()  # the fake
        await page.get_by_role("button", name="Pay").click()
        command = page.locator("#link-command")
        await expect(command).to_contain_text("/start link_")
        await expect(page.locator("#portal-link")).to_be_visible()
        text = await command.inner_text()
        await browser.close()
    assert re.fullmatch(r"/start link_[A-Z0-9]{10}", text.strip())
    assert await Payment.filter(user_id=None).count() == 1
