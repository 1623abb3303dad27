"""The Alerts page's routes: thin, each calls `services.alerts.service`.

Any signed-in user may list (a plan without alerts shows a quota of 0); adding beyond the
plan's quota is 403 with the reason and the plan that raises it. A refused alert is a 422 whose
`errors[]` name the field at fault (`symbol`, `condition`, `level`, `note`, `cooldown_min`)
with the reason in the user's language. Another user's alert, or a deleted one, is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.http.problems import ProblemError
from services.alerts import service
from services.alerts.service import AlertView, NewAlert
from services.errors import UserFacingError
from services.users.profiles import UserInfo
from webapp.miniapp.api import Api, Auth, Call, Model, say

api = Api()
FIELD_OF = {
    "alerts.error_symbol_unknown": "symbol",
    "alerts.error_no_feed": "symbol",
    "alerts.error_condition": "condition",
    "alerts.error_level_invalid": "level",
    "alerts.error_level_tick": "level",
    "alerts.error_level_far": "level",
    "alerts.error_side_above": "level",
    "alerts.error_side_below": "level",
    "alerts.error_side_cross": "level",
    "alerts.error_note_long": "note",
    "alerts.error_cooldown": "cooldown_min",
}


class AlertOut(BaseModel):
    id: int
    symbol: str
    condition: Literal["above", "below", "cross"]
    level: str = Field(description="a decimal string with the symbol's digits")
    digits: int
    note: str
    repeat: bool
    cooldown_min: int
    state: Literal["active", "fired", "deleted"]
    fired_count: int
    last_fired_at: datetime | None
    created_at: datetime


class QuotaOut(BaseModel):
    used: int
    limit: int
    plan: str | None


class SymbolOut(BaseModel):
    symbol: str
    last: str
    digits: int
    tick: str


class AlertsOut(BaseModel):
    items: list[AlertOut]
    quota: QuotaOut
    symbols: list[SymbolOut] = Field(description="symbols with a live feed (alerts need one)")


class AlertIn(Model):
    symbol: str = Field(min_length=1, max_length=32)
    condition: Literal["above", "below", "cross"]
    level: str = Field(min_length=1, max_length=32, description='a plain decimal: "2400.50"')
    note: str = Field("", max_length=1000)
    repeat: bool = False
    cooldown_min: int = Field(5, description="minutes between firings of a repeating alert")


class AlertPath(Model):
    alert_id: int = Field(ge=1, le=2**63 - 1)  # 404 if unknown or another user's


def alert_out(a: AlertView) -> AlertOut:
    return AlertOut(
        id=a.id, symbol=a.symbol, condition=a.condition,
        level=str(a.level), digits=a.digits, note=a.note, repeat=a.repeat,
        cooldown_min=a.cooldown_min, state=a.state,
        fired_count=a.fired_count, last_fired_at=a.last_fired_at, created_at=a.created_at,
    )  # fmt: skip


def _problem(user: UserInfo, error: UserFacingError) -> ProblemError:
    detail = say(user, error)
    field = FIELD_OF.get(error.key)
    if field is None:
        return ProblemError(error.problem_status, error.problem_title, detail)
    errors = [{"field": field, "in": "body", "message": detail}]
    return ProblemError(422, "Unprocessable Entity", detail, errors=errors)


async def _symbols() -> list[SymbolOut]:
    return [SymbolOut(symbol=q.symbol, last=str(q.last), digits=q.digits, tick=str(q.tick))
            for q in await service.live_quotes()]  # fmt: skip


@api.get(
    "/alerts", response=AlertsOut, auth=Auth.USER,
    summary="The caller's price alerts (active and fired), quota and the symbols with a feed",
)  # fmt: skip
async def list_alerts(call: Call) -> AlertsOut:
    quota = await service.quota(call.me)
    return AlertsOut(
        items=[alert_out(a) for a in await service.alerts(call.me)],
        quota=QuotaOut(used=quota.used, limit=quota.limit, plan=quota.plan),
        symbols=await _symbols(),
    )


@api.post(
    "/alerts", response=AlertOut, body=AlertIn, auth=Auth.USER, status=201,
    summary="Set a price alert (422 names the refused field; 403 when the plan's quota is full)",
)  # fmt: skip
async def add_alert(call: Call) -> AlertOut:
    body = call.body
    new = NewAlert(body.symbol, body.condition, body.level, body.note, body.repeat,
                   body.cooldown_min)  # fmt: skip
    try:
        return alert_out(await service.create(call.me, new))
    except UserFacingError as error:
        raise _problem(call.me, error) from None


@api.get(
    "/alerts/{alert_id}", response=AlertOut, path_model=AlertPath, auth=Auth.USER,
    errors=(404,), summary="One of the caller's alerts (what a live update names)",
)  # fmt: skip
async def get_alert(call: Call) -> AlertOut:
    try:
        return alert_out(await service.alert(call.me, call.path.alert_id))
    except UserFacingError as error:
        raise _problem(call.me, error) from None


@api.delete(
    "/alerts/{alert_id}", response=AlertOut, path_model=AlertPath, auth=Auth.USER,
    errors=(404,), summary="Delete one of the caller's alerts",
)  # fmt: skip
async def delete_alert(call: Call) -> AlertOut:
    try:
        return alert_out(await service.delete(call.me, call.path.alert_id))
    except UserFacingError as error:
        raise _problem(call.me, error) from None
