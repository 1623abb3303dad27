"""The Terminals and Positions pages' routes: thin, each calls `services.miniapp.terminals`.

All need a plan with approvals (`Auth.PAID`: free users 403). A device id that is unknown,
another user's, or revoked is 404 on every route (a revoked terminal no longer exists for
anyone but the audit log). A state that forbids the action (a close already under way, resume
of a terminal that is not paused, the plan's terminal limit) is 409. Service errors are
answered in the caller's language; refused risk settings are a 422 whose `errors[]` name each
field (`field`) with its message in the user's language (`message`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import wraps
from typing import TypeVar

from pydantic import BaseModel

from core.http.problems import ProblemError
from services.errors import UserFacingError
from services.miniapp import terminals as service
from services.miniapp.terminals import SettingsInvalid, TerminalDetail
from services.terminals import ea_files
from services.users.profiles import UserInfo
from webapp.miniapp import downloads
from webapp.miniapp.api import CONFIG_KEY, Api, Auth, Call, say
from webapp.miniapp.schemas import TerminalPath
from webapp.miniapp.schemas_terminals import (
    AccountOut,
    CloseOut,
    EaFileOut,
    EaFilesOut,
    EquityOut,
    EquityPointOut,
    EquityQuery,
    NewTerminalIn,
    NewTerminalOut,
    PositionOut,
    PositionPath,
    PositionsOut,
    RevokedOut,
    RiskOut,
    RiskPatch,
    TerminalDetailOut,
    TerminalPatch,
)

api = Api()
R = TypeVar("R", bound=BaseModel)
CONFLICTS = frozenset({
    "error.close_in_progress", "error.device_not_paused", "error.device_paused_by_plan",
    "error.device_plan_limit", "error.device_limit",
})  # fmt: skip
FIELDS_OF = {"error.device_name_invalid": "name", "error.device_mode_invalid": "mode"}


def _problem(user: UserInfo, error: UserFacingError) -> ProblemError:
    if isinstance(error, SettingsInvalid):
        errors = [{"field": name, "in": "body", "message": say(user, e)}
                  for name, e in error.errors.items()]  # fmt: skip
        return ProblemError(422, "Unprocessable Entity", errors[0]["message"], errors=errors)
    status = 409 if error.key in CONFLICTS else error.problem_status
    title = "Conflict" if status == 409 else error.problem_title
    detail = say(user, error)
    field = FIELDS_OF.get(error.key)
    if field is not None:
        errors = [{"field": field, "in": "body", "message": detail}]
        return ProblemError(status, title, detail, errors=errors)
    return ProblemError(status, title, detail)


def localized(handler: Callable[[Call], Awaitable[R]]) -> Callable[[Call], Awaitable[R]]:
    """Answer the services' errors as the terminal form shows them: conflicts as 409, a
    settings error per field (the framework answers the rest, in the caller's language too)."""

    @wraps(handler)
    async def run(call: Call) -> R:
        try:
            return await handler(call)
        except UserFacingError as error:
            raise _problem(call.me, error) from None

    return run


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def detail_out(found: TerminalDetail) -> TerminalDetailOut:
    t, a, r = found.view, found.view.account, found.view.limits
    account = None if a is None else AccountOut(
        balance=str(a.balance), equity=str(a.equity), margin=str(a.margin),
        floating=str(a.equity - a.balance), currency=a.currency,
        drawdown_pct=str(a.drawdown_pct), at=a.at,
    )  # fmt: skip
    return TerminalDetailOut(
        device_id=t.device_id, live_key=t.pk, name=t.name,
        mode="copy" if t.mode == "copy" else "approval",
        status="paused" if t.status == "paused" else "active", paused_reason=t.paused_reason,
        can_resume=found.can_resume, online=t.online, last_seen_at=t.last_seen_at,
        account=account,
        risk=RiskOut(
            risk_pct=str(r.risk_pct), lot_multiplier=str(r.lot_multiplier),
            max_lot=_text(r.max_lot), max_open_positions=r.max_open_positions,
            max_trades_per_day=r.max_trades_per_day, max_drawdown_pct=str(r.max_drawdown_pct),
        ),
    )  # fmt: skip


def _files() -> list[EaFileOut]:
    return [EaFileOut(name=f.name, url=downloads.URL_PREFIX + f.name, size=len(f.data))
            for f in ea_files.ea_files()]  # fmt: skip


def _server_url(call: Call) -> str:
    configured = call.request.app[CONFIG_KEY].public_url
    return (configured or str(call.request.url.origin())).rstrip("/")


@api.post(
    "/terminals", response=NewTerminalOut, body=NewTerminalIn, auth=Auth.PAID, status=201,
    errors=(409,),
    summary="Add a terminal: its device id and secret (shown this once), the EA's files",
)  # fmt: skip
@localized
async def add_terminal(call: Call) -> NewTerminalOut:
    new = await service.add(call.me, call.body.name, call.request.app[CONFIG_KEY].owners)
    found = await service.detail(call.me, new.device_id)
    return NewTerminalOut(
        terminal=detail_out(found), device_id=new.device_id, secret=new.secret,
        server_url=_server_url(call), files=_files(),
    )  # fmt: skip


@api.get(
    "/terminals/{device_id}/detail", response=TerminalDetailOut, path_model=TerminalPath,
    auth=Auth.PAID, errors=(404,),
    summary="One terminal with its mode, status, account figures and risk settings",
)  # fmt: skip
@localized
async def terminal_detail(call: Call) -> TerminalDetailOut:
    return detail_out(await service.detail(call.me, call.path.device_id))


@api.patch(
    "/terminals/{device_id}", response=TerminalDetailOut, path_model=TerminalPath,
    body=TerminalPatch, auth=Auth.PAID, errors=(404,),
    summary="Rename a terminal and/or switch approval / copy mode (copy: a Copy plan, 403)",
)  # fmt: skip
@localized
async def change_terminal(call: Call) -> TerminalDetailOut:
    body = call.body
    return detail_out(
        await service.change(call.me, call.path.device_id, name=body.name, mode=body.mode)
    )


@api.delete(
    "/terminals/{device_id}", response=RevokedOut, path_model=TerminalPath, auth=Auth.PAID,
    errors=(404,), summary="Revoke a terminal: the EA is refused from its next request",
)  # fmt: skip
@localized
async def revoke_terminal(call: Call) -> RevokedOut:
    return RevokedOut(device_id=await service.revoke(call.me, call.path.device_id), revoked=True)


@api.patch(
    "/terminals/{device_id}/risk", response=TerminalDetailOut, path_model=TerminalPath,
    body=RiskPatch, auth=Auth.PAID, errors=(404,),
    summary="Change risk settings (all checked first: a 422 names each refused field)",
)  # fmt: skip
@localized
async def change_risk(call: Call) -> TerminalDetailOut:
    values = {k: v for k, v in call.body.model_dump().items() if v is not None}
    return detail_out(await service.update_risk(call.me, call.path.device_id, values))


@api.post(
    "/terminals/{device_id}/resume", response=TerminalDetailOut, path_model=TerminalPath,
    auth=Auth.PAID, errors=(404, 409),
    summary="Resume a terminal paused by the drawdown guard (or its owner)",
)  # fmt: skip
@localized
async def resume_terminal(call: Call) -> TerminalDetailOut:
    return detail_out(await service.resume(call.me, call.path.device_id))


@api.get(
    "/terminals/{device_id}/positions", response=PositionsOut, path_model=TerminalPath,
    auth=Auth.PAID, errors=(404,),
    summary="A terminal's open positions and account figures, as last reported",
)  # fmt: skip
@localized
async def terminal_positions(call: Call) -> PositionsOut:
    found = await service.positions(call.me, call.path.device_id)
    items = [
        PositionOut(
            ticket=p.ticket,
            symbol=p.symbol,
            side="buy" if p.side == "buy" else "sell",
            volume=str(p.volume),
            open_price=str(p.open_price),
            sl=_text(p.sl),
            tp=_text(p.tp),
            profit=str(p.profit),
            signal_id=p.signal_id,
            orphan=p.orphan,
        )  # fmt: skip
        for p in found.positions
    ]
    return PositionsOut(
        terminal=detail_out(found.terminal), items=items, floating=str(found.floating)
    )


@api.post(
    "/terminals/{device_id}/positions/{ticket}/close", response=CloseOut,
    path_model=PositionPath, auth=Auth.PAID, status=202, errors=(404, 409),
    summary="Ask the terminal to close one position (the EA receives a CLOSE command)",
)  # fmt: skip
@localized
async def close_position(call: Call) -> CloseOut:
    path = call.path
    command_id = await service.close(call.me, path.device_id, path.ticket)
    return CloseOut(command_id=command_id, ticket=path.ticket)


@api.get(
    "/terminals/{device_id}/equity", response=EquityOut, path_model=TerminalPath,
    query=EquityQuery, auth=Auth.PAID, errors=(404,),
    summary="The account's equity and balance over the last days (stored snapshots)",
)  # fmt: skip
@localized
async def terminal_equity(call: Call) -> EquityOut:
    found = await service.detail(call.me, call.path.device_id)
    points = await service.equity_curve(call.me, call.path.device_id, call.query.days)
    account = found.view.account
    return EquityOut(
        currency=None if account is None else account.currency,
        points=[EquityPointOut(time=int(p.at.timestamp()), equity=str(p.equity),
                               balance=str(p.balance)) for p in points],
    )  # fmt: skip


@api.get(
    "/ea-files", response=EaFilesOut, auth=Auth.PAID,
    summary="The EA's files to install in MetaTrader 5 (download URLs under /app/ea/)",
)  # fmt: skip
async def list_ea_files(_call: Call) -> EaFilesOut:
    return EaFilesOut(files=_files())
