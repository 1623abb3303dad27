"""Reconciliation findings and offline detection: each told once, logged, flagged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from models.devices import Command, CommandStatus, CommandType, Device, DeviceMode, DeviceStatus
from services.terminals import overview as terminals
from services.terminals import reconciliation
from services.terminals import reports as terminal_reports
from services.terminals.device_auth import DeviceRef
from services.terminals.protocol import AccountReport, PositionIn
from tests.services.terminals import helpers as th

SUB = 801


def ref(row: Device) -> DeviceRef:
    return DeviceRef(row.id, row.device_id, row.user_id)  # type: ignore[attr-defined]


def report(*positions: tuple[int, str]) -> AccountReport:
    items = tuple(
        PositionIn(t, "EURUSD", "sell", D("0.53"), th.ENTRY, None, None, D(5), comment)
        for t, comment in positions
    )
    return AccountReport(D(10000), D(10000), D(0), "USD", items)


async def test_missing_and_orphan_positions_are_reported_once(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    filled_at = datetime.now(UTC) - timedelta(minutes=5)
    await Command.filter(id=cmd.id).update(
        status=CommandStatus.FILLED, ticket=41, acked_at=filled_at
    )
    await terminal_reports.on_account(ref(dev), report((41, f"sd:{view.id}"), (42, "hand")))
    assert await reconciliation.reconcile_all() == [
        reconciliation.Finding(dev.id, "orphan", 42, None, None, "EURUSD")
    ]
    await terminal_reports.on_account(ref(dev), report((42, "hand")))  # 41 vanished
    with caplog.at_level(logging.WARNING, logger="services.terminals.reconciliation"):
        findings = await reconciliation.reconcile_all()
        await reconciliation.reconcile_all()  # the same findings: no new messages
    assert {(f.kind, f.ticket, f.command_id) for f in findings} == {
        ("orphan", 42, None), ("missing", 41, cmd.id),
    }  # fmt: skip
    assert sum(r.message == "reconciliation finding" for r in caplog.records) == 2  # new ones
    orphan, missing = await th.texts(SUB, "terminal.recon")
    assert "holds a position SignalDesk did not open: EURUSD SELL 0.53 lots (ticket 42)" in orphan
    assert f"no longer reports the position of signal #{view.id} (ticket 41)" in missing


async def test_a_fill_newer_than_the_last_report_is_not_missing(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    await Command.filter(id=cmd.id).update(
        status=CommandStatus.FILLED, ticket=41, acked_at=datetime.now(UTC)
    )
    assert await reconciliation.reconcile_device(await Device.get(id=dev.id)) == []


async def test_offline_then_online_each_told_once(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam)
    await th.device(sam, name="Never connected")  # never seen: never "offline"
    await th.device(sam, name="Gone", status=DeviceStatus.REVOKED)
    now = datetime(2030, 3, 1, 12, tzinfo=UTC)
    await Device.filter(user_id=sam.id).update(last_seen_at=now - timedelta(seconds=60))
    await Device.filter(name="Never connected").update(last_seen_at=None)
    assert await terminals.detect_offline(now) == terminals.OfflineSweep(0, 0)
    later = now + timedelta(seconds=31)  # 91 s unseen: 3 polls of 30 s missed
    assert await terminals.detect_offline(later) == terminals.OfflineSweep(1, 0)
    assert await terminals.detect_offline(later + timedelta(minutes=5)) == (
        terminals.OfflineSweep(0, 0)
    )
    (offline,) = await th.texts(SUB, "terminal.offline")
    assert offline.startswith(
        "📴 Your terminal <b>Main MT5</b> has not been seen since Mar 1, 2030, "
    )
    back = later + timedelta(minutes=10)
    await Device.filter(id=dev.id).update(last_seen_at=back)
    assert await terminals.detect_offline(back) == terminals.OfflineSweep(0, 1)
    assert await terminals.detect_offline(back) == terminals.OfflineSweep(0, 0)
    assert await th.texts(SUB, "terminal.online") == [
        "📶 Your terminal <b>Main MT5</b> is back online."
    ]
    assert not (await Device.get(id=dev.id)).offline_notified
