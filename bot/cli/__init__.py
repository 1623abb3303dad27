"""The command line: one module per subcommand group, each exposing ``register(subparsers)``.

A subcommand module sets ``func`` on its parser; ``func(args)`` returns the exit code.
Exit code 2 means bad input (one readable line on stderr), as argparse itself does; 1 means
something outside failed (also one line).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from decimal import Decimal

from services.errors import InvalidInput
from services.text.numbers import IntBound, parse_int
from trading.number_text import parse_decimal


class CliError(Exception):
    """Bad input on the command line: printed as one line, exit code 2."""


class CliFailure(Exception):
    """Something outside the code failed (the database, Telegram, a busy port): one line,
    exit code 1."""


def int_option(text: str | int, bound: IntBound, option: str) -> int:
    """The whole number of a command-line option: ASCII digits only (argparse's `int` takes
    "١٢", "+5" and "5_000", and has no upper bound), within `bound`; else CliError (one line,
    exit code 2). An int passes through: it is the option's default."""
    if isinstance(text, int):
        return text
    try:
        return parse_int(text, bound)
    except InvalidInput:
        msg = f"{option} must be {bound.describe()} (ASCII digits), got {text[:32]!r}"
        raise CliError(msg) from None


# Order is the order shown in --help.
SUBCOMMAND_MODULES = (
    "bot.cli.run",
    "bot.cli.migrate",
    "bot.cli.users",
    "bot.cli.devices",
    "bot.cli.producers",
    "bot.cli.backtest",
    "bot.cli.ea_sim",
    "bot.cli.ledger",
    "bot.cli.signal_send",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="SignalDesk")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CliFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def number(text: str, option: str, *, above: Decimal, high: Decimal) -> Decimal:
    """An option's value as a decimal in (above, high], digits 0-9 only (no exponent or
    "nan"); else `CliError`."""
    try:
        value = parse_decimal(text)
    except ValueError:
        value = above
    if not above < value <= high:
        msg = f"{option} must be a number above {above} and at most {high}, got {text}"
        raise CliError(msg)
    return value
