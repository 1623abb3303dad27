"""Fixtures: a real emulator on loopback, its control client, and aiogram's real Bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from tests.tgemu.helpers import OTHER_ID, TOKEN, USER_ID, make_bot
from tgemu import EmulatorClient, EmulatorServer


@pytest.fixture
async def server() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as running:
        yield running


@pytest.fixture
async def client(server: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with server.client() as control:
        await control.add_user(USER_ID, "Sam", username="sam_trades", label="Subscriber")
        await control.add_user(OTHER_ID, "Nico", language_code="es")
        yield control


@pytest.fixture
async def bot(server: EmulatorServer) -> AsyncIterator[Bot]:
    telegram_bot = make_bot(server.url)
    yield telegram_bot
    await telegram_bot.session.close()
