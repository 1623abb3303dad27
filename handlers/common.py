"""/cancel leaves any dialog; unknown commands get a pointer to /help; a button no handler
takes (out of date, or forged data that fails its CallbackData's checks) gets an alert.

/cancel returns its SendMessage (answered in the webhook response, see handlers/start.py): its
texts are constant translations. The unknown-command reply is awaited so that a failed send
reaches the error router.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

router = Router(name=__name__)
cancel_router = Router(name=f"{__name__}.cancel")


@cancel_router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext) -> SendMessage:
    current = await state.get_state()
    await state.clear()
    return message.answer(_("cancel.done") if current else _("cancel.nothing"))


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(_("common.unknown_command"))


@router.callback_query()
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("common.button_invalid"), show_alert=True)
