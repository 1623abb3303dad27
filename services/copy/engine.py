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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from models.devices import (
    Command,
    CommandStatus,
    CommandType,
    CopySettings,
    Device,
    DeviceMode,
    DeviceStatus,
    DeviceSymbol,
)
from models.signals import CloseReason, SignalStatus
from services import app_settings
from services.copy.opening import (
    UNFILLED,
    delivery_deadline,
    limits_from,
    open_key,
    open_on,
    order_comment,
    payload,
)
from services.copy.sizing import Limits, Skip, terminal_levels
from services.isolation import Faults, faults_of
from services.outbox import notifications as outbox
from services.signals.views import SignalView
from services.terminals import commands as ea_commands
from services.terminals import payloads as ea_payloads
from services.terminals import symbol_map

S = CommandStatus
__all__ = ["UNFILLED", "open_key", "order_comment", "payload"]  # shared with the reports
RETRYABLE = (S.REJECTED, S.FAILED, S.EXPIRED)  # a close that ended so may be sent again
CANCEL_ON = (SignalStatus.EXPIRED, SignalStatus.REPLACED, SignalStatus.CANCELLED)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One transaction that wakes the terminals' long polls (commands) and the outbox sender
    (notices) after it commits. The command queue's block must be the outer one."""
    async with ea_commands.transaction(), outbox.transaction():
        yield


async def limits_of(device_pk: int) -> Limits:
    """The device's risk settings with defaults for anything not set."""
    return limits_from(await CopySettings.get_or_none(device_id=device_pk))


async def on_approved(user_id: int, view: SignalView, faults: Faults | None = None) -> list[str]:
    """The user approved `view`: an OPEN on each of their approval-mode terminals (each
    planned on its own: one that fails is skipped, the others still get the order)."""
    devices = await Device.filter(
        user_id=user_id, mode=DeviceMode.APPROVAL,
        status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED],
    ).select_related("user")  # fmt: skip
    return await open_on(devices, view, faults)


async def on_publish(view: SignalView, faults: Faults | None = None) -> list[str]:
    """A new signal: an OPEN on every copy-mode terminal, within each one's caps."""
    devices = await Device.filter(
        mode=DeviceMode.COPY, status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED]
    ).select_related("user")
    return await open_on(devices, view, faults)


async def on_revise(view: SignalView, faults: Faults | None = None) -> list[str]:
    """New levels: MODIFY every unfilled order of the signal (filled trades are never moved).
    An order whose new levels cannot be computed keeps its old ones: that terminal is a
    fault (audited, ops alerted), the others move."""
    faults = faults_of(faults)
    visibility = await app_settings.visibility()
    rows = await Command.filter(
        signal_id=view.id, type=CommandType.OPEN, status__in=UNFILLED
    ).select_related("device")
    created = []
    for row in rows:
        reported = await symbol_map.reported_rows(row.device, view.symbol)
        try:
            body = _modify_body(row, view, reported, visibility)
        except Skip:
            continue
        except Exception as exc:  # one terminal's data or a bug: never the whole revision
            await faults.record("copy.modify", row.device.device_id, view.id, exc)
            continue
        if body is None:
            continue
        command_id = await ea_commands.create(
            row.device_id, CommandType.MODIFY, body, signal_id=view.id,  # type: ignore[attr-defined]
            dedupe_key=f"modify:{row.id}:v{view.version}", expires_at=delivery_deadline(view),
        )  # fmt: skip
        if command_id is not None:
            created.append(command_id)
    return created


def _modify_body(
    row: Command,
    view: SignalView,
    reported: list[DeviceSymbol],
    visibility: app_settings.Visibility,
) -> dict[str, Any] | None:
    """The MODIFY payload for one unfilled OPEN (pure); None when the symbol is gone."""
    try:
        resolved = symbol_map.resolve_from(row.device, view.symbol, reported)
    except symbol_map.UnusableSpec:
        raise Skip("bad_spec") from None
    if resolved is None:
        return None
    levels = terminal_levels(
        view.side, view.entry, view.stop, view.take_profit, resolved.spec, visibility
    )
    body = payload(
        symbol=row.payload["symbol"], side=view.side, signal_id=view.id, price=levels.price,
        sl=levels.sl, tp=levels.tp, expires_at=view.expires_at, ticket=row.ticket,
        comment=row.payload.get("comment", ""),
    )  # fmt: skip
    return ea_payloads.normalise_payload(CommandType.MODIFY, body)


def cancel_body(open_cmd: Command) -> dict[str, Any]:
    """The CANCEL payload for an unfilled OPEN (pure; validated)."""
    body = payload(
        symbol=open_cmd.payload["symbol"],
        side=open_cmd.payload["side"],
        signal_id=open_cmd.signal_id,
        ticket=open_cmd.ticket,
        comment=open_cmd.payload.get("comment", ""),
    )
    return ea_payloads.normalise_payload(CommandType.CANCEL, body)


async def cancel_order(open_cmd: Command) -> str | None:
    """A CANCEL for an unfilled OPEN (pending, accepted or placed); idempotent."""
    return await ea_commands.create(
        open_cmd.device_id,  # type: ignore[attr-defined]
        CommandType.CANCEL,
        cancel_body(open_cmd),
        signal_id=open_cmd.signal_id,
        dedupe_key=f"cancel:{open_cmd.id}",
        expires_at=None,
    )


def close_prefix(device_pk: int, ticket: int) -> str:
    return f"close:{device_pk}:{ticket}:"


def close_body(
    symbol: str, side: str, *, ticket: int, signal_id: int | None, reason: str
) -> dict[str, Any]:
    """The market CLOSE payload of all of position `ticket` (pure; validated)."""
    body = payload(
        symbol=symbol, side=side, signal_id=signal_id, order_type="market", ticket=ticket,
        comment=f"sd:close:{reason}"[:31],
    )  # fmt: skip
    return ea_payloads.normalise_payload(CommandType.CLOSE, body)


async def close_position(
    device_pk: int, ticket: int, symbol: str, side: str, *, signal_id: int | None, reason: str
) -> str | None:
    """A market CLOSE of all of position `ticket`. None when one is already under way or done;
    a close that was rejected, failed or expired may be sent again (a new attempt number)."""
    body = close_body(symbol, side, ticket=ticket, signal_id=signal_id, reason=reason)
    prefix = close_prefix(device_pk, ticket)
    previous = await Command.filter(dedupe_key__startswith=prefix).values_list("status", flat=True)
    if any(S(str(s)) not in RETRYABLE for s in previous):
        return None
    return await ea_commands.create(
        device_pk, CommandType.CLOSE, body, signal_id=signal_id,
        dedupe_key=f"{prefix}{len(previous)}", expires_at=None,
    )  # fmt: skip


async def on_transition(view: SignalView, faults: Faults | None = None) -> list[str]:
    """Expired, replaced, cancelled: CANCEL unfilled orders. Closed: also CLOSE filled
    positions when the server manages exits (entry_only) or the close was manual. A command
    that cannot be built for one terminal is a fault (audited, ops alerted); the others go."""
    if view.status not in (*CANCEL_ON, SignalStatus.CLOSED):
        return []
    faults = faults_of(faults)
    created = []
    rows = await Command.filter(
        signal_id=view.id, type=CommandType.OPEN, status__in=UNFILLED
    ).select_related("device")
    for row in rows:
        try:
            cancel_body(row)
        except Exception as exc:
            await faults.record("copy.cancel", row.device.device_id, view.id, exc)
            continue
        command_id = await cancel_order(row)
        if command_id is not None:
            created.append(command_id)
    if view.status is SignalStatus.CLOSED:
        created += await _close_filled(view, faults)
    return created


async def _close_filled(view: SignalView, faults: Faults) -> list[str]:
    managed = await app_settings.visibility() is app_settings.Visibility.ENTRY_ONLY
    if not managed and view.close_reason is not CloseReason.MANUAL:
        return []  # the broker's own SL/TP closes them
    created = []
    rows = await Command.filter(
        signal_id=view.id, type=CommandType.OPEN, status=S.FILLED
    ).select_related("device")
    for row in rows:
        if row.ticket is None:
            continue
        try:
            symbol, side = str(row.payload["symbol"]), str(row.payload["side"])
            close_body(symbol, side, ticket=row.ticket, signal_id=view.id, reason="signal")
        except Exception as exc:
            await faults.record("copy.close", row.device.device_id, view.id, exc)
            continue
        command_id = await close_position(
            row.device_id, row.ticket, symbol, side, signal_id=view.id,  # type: ignore[attr-defined]
            reason="signal",
        )  # fmt: skip
        if command_id is not None:
            created.append(command_id)
    return created
