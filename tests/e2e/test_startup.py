"""Start-up resilience: non-essential Bot API calls that fail are retried, never fatal."""

from __future__ import annotations

import asyncio

import pytest

from bot import app as app_module
from bot.emulator import EmulatorClient, EmulatorServer
from tests.e2e.conftest import OWNER, SUB, app_settings, running_app


async def test_failing_menus_do_not_stop_the_bot_and_are_retried(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "UI_RETRY_DELAYS_S", (0.05, 0.05, 0.05))
    await tg.inject_fault("setMyCommands", 500, times=2)
    async with running_app(app_settings(clean_db, emulator.url)):
        await tg.send(SUB, "/help")
        reply = await tg.wait_for_bot(SUB, timeout=10)
        assert "/language" in reply["text"]  # the bot answers although its menus failed
        for _ in range(200):
            names = [c["command"] for c in await tg.commands(OWNER, OWNER)]
            if names:
                break
            await asyncio.sleep(0.02)
        assert "role" in names  # the retry set the owner's menu
        stats = await tg.stats()
    assert stats["methods"]["setMyCommands"] > 2
