"""/trial [plan]: a free trial of a plan, once per Telegram account; and `trial_buttons`, the
"Try it free" buttons /plans shows when a trial is available (handlers/shop.py adds them to its
keyboard)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from handlers.shop import FEATURE_ORDER, plan_name
from services.billing import trials
from services.billing.catalog import Feature
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)


def _features(features: frozenset[Feature]) -> str:
    return ", ".join(_(f"feature.{f.value}") for f in FEATURE_ORDER if f in features)


class TrialCB(CallbackData, prefix="trial"):
    plan: str  # a plan code (at most 32 characters)


async def add_trial_buttons(kb: InlineKeyboardBuilder, user: UserInfo) -> int:
    """Add one "Try <plan> free for N days" button (a row each) per plan `user` may try now
    to `kb` (/plans calls this for its keyboard); returns how many (0: no trial)."""
    offers = await trials.available(user, clock.now())
    for o in offers:
        kb.button(
            text=_("trial.btn").format(plan=plan_name(o.code), days=o.terms.trial_days),
            callback_data=TrialCB(plan=o.code),
        )
    return len(offers)


async def _start(message: Message, user: UserInfo, user_cache: UserCache, code: str) -> None:
    started = await trials.start(user, code, clock.now())
    user_cache.invalidate(user.telegram_id)
    terms = started.offer.terms
    await message.answer(
        fmt(
            _("trial.started"), name=plan_name(started.offer.code),
            features=Html(_features(terms.features)),
            terminals=plural("shop.terminals", terms.terminal_limit),
            ends=started.entitlement.ends_at,
        )
    )  # fmt: skip


@router.message(cmd("trial"))
async def trial(
    message: Message, command: CommandObject, user: UserInfo, user_cache: UserCache
) -> None:
    code = (command.args or "").strip()
    if code:
        await _start(message, user, user_cache, code)
        return
    kb = InlineKeyboardBuilder()
    if not await add_trial_buttons(kb, user):
        await message.answer(_("trial.none"))
        return
    kb.adjust(1)
    await message.answer(_("trial.choose"), reply_markup=kb.as_markup())


@router.callback_query(TrialCB.filter())
async def trial_pressed(
    query: CallbackQuery, callback_data: TrialCB, user: UserInfo, user_cache: UserCache
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _start(query.message, user, user_cache, callback_data.plan)
