"""/post: publish a manual signal through a guided dialog, checked against the market.

Steps: symbol -> side -> entry -> stop -> take-profit (or "auto" for 3.25 R) -> expiry hours
(or "auto" for 100) -> note (or "-") -> preview with Publish / Discard. Every question says
what it is about ("EURUSD BUY, entry 1.08450: the stop?"); a value that fails a check
(services.signals.manual_checks) is refused with the numbers and the same question comes again. Back
(the button, or /back) returns to the previous step; /cancel leaves at any step. What each
step asks and shows lives in handlers/post_dialog.py.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from core.settings import Settings
from handlers.commands import cmd
from handlers.post_dialog import (
    STEPS,
    PostCB,
    PostSignal,
    keyboard,
    limits,
    notes_text,
    question,
    reason,
    request_of,
    step_index,
)
from handlers.render import as_plain_text, fmt
from models.users import Role
from services.errors import UserFacingError
from services.ops_alerts import OpsAlerts
from services.signals import manual
from services.signals import manual_checks as checks
from services.signals.manual_checks import Market, Note
from services.text import vocabulary
from services.text.numbers import parse_int
from services.users.profiles import UserInfo
from trading.constants import ORDER_EXPIRY_HOURS

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
ANSWER = F.text & ~F.text.startswith("/")  # a command interrupts the dialog instead


async def _ask(
    target: Message, step: State, data: dict[str, Any], m: Market, user: UserInfo, head: str = ""
) -> None:
    text = await question(step, data, m, user)
    await target.answer(head + text, reply_markup=keyboard(step))


async def _market(
    target: Message, state: FSMContext, settings: Settings, data: dict[str, Any]
) -> Market | None:
    """The dialog symbol's market; when its feed is gone, say so and go back to the symbol."""
    try:
        return await manual.market(data["symbol"], limits(settings))
    except UserFacingError as exc:
        await state.set_state(PostSignal.symbol)
        await target.answer(reason(exc) + "\n\n" + _("post.q_symbol"))
        return None


# A step's check: the market and the dialog so far -> the values to store and notes to show.
Check = Callable[[Market, dict[str, Any]], tuple[dict[str, Any], tuple[Note, ...]]]


async def _answer(
    target: Message, state: FSMContext, settings: Settings, user: UserInfo, check: Check
) -> None:
    """Run `check` on the current step's answer: store it and ask the next question, or say
    why it was refused and ask the same question again."""
    data = await state.get_data()
    m = await _market(target, state, settings, data)
    if m is None:
        return
    step = STEPS[step_index(await state.get_state())]
    try:
        values, notes = check(m, data)
        following = STEPS[STEPS.index(step) + 1]
        text = await question(following, data | values, m, user)  # the preview checks it all
    except UserFacingError as exc:
        await _ask(target, step, data, m, user, head=reason(exc) + "\n\n")
        return
    await state.update_data(**values)
    await state.set_state(following)
    await target.answer(notes_text(notes) + text, reply_markup=keyboard(following))


# -- the steps ----------------------------------------------------------------------------------
@router.message(cmd("post"), flags=ADMIN)
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(PostSignal.symbol)
    await message.answer(_("post.q_symbol"))


@router.message(PostSignal.symbol, ANSWER, flags=ADMIN)
async def got_symbol(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    try:
        m = await manual.market(message.text or "", limits(settings))
    except UserFacingError as exc:
        await message.answer(reason(exc) + "\n\n" + _("post.q_symbol"))
        return
    await state.update_data(symbol=m.symbol)
    await state.set_state(PostSignal.side)
    await _ask(message, PostSignal.side, await state.get_data(), m, user)


def _side_check(side: str) -> Check:
    return lambda m, data: ({"side": side}, ())


@router.callback_query(PostSignal.side, PostCB.filter(F.action.in_({"buy", "sell"})), flags=ADMIN)
async def got_side(
    query: CallbackQuery, callback_data: PostCB, state: FSMContext, settings: Settings,
    user: UserInfo,
) -> None:  # fmt: skip
    await query.answer()
    if isinstance(query.message, Message):
        await _answer(query.message, state, settings, user, _side_check(callback_data.action))


@router.message(PostSignal.side, ANSWER, flags=ADMIN)
async def side_by_text(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    side = vocabulary.parse_side(message.text or "")  # buy/sell, compra/venta, покупка/продажа
    if side is None:
        await message.answer(_("post.side_invalid"), reply_markup=keyboard(PostSignal.side))
        return
    await _answer(message, state, settings, user, _side_check(side))


@router.message(PostSignal.entry, ANSWER, flags=ADMIN)
async def got_entry(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        done = checks.check_entry(m, data["side"], checks.parse_price(message.text or ""))
        return {"entry": str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.stop, ANSWER, flags=ADMIN)
async def got_stop(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        price = checks.parse_price(message.text or "")
        done = checks.check_stop(m, data["side"], Decimal(data["entry"]), price)
        return {"stop": str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.take_profit, ANSWER, flags=ADMIN)
async def got_take_profit(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip().lower()
        typed = None if vocabulary.means_default(text) else checks.parse_price(text)
        entry, stop = Decimal(data["entry"]), Decimal(data["stop"])
        done = checks.check_take_profit(m, data["side"], entry, stop, typed)
        return {"take_profit": None if typed is None else str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.expiry, ANSWER, flags=ADMIN)
async def got_expiry(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip().lower()
        hours = (
            ORDER_EXPIRY_HOURS
            if vocabulary.means_default(text)
            else parse_int(text, checks.EXPIRY_HOURS)
        )
        return {"expiry": hours}, ()

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.note, ANSWER, flags=ADMIN)
async def got_note(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip()
        return {"note": "" if vocabulary.means_default(text) else text[:200]}, ()

    await _answer(message, state, settings, user, check)


# -- back, publish, discard ---------------------------------------------------------------------
async def _back(target: Message, state: FSMContext, settings: Settings, user: UserInfo) -> None:
    previous = STEPS[max(0, step_index(await state.get_state()) - 1)]
    await state.set_state(previous)
    if previous is PostSignal.symbol:
        await target.answer(_("post.q_symbol"))
        return
    data = await state.get_data()
    m = await _market(target, state, settings, data)
    if m is not None:
        await _ask(target, previous, data, m, user)


@router.callback_query(StateFilter(PostSignal), PostCB.filter(F.action == "back"), flags=ADMIN)
async def back_button(
    query: CallbackQuery, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _back(query.message, state, settings, user)


@router.message(StateFilter(PostSignal), cmd("back"), flags=ADMIN)
async def back_command(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    await _back(message, state, settings, user)


@router.callback_query(PostSignal.confirm, PostCB.filter(F.action == "publish"), flags=ADMIN)
async def publish(
    query: CallbackQuery,
    state: FSMContext,
    settings: Settings,
    user: UserInfo,
    alerts: OpsAlerts,
) -> None:
    data = await state.get_data()
    await state.clear()  # a second tap finds no dialog: one signal per preview
    try:  # checked again: the price may have moved since the preview
        view = await manual.publish(
            user.telegram_id, request_of(data), limits(settings), alerts=alerts
        )
    except UserFacingError as exc:
        await state.set_data(data)
        await state.set_state(PostSignal.confirm)
        await query.answer(as_plain_text(reason(exc))[:200], show_alert=True)
        if isinstance(query.message, Message):
            await query.message.answer(reason(exc), reply_markup=keyboard(PostSignal.confirm))
        return
    published = fmt(_("post.published"), id=view.id)
    await query.answer(as_plain_text(published))
    if isinstance(query.message, Message):
        await query.message.edit_text(published)


@router.callback_query(PostSignal.confirm, PostCB.filter(F.action == "discard"), flags=ADMIN)
async def discard(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("post.discarded"))


@router.message(PostSignal.confirm, ANSWER, flags=ADMIN)
async def confirm_by_text(message: Message) -> None:
    await message.answer(_("post.use_buttons_back"))
