"""Reconciliation: what our commands say a terminal holds versus what it reports.

- missing: an OPEN we believe FILLED (not closed) whose position the terminal no longer reports
  in an account report made after the fill (closed at the broker without an ack, or by hand);
- orphan: a reported position whose comment names no command of ours (opened by hand or by
  another EA): flagged on the `Position` row and never managed by us.

Each finding is logged and told to the user once (dedupe key per command or ticket).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from models.devices import (
    AccountSnapshot,
    Command,
    CommandStatus,
    CommandType,
    Device,
    DeviceStatus,
    Position,
)
from services.outbox import notifications as outbox
from services.outbox.kinds import TerminalAlert
from services.terminals import messages as tm
from services.terminals.messages import msgid as _
from services.text import vocabulary
from services.text.formatting import phrase

log = logging.getLogger(__name__)
GRACE = timedelta(seconds=5)  # a report this soon after the fill may predate it at the terminal


@dataclass(frozen=True, slots=True)
class Finding:
    device_pk: int
    kind: str  # missing | orphan
    ticket: int | None
    command_id: str | None
    signal_id: int | None
    symbol: str


async def reconcile_device(device: Device) -> list[Finding]:
    """Findings for one device (needs at least one account report); notifies new ones."""
    last = await AccountSnapshot.filter(device_id=device.id).order_by("-id").first()
    if last is None:
        return []
    positions = await Position.filter(device_id=device.id)
    tickets = {p.ticket for p in positions}
    by_command = {p.command_id for p in positions if p.command_id}
    findings = [
        Finding(device.id, "orphan", p.ticket, None, None, p.symbol) for p in positions if p.orphan
    ]
    filled = await Command.filter(
        device_id=device.id, type=CommandType.OPEN, status=CommandStatus.FILLED
    )
    for cmd in filled:
        if cmd.id in by_command or (cmd.ticket is not None and cmd.ticket in tickets):
            continue
        since = cmd.acked_at or cmd.updated_at
        if last.created_at < since + GRACE:
            continue  # no report after the fill yet
        symbol = str(cmd.payload.get("symbol", ""))
        findings.append(Finding(device.id, "missing", cmd.ticket, cmd.id, cmd.signal_id, symbol))
    if findings:
        await _report(device, findings, {p.ticket: p for p in positions})
    return findings


async def _report(device: Device, findings: list[Finding], positions: dict[int, Position]) -> None:
    """Tell the user about new findings and log them; known ones (same key) stay quiet."""
    to = tm.recipient(device.user)
    for f in findings:
        if f.kind == "missing":
            key = f"recon:missing:{f.command_id}"
            text = phrase(_("recon.missing"), name=tm.name(device.name), id=f.signal_id,
                          ticket=f.ticket or "?")  # fmt: skip
        else:
            pos = positions[f.ticket or 0]
            key = f"recon:orphan:{device.id}:{f.ticket}"
            text = phrase(
                _("recon.orphan"), name=tm.name(device.name), symbol=tm.name(pos.symbol),
                side=vocabulary.side(pos.side), volume=pos.volume.normalize(), ticket=f.ticket,
            )  # fmt: skip
        alert = TerminalAlert("recon", to.language, text)
        item = tm.item(to, alert, key, signal_id=f.signal_id)
        async with outbox.transaction():
            new = await outbox.enqueue_many([item])
        if new:
            log.warning(
                "reconciliation finding",
                extra={"device": device.device_id, "kind": f.kind, "ticket": f.ticket,
                       "command_id": f.command_id},
            )  # fmt: skip


async def reconcile_all() -> list[Finding]:
    """Every active or paused device; a failure on one does not stop the others."""
    devices = await Device.filter(
        status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED]
    ).select_related("user")
    findings: list[Finding] = []
    for device in devices:
        try:
            findings += await reconcile_device(device)
        except Exception:
            log.exception("reconciliation failed", extra={"device": device.device_id})
    return findings
