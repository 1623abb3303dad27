"""/cancel leaves any dialog; everything no other handler took gets a sensible answer.

- an unknown command (or one addressed to another bot): a pointer to /help;
- free text in a private chat: "I understand commands", with the menu; a word that is one of
  the user's commands without its slash ("help") is pointed to it ("/help");
- a photo, sticker, document, voice message... in a private chat: what kind of message it
  was, that the bot cannot use it, and /help; during a dialog: answer the question in text;
- a button no handler takes (out of date, or forged data that fails its CallbackData's
  checks): an alert.

Groups and channels the bot posts to are left in peace: only commands get an answer there.
Service messages (payments, members joining) are not messages a person wrote: no answer.

/cancel returns its SendMessage (answered in the webhook response, see handlers/start.py): its
texts are constant translations. The other replies are awaited so that a failed send reaches
the error router.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType, ContentType
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.commands import cmd, visible_commands
from handlers.keyboards import menu_keyboard
from handlers.render import fmt
from services.text.formatting import Term
from services.users.profiles import UserInfo

router = Router(name=__name__)
cancel_router = Router(name=f"{__name__}.cancel")
PRIVATE = F.chat.type == ChatType.PRIVATE
# What a person can send; each kind is named in the answer (common.kind_<type>).
KINDS: tuple[str, ...] = tuple(
    kind.value
    for kind in (
        ContentType.PHOTO, ContentType.STICKER, ContentType.DOCUMENT, ContentType.VOICE,
        ContentType.VIDEO, ContentType.VIDEO_NOTE, ContentType.AUDIO, ContentType.ANIMATION,
        ContentType.LOCATION, ContentType.VENUE, ContentType.CONTACT, ContentType.POLL,
        ContentType.DICE, ContentType.STORY,
    )
)  # fmt: skip


@cancel_router.message(cmd("cancel"))
async def cancel(message: Message, state: FSMContext) -> SendMessage:
    current = await state.get_state()
    await state.clear()
    return message.answer(_("cancel.done") if current else _("cancel.nothing"))


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, bot: Bot) -> None:
    mention = (message.text or "").split(maxsplit=1)[0].partition("@")[2]
    if mention and message.chat.type != ChatType.PRIVATE:
        me = await bot.me()
        if mention.casefold() != (me.username or "").casefold():
            return  # /start@otherbot in a group: another bot's command, not ours to answer
    await message.answer(_("common.unknown_command"))


@router.message(PRIVATE, F.text)
async def free_text(message: Message, state: FSMContext, user: UserInfo) -> None:
    if await state.get_state() is not None:  # a dialog whose step takes no text (buttons)
        await message.answer(_("common.in_dialog"))
        return
    word = (message.text or "").strip().casefold().removeprefix("/")
    if word in {spec.name for spec in visible_commands(user.role)}:
        await message.answer(fmt(_("common.did_you_mean"), command=f"/{word}"))
        return
    await message.answer(_("common.free_text"), reply_markup=menu_keyboard(user.role))


@router.message(PRIVATE, F.content_type.in_(KINDS))
async def not_text(message: Message, state: FSMContext) -> None:
    kind = Term(f"common.kind_{ContentType(message.content_type).value}")
    if await state.get_state() is not None:
        await message.answer(fmt(_("common.in_dialog_not_text"), kind=kind))
        return
    await message.answer(fmt(_("common.not_text"), kind=kind))


@router.callback_query()
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("common.button_invalid"), show_alert=True)
