"""What each step of /post asks and shows: the states, the buttons, the questions (each names
the symbol, the side and the levels given so far) and the preview. The flow is handlers/post.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from core.settings import Settings
from handlers.render import Html, fmt, locale
from models.signals import SignalStatus
from services import app_settings
from services.errors import UserFacingError
from services.signals import lifecycle as signals
from services.signals import manual
from services.signals import manual_checks as checks
from services.signals.manual_checks import Market, Note
from services.signals.views import SignalView, full_text
from services.text.formatting import Duration
from services.users.profiles import UserInfo
from trading.constants import ORDER_EXPIRY_HOURS


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


def limits(settings: Settings) -> checks.ManualLimits:
    return manual.limits_from(settings)


def step_index(name: str | None) -> int:
    return next((i for i, s in enumerate(STEPS) if s.state == name), 0)


def reason(exc: UserFacingError) -> Html:
    return fmt(_(exc.key), **exc.params)


def notes_text(notes: tuple[Note, ...]) -> str:
    return "".join(fmt(_(n.key), **n.kwargs()) + "\n" for n in notes)


# -- questions ----------------------------------------------------------------------------------
def keyboard(step: State) -> InlineKeyboardMarkup | None:
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
    values["time"] = m.quote.bar_time
    if side:
        values["side"] = Html(_("signal.side_buy") if side == "buy" else _("signal.side_sell"))
    for key in ("entry", "stop"):
        if data.get(key):
            values[key] = m.price(Decimal(data[key]))
    return values


async def question(step: State, data: dict[str, Any], m: Market, user: UserInfo) -> str:
    about = _about(data, m)
    if step is PostSignal.side:
        return fmt(_("post.q_side"), **about)
    if step is PostSignal.entry:
        return fmt(_("post.q_entry"), **about)
    if step is PostSignal.stop:
        return fmt(_("post.q_stop"), **about)
    if step is PostSignal.take_profit:
        entry, stop = Decimal(data["entry"]), Decimal(data["stop"])
        auto = checks.check_take_profit(m, data["side"], entry, stop, None).value
        return fmt(_("post.q_take_profit"), auto=m.price(auto), **about)
    if step is PostSignal.expiry:
        default = Duration(timedelta(hours=ORDER_EXPIRY_HOURS), "hour")
        return fmt(_("post.q_expiry"), default=default, **about)
    if step is PostSignal.note:
        return fmt(_("post.q_note"), **about)
    draft = checks.validate(m, request_of(data))
    visibility = await app_settings.visibility()
    card = Html(full_text(_preview(draft), locale(), visibility))  # escaped by signal_views
    return fmt(_("post.preview"), card=card)


def request_of(data: dict[str, Any]) -> checks.ManualRequest:
    tp = data.get("take_profit")
    return checks.ManualRequest(
        symbol=data["symbol"],
        side=data["side"],
        entry=Decimal(data["entry"]),
        stop=Decimal(data["stop"]),
        take_profit=Decimal(tp) if tp else None,
        expiry_hours=int(data.get("expiry", ORDER_EXPIRY_HOURS)),
        note=str(data.get("note", "")),
    )


def _preview(draft: checks.ManualDraft) -> SignalView:
    now = clock.now()
    return SignalView(
        id=0, symbol=draft.symbol, side=draft.side, status=SignalStatus.PUBLISHED,
        close_reason=None, version=1, entry=draft.entry, stop=draft.stop,
        take_profit=draft.take_profit, digits=signals.digits_for(draft.symbol),
        published_at=now, expires_at=now + timedelta(hours=draft.expiry_hours), result_r=None,
        rationale=draft.note, price_adjusted=False, source="manual",
    )  # fmt: skip
