"""The user's own results against the strategy's (`services.analytics.mystats`), shown on the
Performance page under "My executions": the paid feature's, like the executions. Thin."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core import clock
from services.analytics import mystats
from services.analytics.period import MAX_DAYS, parse_period
from webapp.miniapp.api import Api, Auth, Call, Model

api = Api()


class MyStatsQuery(Model):
    period: str | None = Field(
        None, max_length=16,
        description=f"a month (2026-11) or the last N days (30d, 1..{MAX_DAYS}); default 30d",
    )  # fmt: skip


class MoneyOut(BaseModel):
    currency: str = Field(description="the account's currency as its terminal reports it")
    profit: str = Field(description="a decimal in that currency, never converted")


class ResultsOut(BaseModel):
    signals: int = Field(description="the strategy's signals closed in the period")
    taken: int = Field(description="of them, filled by the user's terminals")
    closed: int = Field(description="of the taken ones, with a closed fill that has a result")
    my_r: float = Field(description="the user's result in the signals' R")
    strategy_r: float = Field(description="the sum of the signals' results")
    slippage_r: float = Field(description="what fills worse than the entry cost, in R (> 0)")
    money: list[MoneyOut] = Field(description="P&L per account currency")
    median_spread_points: float | None = Field(
        description="the median spread at the user's fills in points, as their terminals "
        "reported it (null: none reported one)"
    )


class MonthResultsOut(ResultsOut):
    year: int
    month: int = Field(ge=1, le=12)


class MyStatsOut(BaseModel):
    period: str = Field(description="the period, as the `period` argument gives it again")
    kind: Literal["month", "days", "week"]
    start: datetime
    end: datetime = Field(description="exclusive")
    terminals: int = Field(description="the user's terminals (revoked ones too)")
    brokers: list[str] = Field(description="the brokers the user's terminals report, by name")
    total: ResultsOut
    months: list[MonthResultsOut] = Field(description="months with a closed signal, oldest first")


def _results(r: mystats.Results) -> dict[str, object]:
    return {
        "signals": r.signals, "taken": r.taken, "closed": r.closed, "my_r": r.my_r,
        "strategy_r": r.strategy_r, "slippage_r": r.slippage_r,
        "money": [MoneyOut(currency=m.currency, profit=str(m.profit)) for m in r.money],
        "median_spread_points": r.median_spread_points,
    }  # fmt: skip


@api.get(
    "/mystats", response=MyStatsOut, query=MyStatsQuery, auth=Auth.PAID,
    summary="The user's results (R, money, slippage) against the strategy's over a period",
)  # fmt: skip
async def get_mystats(call: Call) -> MyStatsOut:
    p = parse_period(call.query.period, clock.now())
    stats = await mystats.my_stats(call.me, p)
    return MyStatsOut(
        period=p.label, kind=p.kind, start=p.start, end=p.end, terminals=stats.terminals,
        brokers=list(stats.brokers), total=ResultsOut.model_validate(_results(stats.total)),
        months=[MonthResultsOut.model_validate({"year": m.year, "month": m.month,
                                                **_results(m.results)}) for m in stats.months],
    )  # fmt: skip
