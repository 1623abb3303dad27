"""The aiogram internals the assembly relies on (`bot.internals`, the webhook reply hook):
these fail if aiogram renames or drops them."""

from __future__ import annotations

import asyncio

from aiogram import Dispatcher
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Message
from aiohttp import JsonPayload, MultipartWriter

from bot.internals import polling_update_tasks
from bot.webhook import JsonReplyRequestHandler
from tests.tgemu.helpers import TOKEN, USER_ID, make_bot, polling
from tests.waiting import until
from tgemu import EmulatorServer


async def test_polling_update_tasks_hold_the_updates_being_handled() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    dp = Dispatcher()

    @dp.message()
    async def slow(_message: Message) -> None:
        entered.set()
        await release.wait()

    async with EmulatorServer(TOKEN) as server, server.client() as client:
        bot = make_bot(server.url)
        await client.add_user(USER_ID, "Ann")
        try:
            async with polling(dp, bot):
                await client.send(USER_ID, "hello")
                await until(entered.is_set, "the handler runs")
                tasks = list(polling_update_tasks(dp))
                assert len(tasks) == 1 and not tasks[0].done()
                release.set()
                await until(lambda: not polling_update_tasks(dp), "the task is gone")
                assert tasks[0].done() and tasks[0].exception() is None
        finally:
            await bot.session.close()


def test_webhook_replies_with_an_upload_fall_back_to_aiogram_multipart() -> None:
    """`JsonReplyRequestHandler` overrides aiogram's protected `_build_response_writer` hook
    and calls it (via super) for uploads: this fails if aiogram renames or drops it."""
    bot = make_bot("http://127.0.0.1:9")
    handler = JsonReplyRequestHandler(Dispatcher(), bot)
    photo = SendPhoto(chat_id=1, photo=BufferedInputFile(b"png", "a.png"))
    assert isinstance(handler._build_response_writer(bot, photo), MultipartWriter)
    text = SendMessage(chat_id=1, text="hi")
    assert isinstance(handler._build_response_writer(bot, text), JsonPayload)
