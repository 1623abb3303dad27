"""Fixtures: a real emulator on loopback, its control client, and aiogram's real Bot on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.emulator import EmulatorClient, EmulatorServer

TOKEN = "123456789:TEST-emulator-token"
USER_ID = 1000002
OTHER_ID = 1000003


class _QuickSession(AiohttpSession):
    """aiogram's session without the 250 ms TLS grace sleep on close (loopback, plain HTTP)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(base_url: str, token: str = TOKEN) -> Bot:
    session = _QuickSession(api=TelegramAPIServer.from_base(base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
async def server() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as running:
        yield running


@pytest.fixture
async def client(server: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(server.url) as control:
        await control.add_user(USER_ID, "Sam", username="sam_trades", label="Subscriber")
        await control.add_user(OTHER_ID, "Nico", language_code="es")
        yield control


@pytest.fixture
async def bot(server: EmulatorServer) -> AsyncIterator[Bot]:
    telegram_bot = make_bot(server.url)
    yield telegram_bot
    await telegram_bot.session.close()


@contextlib.asynccontextmanager
async def polling(dp: Dispatcher, telegram_bot: Bot) -> AsyncIterator[None]:
    """Run aiogram's real long-polling loop for the duration of the block."""
    task = asyncio.create_task(
        dp.start_polling(telegram_bot, handle_signals=False, close_bot_session=False)
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
