"""/mystats (a subscriber's own results against the strategy's) and /drift (the owner's
live-vs-backtest report). Thin: parse the period, call one service, render its text
(`services.analytics.texts`, the same formatter the weekly job uses)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from core import clock
from handlers.commands import cmd
from handlers.render import locale
from models.users import Role
from services.analytics import drift, mystats, texts
from services.analytics.period import parse_period
from services.users.profiles import UserInfo

router = Router(name=__name__)
# Terminals follow entitlements, not roles: `mystats.my_stats` checks the paid feature.
SUBSCRIBER: dict[str, object] = {}
OWNER = {"role": Role.OWNER}


@router.message(cmd("mystats"), flags=SUBSCRIBER)
async def my_stats(message: Message, command: CommandObject, user: UserInfo) -> None:
    period = parse_period(command.args, clock.now())
    stats = await mystats.my_stats(user, period)
    await message.answer(texts.mystats_text(stats, locale()))


@router.message(cmd("drift"), flags=OWNER)
async def drift_report(message: Message, command: CommandObject, user: UserInfo) -> None:
    period = parse_period(command.args, clock.now())
    report = await drift.drift_for(user, period)
    await message.answer(texts.drift_text(report, locale()))
