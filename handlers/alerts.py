"""/alerts: the user's price alerts with a Delete button each; `/alerts add SYMBOL above|below|
cross LEVEL [repeat] [note]` sets one. Thin: `services.alerts.service` checks everything (the
level, the market, the quota) and its refusals reach the user through the error router. A
Delete button names an alert id; the service deletes only the caller's own (a forged callback
with another user's id is "not found").
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.commands import cmd
from handlers.render import Html, as_plain_text, fmt
from services.alerts import rules, service
from services.alerts.service import AlertView, NewAlert
from services.text.formatting import Duration, Price, Term
from services.text.numbers import AlertIdField
from services.users.profiles import UserInfo

router = Router(name=__name__)
MAX_BUTTONS = 50  # Telegram allows 100 buttons per message
REPEAT_WORDS = frozenset({"repeat", "repeating", "r"})
CONDITIONS = {
    "above": Term("alerts.condition_above"),
    "below": Term("alerts.condition_below"),
    "cross": Term("alerts.condition_cross"),
}


class AlertCB(CallbackData, prefix="alr"):
    """/alerts: delete one alert (the service checks it is the caller's)."""

    action: str  # del
    alert_id: AlertIdField  # range-checked: a forged id never reaches a query


def condition_text(condition: str) -> Term:
    return CONDITIONS[condition]


def _cooldown(minutes: int) -> Duration:
    return Duration(timedelta(minutes=minutes), "minute")


def _line(a: AlertView) -> Html:
    extra = ""
    if a.repeat:
        extra += fmt(_("alerts.extra_repeat"), cooldown=_cooldown(a.cooldown_min))
    if a.state == "fired" and a.last_fired_at is not None:
        extra += fmt(_("alerts.extra_fired"), when=a.last_fired_at)
    if a.note:
        extra += fmt(_("alerts.extra_note"), note=a.note)
    return fmt(
        _("alerts.line"), id=a.id, symbol=a.symbol, condition=condition_text(a.condition),
        level=Price(a.level, a.digits), extra=Html(extra),
    )  # fmt: skip


async def _overview(user: UserInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    items = await service.alerts(user)
    quota = await service.quota(user)
    symbols = ", ".join(await service.symbols()) or "-"
    usage = fmt(_("alerts.usage"), cooldown=_cooldown(rules.DEFAULT_COOLDOWN_MIN), symbols=symbols)
    if not items:
        return f"{_('alerts.none')}\n\n{usage}", None
    head = fmt(_("alerts.title"), used=quota.used, limit=quota.limit)
    kb = InlineKeyboardBuilder()
    for a in items[:MAX_BUTTONS]:
        kb.button(
            text=_("alerts.btn_delete").format(id=a.id, symbol=a.symbol),  # plain text
            callback_data=AlertCB(action="del", alert_id=a.id),
        )
    kb.adjust(2)
    body = "\n".join(_line(a) for a in items)
    return f"{head}\n{body}\n\n{usage}", kb.as_markup()


def parse_add(args: list[str]) -> NewAlert | None:
    """`SYMBOL CONDITION LEVEL [repeat] [note...]`, or None when a part is missing."""
    if len(args) < 3:
        return None
    symbol, condition, level, *rest = args
    repeat = bool(rest) and rest[0].lower() in REPEAT_WORDS
    note = " ".join(rest[1:] if repeat else rest)
    return NewAlert(symbol, condition.lower(), level, note, repeat=repeat)


@router.message(cmd("alerts"))
async def alerts(message: Message, command: CommandObject, user: UserInfo) -> None:
    args = (command.args or "").split()
    if not args:
        text, markup = await _overview(user)
        await message.answer(text, reply_markup=markup)
        return
    new = parse_add(args[1:]) if args[0].lower() == "add" else None
    if new is None:
        symbols = ", ".join(await service.symbols()) or "-"
        await message.answer(
            fmt(_("alerts.usage"), cooldown=_cooldown(rules.DEFAULT_COOLDOWN_MIN), symbols=symbols)
        )
        return
    made = await service.create(user, new)
    _name, _spec, quote = await service.resolve_symbol(made.symbol)
    await message.answer(
        fmt(
            _("alerts.added"),
            id=made.id,
            symbol=made.symbol,
            condition=condition_text(made.condition),
            level=Price(made.level, made.digits),
            last=Price(quote.close, made.digits),
        )  # fmt: skip
    )


@router.callback_query(AlertCB.filter(F.action == "del"))
async def delete(query: CallbackQuery, callback_data: AlertCB, user: UserInfo) -> None:
    gone = await service.delete(user, callback_data.alert_id)
    done = fmt(_("alerts.deleted"), id=gone.id)
    await query.answer(as_plain_text(done))  # a toast: plain text
    if isinstance(query.message, Message):
        text, markup = await _overview(user)
        await query.message.edit_text(text, reply_markup=markup)
