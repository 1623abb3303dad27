"""Fixtures: the real emulator on loopback and aiogram's real Bot pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from tests.tgemu.helpers import TOKEN, make_bot
from tgemu import EmulatorClient, EmulatorServer


@pytest.fixture
async def server() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as running:
        yield running


@pytest.fixture
async def control(server: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with server.client() as client:
        yield client


@pytest.fixture
async def bot(server: EmulatorServer) -> AsyncIterator[Bot]:
    telegram_bot = make_bot(server.url)
    yield telegram_bot
    await telegram_bot.session.close()
