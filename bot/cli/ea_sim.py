"""`python -m bot ea-sim --device ID --secret S`: run the reference EA until Ctrl-C.

The Python EA speaks the /ea/v1 protocol to the server and executes on a paper account
(``--broker paper``, prices from ``--prices FILE`` replayed one bar per ``--interval``
seconds) or on this machine's MetaTrader 5 terminal (``--broker mt5``, Windows only). The
secret may come from the ``EA_SECRET`` environment variable instead of the command line.
Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.cli import CliError, int_option, number
from core.logs import setup_logging
from ea.client.execution import MAGIC
from ea.client.sim import paper_broker, replay_bars
from ea.client.terminal import EAClient, EAConfig, Guards
from services.text.numbers import INT64_MAX, IntBound
from trading.candles import CandleDataError, Candles, load_csv
from trading.number_text import parse_decimal
from trading.symbols import UnknownSymbolError

log = logging.getLogger("ea")
# Whole-number options (CLI only: the message key is the generic one, never shown here).
POLL_WAIT = IntBound("error.number_invalid", 0, 30, "long-poll seconds")
POINTS = IntBound("error.number_invalid", 0, 100_000, "a number of points")
POSITIONS = IntBound("error.number_invalid", 1, 100_000, "a number of positions")
MAGIC_NUMBER = IntBound("error.number_invalid", 0, INT64_MAX, "a magic number")
DAY_S = Decimal(86_400)  # periods: above 0, at most a day


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ea-sim",
        help="run the reference EA (Python) against a server",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add = parser.add_argument
    add("--device", required=True, help="the device id (dev_...)")
    add("--secret", default=None, help="the device secret (or set EA_SECRET)")
    add("--server", default="http://127.0.0.1:8080", help="server base URL")
    add("--broker", choices=("paper", "mt5"), default="paper")
    add("--state", default="data/ea-state.json", help="executed-commands file")
    add("--balance", default="10000", help="paper account balance (default 10000)")
    add("--symbols", default="EURUSD,XAUUSD", help="symbols to report, comma separated")
    add("--prices", help="paper: candle CSV to replay as the market")
    add("--prices-symbol", help="paper: the symbol of --prices (default: the first symbol)")
    add("--interval", default="1", help="paper: seconds per replayed bar")
    add("--spread-points", default=0, help="paper: fixed spread")
    add("--max-spread", help="guard: refuse opens above this spread (points)")
    add("--max-lot", help="guard: refuse opens above this volume (lots)")
    add("--max-positions", help="guard: max open positions + orders of ours")
    add("--magic", default=MAGIC, help=f"magic number (default {MAGIC})")
    add("--poll-wait", default=25, help="long-poll seconds, 0-30 (default 25)")
    add("--account-every", default="10", help="account report period, seconds")
    parser.set_defaults(func=run)


def _optional_int(text: str | None, bound: IntBound, option: str) -> int | None:
    return None if text is None else int_option(text, bound, option)


def _positive(text: str, name: str) -> Decimal:
    try:
        value = parse_decimal(text)  # digits 0-9 only: Decimal() takes "٣", "1_0" and "1e3"
    except ValueError:
        value = Decimal(0)
    if value <= 0:
        msg = f"{name} must be a positive number, got {text!r}"
        raise CliError(msg)
    return value


def _seconds(text: str, option: str) -> float:
    return float(number(text, option, above=Decimal(0), high=DAY_S))


def config_from(args: argparse.Namespace) -> EAConfig:
    """Validated settings (CliError names the bad option)."""
    secret = args.secret or os.environ.get("EA_SECRET", "")
    if not secret:
        msg = "--secret is required (or set EA_SECRET)"
        raise CliError(msg)
    if not args.device.strip():
        msg = "--device must be the device id shown when the terminal was added"
        raise CliError(msg)
    url = urlsplit(args.server)
    if url.scheme not in ("http", "https") or not url.hostname:
        msg = f"--server must be an http(s) URL such as http://127.0.0.1:8080, got {args.server!r}"
        raise CliError(msg)
    poll_wait = int_option(args.poll_wait, POLL_WAIT, "--poll-wait")
    account_every = _seconds(args.account_every, "--account-every")
    symbols = tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip())
    if not symbols:
        msg = "--symbols needs at least one symbol, e.g. EURUSD"
        raise CliError(msg)
    guards = Guards(
        max_spread_points=_optional_int(args.max_spread, POINTS, "--max-spread"),
        max_lot=None if args.max_lot is None else _positive(args.max_lot, "--max-lot"),
        max_positions=_optional_int(args.max_positions, POSITIONS, "--max-positions"),
    )
    return EAConfig(
        device_id=args.device.strip(), secret=secret, state_path=Path(args.state),
        server=args.server, magic=int_option(args.magic, MAGIC_NUMBER, "--magic"),
        guards=guards, poll_wait_s=poll_wait,
        account_interval_s=account_every, symbols=symbols,
    )  # fmt: skip


def _prices(args: argparse.Namespace, symbols: tuple[str, ...]) -> Candles | None:
    if args.prices is None:
        return None
    symbol = (args.prices_symbol or symbols[0]).upper()
    try:
        return load_csv(args.prices, symbol).candles
    except (OSError, CandleDataError, ValueError) as exc:
        msg = f"--prices {args.prices}: {exc}"
        raise CliError(msg) from None


def _broker(args: argparse.Namespace, symbols: tuple[str, ...]) -> Any:
    if args.broker == "mt5":
        from trading.brokers.mt5 import MT5Broker, Mt5Unavailable

        try:
            return MT5Broker()
        except Mt5Unavailable as exc:
            raise CliError(exc.message) from None
    try:
        balance = _positive(args.balance, "--balance")
        spread = int_option(args.spread_points, POINTS, "--spread-points")
        return paper_broker(symbols, balance=balance, spread_points=spread)
    except (UnknownSymbolError, ValueError) as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    interval = _seconds(args.interval, "--interval")
    prices = _prices(args, config.symbols) if args.broker == "paper" else None
    broker = _broker(args, config.symbols)
    setup_logging("INFO", json_output=False)
    asyncio.run(_run(config, broker, prices, interval))
    return 0


async def _run(config: EAConfig, broker: Any, prices: Candles | None, interval_s: float) -> None:
    if hasattr(broker, "connect"):
        await broker.connect()
    client = EAClient(config, broker)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: KeyboardInterrupt instead
            loop.add_signal_handler(sig, client.stop)
    replay = None
    if prices is not None:
        replay = asyncio.create_task(replay_bars(broker, client, prices, interval_s=interval_s))
    log.info("EA %s -> %s (%s)", config.device_id, config.server, type(broker).__name__)
    try:
        await client.run()
    finally:
        if replay is not None:
            replay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replay
        if hasattr(broker, "close"):
            await broker.close()
