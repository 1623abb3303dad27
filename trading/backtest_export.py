"""A backtest result as plain JSON-ready data (CLI ``--json``, reports, later the web API).

Times are ISO 8601 UTC strings, Decimal prices and money are strings (exact), floats are
rounded for display only where noted, and NaN metrics become ``null`` (JSON has no NaN).
Setup levels are the detector's RAW prices, before rounding to the tick.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from trading.backtest_types import BacktestResult, OrderEvent, Trade
from trading.detector import Setup

__all__ = ["order_row", "result_to_dict", "setup_row", "trade_row"]


def setup_row(setup: Setup) -> dict[str, Any]:
    return {
        "side": str(setup.side),
        "trigger": setup.trigger_time.isoformat(),
        "leg2_start": setup.leg2_start.isoformat(),
        "point1": {"time": setup.point1_time.isoformat(), "price": setup.point1_price},
        "point2": {"time": setup.point2_time.isoformat(), "price": setup.point2_price},
        "entry": setup.entry,
        "stop": setup.stop,
        "take_profit": setup.take_profit,
        "final": setup.final,
        "published_at": setup.published_at.isoformat(),
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def order_row(event: OrderEvent) -> dict[str, Any]:
    return {
        "kind": str(event.kind),
        "time": event.time.isoformat(),
        "side": str(event.side),
        "setup": event.setup_key.isoformat(),
        "ticket": event.ticket,
        "price": _text(event.price),
        "stop": _text(event.stop),
        "take_profit": _text(event.take_profit),
        "volume": _text(event.volume),
        "note": event.note,
    }


def trade_row(trade: Trade) -> dict[str, Any]:
    return {
        "ticket": trade.ticket,
        "side": str(trade.side),
        "setup": trade.setup_key.isoformat(),
        "entry_time": trade.entry_time.isoformat(),
        "entry_price": str(trade.entry_price),
        "exit_time": trade.exit_time.isoformat(),
        "exit_price": str(trade.exit_price),
        "exit_reason": trade.exit_reason,
        "stop": str(trade.stop),
        "take_profit": str(trade.take_profit),
        "volume": str(trade.volume),
        "pips": round(trade.pips, 1),
        "r_multiple": round(trade.r_multiple, 4),
        "profit_money": str(trade.profit_money),
        "commission_money": str(trade.commission_money),
    }


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_to_dict(result: BacktestResult, *, orders: bool = True) -> dict[str, Any]:
    """``{symbol, bars, setups, orders, trades, metrics}``; see the module docstring."""
    metrics = {
        f.name: _json_number(getattr(result.metrics, f.name)) for f in fields(result.metrics)
    }
    data: dict[str, Any] = {
        "symbol": result.symbol,
        "bars": result.bars,
        "setups": [setup_row(s) for s in result.setups],
        "trades": [trade_row(t) for t in result.trades],
        "metrics": metrics,
    }
    if orders:
        data["orders"] = [order_row(o) for o in result.orders]
    return data
