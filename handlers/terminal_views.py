"""Callback data and rendering shared by /devices and /positions (HTML, gettext)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from handlers.render import Html, fmt
from services.copy.sizing import Limits
from services.terminals.overview import AccountView, PositionView, TerminalView
from services.terminals.risk_settings import FIELDS
from services.text import vocabulary
from services.text.formatting import Money, Number, Percent, Relative, Signed
from services.text.numbers import TicketField

LABELS = {
    "risk_pct": __("devices.label_risk_pct"),
    "lot_multiplier": __("devices.label_lot_multiplier"),
    "max_lot": __("devices.label_max_lot"),
    "max_open_positions": __("devices.label_max_open_positions"),
    "max_trades_per_day": __("devices.label_max_trades_per_day"),
    "max_drawdown_pct": __("devices.label_max_drawdown_pct"),
}


class DevCB(CallbackData, prefix="dev"):
    """/devices: action on a terminal (by its public id); `field` for a risk setting."""

    action: (
        str  # list | add | open | rename | revoke | revoke_yes | mode | settings | set | resume
    )
    device_id: str = ""
    field: str = ""


class PosCB(CallbackData, prefix="pos"):
    """/positions: close one position (asked, then confirmed) or keep it."""

    action: str  # close | close_yes | keep
    device_id: str
    ticket: TicketField  # range-checked: a forged ticket never reaches a query


def plain(value: Decimal) -> Number:
    """A stored decimal without its trailing zeros (1.07592000 -> 1.07592), for the locale."""
    return Number(value.normalize())


def when(moment: datetime | None) -> object:
    return moment if moment else Html(_("devices.never"))


def _status(view: TerminalView) -> object:
    return vocabulary.device_status(view.status, view.paused_reason)


def _mode(mode: str) -> object:
    return vocabulary.device_mode(mode)


def account_line(account: AccountView | None) -> Html:
    if account is None:
        return Html(_("devices.no_account"))
    return fmt(
        _("devices.account"), balance=Money(account.balance, account.currency),
        equity=Money(account.equity, account.currency), drawdown=Percent(account.drawdown_pct),
    )  # fmt: skip


def seen(view: TerminalView, now: datetime | None = None) -> Html:
    """Online, or when it was last seen and how long ago ("12 May, 14:00 UTC, 3 hours ago")."""
    if view.online:
        return Html("🟢 " + _("devices.online"))
    if view.last_seen_at is None:
        return fmt("⚪ {when}", when=when(None))
    ago = Relative(view.last_seen_at, now or clock.now())
    return fmt("⚪ {when} ({ago})", when=view.last_seen_at, ago=ago)


def profit(value: Decimal) -> Signed:
    """A position's P&L in account money, with its sign (+1,234.50)."""
    return Signed(value, 2)


def terminal_line(view: TerminalView) -> Html:
    return fmt(
        _("devices.line"), name=view.name, mode=_mode(view.mode), status=_status(view),
        seen=seen(view), account=account_line(view.account),
    )  # fmt: skip


def list_text(views: list[TerminalView]) -> str:
    if not views:
        return _("devices.none")
    return "\n\n".join([_("devices.title"), *[terminal_line(v) for v in views]])


def list_keyboard(views: list[TerminalView]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for view in views:
        kb.button(
            text="⚙️ " + view.name[:40],
            callback_data=DevCB(action="open", device_id=view.device_id),
        )
    kb.button(text=_("devices.btn_add"), callback_data=DevCB(action="add"))
    kb.adjust(1)
    return kb.as_markup()


def card_text(view: TerminalView) -> str:
    return fmt(
        _("devices.card"), name=view.name, device_id=view.device_id, mode=_mode(view.mode),
        status=_status(view), seen=seen(view), account=account_line(view.account),
    ) + "\n\n" + _("devices.mode_help")  # fmt: skip


def card_keyboard(view: TerminalView) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    dev = view.device_id
    other = _("devices.btn_mode_approval") if view.mode == "copy" else _("devices.btn_mode_copy")
    if view.status == "paused":
        kb.button(
            text=_("devices.btn_resume"), callback_data=DevCB(action="resume", device_id=dev)
        )
    kb.button(text=other, callback_data=DevCB(action="mode", device_id=dev))
    kb.button(
        text=_("devices.btn_settings"), callback_data=DevCB(action="settings", device_id=dev)
    )
    kb.button(text=_("devices.btn_rename"), callback_data=DevCB(action="rename", device_id=dev))
    kb.button(text=_("devices.btn_revoke"), callback_data=DevCB(action="revoke", device_id=dev))
    kb.button(text=_("devices.btn_back"), callback_data=DevCB(action="list"))
    kb.adjust(1)
    return kb.as_markup()


def setting_value(limits: Limits, field: str) -> str:
    value = getattr(limits, field)
    if value is None:
        return _("devices.no_cap")
    if field in ("risk_pct", "max_drawdown_pct"):
        return fmt("{value}", value=Percent(value, 3))
    text = fmt("{value}", value=plain(value) if isinstance(value, Decimal) else value)
    return f"{text}×" if field == "lot_multiplier" else text


def settings_text(view: TerminalView) -> str:
    lines = [fmt(_("devices.settings_title"), name=view.name), ""]
    lines += [f"{LABELS[f]}: <b>{setting_value(view.limits, f)}</b>" for f in FIELDS]
    lines += ["", _("devices.settings_help")]
    return "\n".join(lines)


def settings_keyboard(view: TerminalView) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for f in FIELDS:
        kb.button(
            text=str(LABELS[f]),
            callback_data=DevCB(action="set", device_id=view.device_id, field=f),
        )
    kb.button(
        text=_("devices.btn_back"), callback_data=DevCB(action="open", device_id=view.device_id)
    )
    kb.adjust(2)
    return kb.as_markup()


def position_line(p: PositionView) -> str:
    origin = (
        fmt(_("positions.from_signal"), id=p.signal_id)
        if p.signal_id is not None
        else Html(_("positions.not_ours"))
    )
    return fmt(
        _("positions.line"), ticket=p.ticket, symbol=p.symbol, side=vocabulary.side(p.side),
        volume=plain(p.volume), price=plain(p.open_price), profit=profit(p.profit),
        origin=origin,
    )  # fmt: skip
