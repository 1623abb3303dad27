"""/post: publish a manual signal through a guided dialog with validation and a preview.

Steps: symbol -> side -> entry -> stop -> take-profit (or "auto" for 3.25 R) -> expiry hours
(or "auto" for 100) -> note (or "-") -> preview with Publish / Cancel. /cancel leaves at any step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.render import Html, as_plain_text, fmt
from models.signals import SignalStatus
from models.users import Role
from services import app_settings, signals
from services import strategy as strategy_service
from services.ops_alerts import OpsAlerts
from services.signal_views import SignalView, full_text
from services.users import UserInfo
from trading.constants import ORDER_EXPIRY_HOURS

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
AUTO = ("auto", "-", "skip")
ANSWER = F.text & ~F.text.startswith("/")  # a command interrupts the dialog instead


class PostSignal(StatesGroup):
    symbol = State()
    side = State()
    entry = State()
    stop = State()
    take_profit = State()
    expiry = State()
    note = State()
    confirm = State()


class PostCB(CallbackData, prefix="post"):
    action: str  # buy | sell | publish | discard


@router.message(Command("post"), flags=ADMIN)
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(PostSignal.symbol)
    await message.answer(_("post.ask_symbol"))


@router.message(PostSignal.symbol, ANSWER, flags=ADMIN)
async def got_symbol(message: Message, state: FSMContext) -> None:
    symbol = strategy_service.check_symbol(message.text or "")
    await state.update_data(symbol=symbol)
    await state.set_state(PostSignal.side)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("signal.side_buy"), callback_data=PostCB(action="buy"))
    kb.button(text=_("signal.side_sell"), callback_data=PostCB(action="sell"))
    await message.answer(fmt(_("post.ask_side"), symbol=symbol), reply_markup=kb.as_markup())


@router.callback_query(PostSignal.side, PostCB.filter(F.action.in_({"buy", "sell"})), flags=ADMIN)
async def got_side(query: CallbackQuery, callback_data: PostCB, state: FSMContext) -> None:
    await state.update_data(side=callback_data.action)
    await state.set_state(PostSignal.entry)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("post.ask_entry"))


@router.message(PostSignal.side, ANSWER, flags=ADMIN)
async def side_by_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().lower()
    if text not in ("buy", "sell"):
        await message.answer(_("post.side_invalid"))
        return
    await state.update_data(side=text)
    await state.set_state(PostSignal.entry)
    await message.answer(_("post.ask_entry"))


@router.message(PostSignal.entry, ANSWER, flags=ADMIN)
async def got_entry(message: Message, state: FSMContext) -> None:
    price = strategy_service.parse_price(message.text or "")
    await state.update_data(entry=str(price))
    await state.set_state(PostSignal.stop)
    await message.answer(_("post.ask_stop"))


@router.message(PostSignal.stop, ANSWER, flags=ADMIN)
async def got_stop(message: Message, state: FSMContext) -> None:
    price = strategy_service.parse_price(message.text or "")
    data = await state.get_data()
    _draft(data | {"stop": str(price)})  # validate the side/levels now, not at the end
    await state.update_data(stop=str(price))
    await state.set_state(PostSignal.take_profit)
    await message.answer(_("post.ask_take_profit"))


@router.message(PostSignal.take_profit, ANSWER, flags=ADMIN)
async def got_take_profit(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().lower()
    tp = None if text in AUTO else str(strategy_service.parse_price(text))
    data = await state.get_data()
    _draft(data | {"take_profit": tp})
    await state.update_data(take_profit=tp)
    await state.set_state(PostSignal.expiry)
    await message.answer(fmt(_("post.ask_expiry"), default=ORDER_EXPIRY_HOURS))


@router.message(PostSignal.expiry, ANSWER, flags=ADMIN)
async def got_expiry(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().lower()
    if text in AUTO:
        hours = ORDER_EXPIRY_HOURS
    elif text.isdigit():
        hours = int(text)
    else:
        await message.answer(_("post.expiry_invalid"))
        return
    data = await state.get_data()
    _draft(data | {"expiry": hours})
    await state.update_data(expiry=hours)
    await state.set_state(PostSignal.note)
    await message.answer(_("post.ask_note"))


@router.message(PostSignal.note, ANSWER, flags=ADMIN)
async def got_note(message: Message, state: FSMContext, user: UserInfo) -> None:
    text = (message.text or "").strip()
    await state.update_data(note="" if text.lower() in AUTO else text[:200])
    draft = _draft(await state.get_data())
    await state.set_state(PostSignal.confirm)
    preview = _preview(draft, user)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("post.btn_publish"), callback_data=PostCB(action="publish"))
    kb.button(text=_("post.btn_discard"), callback_data=PostCB(action="discard"))
    visibility = await app_settings.visibility()
    await message.answer(
        # the card is HTML rendered by services.signal_views, which escapes the note and symbol
        fmt(_("post.preview"), card=Html(full_text(preview, user.language, visibility))),
        reply_markup=kb.as_markup(),
    )


@router.callback_query(PostSignal.confirm, PostCB.filter(F.action == "publish"), flags=ADMIN)
async def publish(
    query: CallbackQuery, state: FSMContext, user: UserInfo, alerts: OpsAlerts
) -> None:
    draft = _draft(await state.get_data())
    await state.clear()
    view = await strategy_service.publish_manual(user.telegram_id, draft, alerts=alerts)
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
    await message.answer(_("post.use_buttons"))


def _draft(data: dict[str, Any]) -> strategy_service.ManualDraft:
    tp = data.get("take_profit")
    return strategy_service.draft_manual(
        data["symbol"],
        data["side"],
        Decimal(data["entry"]),
        Decimal(data["stop"]),
        Decimal(tp) if tp else None,
        int(data.get("expiry", ORDER_EXPIRY_HOURS)),
        str(data.get("note", "")),
    )


def _preview(draft: strategy_service.ManualDraft, user: UserInfo) -> SignalView:
    now = datetime.now(UTC)
    return SignalView(
        id=0, symbol=draft.symbol, side=draft.side, status=SignalStatus.PUBLISHED,
        close_reason=None, version=1, entry=draft.entry, stop=draft.stop,
        take_profit=draft.take_profit, digits=signals.digits_for(draft.symbol),
        published_at=now, expires_at=now + timedelta(hours=draft.expiry_hours), result_r=None,
        rationale=draft.note, price_adjusted=False, source="manual",
    )  # fmt: skip
