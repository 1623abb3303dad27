"""`python -m bot backtest --data FILE --symbol EURUSD [...]`: replay candles through the strategy.

Prints a summary table, or ONE JSON object with `--json` (keys `setups`, `trades`, `metrics`,
plus `symbol`, `bars`, `orders`); `--report DIR` also writes an HTML report with PNG charts.
Dates are UTC: `--from 2017-06-01` starts at that midnight, `--to 2017-06-30` ends after that
day (a full timestamp is taken literally, exclusive). Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.cli import CliError
from trading.backtest import BacktestConfig, BacktestResult, run_backtest
from trading.backtest_export import result_to_dict
from trading.candles import CandleDataError, Candles, load_csv, load_mt5_export
from trading.number_text import parse_decimal
from trading.symbols import UnknownSymbolError, get_spec

_TIMEFRAMES = {"M1": 60, "M5": 300, "M15": 900, "M30": 1800, "H1": 3600, "H4": 14400, "D1": 86400}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay candles through the Fib-RSI strategy",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--data", required=True, help="candles: CSV or MT5 history export")
    parser.add_argument("--symbol", required=True, help="e.g. EURUSD, XAUUSD")
    parser.add_argument("--timeframe", default="H1", help="bar length (default H1)")
    parser.add_argument("--from", dest="date_from", help="first traded day/time, UTC")
    parser.add_argument("--to", dest="date_to", help="last traded day (inclusive), UTC")
    parser.add_argument("--balance", default="10000", help="starting balance (default 10000)")
    parser.add_argument("--risk", default="2", help="risk per trade, %% of balance (default 2)")
    parser.add_argument("--spread-points", default="0", help="fixed spread in points")
    parser.add_argument("--commission", default="0", help="money per lot per side")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", help="write an HTML report with charts into this directory")
    parser.set_defaults(func=run)


def _decimal(text: str, name: str, minimum: Decimal) -> Decimal:
    try:
        value = parse_decimal(text)  # digits 0-9 only: Decimal() takes "٣" and "1_000"
    except ValueError:
        value = minimum - 1
    if value < minimum:
        msg = f"{name} must be a number >= {minimum}, got {text!r}"
        raise CliError(msg)
    return value


def _date(text: str | None, name: str, *, end: bool) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{name} must be a date like 2017-06-30 or 2017-06-30T12:00, got {text!r}"
        raise CliError(msg) from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    date_only = len(text.strip()) <= len("2017-06-30")
    return value + timedelta(days=1) if end and date_only else value


def _load(path_text: str, symbol: str, timeframe_s: int) -> Candles:
    path = Path(path_text)
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        loader = load_mt5_export if "\t" in first else load_csv
        return loader(path, symbol, timeframe_s).candles
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        raise CliError(msg) from None
    except (CandleDataError, ValueError) as exc:
        msg = f"bad candle file: {exc}"
        raise CliError(msg) from None


def _config(args: argparse.Namespace) -> BacktestConfig:
    spread = _decimal(args.spread_points, "--spread-points", Decimal(0))
    if spread != spread.to_integral_value():
        msg = f"--spread-points must be a whole number of points, got {args.spread_points!r}"
        raise CliError(msg)
    risk = _decimal(args.risk, "--risk", Decimal(0))
    if not 0 < risk <= 100:
        msg = f"--risk must be a percentage in (0, 100], got {args.risk!r}"
        raise CliError(msg)
    return BacktestConfig(
        balance=_decimal(args.balance, "--balance", Decimal("0.01")),
        risk_pct=risk,
        spread_points=int(spread),
        commission_per_lot_money=_decimal(args.commission, "--commission", Decimal(0)),
        start=_date(args.date_from, "--from", end=False),
        end=_date(args.date_to, "--to", end=True),
    )


def run(args: argparse.Namespace) -> int:
    timeframe_s = _TIMEFRAMES.get(args.timeframe.upper())
    if timeframe_s is None:
        msg = f"--timeframe must be one of {', '.join(_TIMEFRAMES)}, got {args.timeframe!r}"
        raise CliError(msg)
    try:
        spec = get_spec(args.symbol)
    except UnknownSymbolError as exc:
        raise CliError(str(exc)) from None
    config = _config(args)
    candles = _load(args.data, spec.name, timeframe_s)
    try:
        result = run_backtest(candles, spec, config)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.report:
        from trading.report import write_report  # matplotlib only when asked for

        write_report(result, candles, Path(args.report))
    if args.json:
        print(json.dumps(result_to_dict(result), allow_nan=False))
    else:
        print(summary(result))
    return 0


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.2f}"
    return str(value)


def summary(result: BacktestResult) -> str:
    """A readable table: counts, metrics, then one line per trade."""
    m = result.metrics
    lines = [
        f"{result.symbol}: {result.bars} bars, {len(result.setups)} setups, "
        f"{len(result.orders)} order events, {m.trades} trades",
        "",
    ]
    lines += [f"  {name:<20} {_fmt(getattr(m, name))}" for name in m.__dataclass_fields__]
    lines += ["", f"  {'side':<5} {'entry time':<26} {'entry':>9} {'exit':>9} {'why':<4} "
              f"{'lots':>5} {'pips':>7} {'R':>6} {'profit':>10}"]  # fmt: skip
    for t in result.trades:
        lines.append(
            f"  {t.side:<5} {t.entry_time.isoformat():<26} {t.entry_price!s:>9} "
            f"{t.exit_price!s:>9} {t.exit_reason:<4} {t.volume!s:>5} {t.pips:>7.1f} "
            f"{t.r_multiple:>6.2f} {t.profit_money!s:>10}"
        )
    return "\n".join(lines)
