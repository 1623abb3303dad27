"""The sandbox page in headless Chromium against the emulator and a tiny aiogram bot."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotSubscriptionUpdated,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from aiohttp import web

from tests.tgemu.helpers import TOKEN, make_bot, png, polling
from tests.waiting import DEADLINE_S
from tgemu import Emulator, setup_sandbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUBSCRIBER = 1000002

pytestmark = pytest.mark.browser


def demo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Approve", callback_data="sig:approve:7")],
                [InlineKeyboardButton(text="Docs", url="https://example.invalid/docs")],
            ]
        )
        await message.answer(
            "<b>New signal</b> XAUUSD buy 2381.50\nSL <code>2374.00</code> · TP 2396.50 "
            "&lt;risk 1%&gt;",
            reply_markup=keyboard,
        )

    @router.callback_query(F.data == "sig:approve:7")
    async def approve(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("<b>Signal approved</b> ✅ sent to your terminal")
        await query.answer("Approved")

    return router


@contextlib.asynccontextmanager
async def sandbox_server(emulator: Emulator) -> AsyncIterator[str]:
    app = web.Application()
    setup_sandbox(app, emulator)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def chat_and_press(page: Any, expect: Any) -> None:
    """Pick a persona, type /start, see the reply, press its button, see the edit."""
    await expect(page.locator(".banner")).to_contain_text("loopback only")
    await page.get_by_role("button", name="Sam Subscriber").click()
    await page.locator("#input").fill("/start")
    await page.locator("#input").press("Enter")
    signal = page.locator(".row.bot", has_text="New signal")
    await expect(signal).to_be_visible()
    await expect(signal.locator("b")).to_have_text("New signal")
    await expect(signal).to_contain_text("<risk 1%>")  # escaped text, not markup
    await expect(page.locator(".row.user .text")).to_have_text("/start")
    await page.screenshot(path="/tmp/sandbox-keyboard.png")
    await signal.get_by_role("button", name="Approve").click()
    approved = page.locator(".row.bot", has_text="Signal approved")
    await expect(approved).to_be_visible()
    await expect(approved.locator(".meta")).to_contain_text("edited")
    await expect(page.locator("#toast")).to_contain_text("Approved")
    await expect(page.locator(".row.bot")).to_have_count(1)  # edited in place


async def media_and_commands(page: Any, expect: Any, bot: Bot) -> None:
    await bot.send_photo(SUBSCRIBER, BufferedInputFile(png(160, 90), "c.png"), caption="H1")
    price = [LabeledPrice(label="Pro", amount=250)]
    await bot.send_invoice(SUBSCRIBER, "Pro plan", "30 days of signals", "plan:pro", "XTR", price)
    await expect(page.locator(".invoice")).to_contain_text("★ 250")
    assert await page.locator("img.photo").evaluate("img => img.naturalWidth") == 160
    await page.locator("#commands-button").click()
    await expect(page.locator(".commands-menu")).to_contain_text("/start")
    await page.locator("#commands-button").click()


async def test_sandbox_chat_in_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    playwright_api.expect.set_options(timeout=DEADLINE_S * 1000)  # polls: only slow when loaded
    async with sandbox_server(Emulator(TOKEN)) as base:
        bot = make_bot(f"{base}/emulator")
        await bot.set_my_commands([BotCommand(command="start", description="Start the bot")])
        dp = Dispatcher()
        dp.include_router(demo_router())
        async with polling(dp, bot), playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1100, "height": 720})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/sandbox")
            await chat_and_press(page, playwright_api.expect)
            await media_and_commands(page, playwright_api.expect, bot)
            await page.screenshot(path="/tmp/sandbox.png")
            await browser.close()
        await bot.session.close()
    assert errors == []


async def browser_page(pw: Any, base: str, viewport: dict[str, int]) -> tuple[Any, Any, list]:
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = await browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base}/sandbox")
    return browser, page, errors


async def test_page_details_in_chromium(tmp_path: Path) -> None:
    """A document's name sits above its caption; "</b>" in a name is no command link; persona
    labels follow changes; no panels without the app's panels API."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    expect = playwright_api.expect
    emulator = Emulator(TOKEN)
    async with sandbox_server(emulator) as base, playwright_api.async_playwright() as pw:
        bot = make_bot(f"{base}/emulator")
        browser, page, errors = await browser_page(pw, base, {"width": 1100, "height": 720})
        await page.get_by_role("button", name="Sam Subscriber").click()
        report = BufferedInputFile(b"%PDF-1.4 report", "signaldesk-monthly-report-2017-05.pdf")
        await bot.send_document(SUBSCRIBER, report, caption="Your May statement")
        doc = page.locator(".row.bot .doc")
        await expect(doc).to_contain_text("signaldesk-monthly-report-2017-05.pdf")
        caption = page.locator(".row.bot", has=page.locator(".doc")).locator(".text")
        await expect(caption).to_have_text("Your May statement")
        doc_box, caption_box = await doc.bounding_box(), await caption.bounding_box()
        assert caption_box["y"] >= doc_box["y"] + doc_box["height"]  # below it, not beside

        await bot.send_message(SUBSCRIBER, "Device <b>&lt;b&gt;Lab&lt;/b&gt;</b> paired. /devices")
        named = page.locator(".row.bot", has_text="paired")
        await expect(named).to_contain_text("Device <b>Lab</b> paired.")
        await expect(named.locator(".command")).to_have_text(["/devices"])

        emulator.update_user(1000003, label="Admin")  # the app does this after /role
        await expect(page.get_by_role("button", name="Nico Admin")).to_be_visible()
        await expect(page.locator("#replay")).to_be_hidden()  # a bare emulator: no panels
        await expect(page.locator("#terminal")).to_be_hidden()
        await page.screenshot(path=str(tmp_path / "sandbox-details.png"))
        await browser.close()
        await bot.session.close()
    assert errors == []


async def test_persona_switcher_is_reachable_at_phone_width(tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    expect = playwright_api.expect
    async with sandbox_server(Emulator(TOKEN)) as base, playwright_api.async_playwright() as pw:
        bot = make_bot(f"{base}/emulator")
        browser, page, errors = await browser_page(pw, base, {"width": 390, "height": 844})
        await page.get_by_role("button", name="Sam").click()
        for n in range(30):  # a long chat must not squeeze the switcher away
            await bot.send_message(SUBSCRIBER, f"update {n}: " + "long text " * 12)
        await expect(page.locator(".row.bot", has_text="update 29:")).to_be_visible()
        for name in ("Olivia", "Sam", "Nico"):
            button = page.get_by_role("button", name=name)
            await expect(button).to_be_in_viewport()
            box = await button.bounding_box()
            assert box["height"] >= 30 and box["x"] >= 0 and box["x"] + box["width"] <= 390
        await expect(page.get_by_role("button", name="Sam")).to_contain_text("Subscriber")
        await expect(page.locator("#composer")).to_be_in_viewport()
        await page.screenshot(path=str(tmp_path / "sandbox-390.png"))
        await page.get_by_role("button", name="Nico").click()
        await expect(page.get_by_role("button", name="Nico")).to_have_class("persona active")
        await expect(page.locator(".row.bot")).to_have_count(0)  # Nico's own chat
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing sticks out sideways
        await browser.close()
        await bot.session.close()
    assert errors == []
    assert (tmp_path / "sandbox-390.png").stat().st_size > 0


def shop_router(bot: Bot) -> Router:
    """Answers pre-checkout yes, thanks for payments, says what each `subscription` update was."""
    router = Router()

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    @router.message(F.successful_payment)
    async def paid(message: Message) -> None:
        assert message.successful_payment is not None
        first = message.successful_payment.is_first_recurring is not False
        await message.answer("Welcome to Pro" if first else "Renewed, thank you")

    @router.subscription()
    async def changed(update: BotSubscriptionUpdated) -> None:
        await bot.send_message(update.user.id, f"Your subscription is now {update.state}")

    return router


async def test_paying_invoices_and_managing_subscriptions_in_chromium(tmp_path: Path) -> None:
    """The invoice's Pay button, an invoice link in a URL button and in text, then the
    subscriptions panel: renew, cancel, re-enable, a failed renewal."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    expect = playwright_api.expect
    expect.set_options(timeout=DEADLINE_S * 1000)
    async with sandbox_server(Emulator(TOKEN)) as base:
        bot = make_bot(f"{base}/emulator")
        dp = Dispatcher()
        dp.include_router(shop_router(bot))
        async with polling(dp, bot), playwright_api.async_playwright() as pw:
            browser, page, errors = await browser_page(pw, base, {"width": 1100, "height": 820})
            await page.get_by_role("button", name="Sam Subscriber").click()
            price = [LabeledPrice(label="Pro", amount=250)]
            await bot.send_invoice(SUBSCRIBER, "Pro plan", "30 days", "plan:pro", "XTR", price)
            await page.locator(".pay-button").click()
            await expect(page.locator(".row.service", has_text="paid ★ 250")).to_be_visible()
            await expect(page.locator(".row.bot", has_text="Welcome to Pro")).to_have_count(1)
            await expect(page.locator("#subs")).to_be_hidden()  # a one-off payment

            link = await bot.create_invoice_link(
                "Pro monthly", "Renews every 30 days", "sub:pro", "XTR",
                [LabeledPrice(label="Pro", amount=300)], subscription_period=2592000,
            )  # fmt: skip
            button = InlineKeyboardButton(text="Pro monthly ★300", url=link)
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[button]])
            await bot.send_message(SUBSCRIBER, "Pro, monthly", reply_markup=keyboard)
            await page.locator(".kb-button", has_text="Pro monthly").click()
            await expect(page.locator(".row.service", has_text="paid ★ 300")).to_be_visible()
            sub = page.locator(".sub")
            await expect(sub).to_contain_text("Pro monthly")
            await expect(sub).to_contain_text("Renews")

            await sub.get_by_role("button", name="Renew now").click()
            await expect(page.locator(".row.bot", has_text="Renewed, thank you")).to_be_visible()
            await expect(page.locator(".row.service", has_text="paid ★ 300")).to_have_count(2)
            await sub.get_by_role("button", name="Cancel subscription").click()
            await expect(page.locator(".row.bot", has_text="now canceled")).to_be_visible()
            await expect(sub).to_contain_text("Canceled: paid until")
            await sub.get_by_role("button", name="Re-enable").click()
            await expect(page.locator(".row.bot", has_text="now active")).to_be_visible()
            await sub.get_by_role("button", name="Fail renewal").click()
            await expect(page.locator(".row.bot", has_text="now failed")).to_be_visible()
            await expect(sub).to_contain_text("Renewal failed")

            await bot.send_message(SUBSCRIBER, f"Or pay here: {link}")
            await page.locator(".invoice-link").click()
            await expect(page.locator(".sub")).to_have_count(2)
            await page.screenshot(path=str(tmp_path / "sandbox-subscriptions.png"))
            await browser.close()
        await bot.session.close()
    assert errors == []
