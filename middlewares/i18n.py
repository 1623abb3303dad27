"""Locale per update: the user's saved language, else Telegram's, else the default."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from middlewares.data import typed
from services.text.i18n import pick_locale


class UserLocaleMiddleware(I18nMiddleware):
    def __init__(self, i18n: I18n, default: str = "en") -> None:
        super().__init__(i18n)
        self.default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        context = typed(data)
        return pick_locale(
            self.i18n.available_locales,
            context.get("user"),
            context.get("event_from_user"),
            self.default,
        )
