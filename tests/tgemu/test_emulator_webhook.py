"""Webhook mode: the emulator POSTs updates to aiogram's SimpleRequestHandler."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from tests.tgemu.helpers import USER_ID
from tgemu import EmulatorClient

SECRET = "s3cret-token_1"


def webhook_dispatcher() -> Dispatcher:
    router = Router()

    @router.message(F.text == "inline")
    async def inline_answer(message: Message) -> SendMessage:
        return message.answer("answered in the webhook response")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"hook: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


@contextlib.asynccontextmanager
async def webhook_app(bot: Bot, *, background: bool = True) -> AsyncIterator[str]:
    """aiogram's webhook handler on a loopback port; yields its URL."""
    dp = webhook_dispatcher()
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=SECRET, handle_in_background=background).register(
        app, path="/tg/webhook"
    )
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/tg/webhook"
    finally:
        await runner.cleanup()


async def test_updates_are_delivered_with_the_secret_header(
    bot: Bot, client: EmulatorClient
) -> None:
    async with webhook_app(bot) as url:
        await bot.set_webhook(url, secret_token=SECRET)
        await client.send(USER_ID, "via webhook")
        reply = await client.wait_for_bot(USER_ID)
        info = await bot.get_webhook_info()
    assert reply["text"] == "hook: via webhook"
    assert info.url == url and info.pending_update_count == 0
    assert info.last_error_message is None
    assert (await client.stats())["updates_delivered"] == 1


async def test_wrong_secret_is_rejected_then_retried_after_fix(
    bot: Bot, client: EmulatorClient
) -> None:
    async with webhook_app(bot) as url:
        await bot.set_webhook(url, secret_token="wrong-secret")
        await client.send(USER_ID, "knock knock")
        status = await client.webhook_status(min_attempts=2, wait=30)
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        assert info.pending_update_count == 1
        assert [a["ok"] for a in status["attempts"][:2]] == [False, False]
        await bot.set_webhook(url, secret_token=SECRET)  # cuts the backoff short
        reply = await client.wait_for_bot(USER_ID)
    assert reply["text"] == "hook: knock knock"
    stats = await client.stats()
    assert stats["webhook_failures"] >= 2 and stats["updates_delivered"] == 1


async def test_method_in_the_webhook_response_is_executed(
    bot: Bot, client: EmulatorClient
) -> None:
    async with webhook_app(bot, background=False) as url:
        await bot.set_webhook(url, secret_token=SECRET)
        await client.send(USER_ID, "inline")
        reply = await client.wait_for_bot(USER_ID)
    assert reply["text"] == "answered in the webhook response"


async def test_get_updates_conflicts_with_an_active_webhook(
    bot: Bot, client: EmulatorClient
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/unreachable", drop_pending_updates=True)
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []
