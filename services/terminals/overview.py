"""A user's terminals as they see them: status, account, positions, risk settings, actions.

Every function that takes a device checks, on the server, that it belongs to the user and that
the user is entitled to trade (`entitlements`); a hand-crafted button cannot reach another
user's terminal. Offline detection lives here too (a job runs `detect_offline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core import clock
from models.devices import (
    DEVICE_ID_LENGTH,
    AccountSnapshot,
    Command,
    CopySettings,
    Device,
    DeviceStatus,
    Execution,
    Position,
)
from services import audit
from services.billing.lifecycle import PLAN_PAUSES
from services.copy import engine as copy_engine
from services.copy.sizing import Limits
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.outbox import notifications as outbox
from services.outbox.kinds import TerminalAlert
from services.terminals import live, risk_guard
from services.terminals import messages as tm
from services.terminals.messages import msgid as _
from services.terminals.risk_settings import FIELDS, parse_setting
from services.text.formatting import phrase
from services.users import entitlements
from services.users.profiles import UserInfo

POLL_INTERVAL_S = 30  # the EA's account report / long-poll cadence
OFFLINE_AFTER_S = 3 * POLL_INTERVAL_S  # unseen this long: offline (told once)
SNAPSHOT_KEEP_DAYS = 30


@dataclass(frozen=True, slots=True)
class AccountView:
    balance: Decimal
    equity: Decimal
    margin: Decimal
    currency: str
    high_water: Decimal
    drawdown_pct: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class PositionView:
    ticket: int
    symbol: str
    side: str
    volume: Decimal
    open_price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    profit: Decimal
    signal_id: int | None
    orphan: bool


@dataclass(frozen=True, slots=True)
class TerminalView:
    pk: int
    device_id: str
    name: str
    mode: str
    status: str
    paused_reason: str | None
    last_seen_at: datetime | None
    online: bool
    account: AccountView | None
    limits: Limits


def require_entitled(user: UserInfo) -> None:
    """Terminals are a paid feature (the one entitlement service decides)."""
    if not entitlements.can_trade_signals(user):
        raise PermissionDenied("error.devices_not_entitled")


async def owned(user: UserInfo, device_id: str) -> Device:
    """The user's own, not revoked device (by public id); NotFound otherwise (never says
    whose it is)."""
    require_entitled(user)
    if len(device_id) > DEVICE_ID_LENGTH:  # no such id can exist (the column would refuse it)
        raise NotFound("error.terminal_not_found")
    device = await Device.get_or_none(device_id=device_id, user_id=user.id)
    if device is None or device.status == DeviceStatus.REVOKED:
        raise NotFound("error.terminal_not_found")
    return device


def _online(device: Device, now: datetime) -> bool:
    seen = device.last_seen_at
    return seen is not None and now - seen < timedelta(seconds=OFFLINE_AFTER_S)


async def _account(device_pk: int) -> AccountView | None:
    row = await AccountSnapshot.filter(device_id=device_pk).order_by("-id").first()
    if row is None:
        return None
    return AccountView(
        row.balance, row.equity, row.margin, row.currency, row.high_water, row.drawdown_pct,
        row.created_at,
    )  # fmt: skip


async def _view(device: Device, now: datetime) -> TerminalView:
    return TerminalView(
        pk=device.id, device_id=device.device_id, name=device.name, mode=str(device.mode),
        status=str(device.status), paused_reason=device.paused_reason,
        last_seen_at=device.last_seen_at, online=_online(device, now),
        account=await _account(device.id), limits=await copy_engine.limits_of(device.id),
    )  # fmt: skip


async def terminals(user: UserInfo) -> list[TerminalView]:
    """The user's terminals (revoked ones hidden), oldest first."""
    require_entitled(user)
    now = clock.now()
    rows = await Device.filter(user_id=user.id).exclude(status=DeviceStatus.REVOKED).order_by("id")
    return [await _view(d, now) for d in rows]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One account currency's open positions and P&L today (UTC day) over the user's
    terminals: `floating` is the open positions' profit as last reported, `realised` the
    profit of fills closed since midnight."""

    currency: str
    open_positions: int
    floating: Decimal
    realised: Decimal

    @property
    def total(self) -> Decimal:
        return self.floating + self.realised


async def today(user: UserInfo) -> list[DayFigures]:
    """Home's figures: per account currency (terminals in several currencies are not added
    together), over the user's live terminals."""
    require_entitled(user)
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await Device.filter(user_id=user.id).exclude(status=DeviceStatus.REVOKED)
    out: dict[str, DayFigures] = {}
    for device in rows:
        account = await _account(device.id)
        currency = account.currency if account is not None else "?"
        open_rows = await Position.filter(device_id=device.id).values_list("profit", flat=True)
        closed = await Execution.filter(
            device_id=device.id, closed_at__gte=midnight, profit__not_isnull=True
        ).values_list("profit", flat=True)
        floating = sum((Decimal(str(p)) for p in open_rows), Decimal(0))
        realised = sum((Decimal(str(p)) for p in closed), Decimal(0))
        was = out.get(currency, DayFigures(currency, 0, Decimal(0), Decimal(0)))
        out[currency] = DayFigures(
            currency, was.open_positions + len(open_rows), was.floating + floating,
            was.realised + realised,
        )  # fmt: skip
    return sorted(out.values(), key=lambda d: d.currency)


async def terminal(user: UserInfo, device_id: str) -> TerminalView:
    return await _view(await owned(user, device_id), clock.now())


async def positions(user: UserInfo, device_id: str) -> list[PositionView]:
    """Open positions as last reported, with the signal each came from (if ours)."""
    return await _positions(await owned(user, device_id))


async def terminal_with_positions(
    user: UserInfo, device_id: str
) -> tuple[TerminalView, list[PositionView]]:
    """`terminal` and `positions` of one device, found once."""
    device = await owned(user, device_id)
    return await _view(device, clock.now()), await _positions(device)


async def _positions(device: Device) -> list[PositionView]:
    rows = await Position.filter(device_id=device.id).order_by("ticket")
    ids = [r.command_id for r in rows if r.command_id]
    signals = dict(await Command.filter(id__in=ids).values_list("id", "signal_id")) if ids else {}
    return [
        PositionView(
            r.ticket,
            r.symbol,
            r.side,
            r.volume,
            r.open_price,
            r.sl,
            r.tp,
            r.profit,
            signals.get(r.command_id) if r.command_id else None,
            r.orphan,
        )  # fmt: skip
        for r in rows
    ]


async def request_close(user: UserInfo, device_id: str, ticket: int) -> str:
    """A CLOSE for one of the user's positions; InvalidInput when one is already under way."""
    device = await owned(user, device_id)
    pos = await Position.get_or_none(device_id=device.id, ticket=ticket)
    if pos is None:
        raise NotFound("error.position_not_found", ticket=ticket)
    opened = await Command.get_or_none(id=pos.command_id) if pos.command_id else None
    async with copy_engine.transaction():
        command_id = await copy_engine.close_position(
            device.id, ticket, pos.symbol, pos.side,
            signal_id=opened.signal_id if opened else None, reason="user",
        )  # fmt: skip
        if command_id is None:
            raise InvalidInput("error.close_in_progress", ticket=ticket)
        await audit.record(
            "position.close_requested", actor_id=user.telegram_id, target=device.device_id,
            ticket=ticket, command_id=command_id,
        )  # fmt: skip
    return command_id


async def update_setting(user: UserInfo, device_id: str, name: str, raw: str) -> Limits:
    """Validate and save one risk setting (audited with old and new values)."""
    device = await owned(user, device_id)
    if name not in FIELDS:
        raise InvalidInput("error.setting_unknown")
    value = parse_setting(name, raw)
    async with outbox.transaction():
        row, _ = await CopySettings.get_or_create(device_id=device.id)
        old = getattr(row, name)
        setattr(row, name, value)
        await row.save()
        await audit.record(
            "device.settings_changed", actor_id=user.telegram_id, target=device.device_id,
            field=name, old=None if old is None else str(old),
            new=None if value is None else str(value),
        )  # fmt: skip
        live.announce("terminal", device.id, user.telegram_id)
    return await copy_engine.limits_of(device.id)


async def resume(user: UserInfo, device_id: str) -> TerminalView:
    """The user resumes a paused terminal (after the guard or their own pause)."""
    device = await owned(user, device_id)
    if device.status == DeviceStatus.PAUSED and device.paused_reason in PLAN_PAUSES:
        raise InvalidInput("error.device_paused_by_plan")  # the plan decides (lifecycle.keep)
    if not await risk_guard.resume(device, user.telegram_id):
        raise InvalidInput("error.device_not_paused")
    return await terminal(user, device_id)


# -- offline detection ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OfflineSweep:
    offline: int
    online: int


async def detect_offline(now: datetime | None = None) -> OfflineSweep:
    """One "offline" notice when a terminal goes unseen for OFFLINE_AFTER_S, one "back online"
    when it is seen again. Exactly once each: a conditional update on `offline_notified`."""
    moment = now or clock.now()
    cutoff = moment - timedelta(seconds=OFFLINE_AFTER_S)
    live = [DeviceStatus.ACTIVE, DeviceStatus.PAUSED]
    went = await Device.filter(
        status__in=live, offline_notified=False, last_seen_at__lt=cutoff
    ).select_related("user")
    came = await Device.filter(
        status__in=live, offline_notified=True, last_seen_at__gte=cutoff
    ).select_related("user")
    offline = sum([await _flip(d, offline=True) for d in went])
    online = sum([await _flip(d, offline=False) for d in came])
    return OfflineSweep(offline, online)


async def _flip(device: Device, *, offline: bool) -> int:
    seen = device.last_seen_at
    assert seen is not None  # both queries filter on it
    async with outbox.transaction():
        changed = await Device.filter(id=device.id, offline_notified=not offline).update(
            offline_notified=offline
        )
        if not changed:
            return 0
        live.announce("terminal", device.id, device.user.telegram_id)
        to = tm.recipient(device.user)
        key = _("terminal.offline") if offline else _("terminal.online")
        text = phrase(key, name=tm.name(device.name), when=seen)
        alert = TerminalAlert("offline" if offline else "online", to.language, text)
        stamp = int(seen.timestamp())
        await outbox.enqueue_many(
            [tm.item(to, alert, f"dev:{device.id}:{'off' if offline else 'on'}:{stamp}")]
        )
    return 1


async def prune_snapshots(now: datetime | None = None) -> int:
    """Drop account snapshots older than SNAPSHOT_KEEP_DAYS (the newest per device stays)."""
    cutoff = (now or clock.now()) - timedelta(days=SNAPSHOT_KEEP_DAYS)
    keep = []
    for pk in await Device.all().values_list("id", flat=True):
        last = await AccountSnapshot.filter(device_id=pk).order_by("-id").first()
        if last is not None:
            keep.append(last.id)
    return await AccountSnapshot.filter(created_at__lt=cutoff).exclude(id__in=keep).delete()
