"""/devices: a subscriber's MetaTrader terminals: add (secret shown once, setup steps, the EA
file), rename, revoke, approval/copy mode, risk settings, resume after a guard pause.

Thin: every action goes through services (`devices` for the registry, `terminals` for views,
settings and resume), which check on the server that the terminal is the user's own.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, FSInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.settings import Settings
from handlers.commands import cmd
from handlers.render import fmt
from handlers.terminal_views import (
    LABELS,
    DevCB,
    card_keyboard,
    card_text,
    list_keyboard,
    list_text,
    setting_value,
    settings_keyboard,
    settings_text,
)
from models.devices import DeviceMode
from services.terminals import devices, ea_files
from services.terminals import overview as terminals
from services.terminals.risk_settings import FIELDS
from services.users import entitlements
from services.users.profiles import UserInfo

router = Router(name=__name__)
# Terminals follow entitlements, not roles: every service call below checks
# `terminals.require_entitled` (a public user with a paid plan may use them).
SUBSCRIBER: dict[str, object] = {}
EA_FILE = ea_files.EA_FILE
TYPED = F.text & ~F.text.startswith("/")  # commands are not answers to a question


class DeviceForm(StatesGroup):
    name = State()  # a new terminal's name
    rename = State()
    setting = State()


async def _edit(query: CallbackQuery, text: str, markup: object = None) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]


@router.message(cmd("devices"), flags=SUBSCRIBER)
async def devices_list(message: Message, user: UserInfo, state: FSMContext) -> None:
    await state.clear()
    views = await terminals.terminals(user)
    await message.answer(list_text(views), reply_markup=list_keyboard(views))


@router.callback_query(DevCB.filter(F.action == "list"), flags=SUBSCRIBER)
async def back_to_list(query: CallbackQuery, user: UserInfo) -> None:
    views = await terminals.terminals(user)
    await _edit(query, list_text(views), list_keyboard(views))


@router.callback_query(DevCB.filter(F.action == "open"), flags=SUBSCRIBER)
async def open_card(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    await _edit(query, card_text(view), card_keyboard(view))


# -- add ----------------------------------------------------------------------------------------
@router.callback_query(DevCB.filter(F.action == "add"), flags=SUBSCRIBER)
async def add(query: CallbackQuery, user: UserInfo, state: FSMContext) -> None:
    terminals.require_entitled(user)
    await state.set_state(DeviceForm.name)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("devices.ask_name"))


@router.message(DeviceForm.name, TYPED, flags=SUBSCRIBER)
async def got_name(
    message: Message, user: UserInfo, state: FSMContext, settings: Settings
) -> None:
    terminals.require_entitled(user)
    new = await devices.create_device(
        user.telegram_id, message.text or "", DeviceMode.APPROVAL, owners=settings.owners,
        plan_limit=entitlements.terminal_limit(user),
    )  # fmt: skip
    await state.clear()
    url = settings.server_url
    await message.answer(
        fmt(
            _("devices.created"),
            name=new.device.name,
            device_id=new.device_id,
            secret=new.secret,
            url=url,
        )
    )
    await _send_ea(message)


async def _send_ea(message: Message) -> None:
    """The EA source and its include files (needed to compile it), when shipped."""
    if not EA_FILE.is_file():
        return
    await message.answer_document(FSInputFile(EA_FILE), caption=_("devices.ea_file"))
    archive = ea_files.include_zip()
    if archive is not None:
        data = BufferedInputFile(archive, filename=ea_files.INCLUDE_ZIP)
        await message.answer_document(data, caption=_("devices.ea_includes"))


# -- rename, revoke, mode, resume ---------------------------------------------------------------
@router.callback_query(DevCB.filter(F.action == "rename"), flags=SUBSCRIBER)
async def rename(
    query: CallbackQuery, callback_data: DevCB, user: UserInfo, state: FSMContext
) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    await state.set_state(DeviceForm.rename)
    await state.update_data(device_id=view.device_id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(fmt(_("devices.ask_rename"), name=view.name))


@router.message(DeviceForm.rename, TYPED, flags=SUBSCRIBER)
async def got_rename(message: Message, user: UserInfo, state: FSMContext) -> None:
    device_id = str((await state.get_data())["device_id"])
    await terminals.owned(user, device_id)
    await devices.rename(user, device_id, message.text or "")
    await state.clear()
    view = await terminals.terminal(user, device_id)
    await message.answer(card_text(view), reply_markup=card_keyboard(view))


@router.callback_query(DevCB.filter(F.action == "revoke"), flags=SUBSCRIBER)
async def revoke(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("devices.btn_revoke_yes"),
        callback_data=DevCB(action="revoke_yes", device_id=view.device_id),
    )
    kb.button(
        text=_("devices.btn_keep"), callback_data=DevCB(action="open", device_id=view.device_id)
    )
    kb.adjust(1)
    await _edit(query, fmt(_("devices.confirm_revoke"), name=view.name), kb.as_markup())


@router.callback_query(DevCB.filter(F.action == "revoke_yes"), flags=SUBSCRIBER)
async def revoke_yes(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    await devices.revoke(user, view.device_id)
    views = await terminals.terminals(user)
    done = fmt(_("devices.revoked"), name=view.name)
    await _edit(query, done + "\n\n" + list_text(views), list_keyboard(views))


@router.callback_query(DevCB.filter(F.action == "mode"), flags=SUBSCRIBER)
async def toggle_mode(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    new = DeviceMode.APPROVAL if view.mode == DeviceMode.COPY else DeviceMode.COPY
    await devices.set_mode(user, view.device_id, new)
    view = await terminals.terminal(user, view.device_id)
    await _edit(query, card_text(view), card_keyboard(view))


@router.callback_query(DevCB.filter(F.action == "resume"), flags=SUBSCRIBER)
async def resume(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.resume(user, callback_data.device_id)
    await _edit(query, card_text(view), card_keyboard(view))


# -- risk settings --------------------------------------------------------------------------------
@router.callback_query(DevCB.filter(F.action == "settings"), flags=SUBSCRIBER)
async def show_settings(query: CallbackQuery, callback_data: DevCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    await _edit(query, settings_text(view), settings_keyboard(view))


@router.callback_query(DevCB.filter(F.action == "set"), flags=SUBSCRIBER)
async def ask_setting(
    query: CallbackQuery, callback_data: DevCB, user: UserInfo, state: FSMContext
) -> None:
    field = callback_data.field if callback_data.field in FIELDS else ""
    view = await terminals.terminal(user, callback_data.device_id)
    if not field:
        await query.answer(_("error.setting_unknown"), show_alert=True)
        return
    await state.set_state(DeviceForm.setting)
    await state.update_data(device_id=view.device_id, field=field)
    ask = (
        _("devices.ask_setting_clearable") if FIELDS[field].clearable else _("devices.ask_setting")
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            fmt(ask, label=LABELS[field], value=setting_value(view.limits, field))
        )


@router.message(DeviceForm.setting, TYPED, flags=SUBSCRIBER)
async def got_setting(message: Message, user: UserInfo, state: FSMContext) -> None:
    data = await state.get_data()
    device_id, field = str(data["device_id"]), str(data["field"])
    limits = await terminals.update_setting(user, device_id, field, message.text or "")
    await state.clear()  # a bad value raised above: the question stays open for another try
    view = await terminals.terminal(user, device_id)
    saved = fmt(
        _("devices.setting_saved"), label=LABELS[field], value=setting_value(limits, field)
    )
    await message.answer(
        saved + "\n\n" + settings_text(view), reply_markup=settings_keyboard(view)
    )
