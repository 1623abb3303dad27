"""/language: pick the interface language with inline buttons; persisted on the user."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.keyboards import LangCB, language_keyboard
from middlewares.users import UserCache
from services import users as users_service
from services.users import UserInfo

router = Router(name=__name__)


@router.message(Command("language"))
async def choose(message: Message, user: UserInfo) -> SendMessage:
    # returned, not awaited: answered in the webhook response (see handlers/start.py); the
    # text is a constant translation and the keyboard's labels are fixed language names
    return message.answer(_("language.choose"), reply_markup=language_keyboard(user.language))


@router.callback_query(LangCB.filter())
async def chosen(
    query: CallbackQuery, callback_data: LangCB, user: UserInfo, user_cache: UserCache, i18n: I18n
) -> None:
    updated = await users_service.set_language(user.telegram_id, callback_data.code)
    user_cache.put(updated)
    with i18n.use_locale(callback_data.code):
        text = _("language.saved")
        await query.answer(text)
        if isinstance(query.message, Message):
            await query.message.edit_text(text, reply_markup=language_keyboard(updated.language))
