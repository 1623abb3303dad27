"""The copy engine: signal events become EA commands for subscribers' terminals.

Called inside the transaction of the event (approval, publish, revise, transition), so a signal
change and the commands it causes commit together. Every command is idempotent on its dedupe
key (`open:<device>:<signal>`: one execution per signal and terminal, whatever is retried).

- approval -> OPEN on the user's approval-mode terminals; publish -> OPEN on every copy-mode
  terminal of an entitled user, within its caps (open positions, trades per UTC day);
- revise -> MODIFY of orders not yet filled; expired/replaced/cancelled -> CANCEL of those;
- closed -> CLOSE of filled positions when the server manages exits (entry_only visibility) or
  the owner closed by hand (/cancel_signal); in full visibility the broker's SL/TP does it.

A terminal that gets nothing is told why, once per signal (outbox), and the skip is audited.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from models.devices import (
    AccountSnapshot,
    Command,
    CommandStatus,
    CommandType,
    CopySettings,
    Device,
    DeviceMode,
    DeviceStatus,
    Position,
)
from models.signals import CloseReason, SignalStatus
from models.users import User
from services import app_settings, audit, ea_commands, entitlements, symbol_map
from services import notifications as outbox
from services import terminal_messages as tm
from services.copy_sizing import Limits, Skip, terminal_levels, volume_for
from services.signal_views import SignalView
from services.users import to_info

log = logging.getLogger(__name__)
S = CommandStatus
UNFILLED = (S.PENDING, S.ACCEPTED, S.PLACED)
LIVE = (*UNFILLED, S.FILLED)
RETRYABLE = (S.REJECTED, S.FAILED, S.EXPIRED)  # a close that ended so may be sent again
CANCEL_ON = (SignalStatus.EXPIRED, SignalStatus.REPLACED, SignalStatus.CANCELLED)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One transaction that wakes the terminals' long polls (commands) and the outbox sender
    (notices) after it commits. The command queue's block must be the outer one."""
    async with ea_commands.transaction(), outbox.transaction():
        yield


def open_key(device_pk: int, signal_id: int) -> str:
    return f"open:{device_pk}:{signal_id}"


def order_comment(signal_id: int) -> str:
    """The broker-side comment of an OPEN (unique per terminal: one OPEN per signal; well
    under MT5's 31 characters). `terminal_reports.command_for_comment` reads it back."""
    return f"sd:{signal_id}"


def payload(
    *,
    symbol: str,
    side: str,
    signal_id: int | None,
    order_type: str = "limit",
    price: Decimal | None = None,
    sl: Decimal | None = None,
    tp: Decimal | None = None,
    volume: Decimal | None = None,
    expires_at: datetime | None = None,
    ticket: int | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """The wire command minus id/type (services.ea_types.WireCommand), JSON-safe:
    Decimals as exact strings, times as ISO 8601 UTC."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "signal_id": signal_id, "symbol": symbol, "side": side, "order_type": order_type,
        "price": num(price), "sl": num(sl), "tp": num(tp), "volume": num(volume),
        "expires_at": None if expires_at is None else expires_at.astimezone(UTC).isoformat(),
        "ticket": ticket, "comment": comment,
    }  # fmt: skip


async def limits_of(device_pk: int) -> Limits:
    """The device's risk settings with defaults for anything not set."""
    row = await CopySettings.get_or_none(device_id=device_pk)
    if row is None:
        return Limits()
    base = Limits()
    return Limits(
        risk_pct=row.risk_pct if row.risk_pct is not None else base.risk_pct,
        lot_multiplier=row.lot_multiplier
        if row.lot_multiplier is not None
        else base.lot_multiplier,
        max_lot=row.max_lot,
        max_open_positions=row.max_open_positions,
        max_trades_per_day=row.max_trades_per_day,
        max_drawdown_pct=row.max_drawdown_pct,
    )


async def open_count(device_pk: int) -> int:
    """Open exposure: live OPEN commands (pending, placed, filled) or reported positions,
    whichever is larger (a position we opened appears in both)."""
    commands = await Command.filter(device_id=device_pk, type=CommandType.OPEN, status__in=LIVE)
    positions = await Position.filter(device_id=device_pk).count()
    return max(len(commands), positions)


async def trades_today(device_pk: int, now: datetime) -> int:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return await Command.filter(
        device_id=device_pk, type=CommandType.OPEN, created_at__gte=start
    ).count()


async def _check_caps(device: Device, limits: Limits, now: datetime) -> None:
    if device.status == DeviceStatus.PAUSED:
        raise Skip("paused")
    cap = limits.max_open_positions
    if cap is not None and (count := await open_count(device.id)) >= cap:
        raise Skip("max_open_positions", count=count, limit=cap)
    cap = limits.max_trades_per_day
    if cap is not None and (count := await trades_today(device.id, now)) >= cap:
        raise Skip("max_trades_per_day", count=count, limit=cap)


async def _open_payload(device: Device, view: SignalView, limits: Limits) -> dict[str, Any]:
    resolved = await symbol_map.resolve(device, view.symbol)
    if resolved is None:
        raise Skip("unknown_symbol", symbol=view.symbol)
    snapshot = await AccountSnapshot.filter(device_id=device.id).order_by("-id").first()
    if snapshot is None:
        raise Skip("no_account")
    visibility = await app_settings.visibility()
    levels = terminal_levels(
        view.side, view.entry, view.stop, view.take_profit, resolved.spec, visibility
    )
    volume = volume_for(snapshot.balance, abs(levels.price - levels.stop), resolved.spec, limits)
    return payload(
        symbol=resolved.broker_name, side=view.side, signal_id=view.id, price=levels.price,
        sl=levels.sl, tp=levels.tp, volume=volume, expires_at=view.expires_at,
        comment=order_comment(view.id),
    )  # fmt: skip


async def _open_on(device: Device, user: User, view: SignalView, now: datetime) -> str | None:
    """One OPEN for `device`, or a recorded, announced skip."""
    key = open_key(device.id, view.id)
    if await Command.exists(dedupe_key=key):
        return None
    try:
        if device.mode == DeviceMode.COPY and not entitlements.can_trade_signals(to_info(user)):
            raise Skip("not_entitled")
        limits = await limits_of(device.id)
        await _check_caps(device, limits, now)
        body = await _open_payload(device, view, limits)
    except Skip as skip:
        await _skipped(device, user, view.id, skip)
        return None
    return await ea_commands.create(
        device.id, CommandType.OPEN, body, signal_id=view.id, dedupe_key=key,
        expires_at=view.expires_at,
    )  # fmt: skip


async def _skipped(device: Device, user: User, signal_id: int, skip: Skip) -> None:
    await audit.record(
        "copy.skipped", actor_id=None, target=device.device_id, signal_id=signal_id,
        reason=skip.code, **{k: str(v) for k, v in skip.params.items()},
    )  # fmt: skip
    notice = tm.skip_notice(
        tm.recipient(user), device.id, device.name, signal_id, skip.code, skip.params
    )
    await outbox.enqueue_many([notice])
    log.info("copy skipped", extra={"device": device.device_id, "reason": skip.code})


async def on_approved(user_id: int, view: SignalView) -> list[str]:
    """The user approved `view`: an OPEN on each of their approval-mode terminals."""
    devices = await Device.filter(
        user_id=user_id, mode=DeviceMode.APPROVAL,
        status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED],
    ).select_related("user")  # fmt: skip
    return await _open_all(devices, view)


async def on_publish(view: SignalView) -> list[str]:
    """A new signal: an OPEN on every copy-mode terminal, within each one's caps."""
    devices = await Device.filter(
        mode=DeviceMode.COPY, status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED]
    ).select_related("user")
    return await _open_all(devices, view)


async def _open_all(devices: list[Device], view: SignalView) -> list[str]:
    now = datetime.now(UTC)
    created = []
    for device in devices:
        command_id = await _open_on(device, device.user, view, now)
        if command_id is not None:
            created.append(command_id)
    return created


async def on_revise(view: SignalView) -> list[str]:
    """New levels: MODIFY every unfilled order of the signal (filled trades are never moved)."""
    visibility = await app_settings.visibility()
    rows = await Command.filter(
        signal_id=view.id, type=CommandType.OPEN, status__in=UNFILLED
    ).select_related("device")
    created = []
    for row in rows:
        resolved = await symbol_map.resolve(row.device, view.symbol)
        if resolved is None:
            continue
        try:
            levels = terminal_levels(
                view.side, view.entry, view.stop, view.take_profit, resolved.spec, visibility
            )
        except Skip:
            continue
        body = payload(
            symbol=row.payload["symbol"], side=view.side, signal_id=view.id, price=levels.price,
            sl=levels.sl, tp=levels.tp, expires_at=view.expires_at, ticket=row.ticket,
            comment=row.payload.get("comment", ""),
        )  # fmt: skip
        command_id = await ea_commands.create(
            row.device_id, CommandType.MODIFY, body, signal_id=view.id,  # type: ignore[attr-defined]
            dedupe_key=f"modify:{row.id}:v{view.version}", expires_at=view.expires_at,
        )  # fmt: skip
        if command_id is not None:
            created.append(command_id)
    return created


async def cancel_order(open_cmd: Command) -> str | None:
    """A CANCEL for an unfilled OPEN (pending, accepted or placed); idempotent."""
    return await ea_commands.create(
        open_cmd.device_id,  # type: ignore[attr-defined]
        CommandType.CANCEL,
        payload(
            symbol=open_cmd.payload["symbol"],
            side=open_cmd.payload["side"],
            signal_id=open_cmd.signal_id,
            ticket=open_cmd.ticket,
            comment=open_cmd.payload.get("comment", ""),
        ),  # fmt: skip
        signal_id=open_cmd.signal_id,
        dedupe_key=f"cancel:{open_cmd.id}",
        expires_at=None,
    )


def close_prefix(device_pk: int, ticket: int) -> str:
    return f"close:{device_pk}:{ticket}:"


async def close_position(
    device_pk: int, ticket: int, symbol: str, side: str, *, signal_id: int | None, reason: str
) -> str | None:
    """A market CLOSE of all of position `ticket`. None when one is already under way or done;
    a close that was rejected, failed or expired may be sent again (a new attempt number)."""
    prefix = close_prefix(device_pk, ticket)
    previous = await Command.filter(dedupe_key__startswith=prefix).values_list("status", flat=True)
    if any(S(str(s)) not in RETRYABLE for s in previous):
        return None
    body = payload(
        symbol=symbol, side=side, signal_id=signal_id, order_type="market", ticket=ticket,
        comment=f"sd:close:{reason}"[:31],
    )  # fmt: skip
    return await ea_commands.create(
        device_pk, CommandType.CLOSE, body, signal_id=signal_id,
        dedupe_key=f"{prefix}{len(previous)}", expires_at=None,
    )  # fmt: skip


async def on_transition(view: SignalView) -> list[str]:
    """Expired, replaced, cancelled: CANCEL unfilled orders. Closed: also CLOSE filled
    positions when the server manages exits (entry_only) or the close was manual."""
    if view.status not in (*CANCEL_ON, SignalStatus.CLOSED):
        return []
    created = []
    for row in await Command.filter(signal_id=view.id, type=CommandType.OPEN, status__in=UNFILLED):
        command_id = await cancel_order(row)
        if command_id is not None:
            created.append(command_id)
    if view.status is SignalStatus.CLOSED:
        created += await _close_filled(view)
    return created


async def _close_filled(view: SignalView) -> list[str]:
    managed = await app_settings.visibility() is app_settings.Visibility.ENTRY_ONLY
    if not managed and view.close_reason is not CloseReason.MANUAL:
        return []  # the broker's own SL/TP closes them
    created = []
    rows = await Command.filter(signal_id=view.id, type=CommandType.OPEN, status=S.FILLED)
    for row in rows:
        if row.ticket is None:
            continue
        command_id = await close_position(
            row.device_id, row.ticket, row.payload["symbol"], row.payload["side"],  # type: ignore[attr-defined]
            signal_id=view.id, reason="signal",
        )  # fmt: skip
        if command_id is not None:
            created.append(command_id)
    return created
