"""Buttons on the lifecycle messages: "Renew" (opens the /plans buying options) and "Keep this
terminal active" (a terminal paused over the plan's limit swaps places with an active one).

Thin: `services.billing.lifecycle.keep` checks on the server that both terminals are the
user's and that the number of active ones stays within the plan.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from handlers import shop
from handlers.render import as_plain_text, fmt
from services.billing import lifecycle
from services.billing.callbacks import KeepCB, RenewCB
from services.users.profiles import UserInfo

router = Router(name=__name__)


@router.callback_query(RenewCB.filter())
async def renew(query: CallbackQuery, user: UserInfo) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await shop.plans(query.message, user)


@router.callback_query(KeepCB.filter())
async def keep(query: CallbackQuery, callback_data: KeepCB, user: UserInfo) -> None:
    kept = await lifecycle.keep(
        user.id, callback_data.device_id, callback_data.instead or None, clock.now()
    )
    if kept.resumed is None:  # no room: which active terminal should pause instead?
        kb = InlineKeyboardBuilder()
        for t in kept.choices:
            kb.button(
                text=_("lifecycle.btn_pause_instead").format(name=t.name[:40]),  # plain text
                callback_data=KeepCB(device_id=callback_data.device_id, instead=t.device_id),
            )
        kb.adjust(1)
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(_("lifecycle.pick_instead"), reply_markup=kb.as_markup())
        return
    if kept.paused is None:
        done = fmt(_("lifecycle.kept"), name=kept.resumed.name)
    else:
        done = fmt(_("lifecycle.swapped"), name=kept.resumed.name, other=kept.paused.name)
    await query.answer(as_plain_text(done)[:200])
    if isinstance(query.message, Message):
        await query.message.answer(done)
