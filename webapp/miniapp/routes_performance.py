"""The Performance page's routes: the strategy's track record (every signed-in user: results in
R and times only, never price levels), its CSV and PNG exports, and the user's own executions
(the paid feature). Thin: each calls `services.miniapp.performance`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.analytics.public import CSV_COLUMNS, ClosedSignal
from services.miniapp import performance
from webapp.miniapp.api import Api, Auth, Call, Page, PageQuery, Raw, paginate

api = Api()


class FiguresOut(BaseModel):
    """The record's statistics (null: undefined, e.g. no closed signal yet or no loss)."""

    signals: int = Field(description="closed signals with a result")
    wins: int = Field(description="results above 0 R")
    losses: int = Field(description="results below 0 R (break-even counts as neither)")
    total_r: float
    average_r: float | None
    win_rate_pct: float | None
    profit_factor: float | None = Field(description="gross R won / gross R lost")
    max_drawdown_r: float | None
    annual_r: float | None = Field(description="mean monthly R * 12")
    sharpe: float | None = Field(description="monthly R, annualised with sqrt(12)")
    sortino: float | None = Field(description="monthly R, annualised with sqrt(12)")
    calmar: float | None = Field(description="annual R / max drawdown R")


class ClosedOut(BaseModel):
    id: int
    symbol: str
    side: Literal["buy", "sell"]
    published_at: datetime
    closed_at: datetime
    close_reason: str | None
    result_r: float
    equity_r: float = Field(description="cumulative R after this signal")
    drawdown_r: float = Field(description="R below the curve's running peak (>= 0)")


class MonthOut(BaseModel):
    year: int
    month: int = Field(ge=1, le=12)
    r: float = Field(description="the sum of the month's results")
    signals: int = Field(description="signals closed in the month (0: a quiet month)")


class PerformanceOut(BaseModel):
    figures: FiguresOut
    closed: list[ClosedOut] = Field(description="in close order: the equity and drawdown curves")
    months: list[MonthOut] = Field(description="every month from the first close to the last")


class ExecutionOut(BaseModel):
    id: int
    signal_id: int | None
    symbol: str
    side: Literal["buy", "sell"]
    terminal: str
    volume: str
    fill_price: str
    signal_entry: str | None
    filled_at: datetime
    slippage_points: float | None = Field(description="vs the signal's entry; > 0: worse")
    slippage_r: float | None = Field(description="vs the signal's entry, in R; > 0: worse")
    latency_ms: int | None = Field(description="the signal's publication -> the fill")


class ExecutionPage(Page[ExecutionOut]):
    fills: int = Field(description="every fill of the user's terminals")
    median_slippage_points: float | None
    median_slippage_r: float | None
    median_latency_ms: float | None


def _closed_out(s: ClosedSignal) -> ClosedOut:
    return ClosedOut(
        id=s.id, symbol=s.symbol, side="buy" if s.side == "buy" else "sell",
        published_at=s.published_at, closed_at=s.closed_at, close_reason=s.close_reason,
        result_r=float(s.result_r), equity_r=s.cumulative_r, drawdown_r=s.drawdown_r,
    )  # fmt: skip


@api.get(
    "/performance", response=PerformanceOut,
    summary="The strategy's track record from closed signals: figures, curves and monthly R",
)  # fmt: skip
async def get_performance(_call: Call) -> PerformanceOut:
    record = await performance.track_record()
    f = record.figures
    return PerformanceOut(
        figures=FiguresOut(
            signals=f.signals, wins=f.wins, losses=f.losses, total_r=f.total_r,
            average_r=f.average_r, win_rate_pct=f.win_rate_pct, profit_factor=f.profit_factor,
            max_drawdown_r=f.max_drawdown_r, annual_r=f.annual_r, sharpe=f.sharpe,
            sortino=f.sortino, calmar=f.calmar,
        ),
        closed=[_closed_out(s) for s in record.closed],
        months=[MonthOut(year=m.year, month=m.month, r=m.r, signals=m.signals)
                for m in record.months],
    )  # fmt: skip


def _execution_out(e: performance.MyExecution) -> ExecutionOut:
    return ExecutionOut(
        id=e.id, signal_id=e.signal_id, symbol=e.symbol, side="buy" if e.side == "buy" else "sell",
        terminal=e.terminal, volume=str(e.volume), fill_price=str(e.fill_price),
        signal_entry=None if e.signal_entry is None else str(e.signal_entry),
        filled_at=e.filled_at,
        slippage_points=None if e.slippage_points is None else float(e.slippage_points),
        slippage_r=e.slippage_r, latency_ms=e.latency_ms,
    )  # fmt: skip


@api.get(
    "/performance/mine", response=ExecutionPage, query=PageQuery, auth=Auth.PAID,
    summary="The user's own fills: slippage vs the signal's entry and latency, with medians",
)  # fmt: skip
async def my_executions(call: Call) -> ExecutionPage:
    found = await performance.my_executions(call.me)
    page, cursor = paginate(list(found.items), lambda e: e.id, call.query)
    return ExecutionPage(
        items=[_execution_out(e) for e in page], next_cursor=cursor, fills=len(found.items),
        median_slippage_points=found.median_slippage_points,
        median_slippage_r=found.median_slippage_r, median_latency_ms=found.median_latency_ms,
    )  # fmt: skip


def _file(body: bytes, content_type: str, filename: str) -> web.Response:
    """An export: the bytes, saved by a browser under `filename`."""
    return web.Response(
        body=body, content_type=content_type,
        charset="utf-8" if content_type.startswith("text/") else None,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip


@api.get(
    "/performance.csv",
    response=Raw("text/csv", "UTF-8 CSV, one row per closed signal: " + ",".join(
        CSV_COLUMNS)),
    summary="The closed signals of the track record as CSV (R and times, no price levels)",
)  # fmt: skip
async def performance_csv(_call: Call) -> web.Response:
    text = await performance.track_record_csv()
    return _file(text.encode("utf-8"), "text/csv", "signaldesk-performance.csv")


@api.get(
    "/performance.png", response=Raw("image/png", "a 960x600 PNG of the curves in R"),
    summary="The equity and drawdown curves in R as a PNG (server-rendered)",
)  # fmt: skip
async def performance_png(call: Call) -> web.Response:
    png = await performance.track_record_png(call.me.language)
    return _file(png, "image/png", "signaldesk-performance.png")
