"""The public track record's machine-readable shapes: the fields of widget.json, signals.json and
signals.csv, in one place because they are a public contract (docs/performance.md lists them;
tests/webapp/test_performance_page.py pins them).

Every field is impersonal: figures in R, and of subscribers' fills only counts and medians
(`services.analytics.fills`), with a broker's name only for a group of at least three
subscribers' terminals (`services.analytics.brokers`). JSON carries numbers as numbers (None:
null); the CSV writes counts as integers, R with 4 decimals like `result_r`, and points and
milliseconds without trailing zeros (a median of whole points is "4" or "4.5"), an undefined
median as an empty cell.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.analytics import public
from services.analytics.brokers import BrokerSummary
from services.analytics.fills import ExecutionSummary
from services.analytics.public import TrackRecord

EXECUTION_FIELDS = ("terminals", "fills", "median_slippage_points", "median_slippage_r",
                    "median_latency_ms", "median_spread_points")  # fmt: skip
BROKER_FIELDS = ("group", "broker", "terminals", "fills", "median_slippage_points",
                 "median_slippage_r", "median_spread_points")  # fmt: skip
R_FIELDS = frozenset({"median_slippage_r"})


def figures_json(record: TrackRecord) -> dict[str, Any]:
    f = record.figures
    return {
        "signals": f.signals, "wins": f.wins, "losses": f.losses, "total_r": f.total_r,
        "average_r": f.average_r, "win_rate_pct": f.win_rate_pct,
        "profit_factor": f.profit_factor, "max_drawdown_r": f.max_drawdown_r,
        "annual_r": f.annual_r, "sharpe": f.sharpe, "sortino": f.sortino, "calmar": f.calmar,
    }  # fmt: skip


def executions_json(summary: ExecutionSummary | None) -> dict[str, int | float | None]:
    """The subscribers' fills of one closed signal (`EXECUTION_FIELDS`; no fill: 0 and None)."""
    if summary is None:
        return {"terminals": 0, "fills": 0, **dict.fromkeys(EXECUTION_FIELDS[2:])}
    return {
        "terminals": summary.terminals, "fills": summary.fills,
        "median_slippage_points": summary.median_slippage_points,
        "median_slippage_r": summary.median_slippage_r,
        "median_latency_ms": summary.median_latency_ms,
        "median_spread_points": summary.median_spread_points,
    }  # fmt: skip


def brokers_json(groups: tuple[BrokerSummary, ...]) -> list[dict[str, str | int | float | None]]:
    """The period's fills by broker (`BROKER_FIELDS`), in the service's order; `broker` is the
    name of a `broker` group and null for `unreported` and `other`."""
    return [
        {"group": g.group, "broker": g.broker if g.group == "broker" else None,
         "terminals": g.terminals, "fills": g.fills,
         "median_slippage_points": g.median_slippage_points,
         "median_slippage_r": g.median_slippage_r,
         "median_spread_points": g.median_spread_points}
        for g in groups
    ]  # fmt: skip


def _cell(name: str, value: int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if name in R_FIELDS:
        return f"{value:.4f}"
    plain = (Decimal(repr(value)) + 0).normalize()  # + 0: never "-0"
    return format(plain, "f")


def signals_csv(record: TrackRecord, found: dict[int, ExecutionSummary]) -> str:
    """The closed signals (`public.CSV_COLUMNS`), each with its `EXECUTION_FIELDS`."""
    cells = {
        s.id: {k: _cell(k, v) for k, v in executions_json(found.get(s.id)).items()}
        for s in record.closed
    }
    return public.closed_csv(record, EXECUTION_FIELDS, cells)
