"""The one table of bot commands: what /help lists and what each client's menu shows; and the
one way handlers match a command (`cmd`): case-insensitive, so /START and /Help work as
Telegram clients and people type them (a mention of another bot still does not match)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.filters import Command, CommandStart
from aiogram.utils.i18n import lazy_gettext as __

from models.users import Role


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    role: Role
    description: object  # a lazy gettext string
    usage: str = ""


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", Role.PUBLIC, __("cmd.start")),
    CommandSpec("menu", Role.PUBLIC, __("cmd.menu")),
    CommandSpec("help", Role.PUBLIC, __("cmd.help")),
    CommandSpec("language", Role.PUBLIC, __("cmd.language"), "[en | es | ru]"),
    CommandSpec("cancel", Role.PUBLIC, __("cmd.cancel")),
    CommandSpec("plans", Role.PUBLIC, __("cmd.plans")),
    CommandSpec("paysupport", Role.PUBLIC, __("cmd.paysupport")),
    CommandSpec("cancel_subscription", Role.PUBLIC, __("cmd.cancel_subscription")),
    CommandSpec("trial", Role.PUBLIC, __("cmd.trial"), "[plan]"),
    CommandSpec("redeem", Role.PUBLIC, __("cmd.redeem"), "<code>"),
    CommandSpec("affiliate", Role.PUBLIC, __("cmd.affiliate")),
    CommandSpec("payout", Role.PUBLIC, __("cmd.payout")),
    CommandSpec("vip", Role.PUBLIC, __("cmd.vip")),
    CommandSpec("signals", Role.SUBSCRIBER, __("cmd.signals")),
    CommandSpec("history", Role.PUBLIC, __("cmd.history")),
    CommandSpec("devices", Role.SUBSCRIBER, __("cmd.devices")),
    CommandSpec("positions", Role.SUBSCRIBER, __("cmd.positions")),
    CommandSpec("alerts", Role.PUBLIC, __("cmd.alerts"), "[add SYMBOL above|below|cross LEVEL]"),
    CommandSpec("mystats", Role.SUBSCRIBER, __("cmd.mystats"), "[YYYY-MM | 30d]"),
    CommandSpec("admin", Role.ADMIN, __("cmd.admin")),
    CommandSpec("strategy", Role.ADMIN, __("cmd.strategy")),
    CommandSpec("post", Role.ADMIN, __("cmd.post")),
    CommandSpec("cancel_signal", Role.ADMIN, __("cmd.cancel_signal"), "<id>"),
    CommandSpec("route", Role.ADMIN, __("cmd.route"), "[SYMBOL @channel]"),
    CommandSpec("unroute", Role.ADMIN, __("cmd.unroute"), "<SYMBOL> <chat id>"),
    CommandSpec("users", Role.ADMIN, __("cmd.users"), "[id | @username | text]"),
    CommandSpec("ban", Role.ADMIN, __("cmd.ban"), "<id | @username>"),
    CommandSpec("unban", Role.ADMIN, __("cmd.unban"), "<id | @username>"),
    CommandSpec("grant", Role.ADMIN, __("cmd.grant"), "<id | @username> <plan> <days>"),
    CommandSpec(
        "promo_new",
        Role.OWNER,
        __("cmd.promo_new"),
        "<CODE> <percent|days> <value> [plan] [max uses] [YYYY-MM-DD]",
    ),
    CommandSpec("promos", Role.OWNER, __("cmd.promos")),
    CommandSpec("promo_off", Role.OWNER, __("cmd.promo_off"), "<CODE>"),
    CommandSpec("plans_admin", Role.OWNER, __("cmd.plans_admin"), "[edit]"),
    CommandSpec("vip_channel", Role.OWNER, __("cmd.vip_channel"), "<@channel | chat id>"),
    CommandSpec("visibility", Role.OWNER, __("cmd.visibility"), "[full|entry_only]"),
    CommandSpec("ledger", Role.OWNER, __("cmd.ledger"), "[publish | channel @name]"),
    CommandSpec("refund", Role.OWNER, __("cmd.refund"), "<payment id | charge id> [reason]"),
    CommandSpec("revenue", Role.OWNER, __("cmd.revenue"), "[chart]"),
    CommandSpec("drift", Role.OWNER, __("cmd.drift"), "[YYYY-MM | 30d]"),
    CommandSpec(
        "producers",
        Role.OWNER,
        __("cmd.producers"),
        "[add NAME | pause | resume | rotate | revoke ID | mode ID publish|hold]",
    ),
    CommandSpec("payouts", Role.OWNER, __("cmd.payouts")),
    CommandSpec("payout_paid", Role.OWNER, __("cmd.payout_paid"), "<id> <reference>"),
    CommandSpec("payout_reject", Role.OWNER, __("cmd.payout_reject"), "<id> <reason>"),
    CommandSpec("commissions_flagged", Role.OWNER, __("cmd.commissions_flagged")),
    CommandSpec("role", Role.OWNER, __("cmd.role"), "<id | @username> <visitor|subscriber|admin>"),
)


def visible_commands(role: Role) -> list[CommandSpec]:
    """Commands a user with `role` may run, in table order."""
    return [c for c in COMMANDS if role.at_least(c.role)]


def cmd(*names: str) -> Command:
    """The filter for commands `names`, whatever their case (/Help, /BAN)."""
    return Command(*names, ignore_case=True)


def start_cmd() -> CommandStart:
    """/start (with or without a deep-link payload), whatever its case."""
    return CommandStart(ignore_case=True)
