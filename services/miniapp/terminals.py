"""The Mini App's Terminals and Positions pages, over the same services as the chat's
/devices and /positions (`services.terminals.devices` for the registry, `overview` for views,
positions, risk settings, closes and resume).

Every function checks ownership first with `overview.owned`: another user's device, an unknown
one and a revoked one are all `NotFound` (a revoked terminal is gone for its owner too: the
registry keeps it only for the audit trail). Free users get `PermissionDenied`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core import clock
from models.devices import AccountSnapshot, DeviceMode, DeviceStatus
from services.billing.lifecycle import PLAN_PAUSES
from services.errors import InvalidInput
from services.terminals import devices, overview
from services.terminals.devices import NewDevice
from services.terminals.overview import PositionView, TerminalView
from services.terminals.risk_settings import FIELDS, parse_setting
from services.users import entitlements
from services.users.profiles import UserInfo

EQUITY_POINTS = 500  # at most this many points per curve (a snapshot every 30 s adds up)


@dataclass(frozen=True, slots=True)
class TerminalDetail:
    view: TerminalView
    can_resume: bool  # paused by the drawdown guard or the user (not by the plan)


@dataclass(frozen=True, slots=True)
class Positions:
    terminal: TerminalDetail
    positions: tuple[PositionView, ...]
    floating: Decimal  # the sum of the positions' reported profit


@dataclass(frozen=True, slots=True)
class EquityPoint:
    at: datetime
    equity: Decimal
    balance: Decimal


class SettingsInvalid(InvalidInput):
    """Some risk settings were refused (none saved): `errors` maps each to its reason."""

    def __init__(self, errors: dict[str, InvalidInput]) -> None:
        first = next(iter(errors.values()))
        super().__init__(first.key, **first.params)
        self.errors = errors


def _detail(view: TerminalView) -> TerminalDetail:
    paused = view.status == DeviceStatus.PAUSED and view.paused_reason not in PLAN_PAUSES
    return TerminalDetail(view, paused)


async def detail(user: UserInfo, device_id: str) -> TerminalDetail:
    return _detail(await overview.terminal(user, device_id))


async def add(user: UserInfo, name: str, owners: frozenset[int]) -> NewDevice:
    """A new terminal in approval mode, within the plan's terminal limit; the secret is in the
    answer only (stored sealed, never readable again)."""
    overview.require_entitled(user)
    return await devices.create_device(
        user.telegram_id, name, DeviceMode.APPROVAL, owners=owners,
        plan_limit=entitlements.terminal_limit(user),
    )  # fmt: skip


async def change(
    user: UserInfo, device_id: str, *, name: str | None = None, mode: str | None = None
) -> TerminalDetail:
    """Rename and/or switch approval/copy mode (copy needs a Copy plan: `PermissionDenied`).
    The name is checked before anything changes, so a refused request changes nothing."""
    await overview.owned(user, device_id)
    if name is not None:
        devices.valid_name(name)
    if mode is not None:
        await devices.set_mode(user, device_id, mode)
    if name is not None:
        await devices.rename(user, device_id, name)
    return await detail(user, device_id)


async def revoke(user: UserInfo, device_id: str) -> str:
    """Revoke the user's terminal (the EA is refused from the next request); its public id."""
    device = await overview.owned(user, device_id)
    await devices.revoke(user, device.device_id)
    return device.device_id


async def update_risk(user: UserInfo, device_id: str, values: dict[str, str]) -> TerminalDetail:
    """Validate every setting given first (`SettingsInvalid` names each one refused, and
    nothing is saved), then save them one by one (each audited by `overview.update_setting`)."""
    await overview.owned(user, device_id)
    errors: dict[str, InvalidInput] = {}
    for name, raw in values.items():
        if name not in FIELDS:
            errors[name] = InvalidInput("error.setting_unknown")
            continue
        try:
            parse_setting(name, raw)
        except InvalidInput as exc:
            errors[name] = exc
    if errors:
        raise SettingsInvalid(errors)
    for name, raw in values.items():
        await overview.update_setting(user, device_id, name, raw)
    return await detail(user, device_id)


async def resume(user: UserInfo, device_id: str) -> TerminalDetail:
    return _detail(await overview.resume(user, device_id))


async def positions(user: UserInfo, device_id: str) -> Positions:
    """The terminal's account figures and open positions, as last reported."""
    found, rows = await overview.terminal_with_positions(user, device_id)
    return Positions(_detail(found), tuple(rows), sum((p.profit for p in rows), Decimal(0)))


async def close(user: UserInfo, device_id: str, ticket: int) -> str:
    """Queue a CLOSE of one position for the EA; the command id."""
    return await overview.request_close(user, device_id, ticket)


async def equity_curve(user: UserInfo, device_id: str, days: int) -> list[EquityPoint]:
    """Equity and balance from the stored account snapshots of the last `days` days (kept
    `overview.SNAPSHOT_KEEP_DAYS`), thinned to at most `EQUITY_POINTS` evenly spaced points,
    the newest always included."""
    device = await overview.owned(user, device_id)
    since = clock.now() - timedelta(days=days)
    rows = await (
        AccountSnapshot.filter(device_id=device.id, created_at__gte=since)
        .order_by("id")
        .values_list("created_at", "equity", "balance")
    )
    step = max(1, -(-len(rows) // EQUITY_POINTS))  # ceil: never more than EQUITY_POINTS
    picked = list(rows[::step])
    if rows and picked[-1] is not rows[-1]:
        picked[-1] = rows[-1]
    return [EquityPoint(at, equity, balance) for at, equity, balance in picked]
