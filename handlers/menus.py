"""The client-side command menus: per-language, and per chat for admins and owners."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from handlers.commands import visible_commands
from models.users import Role

MENU_LANGUAGES: tuple[str, ...] = ("en", "es", "ru")
log = logging.getLogger(__name__)


def commands_for(role: Role, i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [
            BotCommand(command=spec.name, description=str(spec.description)[:256])
            for spec in visible_commands(role)
        ]


async def set_menu(bot: Bot, i18n: I18n, role: Role, chat_id: int | None = None) -> None:
    """Default scope for `chat_id=None`; a per-chat scope otherwise. English is the fallback."""
    scope = BotCommandScopeChat(chat_id=chat_id) if chat_id else BotCommandScopeDefault()
    for locale in MENU_LANGUAGES:
        await bot.set_my_commands(
            commands_for(role, i18n, locale),
            scope=scope,
            language_code=None if locale == "en" else locale,
        )


async def set_all_menus(bot: Bot, i18n: I18n, staff: list[tuple[int, Role]]) -> None:
    """Public commands for everyone; richer menus in each admin's and owner's private chat."""
    await set_menu(bot, i18n, Role.PUBLIC)
    for telegram_id, role in staff:
        await set_menu(bot, i18n, role, chat_id=telegram_id)


async def refresh_user_menu(bot: Bot, i18n: I18n, telegram_id: int, role: Role) -> None:
    """After a role change: staff get their own menu; others fall back to the default one.

    Non-essential: a failure is logged, never raised (the role change itself is done).
    """
    try:
        if role.at_least(Role.ADMIN):
            await set_menu(bot, i18n, role, chat_id=telegram_id)
            return
        scope = BotCommandScopeChat(chat_id=telegram_id)
        for locale in MENU_LANGUAGES:
            await bot.delete_my_commands(
                scope=scope, language_code=None if locale == "en" else locale
            )
    except Exception as exc:
        log.warning(
            "could not refresh a command menu", extra={"user_id": telegram_id, "error": str(exc)}
        )
