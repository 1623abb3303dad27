"""/producers (owner): outside sources of signals (issue 15). List them with their figures;
``add NAME [--hold] [--tv] [--symbols XAUUSD,EURUSD] [--rate N]`` (the secret, and the
TradingView alert URL with --tv, shown once); ``pause|resume|rotate|revoke ID``;
``mode ID publish|hold``. Revoking asks first (a button).

Also the Confirm / Discard buttons under a held signal (`services.ingest.notices`): owner-only
on the server, a second tap answers that it was decided already.

Thin: `services.ingest.producers` keeps the registry, `services.ingest.intake` decides held
signals, `services.analytics.producers` counts the figures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.settings import Settings
from handlers.commands import cmd
from handlers.render import Html, as_plain_text, fmt, locale, plural
from models.ingest import ProducerMode
from models.users import Role
from services.analytics import producers as figures_service
from services.analytics.producers import ProducerFigures
from services.ingest import intake, producers
from services.ingest.producers import Credentials, ProducerInfo
from services.ops_alerts import OpsAlerts
from services.signals import manual
from services.signals.callbacks import HeldCB
from services.text import formatting
from services.text.numbers import parse_int
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}
ALERT_MAX = 200  # Telegram's limit for a callback query's alert
R_PLACES = 2  # as the track record shows R multiples
STATES = {
    "active": __("ingest.state_active"),
    "paused": __("ingest.state_paused"),
    "revoked": __("ingest.state_revoked"),
}
MODES = {
    ProducerMode.PUBLISH: __("ingest.mode_publish"),
    ProducerMode.HOLD: __("ingest.mode_hold"),
}


class ProducerCB(CallbackData, prefix="prd"):
    """The revoke confirmation under /producers revoke ID."""

    action: str  # revoke | keep
    producer_id: str  # prd_ + 16 hex


class Usage(Exception):
    """Arguments /producers cannot read: answered with the usage text."""


@dataclass
class AddArgs:
    name: str
    symbols: list[str] | None = None  # None: not given, the strategy's symbols
    hold: bool = False
    tradingview: bool = False
    rate: int = producers.DEFAULT_RATE_PER_HOUR


def _symbol_list(first: str, rest: deque[str]) -> list[str]:
    """The symbols after --symbols: "XAUUSD,EURUSD", also typed with spaces around the commas
    ("XAUUSD, EURUSD", "XAUUSD ,EURUSD"): one list, not a symbol and words of the name."""
    text = first
    while rest and not rest[0].startswith("--") and (text.endswith(",") or rest[0][0] == ","):
        text += rest.popleft()
    return [s for s in text.split(",") if s.strip()]


def parse_add(words: list[str]) -> AddArgs:
    """``NAME [--hold] [--tv] [--symbols A,B] [--rate N]``: options anywhere, the other words
    are the name."""
    args, name, rest = AddArgs(""), [], deque(words)
    while rest:
        word = rest.popleft()
        option = word.lower()
        if option == "--hold":
            args.hold = True
        elif option == "--tv":
            args.tradingview = True
        elif option in ("--symbols", "--rate"):
            value = rest.popleft() if rest else None
            if value is None or value.startswith("--"):
                raise Usage
            if option == "--rate":
                args.rate = parse_int(value, producers.RATE)
            else:
                args.symbols = _symbol_list(value, rest)
        elif option.startswith("--"):
            raise Usage
        else:
            name.append(word)
    if not name:
        raise Usage
    args.name = " ".join(name)
    return args


def _row(info: ProducerInfo, counted: ProducerFigures | None) -> Html:
    figures = fmt(
        _("ingest.figures"),
        signals=plural("ingest.signals", counted.signals if counted else 0),
        closed=counted.closed if counted else 0,
        wins=counted.wins if counted else 0,
        total=formatting.signed(counted.total_r if counted else Decimal(0), locale(), R_PLACES),
    )
    return fmt(
        _("ingest.list_row"),
        name=info.name,
        id=info.producer_id,
        state=Html(str(STATES[info.state])),
        mode=Html(str(MODES[info.mode])),
        symbols=", ".join(info.symbols),
        rate=info.rate_per_hour,
        tv=Html(_("ingest.list_tv")) if info.tradingview else "",
        figures=figures,
    )


async def list_text() -> Html:
    rows = await producers.list_all()
    if not rows:
        return Html(_("ingest.list_empty") + "\n\n" + _("ingest.usage"))
    counted = await figures_service.figures()
    lines = [_("ingest.list_title"), *(_row(r, counted.get(r.id)) for r in rows)]
    return Html("\n\n".join(lines))


def _with_url(text: Html, made: Credentials, settings: Settings) -> Html:
    if made.tv_token is None:
        return text
    url = producers.tradingview_url(settings.server_url, made.tv_token)
    return Html(text + "\n\n" + fmt(_("ingest.tv_url"), url=url))


def revoke_keyboard(producer_id: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("ingest.btn_revoke_yes"),
        callback_data=ProducerCB(action="revoke", producer_id=producer_id),
    )
    kb.button(
        text=_("ingest.btn_keep"), callback_data=ProducerCB(action="keep", producer_id=producer_id)
    )
    kb.adjust(2)
    return kb.as_markup()


async def _add(words: list[str], user: UserInfo, settings: Settings) -> Html:
    args = parse_add(words)
    made = await producers.register(
        args.name,
        settings.symbols if args.symbols is None else args.symbols,
        mode=ProducerMode.HOLD if args.hold else ProducerMode.PUBLISH,
        rate_per_hour=args.rate,
        tradingview=args.tradingview,
        actor_id=user.telegram_id,
    )
    text = fmt(
        _("ingest.created"), name=made.info.name, id=made.info.producer_id, secret=made.secret
    )
    return _with_url(text, made, settings)


async def _act(action: str, words: list[str], user: UserInfo, settings: Settings) -> Html:
    """pause, resume, rotate, mode on one producer (its id the first word)."""
    actor = user.telegram_id
    if action in ("pause", "resume") and len(words) == 1:
        info = await producers.set_paused(words[0], action == "pause", actor_id=actor)
        key = _("ingest.paused") if info.paused else _("ingest.resumed")
        return fmt(key, name=info.name)
    if action == "rotate" and len(words) == 1:
        made = await producers.rotate(words[0], actor_id=actor)
        text = fmt(_("ingest.rotated"), name=made.info.name, secret=made.secret)
        return _with_url(text, made, settings)
    if (
        action == "mode"
        and len(words) == 2
        and words[1].lower() in {m.value for m in ProducerMode}
    ):
        mode = ProducerMode(words[1].lower())
        info = await producers.set_mode(words[0], mode, actor_id=actor)
        return fmt(_("ingest.mode_set"), name=info.name, mode=Html(str(MODES[info.mode])))
    raise Usage


@router.message(cmd("producers"), flags=OWNER)
async def producers_command(
    message: Message, command: CommandObject, user: UserInfo, settings: Settings
) -> None:
    words = (command.args or "").split()
    if not words:
        await message.answer(await list_text())
        return
    action, rest = words[0].lower(), words[1:]
    try:
        if action == "add":
            await message.answer(await _add(rest, user, settings))
        elif action == "revoke" and len(rest) == 1:
            info = await producers.get_live(rest[0])  # revoked already: nothing to confirm
            await message.answer(
                fmt(_("ingest.confirm_revoke"), name=info.name, id=info.producer_id),
                reply_markup=revoke_keyboard(info.producer_id),
            )
        else:
            await message.answer(await _act(action, rest, user, settings))
    except Usage:
        await message.answer(_("ingest.usage"))


@router.callback_query(ProducerCB.filter(F.action.in_({"revoke", "keep"})), flags=OWNER)
async def revoke_button(query: CallbackQuery, callback_data: ProducerCB, user: UserInfo) -> None:
    if callback_data.action == "revoke":
        info = await producers.revoke(callback_data.producer_id, actor_id=user.telegram_id)
        text = fmt(_("ingest.revoked"), name=info.name)
    else:
        info = await producers.get(callback_data.producer_id)
        text = fmt(_("ingest.kept"), name=info.name)
    await query.answer(as_plain_text(text)[:ALERT_MAX])
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=None)


@router.callback_query(HeldCB.filter(F.action.in_({"confirm", "discard"})), flags=OWNER)
async def decide_held(
    query: CallbackQuery, callback_data: HeldCB, user: UserInfo, settings: Settings,
    alerts: OpsAlerts,
) -> None:  # fmt: skip
    decision = await intake.decide(
        callback_data.held_id, callback_data.action == "confirm", user.telegram_id,
        manual.limits_from(settings), alerts=alerts,
    )  # fmt: skip
    if not decision.done:
        text = Html(_("ingest.held_gone"))
    elif decision.confirmed:
        text = fmt(_("ingest.held_confirmed"), id=decision.signal_id)
    else:
        text = Html(_("ingest.held_discarded"))
    await query.answer(as_plain_text(text)[:ALERT_MAX])
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=None)
