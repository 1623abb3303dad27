"""/post: publish a manual signal through a guided dialog, checked against the market.

Steps: symbol -> side -> entry -> stop -> take-profit (or "auto" for 3.25 R) -> expiry hours
(or "auto" for 100) -> note (or "-") -> preview with Publish / Discard. Every question says
what it is about ("EURUSD BUY, entry 1.08450: the stop?"); a value that fails a check
(services.manual_signals) is refused with the numbers and the same question comes again. Back
(the button, or /back) returns to the previous step; /cancel leaves at any step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from handlers.render import Html, as_plain_text, fmt
from models.signals import SignalStatus
from models.users import Role
from services import app_settings, signals
from services import manual_signals as manual
from services.errors import UserFacingError
from services.manual_signals import Market, Note
from services.numbers import parse_int
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


STEPS: tuple[State, ...] = (
    PostSignal.symbol, PostSignal.side, PostSignal.entry, PostSignal.stop,
    PostSignal.take_profit, PostSignal.expiry, PostSignal.note, PostSignal.confirm,
)  # fmt: skip


class PostCB(CallbackData, prefix="post"):
    action: str  # buy | sell | back | publish | discard


def _limits(settings: Settings) -> manual.ManualLimits:
    return manual.ManualLimits(
        max_entry_pct=settings.manual_max_entry_pct,
        max_stop_pct=settings.manual_max_stop_pct,
        min_reward_risk=settings.manual_min_reward_risk,
        max_reward_risk=settings.manual_max_reward_risk,
    )


def _step(name: str | None) -> int:
    return next((i for i, s in enumerate(STEPS) if s.state == name), 0)


def _reason(exc: UserFacingError) -> Html:
    return fmt(_(exc.key), **exc.params)


def _notes(notes: tuple[Note, ...]) -> str:
    return "".join(fmt(_(n.key), **n.kwargs()) + "\n" for n in notes)


# -- questions ----------------------------------------------------------------------------------
def _keyboard(step: State) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    if step is PostSignal.side:
        kb.button(text=_("signal.side_buy"), callback_data=PostCB(action="buy"))
        kb.button(text=_("signal.side_sell"), callback_data=PostCB(action="sell"))
    if step is PostSignal.confirm:
        kb.button(text=_("post.btn_publish"), callback_data=PostCB(action="publish"))
        kb.button(text=_("post.btn_discard"), callback_data=PostCB(action="discard"))
    if step is not PostSignal.symbol:
        kb.button(text=_("post.btn_back"), callback_data=PostCB(action="back"))
    kb.adjust(2)
    return kb.as_markup() if step is not PostSignal.symbol else None


def _about(data: dict[str, Any], m: Market) -> dict[str, object]:
    """What the question is about: symbol, side and the levels given so far, as shown."""
    side = data.get("side")
    values: dict[str, object] = {"symbol": m.symbol, "last": m.price(m.quote.close)}
    values["time"] = f"{m.quote.bar_time:%d %b %H:%M}"
    if side:
        values["side"] = Html(_("signal.side_buy") if side == "buy" else _("signal.side_sell"))
    for key in ("entry", "stop"):
        if data.get(key):
            values[key] = m.price(Decimal(data[key]))
    return values


async def _question(step: State, data: dict[str, Any], m: Market, user: UserInfo) -> str:
    about = _about(data, m)
    if step is PostSignal.side:
        return fmt(_("post.q_side"), **about)
    if step is PostSignal.entry:
        return fmt(_("post.q_entry"), **about)
    if step is PostSignal.stop:
        return fmt(_("post.q_stop"), **about)
    if step is PostSignal.take_profit:
        entry, stop = Decimal(data["entry"]), Decimal(data["stop"])
        auto = manual.check_take_profit(m, data["side"], entry, stop, None).value
        return fmt(_("post.q_take_profit"), auto=m.price(auto), **about)
    if step is PostSignal.expiry:
        return fmt(_("post.q_expiry"), default=ORDER_EXPIRY_HOURS, **about)
    if step is PostSignal.note:
        return fmt(_("post.q_note"), **about)
    draft = manual.validate(m, _request(data))
    visibility = await app_settings.visibility()
    card = Html(full_text(_preview(draft), user.language, visibility))  # escaped by signal_views
    return fmt(_("post.preview"), card=card)


async def _ask(
    target: Message, step: State, data: dict[str, Any], m: Market, user: UserInfo, head: str = ""
) -> None:
    text = await _question(step, data, m, user)
    await target.answer(head + text, reply_markup=_keyboard(step))


async def _market(
    target: Message, state: FSMContext, settings: Settings, data: dict[str, Any]
) -> Market | None:
    """The dialog symbol's market; when its feed is gone, say so and go back to the symbol."""
    try:
        return await manual.market(data["symbol"], _limits(settings))
    except UserFacingError as exc:
        await state.set_state(PostSignal.symbol)
        await target.answer(_reason(exc) + "\n\n" + _("post.q_symbol"))
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
    step = STEPS[_step(await state.get_state())]
    try:
        values, notes = check(m, data)
        following = STEPS[STEPS.index(step) + 1]
        text = await _question(following, data | values, m, user)  # the preview checks it all
    except UserFacingError as exc:
        await _ask(target, step, data, m, user, head=_reason(exc) + "\n\n")
        return
    await state.update_data(**values)
    await state.set_state(following)
    await target.answer(_notes(notes) + text, reply_markup=_keyboard(following))


# -- the steps ----------------------------------------------------------------------------------
@router.message(Command("post"), flags=ADMIN)
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(PostSignal.symbol)
    await message.answer(_("post.q_symbol"))


@router.message(PostSignal.symbol, ANSWER, flags=ADMIN)
async def got_symbol(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    try:
        m = await manual.market(message.text or "", _limits(settings))
    except UserFacingError as exc:
        await message.answer(_reason(exc) + "\n\n" + _("post.q_symbol"))
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
    text = (message.text or "").strip().lower()
    if text not in ("buy", "sell"):
        await message.answer(_("post.side_invalid"), reply_markup=_keyboard(PostSignal.side))
        return
    await _answer(message, state, settings, user, _side_check(text))


@router.message(PostSignal.entry, ANSWER, flags=ADMIN)
async def got_entry(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        done = manual.check_entry(m, data["side"], manual.parse_price(message.text or ""))
        return {"entry": str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.stop, ANSWER, flags=ADMIN)
async def got_stop(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        price = manual.parse_price(message.text or "")
        done = manual.check_stop(m, data["side"], Decimal(data["entry"]), price)
        return {"stop": str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.take_profit, ANSWER, flags=ADMIN)
async def got_take_profit(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip().lower()
        typed = None if text in AUTO else manual.parse_price(text)
        entry, stop = Decimal(data["entry"]), Decimal(data["stop"])
        done = manual.check_take_profit(m, data["side"], entry, stop, typed)
        return {"take_profit": None if typed is None else str(done.value)}, done.notes

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.expiry, ANSWER, flags=ADMIN)
async def got_expiry(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip().lower()
        hours = ORDER_EXPIRY_HOURS if text in AUTO else parse_int(text, manual.EXPIRY_HOURS)
        return {"expiry": hours}, ()

    await _answer(message, state, settings, user, check)


@router.message(PostSignal.note, ANSWER, flags=ADMIN)
async def got_note(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    def check(m: Market, data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Note, ...]]:
        text = (message.text or "").strip()
        return {"note": "" if text.lower() in AUTO else text[:200]}, ()

    await _answer(message, state, settings, user, check)


# -- back, publish, discard ---------------------------------------------------------------------
async def _back(target: Message, state: FSMContext, settings: Settings, user: UserInfo) -> None:
    previous = STEPS[max(0, _step(await state.get_state()) - 1)]
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


@router.message(StateFilter(PostSignal), Command("back"), flags=ADMIN)
async def back_command(
    message: Message, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    await _back(message, state, settings, user)


@router.callback_query(PostSignal.confirm, PostCB.filter(F.action == "publish"), flags=ADMIN)
async def publish(
    query: CallbackQuery, state: FSMContext, settings: Settings, user: UserInfo
) -> None:
    data = await state.get_data()
    await state.clear()  # a second tap finds no dialog: one signal per preview
    try:  # checked again: the price may have moved since the preview
        view = await manual.publish(user.telegram_id, _request(data), _limits(settings))
    except UserFacingError as exc:
        await state.set_data(data)
        await state.set_state(PostSignal.confirm)
        await query.answer(as_plain_text(_reason(exc))[:200], show_alert=True)
        if isinstance(query.message, Message):
            await query.message.answer(_reason(exc), reply_markup=_keyboard(PostSignal.confirm))
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


def _request(data: dict[str, Any]) -> manual.ManualRequest:
    tp = data.get("take_profit")
    return manual.ManualRequest(
        symbol=data["symbol"],
        side=data["side"],
        entry=Decimal(data["entry"]),
        stop=Decimal(data["stop"]),
        take_profit=Decimal(tp) if tp else None,
        expiry_hours=int(data.get("expiry", ORDER_EXPIRY_HOURS)),
        note=str(data.get("note", "")),
    )


def _preview(draft: manual.ManualDraft) -> SignalView:
    now = datetime.now(UTC)
    return SignalView(
        id=0, symbol=draft.symbol, side=draft.side, status=SignalStatus.PUBLISHED,
        close_reason=None, version=1, entry=draft.entry, stop=draft.stop,
        take_profit=draft.take_profit, digits=signals.digits_for(draft.symbol),
        published_at=now, expires_at=now + timedelta(hours=draft.expiry_hours), result_r=None,
        rationale=draft.note, price_adjusted=False, source="manual",
    )  # fmt: skip
