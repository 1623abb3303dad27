"""The sandbox page in headless Chromium against the emulator and a tiny aiogram bot."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
)
from aiohttp import web

from bot.emulator import Emulator, setup_sandbox
from tests.emulator.helpers import TOKEN, make_bot, png, polling
from tests.waiting import DEADLINE_S

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
