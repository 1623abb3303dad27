"""The one aiogram internal the assembly reads (`bot.internals`): fails if it goes away."""

from __future__ import annotations

import asyncio

from aiogram import Dispatcher
from aiogram.types import Message

from bot.internals import polling_update_tasks
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
