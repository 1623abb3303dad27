"""/positions: each terminal's account and open positions with P&L, and a Close button.

A close is confirmed first, then becomes a CLOSE command (`terminals.request_close`, which
checks on the server that the terminal is the user's own and the position is open).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.commands import cmd
from handlers.render import as_plain_text, fmt
from handlers.terminal_views import PosCB, account_line, plain, position_line, profit
from services.terminals import overview as terminals
from services.text import vocabulary
from services.users.profiles import UserInfo

router = Router(name=__name__)
# Terminals follow entitlements, not roles: every service call below checks
# `terminals.require_entitled` (a public user with a paid plan may use them).
SUBSCRIBER: dict[str, object] = {}
MAX_BUTTONS = 50  # Telegram allows 100 buttons; a terminal rarely holds more positions


async def _overview(user: UserInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    views = await terminals.terminals(user)
    if not views:
        return _("positions.no_terminals"), None
    blocks = [_("positions.title")]
    kb = InlineKeyboardBuilder()
    buttons = 0
    for view in views:
        lines = [
            fmt("<b>{name}</b> · {account}", name=view.name, account=account_line(view.account))
        ]
        items = await terminals.positions(user, view.device_id)
        lines += [position_line(p) for p in items] or [_("positions.none")]
        blocks.append("\n".join(lines))
        for p in items[: MAX_BUTTONS - buttons]:
            # a button's label is plain text: nothing to escape
            text = _("positions.btn_close").format(ticket=p.ticket, symbol=p.symbol)
            kb.button(
                text=text,
                callback_data=PosCB(action="close", device_id=view.device_id, ticket=p.ticket),
            )
            buttons += 1
    kb.adjust(2)
    return "\n\n".join(blocks), kb.as_markup() if buttons else None


@router.message(cmd("positions"), flags=SUBSCRIBER)
async def positions(message: Message, user: UserInfo) -> None:
    text, markup = await _overview(user)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PosCB.filter(F.action == "close"), flags=SUBSCRIBER)
async def ask_close(query: CallbackQuery, callback_data: PosCB, user: UserInfo) -> None:
    view = await terminals.terminal(user, callback_data.device_id)
    items = await terminals.positions(user, view.device_id)
    match = [p for p in items if p.ticket == callback_data.ticket]
    if not match:
        text = fmt(_("error.position_not_found"), ticket=callback_data.ticket)
        await query.answer(as_plain_text(text), show_alert=True)
        return
    p = match[0]
    kb = InlineKeyboardBuilder()
    args = {"device_id": view.device_id, "ticket": p.ticket}
    kb.button(text=_("positions.btn_confirm"), callback_data=PosCB(action="close_yes", **args))
    kb.button(text=_("positions.btn_keep"), callback_data=PosCB(action="keep", **args))
    text = fmt(
        _("positions.confirm"), ticket=p.ticket, symbol=p.symbol, side=vocabulary.side(p.side),
        volume=plain(p.volume), name=view.name, profit=profit(p.profit),
    )  # fmt: skip
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=kb.as_markup())


@router.callback_query(PosCB.filter(F.action == "close_yes"), flags=SUBSCRIBER)
async def close(query: CallbackQuery, callback_data: PosCB, user: UserInfo) -> None:
    await terminals.request_close(user, callback_data.device_id, callback_data.ticket)
    view = await terminals.terminal(user, callback_data.device_id)
    done = fmt(_("positions.close_sent"), ticket=callback_data.ticket, name=view.name)
    await query.answer(as_plain_text(done))  # a toast: plain text
    if isinstance(query.message, Message):
        await query.message.edit_text(done, reply_markup=None)


@router.callback_query(PosCB.filter(F.action == "keep"), flags=SUBSCRIBER)
async def keep(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("positions.kept"), reply_markup=None)
