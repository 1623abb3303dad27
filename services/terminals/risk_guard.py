"""The drawdown guard: a terminal whose equity falls too far from its high gets flattened.

When drawdown = (high_water - equity) / high_water * 100 reaches the device's cap
(CopySettings.max_drawdown_pct, default 20 %), in ONE transaction: a CLOSE for every reported
position, a CANCEL for every order not yet filled, the device PAUSED (paused_reason
"drawdown"), an audit row, and notices to the user (and the owners, for copy-mode terminals).
Idempotent: only an ACTIVE device trips (the conditional update decides), and every command is
keyed per position or order. The user resumes from /devices (`resume`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from models.devices import (
    AccountSnapshot,
    Command,
    CommandType,
    Device,
    DeviceMode,
    DeviceStatus,
    Position,
)
from services import audit
from services.copy import engine as copy_engine
from services.outbox import notifications as outbox
from services.outbox.kinds import TerminalAlert
from services.terminals import live
from services.terminals import messages as tm
from services.terminals.messages import msgid as _
from services.text.formatting import Money, Percent, phrase, plural

log = logging.getLogger(__name__)
PAUSED_REASON = "drawdown"


@dataclass(frozen=True, slots=True)
class GuardTrip:
    device_pk: int
    drawdown_pct: Decimal
    cap_pct: Decimal
    closes: int
    cancels: int


async def check(device_pk: int, snapshot: AccountSnapshot) -> GuardTrip | None:
    """Trip the guard when `snapshot`'s drawdown reaches the device's cap; None otherwise.
    Runs in the caller's transaction (the account report's) or its own."""
    limits = await copy_engine.limits_of(device_pk)
    if snapshot.drawdown_pct < limits.max_drawdown_pct:
        return None
    async with copy_engine.transaction():
        paused = await Device.filter(id=device_pk, status=DeviceStatus.ACTIVE).update(
            status=DeviceStatus.PAUSED, paused_reason=PAUSED_REASON
        )
        if not paused:
            return None  # already paused (or revoked): nothing new to do
        closes, cancels = await _flatten(device_pk)
        trip = GuardTrip(
            device_pk, snapshot.drawdown_pct, limits.max_drawdown_pct, closes, cancels
        )
        device = await Device.get(id=device_pk).select_related("user")
        await audit.record(
            "device.guard_tripped", actor_id=None, target=device.device_id,
            drawdown_pct=str(trip.drawdown_pct), cap_pct=str(trip.cap_pct),
            equity=str(snapshot.equity), high_water=str(snapshot.high_water),
            closes=closes, cancels=cancels,
        )  # fmt: skip
        await outbox.enqueue_many(await _notices(device, snapshot, trip))
        live.announce("terminal", device_pk, device.user.telegram_id)
    log.warning(
        "drawdown guard tripped", extra={"device": device.device_id, "dd": str(trip.drawdown_pct)}
    )
    return trip


async def _flatten(device_pk: int) -> tuple[int, int]:
    """CLOSE every reported position, CANCEL every unfilled order; returns the counts made."""
    closes = cancels = 0
    for pos in await Position.filter(device_id=device_pk):
        signal_id = None
        if pos.command_id:
            opened = await Command.get_or_none(id=pos.command_id)
            signal_id = opened.signal_id if opened else None
        made = await copy_engine.close_position(
            device_pk, pos.ticket, pos.symbol, pos.side, signal_id=signal_id, reason="drawdown"
        )
        closes += made is not None
    orders = await Command.filter(
        device_id=device_pk, type=CommandType.OPEN, status__in=copy_engine.UNFILLED
    )
    for order in orders:
        cancels += await copy_engine.cancel_order(order) is not None
    return closes, cancels


async def _notices(
    device: Device, snapshot: AccountSnapshot, trip: GuardTrip
) -> list[outbox.Outgoing]:
    user = tm.recipient(device.user)
    numbers = {
        "name": escape(device.name), "drawdown": Percent(trip.drawdown_pct),
        "cap": Percent(trip.cap_pct), "high": Money(snapshot.high_water, snapshot.currency),
        "equity": Money(snapshot.equity, snapshot.currency),
        "closes": plural("unit.positions", trip.closes),
        "cancels": plural("unit.pending_orders", trip.cancels),
    }  # fmt: skip
    key = f"guard:{device.id}:{snapshot.id}"
    tripped = TerminalAlert("guard", user.language, phrase(_("guard.tripped"), **numbers))
    items = [tm.item(user, tripped, key, priority=1)]
    if device.mode == DeviceMode.COPY:
        who = escape(device.user.username or device.user.first_name or str(user.telegram_id))
        for owner in await tm.owners():
            if owner.telegram_id == user.telegram_id:
                continue
            text = phrase(_("guard.tripped_owner"), user=who, **numbers)
            alert = TerminalAlert("guard", owner.language, text)
            items.append(tm.item(owner, alert, f"{key}:owner:{owner.telegram_id}"))
    return items


async def resume(device: Device, actor_id: int | None) -> bool:
    """Back to ACTIVE after a pause (audited). The high-water mark restarts at the current
    equity (a new snapshot), or the next account report would trip the guard again at once."""
    async with outbox.transaction():
        done = await Device.filter(id=device.id, status=DeviceStatus.PAUSED).update(
            status=DeviceStatus.ACTIVE, paused_reason=None
        )
        if not done:
            return False
        await audit.record("device.resumed", actor_id=actor_id, target=device.device_id)
        await live.announce_device("terminal", device.id)
        last = await AccountSnapshot.filter(device_id=device.id).order_by("-id").first()
        if last is not None:
            await AccountSnapshot.create(
                device_id=device.id, balance=last.balance, equity=last.equity,
                margin=last.margin, currency=last.currency, high_water=last.equity,
                drawdown_pct=Decimal(0),
            )  # fmt: skip
    return True
