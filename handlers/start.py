"""/start (registration and deep links), /help and /menu.

/help and /menu RETURN their SendMessage instead of awaiting it: in webhook mode the method then
travels back in the webhook's HTTP response (bot/webhook.py), one exchange instead of two, and
these are the hottest commands (bench/updates.py). The price: a failure of that send never
reaches the error router (Telegram, or aiogram's silent_call_request, drops it). So a returned
method carries only texts that cannot fail on entities: translations and escaped constants,
nothing a user wrote (tests/handlers/test_html_escaping.py checks every locale and role). Any reply
that interpolates user data (/start greets by name) is awaited, so its failure is handled.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from core import clock
from core.settings import Settings
from handlers import promos
from handlers.commands import cmd, start_cmd
from handlers.keyboards import MenuCB, admin_keyboard, language_keyboard, menu_keyboard
from handlers.render import Html, fmt, help_text, role_name
from handlers.shop import plan_name
from models.users import Role
from services import app_settings
from services.billing import affiliates, stripe_ledger
from services.users import entitlements
from services.users import profiles as users_service
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)


@router.message(start_cmd())
async def start(
    message: Message,
    command: CommandObject,
    user: UserInfo,
    user_cache: UserCache,
    first_contact: bool = False,
) -> None:
    payload = (command.args or "").strip()
    if payload.startswith("ref_"):
        await _referral(message, user, user_cache, payload.removeprefix("ref_"), first_contact)
    elif payload.startswith("promo_"):  # the welcome comes first, then what the code gave
        await message.answer(await _welcome(user), reply_markup=menu_keyboard(user.role))
        await promos.redeem_reply(message, user, user_cache, payload.removeprefix("promo_"))
        return
    elif payload.startswith("link_"):
        await _link(message, user, payload.removeprefix("link_"))
    await message.answer(await _welcome(user), reply_markup=menu_keyboard(user.role))


async def _referral(
    message: Message, user: UserInfo, user_cache: UserCache, code: str, first_contact: bool
) -> None:
    """An invitation counts on the user's first contact only: sent again later (by them or
    anyone already registered) it credits nobody and claims nothing."""
    if not first_contact:
        await affiliates.record_click(code, user.telegram_id, attributed=False, now=clock.now())
        await message.answer(_("start.referral_ignored"))
        return
    referrer = await users_service.apply_referral(user.id, code)
    await affiliates.record_click(
        code, user.telegram_id, attributed=referrer is not None, now=clock.now()
    )
    if referrer is not None:
        user_cache.invalidate(user.telegram_id)
        await message.answer(fmt(_("start.referred"), name=referrer.first_name or "🙂"))


async def _link(message: Message, user: UserInfo, code: str) -> None:
    """A card buyer's one-time code from the web success page: their Stripe subscription and
    what it paid for become this account's (refusals answer through the error router)."""
    linked = await stripe_ledger.link(user.id, user.telegram_id, code, clock.now())
    if not linked.granted:
        await message.answer(_("start.linked_pending"))
        return
    last = max(linked.granted, key=lambda e: e.ends_at)
    await message.answer(fmt(_("start.linked"), plan=plan_name(last.plan), date=last.ends_at))


async def _welcome(user: UserInfo) -> Html:
    """What this user gets here: a subscriber the signals and their tools; a visitor the
    delayed summaries and how to upgrade (they get no real-time signals until they pay)."""
    hello = {"name": user.first_name or "🙂", "role": role_name(user.role)}
    if entitlements.can_trade_signals(user):
        text = fmt(_("start.welcome_subscriber"), **hello)
        return (
            Html(text + "\n" + _("start.staff_tools")) if user.role.at_least(Role.ADMIN) else text
        )
    delay = timedelta(hours=await app_settings.free_delay_hours())
    if delay <= timedelta(0):
        return fmt(_("start.welcome_visitor_now"), **hello)
    return fmt(_("start.welcome_visitor"), delay=delay, **hello)


@router.message(cmd("help"))
async def help_(message: Message, user: UserInfo) -> SendMessage:
    return message.answer(help_text(user.role))


@router.message(cmd("menu"))
async def menu(message: Message, user: UserInfo, settings: Settings) -> SendMessage:
    return message.answer(
        _("menu.title"), reply_markup=menu_keyboard(user.role, settings.miniapp_link)
    )


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
