"""`python -m bot signal-send`: send, revise or cancel a signal as an outside producer.

A client of a SignalDesk server's signed ingest API (`ea.ingest_client`), for producers'
scripts and cron jobs; it needs no database. The producer's secret is read from the
environment variable SIGNALDESK_PRODUCER_SECRET only (an argument would show in `ps`).

    signal-send --url URL --producer ID --external-id X --symbol S --side buy|sell --stop P
                (--entry P | --market) [--tp P | --rr N] [--expiry-hours H] [--note T] [--json]
    signal-send --revise --url URL --producer ID --external-id X [--entry P] [--stop P] [--tp P]
    signal-send --cancel --url URL --producer ID --external-id X

Prints the signal id (a held signal: ``held <held id>``; a cancel: the signal's new status),
or with --json the whole answer. Exit codes: 0 done (a repeat of the external id included:
the server answers the first signal); 1 the server refused (``error: <status> <detail>``) or
could not be reached; 2 bad input on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

from bot.cli import CliError, CliFailure, int_option
from ea.ingest_client import IngestError, Result, SignalDeskProducer
from services.text.numbers import IntBound

SECRET_ENV = "SIGNALDESK_PRODUCER_SECRET"
NEW_ONLY = ("symbol", "side", "rr", "market", "expiry_hours", "note")  # not for --revise/--cancel
LEVELS = ("entry", "stop", "tp")
EXPIRY_HOURS = IntBound("error.number_invalid", 1, 99_999, "a number of hours")
OPTION_OF = {  # the client's argument names, as this command's options
    "base_url": "--url", "producer_id": "--producer", "external_id": "--external-id",
    "take_profit": "--tp", "reward_risk": "--rr", "entry": "--entry", "stop": "--stop",
}  # fmt: skip


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "signal-send",
        help="send, revise or cancel a signal as an outside producer (signed ingest API)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url", required=True, metavar="URL", help="the server's base URL (https://...)"
    )
    parser.add_argument(
        "--producer", required=True, metavar="ID", help="the producer id (prd_...)"
    )
    parser.add_argument(
        "--external-id", required=True, metavar="X", help="your own id of this signal"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--revise", action="store_true", help="move the levels of the signal")
    mode.add_argument("--cancel", action="store_true", help="cancel the signal")
    parser.add_argument("--symbol", metavar="S", help="e.g. EURUSD")
    parser.add_argument("--side", choices=("buy", "sell"))
    parser.add_argument("--entry", metavar="P", help="limit entry price")
    parser.add_argument("--market", action="store_true", help="enter at the last price")
    parser.add_argument("--stop", metavar="P", help="stop-loss price")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--tp", metavar="P", help="take-profit price")
    target.add_argument(
        "--rr", metavar="N", help="reward:risk instead of --tp (take-profit = N stops away)"
    )
    parser.add_argument("--expiry-hours", metavar="H", help="hours a limit order waits")
    parser.add_argument(
        "--note", metavar="T", help="the card's rationale line (200 characters at most)"
    )
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    parser.set_defaults(func=signal_send)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) not in (None, False)]


def _check_mode(args: argparse.Namespace) -> None:
    """Each mode's options, and no option of another mode."""
    if args.revise or args.cancel:
        mode = "--revise" if args.revise else "--cancel"
        wrong = _given(args, NEW_ONLY + (LEVELS if args.cancel else ()))
        if wrong:
            msg = f"{mode} takes no {', '.join(wrong)}"
            raise CliError(msg)
        if args.revise and not _given(args, LEVELS):
            msg = "--revise needs at least one of --entry, --stop, --tp"
            raise CliError(msg)
        return
    missing = [f"--{n}" for n in ("symbol", "side", "stop") if getattr(args, n) is None]
    if missing:
        msg = f"a new signal needs {', '.join(missing)}"
        raise CliError(msg)
    if (args.entry is None) == (not args.market):
        msg = "give --entry PRICE for a limit order or --market for the last price (not both)"
        raise CliError(msg)


def _expiry(text: str | None) -> int | None:
    """Digits only, checked here; whether the server takes that many hours is its answer."""
    return None if text is None else int_option(text, EXPIRY_HOURS, "--expiry-hours")


def _call(args: argparse.Namespace, desk: SignalDeskProducer) -> Result:
    if args.cancel:
        return desk.cancel(args.external_id)
    if args.revise:
        return desk.revise(args.external_id, entry=args.entry, stop=args.stop,
                           take_profit=args.tp)  # fmt: skip
    return desk.send(
        args.external_id, args.symbol, args.side, args.stop, entry=args.entry,
        take_profit=args.tp, reward_risk=args.rr,
        order_type="market" if args.market else "limit", expiry_hours=_expiry(args.expiry_hours),
        note=args.note or "",
    )  # fmt: skip


def _shown(result: Result, cancel: bool) -> str:
    if cancel:
        return result.status
    if result.signal_id is None and result.held_id is not None:
        return f"held {result.held_id}"
    return str(result.signal_id)


def signal_send(args: argparse.Namespace) -> int:
    _check_mode(args)
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        msg = f"set {SECRET_ENV} to the producer's secret (it is never taken as an argument)"
        raise CliError(msg)
    try:
        desk = SignalDeskProducer(args.url, args.producer, secret)
        result = _call(args, desk)
    except ValueError as exc:  # the client refused an argument before sending anything
        name, _, rest = str(exc).partition(" ")
        msg = f"{OPTION_OF.get(name, name)} {rest}"
        raise CliError(msg) from None
    except IngestError as exc:
        detail = exc.detail or exc.title
        if exc.field and exc.field not in detail:
            detail += f" (field {exc.field})"
        msg = f"{exc.status} {detail}" if exc.status else f"cannot reach {args.url}: {detail}"
        raise CliFailure(msg) from None
    if args.json:
        print(json.dumps(dataclasses.asdict(result)))
    else:
        print(_shown(result, args.cancel))
    return 0
