"""Acknowledgements that matter to people: fills, closes and refusals (what follows an ack).

A fill of an OPEN becomes one `Execution` (idempotent: one per command) with the slippage
against the price we asked for, the latency from the approval (approval mode) or the
signal's publication (copy mode) and the spread at the fill when the terminal reports it; a close completes it with the close price and the P&L.
The user hears about each once (outbox, dedupe keys per command and status), as their own
trade: their terminal's fill price, side and volume (the signal's replies tell the strategy's).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape

from core import clock
from models.devices import (
    Command,
    CommandStatus,
    CommandType,
    Device,
    DeviceMode,
    Execution,
    Position,
)
from models.signals import Signal, SignalStatus
from services import app_settings
from services.copy import engine as copy_engine
from services.copy.sizing import profit_money, slippage_points
from services.outbox import notifications as outbox
from services.outbox.kinds import TerminalAlert
from services.terminals import live, symbol_map
from services.terminals import messages as tm
from services.terminals.commands import CommandInfo
from services.terminals.messages import msgid as _
from services.terminals.protocol import AckIn
from services.text import vocabulary
from services.text.formatting import Price, Signed, phrase

S = CommandStatus
APPLIED_MODIFY = (S.PLACED, S.FILLED)
ENDED = (SignalStatus.EXPIRED, SignalStatus.REPLACED, SignalStatus.CANCELLED, SignalStatus.CLOSED)


async def on_ack(command: CommandInfo, ack: AckIn) -> None:
    """Record what a fill, close or refusal means; other acks need nothing from us."""
    kind = command.type
    if kind is CommandType.OPEN and ack.status is S.FILLED:
        await _filled(command, ack)
    elif ack.status is S.CLOSED and kind in (CommandType.OPEN, CommandType.CLOSE):
        await _closed(command, ack)
    elif ack.status in (S.REJECTED, S.FAILED) and kind is not CommandType.CANCEL:
        await _refused(command, ack)  # a cancel that finds nothing to cancel is harmless


async def _device(command: CommandInfo) -> Device:
    return await Device.get(id=command.device_pk).select_related("user")


async def requested_price(command: CommandInfo) -> Decimal | None:
    """The price we last asked for: the newest applied MODIFY of the order, else the OPEN's."""
    modify = (
        await Command.filter(
            device_id=command.device_pk,
            signal_id=command.signal_id,
            type=CommandType.MODIFY,
            status__in=APPLIED_MODIFY,
        )
        .order_by("-created_at")
        .first()
    )
    price = (modify or command).payload.get("price")
    return None if price is None else Decimal(str(price))


async def latency_ms(command: CommandInfo, device: Device, filled_at: datetime) -> int | None:
    """Milliseconds from the decision to the fill: the approval (the OPEN is created in the
    approval's transaction, so its created_at is the approval time) or, in copy mode, the
    signal's publication."""
    start = command.created_at
    if device.mode != DeviceMode.APPROVAL:
        signal = await Signal.get_or_none(id=command.signal_id)
        if signal is None:
            return None
        start = signal.published_at
    return max(0, int((filled_at - start).total_seconds() * 1000))


async def _filled(command: CommandInfo, ack: AckIn) -> None:
    if await Execution.exists(command_id=command.id):
        return
    device = await _device(command)
    body = command.payload
    requested = await requested_price(command)
    price = ack.price if ack.price is not None else requested
    if price is None:
        return
    spec = await symbol_map.spec_for(device, body["symbol"])
    slip = None
    if requested is not None and spec is not None:
        slip = slippage_points(body["side"], requested, price, spec.point)
    filled_at = ack.time or clock.now()
    volume = ack.volume if ack.volume is not None else Decimal(str(body.get("volume") or 0))
    async with outbox.transaction():
        await Execution.create(
            command_id=command.id, device_id=device.id, signal_id=command.signal_id,
            ticket=ack.ticket or command.ticket or 0, symbol=body["symbol"], side=body["side"],
            volume=volume, requested_price=requested, fill_price=price, slippage_points=slip,
            latency_ms=await latency_ms(command, device, filled_at), filled_at=filled_at,
            spread_points=ack.spread_points,
        )  # fmt: skip
        await live.announce_device("positions", device.id)  # a fill: its page, after the commit
        to = tm.recipient(device.user)
        text = phrase(
            _("terminal.filled"), name=escape(device.name), id=command.signal_id,
            price=price if spec is None else Price(price, spec.digits),
            slippage=slip if slip is not None else "?",
            side=vocabulary.side(body["side"]), volume=volume,
        )  # fmt: skip
        await outbox.enqueue_many([tm.item(to, tm.fill(to, text), f"ack:{command.id}:filled",
                                           signal_id=command.signal_id)])  # fmt: skip
        await _close_if_signal_ended(command, ack.ticket or command.ticket)


async def _close_if_signal_ended(command: CommandInfo, ticket: int | None) -> None:
    """A fill that raced the end of its signal (the cancel came too late). With server-managed
    exits (entry_only) nobody would ever close it, so it is closed now; in full visibility it
    carries the broker-side stop and target like any other fill."""
    signal = await Signal.get_or_none(id=command.signal_id)
    if signal is None or ticket is None or SignalStatus(signal.status) not in ENDED:
        return
    if await app_settings.visibility() is not app_settings.Visibility.ENTRY_ONLY:
        return
    await copy_engine.close_position(
        command.device_pk, ticket, command.payload["symbol"], command.payload["side"],
        signal_id=command.signal_id, reason="ended",
    )  # fmt: skip


async def _execution_for(command: CommandInfo, ack: AckIn) -> Execution | None:
    if command.type is CommandType.OPEN:
        return await Execution.get_or_none(command_id=command.id)
    ticket = ack.ticket or command.ticket or command.payload.get("ticket")
    if ticket is None:
        return None
    return await Execution.filter(device_id=command.device_pk, ticket=ticket).first()


async def _closed(command: CommandInfo, ack: AckIn) -> None:
    execution = await _execution_for(command, ack)
    if execution is None or execution.closed_at is not None:
        return
    device = await _device(command)
    profit = await _profit(device, execution, ack.price)
    async with outbox.transaction():
        # A CLOSE done means the position's OPEN is done too (FILLED -> CLOSED, as its ack would).
        await Command.filter(id=execution.command_id, status=S.FILLED).update(  # type: ignore[attr-defined]
            status=S.CLOSED, updated_at=clock.now()
        )
        execution.closed_at = ack.time or clock.now()
        execution.close_price = ack.price
        execution.profit = profit
        await execution.save(update_fields=["closed_at", "close_price", "profit"])
        live.announce("positions", device.id, device.user.telegram_id)
        to = tm.recipient(device.user)
        text = phrase(
            _("terminal.closed"), name=escape(device.name), id=execution.signal_id,
            price=ack.price if ack.price is not None else "?", volume=execution.volume,
            profit=Signed(profit) if profit is not None else "?",
        )  # fmt: skip
        await outbox.enqueue_many([tm.item(to, tm.closed(to, text), f"exec:{execution.id}:closed",
                                           signal_id=execution.signal_id)])  # fmt: skip


async def _profit(device: Device, execution: Execution, close: Decimal | None) -> Decimal | None:
    """From the fill and close prices with the terminal's tick value; without a close price,
    the P&L the terminal last reported for the position."""
    spec = await symbol_map.spec_for(device, execution.symbol)
    if close is not None and spec is not None:
        return profit_money(execution.side, execution.fill_price, close, execution.volume, spec)
    position = await Position.get_or_none(device_id=device.id, ticket=execution.ticket)
    return None if position is None else position.profit


async def _refused(command: CommandInfo, ack: AckIn) -> None:
    device = await _device(command)
    kind = command.type
    key = {
        CommandType.OPEN: _("terminal.rejected_open"),
        CommandType.CLOSE: _("terminal.rejected_close"),
    }.get(kind, _("terminal.rejected_update"))
    to = tm.recipient(device.user)
    text = phrase(
        key, name=escape(device.name), id=command.signal_id,
        ticket=command.payload.get("ticket") or "?",
        error=escape(ack.error) if ack.error else vocabulary.command_status(ack.status),
    )  # fmt: skip
    alert = TerminalAlert("rejected", to.language, text)
    await outbox.enqueue_many([tm.item(to, alert, f"ack:{command.id}:{ack.status}",
                                       signal_id=command.signal_id)])  # fmt: skip
