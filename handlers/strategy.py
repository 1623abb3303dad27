"""Owner/admin strategy controls: /strategy (pause/resume per symbol), /cancel_signal, /route."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ChatFullInfo, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.settings import Settings
from handlers.commands import cmd
from handlers.render import Html, as_plain_text, fmt, plural
from models.users import Role
from services import app_settings
from services.errors import InvalidInput
from services.ops_alerts import OpsAlerts
from services.signals import lifecycle as signals
from services.signals import strategy as strategy_service
from services.text import vocabulary
from services.text.numbers import CHAT_ID, SIGNAL_ID, looks_numeric, parse_int
from services.users.profiles import UserInfo

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
OWNER = {"role": Role.OWNER}


class StrategyCB(CallbackData, prefix="stg"):
    action: str  # pause | resume
    symbol: str


async def _strategy_view(symbols: tuple[str, ...]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("strategy.title"), ""]
    kb = InlineKeyboardBuilder()
    for st in await strategy_service.status(symbols):
        state = Html(_("strategy.paused")) if st.paused else Html(_("strategy.running"))
        market = (
            Html(_("strategy.market_open"))
            if st.market_open
            else fmt(_("strategy.market_closed"), when=st.next_open)
        )
        lines.append(
            fmt(
                _("strategy.symbol_line"),
                symbol=st.symbol,
                state=state,
                last=st.last_bar_time or "—",
                bars=plural("strategy.bars", st.bars_seen),
                open=plural("strategy.open_signals", st.open_signals),
                market=market,
            )  # fmt: skip
        )
        action = "resume" if st.paused else "pause"
        label = _("strategy.btn_resume") if st.paused else _("strategy.btn_pause")
        kb.button(
            text=label.format(symbol=st.symbol),  # a button's label is plain text
            callback_data=StrategyCB(action=action, symbol=st.symbol),
        )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


@router.message(cmd("strategy"), flags=ADMIN)
async def strategy(message: Message, settings: Settings) -> None:
    text, markup = await _strategy_view(settings.symbols)
    await message.answer(text, reply_markup=markup)


@router.callback_query(StrategyCB.filter(), flags=ADMIN)
async def toggle(
    query: CallbackQuery, callback_data: StrategyCB, user: UserInfo, settings: Settings
) -> None:
    paused = callback_data.action == "pause"
    changed = await strategy_service.set_paused(user.telegram_id, callback_data.symbol, paused)
    text, markup = await _strategy_view(settings.symbols)
    if changed:
        done = _("strategy.now_paused") if paused else _("strategy.now_resumed")
    else:  # a second tap, or another admin was quicker: nothing changed, and we say so
        done = _("strategy.already_paused") if paused else _("strategy.already_running")
    await query.answer(as_plain_text(fmt(done, symbol=callback_data.symbol)))
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)


@router.message(cmd("cancel_signal"), flags=ADMIN)
async def cancel_signal(
    message: Message, command: CommandObject, user: UserInfo, alerts: OpsAlerts
) -> None:
    arg = (command.args or "").strip().removeprefix("#")
    if not looks_numeric(arg):
        await message.answer(_("strategy.cancel_usage"))
        return
    view = await signals.cancel(parse_int(arg, SIGNAL_ID), user.telegram_id, alerts=alerts)
    await message.answer(fmt(_("strategy.cancelled"), id=view.id, symbol=view.symbol))


@router.message(cmd("route"), flags=ADMIN)
async def route(message: Message, command: CommandObject, user: UserInfo, bot: Bot) -> None:
    parts = (command.args or "").split()
    if not parts:
        await message.answer(await _routes_text())
        return
    if len(parts) != 2:
        await message.answer(_("strategy.route_usage"))
        return
    target = parts[1]
    ref = parse_int(target, CHAT_ID) if looks_numeric(target) else target  # before any query
    symbol = await strategy_service.routable_symbol(parts[0])  # a symbol with a live feed
    chat = await _postable_chat(bot, ref, target)
    title = chat.title or chat.username or str(chat.id)
    added = await strategy_service.add_route(user.telegram_id, symbol, chat.id, title)
    key = _("strategy.route_added") if added.created else _("strategy.route_exists")
    await message.answer(fmt(key, symbol=symbol, chat=added.route.title))


async def _postable_chat(bot: Bot, ref: int | str, target: str) -> ChatFullInfo:
    """The channel or group `ref` (an id or @username, typed as `target`), when the bot may
    post there (a channel: as an admin allowed to post; a group: as a member allowed to
    write); InvalidInput otherwise."""
    try:
        chat = await bot.get_chat(ref)
        me = await bot.get_chat_member(chat.id, bot.id)
    except TelegramAPIError:
        raise InvalidInput("error.route_unknown_chat", chat=target) from None
    if chat.type == ChatType.PRIVATE:  # a person's chat: routes are for channels and groups
        raise InvalidInput("error.route_private_chat", chat=target)
    if chat.type == ChatType.CHANNEL:
        admin = me.status == ChatMemberStatus.ADMINISTRATOR and bool(
            getattr(me, "can_post_messages", False)
        )
        if not (admin or me.status == ChatMemberStatus.CREATOR):
            raise InvalidInput("error.route_not_admin", chat=target)
    elif me.status in (ChatMemberStatus.LEFT, ChatMemberStatus.KICKED) or (
        me.status == ChatMemberStatus.RESTRICTED and not getattr(me, "can_send_messages", False)
    ):
        raise InvalidInput("error.route_cannot_post", chat=target)
    return chat


@router.message(cmd("unroute"), flags=ADMIN)
async def unroute(message: Message, command: CommandObject, user: UserInfo) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2 or not looks_numeric(parts[1]):
        await message.answer(_("strategy.unroute_usage"))
        return
    chat_id = parse_int(parts[1], CHAT_ID)  # before the query: the column holds 64 bits
    await strategy_service.remove_route(user.telegram_id, parts[0], chat_id)
    await message.answer(fmt(_("strategy.route_removed"), symbol=parts[0].upper()))


async def _routes_text() -> str:
    rows = await strategy_service.routes()
    if not rows:
        return _("strategy.routes_none")
    lines = [_("strategy.routes_title")]
    lines += [
        fmt(
            "• {symbol} → {title} (<code>{id}</code>)",
            symbol=r.symbol,
            title=r.title,
            id=r.chat_id,
        )
        for r in rows
    ]
    return "\n".join(lines)


@router.message(cmd("visibility"), flags=OWNER)
async def visibility(message: Message, command: CommandObject, user: UserInfo) -> None:
    arg = (command.args or "").strip()
    if not arg:
        current = await app_settings.visibility()
        await message.answer(
            fmt(_("strategy.visibility_usage"), current=vocabulary.visibility(current))
        )
        return
    chosen = await strategy_service.set_visibility(user.telegram_id, arg)
    key = _("strategy.visibility_set") if chosen.changed else _("strategy.visibility_unchanged")
    await message.answer(fmt(key, value=vocabulary.visibility(chosen.value)))
