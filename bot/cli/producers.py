"""`python -m bot producers add|list|pause|resume|mode|rotate|revoke`: outside producers of
signals from the server's shell, as the owner's /producers does from the chat (issue 15).

``producers add --name NAME [--symbols EURUSD,XAUUSD] [--hold] [--tradingview] [--rate N]
[--allow-ip CIDR ...] [--json]`` prints the producer id and its secret (and, with
--tradingview, the alert URL): the only time they are shown; ``producers rotate ID`` prints the
new ones once. Secrets go to stdout only, never to a log. Changes are audited like the chat's,
with the operator as the actor: no Telegram id (as ``devices`` and ``users`` record the CLI).
A revocation needs no announcement: the ingest routes read the producer from the database on
every request.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli import database, int_option
from bot.cli.run import settings_or_exit
from models.ingest import ProducerMode
from services.analytics import producers as figures_service
from services.analytics.producers import ProducerFigures
from services.ingest import producers
from services.ingest.producers import Credentials, ProducerInfo

OPERATOR: int | None = None  # the audit's actor from the shell: the system, no Telegram id
SHOWN_ONCE = "The secret is shown only this once: store it where the producer runs now."
URL_SHOWN_ONCE = "The alert URL is the credential: paste it into the TradingView alert now."


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("producers", help="manage outside producers of signals")
    sub = parser.add_subparsers(dest="producers_command", required=True)
    add = sub.add_parser("add", help="register a producer; prints its id and secret once")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--symbols", help="comma-separated symbols it may publish (default: the strategy's)"
    )
    add.add_argument("--hold", action="store_true", help="hold each signal for confirmation")
    add.add_argument("--tradingview", action="store_true", help="also a TradingView alert URL")
    add.add_argument(
        "--rate",
        default=producers.DEFAULT_RATE_PER_HOUR,
        help=f"{producers.RATE.describe()} (default {producers.DEFAULT_RATE_PER_HOUR})",
    )
    add.add_argument(
        "--allow-ip",
        action="extend",
        nargs="+",
        default=[],
        metavar="CIDR",
        help="accept its requests only from these addresses or networks",
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=add_producer)
    lst = sub.add_parser("list", help="list producers with their figures")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_producers)
    for name, help_text in (("pause", "refuse its signals until resumed"), ("resume", "resume")):
        pause = sub.add_parser(name, help=help_text)
        pause.add_argument("producer_id")
        pause.set_defaults(func=pause_producer, paused=name == "pause")
    mode = sub.add_parser("mode", help="publish its signals at once, or hold them")
    mode.add_argument("producer_id")
    mode.add_argument("mode", choices=[m.value for m in ProducerMode])
    mode.set_defaults(func=set_mode)
    rotate = sub.add_parser("rotate", help="a new secret (and alert URL), printed once")
    rotate.add_argument("producer_id")
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(func=rotate_producer)
    revoke = sub.add_parser("revoke", help="refuse the producer from now on")
    revoke.add_argument("producer_id")
    revoke.set_defaults(func=revoke_producer)


def _symbols(text: str | None) -> tuple[str, ...]:
    """The --symbols list (the service checks each, and that there is one); the strategy's
    symbols without the option, as /producers add does."""
    if text is None:
        return settings_or_exit().symbols
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _figures(counted: ProducerFigures | None) -> dict[str, Any]:
    if counted is None:
        return {"signals": 0, "closed": 0, "wins": 0, "losses": 0, "total_r": "0",
                "win_rate": None}  # fmt: skip
    rate = counted.win_rate
    return {
        "signals": counted.signals, "closed": counted.closed, "wins": counted.wins,
        "losses": counted.losses, "total_r": str(counted.total_r),
        "win_rate": None if rate is None else str(rate),
    }  # fmt: skip


def _row(info: ProducerInfo, counted: ProducerFigures | None) -> dict[str, Any]:
    return {
        "producer_id": info.producer_id,
        "name": info.name,
        "mode": info.mode.value,
        "symbols": list(info.symbols),
        "rate_per_hour": info.rate_per_hour,
        "status": info.state,
        "tradingview": info.tradingview,
        "allowed_sources": list(info.allowed_sources),
        "created_at": info.created_at.isoformat(),
        "figures": _figures(counted),
    }


def _shown_once(made: Credentials, as_json: bool) -> None:
    """The credentials, to stdout only: the secret and, if it has one, the alert URL."""
    path = None if made.tv_token is None else producers.TV_PATH + made.tv_token
    url = None
    if made.tv_token is not None:
        url = producers.tradingview_url(settings_or_exit().server_url, made.tv_token)
    if as_json:
        print(json.dumps({
            "producer_id": made.info.producer_id, "name": made.info.name,
            "mode": made.info.mode.value, "symbols": list(made.info.symbols),
            "rate_per_hour": made.info.rate_per_hour, "secret": made.secret,
            "tradingview_path": path, "tradingview_url": url,
        }, ensure_ascii=False))  # fmt: skip
        return
    print(f"producer_id: {made.info.producer_id}\nname:        {made.info.name}")
    print(f"secret:      {made.secret}")
    if url is not None:
        print(f"alert URL:   {url}\nalert path:  {path}")
    print(SHOWN_ONCE)
    if url is not None:
        print(URL_SHOWN_ONCE)


def add_producer(args: argparse.Namespace) -> int:
    rate = int_option(args.rate, producers.RATE, "--rate")
    symbols = _symbols(args.symbols)
    made = database.run(
        lambda: producers.register(
            args.name,
            symbols,
            mode=ProducerMode.HOLD if args.hold else ProducerMode.PUBLISH,
            rate_per_hour=rate,
            tradingview=args.tradingview,
            allowed_sources=args.allow_ip,
            actor_id=OPERATOR,
        )
    )
    _shown_once(made, args.json)
    return 0


async def _listed() -> list[tuple[ProducerInfo, ProducerFigures | None]]:
    rows = await producers.list_all()
    counted = await figures_service.figures() if rows else {}
    return [(r, counted.get(r.id)) for r in rows]


def _line(info: ProducerInfo, counted: ProducerFigures | None) -> str:
    f = _figures(counted)
    rate = "n/a" if f["win_rate"] is None else f["win_rate"]
    figures = (
        f"{f['signals']} signals, {f['closed']} closed, {f['wins']} won, {f['losses']} lost, "
        f"win rate {rate}, {f['total_r']} R"
    )
    tv = "  tradingview" if info.tradingview else ""
    return (
        f"{info.producer_id}  {info.state:<7}  {info.mode.value:<7}  "
        f"{','.join(info.symbols)}  {info.rate_per_hour}/h{tv}  {figures}  {info.name}"
    )


def list_producers(args: argparse.Namespace) -> int:
    rows = database.run(_listed)
    if args.json:
        print(json.dumps([_row(i, c) for i, c in rows], ensure_ascii=False))
        return 0
    for info, counted in rows:
        print(_line(info, counted))
    return 0


def pause_producer(args: argparse.Namespace) -> int:
    info = database.run(
        lambda: producers.set_paused(args.producer_id, args.paused, actor_id=OPERATOR)
    )
    print(f"{info.producer_id} {info.state}: {info.name}")
    return 0


def set_mode(args: argparse.Namespace) -> int:
    mode = ProducerMode(args.mode)
    info = database.run(lambda: producers.set_mode(args.producer_id, mode, actor_id=OPERATOR))
    print(f"{info.producer_id} mode {info.mode.value}: {info.name}")
    return 0


def rotate_producer(args: argparse.Namespace) -> int:
    made = database.run(lambda: producers.rotate(args.producer_id, actor_id=OPERATOR))
    _shown_once(made, args.json)
    return 0


def revoke_producer(args: argparse.Namespace) -> int:
    info = database.run(lambda: producers.revoke(args.producer_id, actor_id=OPERATOR))
    print(f"{info.producer_id} revoked: {info.name}")
    return 0
