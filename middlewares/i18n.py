"""Locale per update: the user's saved language, else Telegram's, else the default."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware


def pick_locale(i18n: I18n, user: Any, tg_user: TgUser | None, default: str = "en") -> str:
    """The user's saved language if shipped, else Telegram's `language_code`, else `default`."""
    available = i18n.available_locales
    if user is not None and user.language in available:
        return str(user.language)
    code = (tg_user.language_code or "").split("-")[0] if tg_user else ""
    return code if code in available else default


class UserLocaleMiddleware(I18nMiddleware):
    def __init__(self, i18n: I18n, default: str = "en") -> None:
        super().__init__(i18n)
        self.default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return pick_locale(self.i18n, data.get("user"), data.get("event_from_user"), self.default)
