"""The dispatcher harness for /mystats and /drift: the real dispatcher, a recording bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from tests.handlers.recording import RecordingSession, make_bot, text_update


@dataclass
class Chat:
    bot: Bot
    dp: Dispatcher
    session: RecordingSession

    async def send(self, user_id: int, text: str, language: str = "en") -> list[str]:
        """The texts the bot sent in answer to `text` typed by `user_id`."""
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, text_update(user_id, text, language=language))
        return [
            str(getattr(c, "text", ""))
            for c in self.session.calls[before:]
            if type(c).__name__ == "SendMessage"
        ]


@pytest.fixture
async def chat(database: str) -> AsyncIterator[Chat]:
    settings = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000,
                             owner_ids="900")  # fmt: skip
    bot, session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n())
    yield Chat(bot, dp, session)
