"""A Bot session that records every Bot API call instead of sending it (handler tests)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, Message, Update, User

BOT_TOKEN = "42:TEST-token-abcdefghijklmnopqrstu"
BOT_USER = User(id=42, is_bot=True, first_name="SignalDesk", username="signaldesk_bot")


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        name = type(method).__name__
        if name in ("SendMessage", "EditMessageText"):
            chat_id = getattr(method, "chat_id", None) or 0
            return Message(
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(chat_id), type="private"),
                from_user=BOT_USER,
                text=method.text,
            )
        if name == "GetMe":
            return BOT_USER
        return True

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any):  # pragma: no cover - unused
        msg = "handler tests never download files; use the emulator for that"
        raise AssertionError(msg)

    def texts(self) -> list[str]:
        out = []
        for call in self.calls:
            text = getattr(call, "text", None)
            if text is not None:
                out.append(text)
        return out

    def of(self, name: str) -> list[TelegramMethod[Any]]:
        return [c for c in self.calls if type(c).__name__ == name]


def make_bot() -> tuple[Bot, RecordingSession]:
    session = RecordingSession()
    bot = Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    return bot, session


_update_ids = itertools.count(1)


def text_update(
    user_id: int, text: str, *, username: str | None = None, language: str = "en"
) -> Update:
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate(
        {
            "update_id": next(_update_ids),
            "message": {
                "message_id": next(_update_ids),
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": user_id, "type": "private"},
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": f"U{user_id}",
                    "username": username,
                    "language_code": language,
                },
                "text": text,
                "entities": entities,
            },
        }
    )


def callback_update(user_id: int, data: str, *, message_id: int = 1) -> Update:
    return Update.model_validate(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "chat_instance": "ci",
                "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"},
                "message": {
                    "message_id": message_id,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": user_id, "type": "private"},
                    "from": BOT_USER.model_dump(),
                    "text": "menu",
                },
            },
        }
    )
