"""/start (registration and deep links), /help and /menu.

/help and /menu RETURN their SendMessage instead of awaiting it: in webhook mode the method then
travels back in the webhook's HTTP response (bot/webhook.py), one exchange instead of two, and
these are the hottest commands (bench/updates.py). The price: a failure of that send never
reaches the error router (Telegram, or aiogram's silent_call_request, drops it). So a returned
method carries only texts that cannot fail on entities: translations and escaped constants,
nothing a user wrote (tests/bot/test_html_escaping.py checks every locale and role). Any reply
that interpolates user data (/start greets by name) is awaited, so its failure is handled.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.keyboards import MenuCB, admin_keyboard, language_keyboard, menu_keyboard
from handlers.render import fmt, help_text, role_name
from middlewares.users import UserCache
from models.users import Role
from services import users as users_service
from services.users import UserInfo

router = Router(name=__name__)


@router.message(CommandStart())
async def start(
    message: Message, command: CommandObject, user: UserInfo, user_cache: UserCache
) -> None:
    payload = (command.args or "").strip()
    if payload.startswith("ref_"):
        referrer = await users_service.apply_referral(user.id, payload.removeprefix("ref_"))
        if referrer is not None:
            user_cache.invalidate(user.telegram_id)
            await message.answer(fmt(_("start.referred"), name=referrer.first_name or "🙂"))
    await message.answer(
        fmt(_("start.welcome"), name=user.first_name or "🙂", role=role_name(user.role)),
        reply_markup=menu_keyboard(user.role),
    )


@router.message(Command("help"))
async def help_(message: Message, user: UserInfo) -> SendMessage:
    return message.answer(help_text(user.role))


@router.message(Command("menu"))
async def menu(message: Message, user: UserInfo) -> SendMessage:
    return message.answer(_("menu.title"), reply_markup=menu_keyboard(user.role))


@router.callback_query(MenuCB.filter(F.item == "help"))
async def menu_help(query: CallbackQuery, user: UserInfo) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text(user.role))


@router.callback_query(MenuCB.filter(F.item == "language"))
async def menu_language(query: CallbackQuery, user: UserInfo) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("language.choose"), reply_markup=language_keyboard(user.language)
        )


@router.callback_query(MenuCB.filter(F.item == "admin"), flags={"role": Role.ADMIN})
async def menu_admin(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("admin.title"), reply_markup=admin_keyboard())
