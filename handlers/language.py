"""/language: pick the interface language (buttons, or `/language es`); saved on the user, and
the chat's command menu follows it (handlers/menus.py), whatever language the app runs in."""

from __future__ import annotations

from dataclasses import replace

from aiogram import Bot, Router
from aiogram.filters import CommandObject
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.commands import cmd
from handlers.keyboards import LANGUAGE_NAMES, LangCB, language_keyboard
from handlers.menus import menu_role, refresh_user_menu
from services.users import profiles as users_service
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)
# What people type after /language: the code, the language's own name, its English name.
LANGUAGE_WORDS = {
    **{code: code for code in LANGUAGE_NAMES},
    **{name.casefold(): code for code, name in LANGUAGE_NAMES.items()},
    "english": "en", "spanish": "es", "espanol": "es", "russian": "ru", "русский язык": "ru",
}  # fmt: skip


@router.message(cmd("language"))
async def choose(
    message: Message,
    command: CommandObject,
    user: UserInfo,
    user_cache: UserCache,
    bot: Bot,
    i18n: I18n,
) -> SendMessage | None:
    wanted = (command.args or "").strip().casefold()
    if wanted:  # /language es: saved at once
        code = LANGUAGE_WORDS.get(wanted, wanted)
        await _save(user, code, user_cache, bot, i18n)
        with i18n.use_locale(code):
            await message.answer(_("language.saved"))
        return None
    # returned, not awaited: answered in the webhook response (see handlers/start.py); the
    # text is a constant translation and the keyboard's labels are fixed language names
    return message.answer(_("language.choose"), reply_markup=language_keyboard(user.language))


@router.callback_query(LangCB.filter())
async def chosen(
    query: CallbackQuery,
    callback_data: LangCB,
    user: UserInfo,
    user_cache: UserCache,
    bot: Bot,
    i18n: I18n,
) -> None:
    updated = await _save(user, callback_data.code, user_cache, bot, i18n)
    with i18n.use_locale(callback_data.code):
        text = _("language.saved")
        await query.answer(text)
        if isinstance(query.message, Message):
            await query.message.edit_text(text, reply_markup=language_keyboard(updated.language))


async def _save(
    user: UserInfo, code: str, user_cache: UserCache, bot: Bot, i18n: I18n
) -> UserInfo:
    """Save the language (unsupported: InvalidInput) and set the chat's menu in it."""
    updated = await users_service.set_language(user.telegram_id, code)
    user_cache.put(updated)
    await refresh_user_menu(
        bot, i18n, updated.telegram_id, menu_role(replace(updated, access=user.access)),
        updated.language,
    )  # fmt: skip
    return updated
