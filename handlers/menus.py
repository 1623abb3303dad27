"""The client-side command menus, the menu button and the description: the bot's non-essential UI.

Telegram picks a private chat's menu by scope, most specific first: (this chat, the app's
language), (this chat), ..., (default, the app's language), (default). So:
- the default scope carries the visitor's menu in every shipped language (English without a
  language code: the fallback);
- a chat whose user saved a language (/language) gets ONE menu without a language code, in the
  saved language, and its per-language chat menus are deleted: the saved language then wins
  whatever language the Telegram app runs in;
- subscribers, admins and owners without a saved language get per-language menus of their role;
  visitors with paid access get the subscriber's (`menu_role`), refreshed when access changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonCommands,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiogram.utils.i18n import I18n

from handlers.commands import visible_commands
from models.users import Role
from services.users import profiles as users_service
from services.users.profiles import UserInfo
from services.users.registration import with_access

MENU_LANGUAGES: tuple[str, ...] = ("en", "es", "ru")
log = logging.getLogger(__name__)


def commands_for(role: Role, i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [
            BotCommand(command=spec.name, description=str(spec.description)[:256])
            for spec in visible_commands(role)
        ]


def _code(locale: str) -> str | None:
    return None if locale == "en" else locale


async def set_menu(
    bot: Bot, i18n: I18n, role: Role, chat_id: int | None = None, language: str | None = None
) -> None:
    """Default scope for `chat_id=None`; a per-chat scope otherwise. With a saved `language`
    (chats only) that language's menu for every app language; else one per shipped language,
    English the fallback."""
    scope = BotCommandScopeChat(chat_id=chat_id) if chat_id else BotCommandScopeDefault()
    if chat_id and language in MENU_LANGUAGES:
        await bot.set_my_commands(commands_for(role, i18n, language), scope=scope)
        for locale in MENU_LANGUAGES:
            if _code(locale) is not None:
                await bot.delete_my_commands(scope=scope, language_code=_code(locale))
        return
    for locale in MENU_LANGUAGES:
        await bot.set_my_commands(
            commands_for(role, i18n, locale), scope=scope, language_code=_code(locale)
        )


@dataclass
class UiPending:
    """What the UI set-up still has to do; `configure_ui` returns what is left after a round."""

    default_menu: bool = True
    menu_button: bool = True
    description: str | None = None  # the text still to set
    app_url: str | None = None  # the Mini App (https): the menu button opens it
    loopback: bool = False  # sandbox mode: the emulator opens the loopback page (http) too
    # per-chat menus still to set: the chat's role and saved language
    chats: dict[int, tuple[Role, str | None]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not (self.default_menu or self.menu_button or self.description or self.chats)


def menu_button(
    i18n: I18n, app_url: str | None, *, loopback: bool = False
) -> MenuButtonCommands | MenuButtonWebApp:
    """The chat's menu button: the Mini App when it has an https URL (Telegram's rule; in
    sandbox mode, `loopback`, the emulator's http page on this machine too, as Telegram's test
    environment allows), else the command list."""
    if app_url and (app_url.startswith("https://") or (loopback and _is_loopback(app_url))):
        text = i18n.gettext("miniapp.title", locale="en")
        return MenuButtonWebApp(text=text, web_app=WebAppInfo(url=app_url))
    return MenuButtonCommands()


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


async def configure_ui(bot: Bot, i18n: I18n, pending: UiPending) -> UiPending:
    """One round: each call on its own, so one failure (an owner who never opened the bot:
    "chat not found") does not hold back the others. Failures are logged; retry what is left."""
    left = UiPending(default_menu=False, menu_button=False, app_url=pending.app_url,
                     loopback=pending.loopback)  # fmt: skip
    if pending.default_menu and not await _attempt(
        "default menu", set_menu(bot, i18n, Role.PUBLIC)
    ):
        left.default_menu = True
    if pending.menu_button and not await _attempt(
        "menu button",
        bot.set_chat_menu_button(
            menu_button=menu_button(i18n, pending.app_url, loopback=pending.loopback)
        ),
    ):
        left.menu_button = True
    if pending.description and not await _attempt(
        "description", bot.set_my_description(pending.description)
    ):
        left.description = pending.description
    for chat_id, (role, language) in pending.chats.items():
        done = await _attempt(
            f"menu of chat {chat_id}", set_menu(bot, i18n, role, chat_id, language)
        )
        if not done:
            left.chats[chat_id] = (role, language)
    return left


async def _attempt(what: str, call: Awaitable[object]) -> bool:
    try:
        await call
    except Exception as exc:
        log.warning("bot UI set-up failed; will retry", extra={"part": what, "error": str(exc)})
        return False
    return True


def menu_role(user: UserInfo) -> Role:
    """The role whose menu the user's chat shows: a banned user's is the public one; a visitor
    with paid access (a plan, a trial, a grant) gets the subscriber's."""
    if user.is_banned:
        return Role.PUBLIC
    role = Role(user.role)
    if not role.at_least(Role.SUBSCRIBER) and user.access is not None and user.access.paid:
        return Role.SUBSCRIBER
    return role


async def refresh_user_menu(
    bot: Bot, i18n: I18n, telegram_id: int, role: Role, language: str | None = None
) -> None:
    """After a role or language change: a user with a saved language gets their role's menu in
    it; subscribers and staff get their role's menus; the rest (the banned: call with
    `Role.PUBLIC`) fall back to the default one.

    Non-essential: a failure is logged, never raised (the change itself is done).
    """
    try:
        if role.at_least(Role.SUBSCRIBER) or language in MENU_LANGUAGES:
            await set_menu(bot, i18n, role, chat_id=telegram_id, language=language)
            return
        scope = BotCommandScopeChat(chat_id=telegram_id)
        for locale in MENU_LANGUAGES:
            await bot.delete_my_commands(scope=scope, language_code=_code(locale))
    except Exception as exc:
        log.warning(
            "could not refresh a command menu", extra={"user_id": telegram_id, "error": str(exc)}
        )


async def refresh_access_menu(bot: Bot, i18n: I18n, telegram_id: int) -> None:
    """After a change of what the user paid for (`services.events.AccessChanged`): their chat
    shows the menu their access gives. Non-essential: failures are logged, never raised."""
    try:
        user = await with_access(await users_service.get_by_telegram_id(telegram_id))
    except Exception as exc:
        log.warning("could not load a user for their menu", extra={"user_id": telegram_id,
                    "error": str(exc)})  # fmt: skip
        return
    await refresh_user_menu(bot, i18n, telegram_id, menu_role(user), user.language)
