"""Business figures on /metrics: counters move only when the effect committed, gauges are read
from the database at scrape time (every replica's rows), and a database that cannot answer in
time leaves the gauges out instead of serving stale numbers."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from models.devices import Command, CommandStatus, Device, DeviceStatus
from models.notifications import Notification, NotificationStatus
from models.signals import ApprovalSource, Decision, Signal, SignalSource
from models.users import Role
from services import app_settings, business_metrics
from services.business_metrics import DatabaseGauges, GaugeSample
from services.copy import engine as copy_engine
from services.signals import approvals
from services.signals import lifecycle as signals
from services.terminals import acks, fills
from services.terminals import commands as ea_commands
from services.terminals.protocol import AckIn
from tests.exposition import value
from tests.services.terminals.helpers import device, publish, user

# The wall clock at import, whole seconds: rows are placed around it, and the process's own
# /metrics samples on the wall clock a little later (the rows are minutes from any boundary).
NOW = datetime.now(UTC).replace(microsecond=0)


async def scrape() -> str:
    """What /metrics serves (the process registry, gauges sampled first)."""
    return (await business_metrics.exposition()).decode()


def gauges_text(gauges: DatabaseGauges) -> str:
    registry = CollectorRegistry()
    registry.register(gauges)
    return generate_latest(registry).decode()


async def notification(key: str, status: NotificationStatus, due: datetime) -> None:
    await Notification.create(
        chat_id=1, kind="n", dedupe_key=key, status=status, next_attempt_at=due
    )


async def command(pk: int, key: str, status: CommandStatus, age_s: float, **kw: Any) -> None:
    row = await Command.create(
        id=f"cmd_{key}", device_id=pk, type="open", status=status, dedupe_key=key,
        payload={}, **kw,
    )  # fmt: skip
    await Command.filter(id=row.id).update(created_at=NOW - timedelta(seconds=age_s))


async def test_gauges_read_the_outbox_commands_and_terminals(database: str) -> None:
    due = NotificationStatus
    await notification("due-40s", due.PENDING, NOW - timedelta(seconds=40))
    await notification("due-now", due.PENDING, NOW)
    await notification("sending", due.SENDING, NOW - timedelta(seconds=10))
    await notification("delayed", due.PENDING, NOW + timedelta(hours=24))  # free summary
    for i, done in enumerate((due.SENT, due.FAILED, due.SKIPPED)):
        await notification(f"done-{i}", done, NOW - timedelta(days=2))
    sam = await user(2001)
    seen = {"online": 10, "paused": 30, "stale": 200}
    rows = {name: await device(sam, name=name) for name in (*seen, "never", "revoked")}
    await Device.filter(id=rows["paused"].id).update(status=DeviceStatus.PAUSED)
    await Device.filter(id=rows["revoked"].id).update(
        status=DeviceStatus.REVOKED, last_seen_at=NOW
    )
    for name, age_s in seen.items():
        await Device.filter(id=rows[name].id).update(last_seen_at=NOW - timedelta(seconds=age_s))
    pk = rows["online"].id
    await command(pk, "old", CommandStatus.PENDING, 120)
    await command(pk, "young", CommandStatus.PENDING, 5, expires_at=NOW + timedelta(hours=1))
    await command(pk, "expired", CommandStatus.EXPIRED, 900, expires_at=NOW - timedelta(hours=1))
    await command(pk, "acked", CommandStatus.ACCEPTED, 3000)

    gauges = DatabaseGauges(clock=lambda: NOW)
    assert await gauges.refresh() == GaugeSample(
        outbox_pending=3, outbox_scheduled=1, outbox_oldest_pending_age_s=40.0,
        ea_commands_pending=2, ea_commands_oldest_pending_age_s=120.0,
        terminals_online=2, terminals_registered=4,
    )  # fmt: skip
    text = gauges_text(gauges)
    assert value(text, "signaldesk_business_gauges_up") == 1
    assert value(text, "signaldesk_outbox_pending") == 3
    assert value(text, "signaldesk_outbox_scheduled") == 1
    assert value(text, "signaldesk_outbox_oldest_pending_age_seconds") == 40
    assert value(text, "signaldesk_ea_commands_pending") == 2
    assert value(text, "signaldesk_ea_commands_oldest_pending_age_seconds") == 120
    assert value(text, "signaldesk_terminals_online") == 2
    assert value(text, "signaldesk_terminals_registered") == 4
    assert "# HELP signaldesk_outbox_pending Notifications due and not yet sent" in text

    served = await scrape()  # the process's /metrics: the same rows, sampled on the wall clock
    assert value(served, "signaldesk_outbox_pending") == 3
    assert value(served, "signaldesk_terminals_registered") == 4


async def test_empty_database_gives_zero_gauges(database: str) -> None:
    gauges = DatabaseGauges(clock=lambda: NOW)
    await gauges.refresh()
    text = gauges_text(gauges)
    for name in ("outbox_pending", "outbox_oldest_pending_age_seconds", "ea_commands_pending",
                 "terminals_online"):  # fmt: skip
        assert value(text, f"signaldesk_{name}") == 0


async def test_gauges_are_left_out_while_the_database_cannot_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    calls: list[datetime] = []
    fail = True

    async def slow(now: datetime) -> GaugeSample:
        calls.append(now)
        await release.wait()
        if fail:
            raise ConnectionError("database is down")
        return GaugeSample(7, 0, 1.5, 0, 0.0, 1, 1)

    gauges = DatabaseGauges(timeout_s=0.01, sampler=slow, clock=lambda: NOW)
    assert await gauges.refresh() is None  # late
    assert await gauges.refresh() is None  # still late: joins the sampling in flight
    assert len(calls) == 1
    text = gauges_text(gauges)
    assert value(text, "signaldesk_business_gauges_up") == 0
    assert value(text, "signaldesk_outbox_pending") is None  # absent, not stale
    release.set()
    assert await gauges.refresh() is None  # that sampling failed
    assert value(gauges_text(gauges), "signaldesk_outbox_pending") is None
    fail = False
    gauges.timeout_s = 5.0
    assert await gauges.refresh() == GaugeSample(7, 0, 1.5, 0, 0.0, 1, 1)
    assert len(calls) == 2  # one failed sampling, then a fresh one
    text = gauges_text(gauges)
    assert value(text, "signaldesk_business_gauges_up") == 1
    assert value(text, "signaldesk_outbox_pending") == 7
    warnings = [r for r in caplog.records if "gauges unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged when it starts failing, not on every scrape


def counter(text: str, name: str, **labels: str) -> float:
    found = value(text, name, **labels)
    return 0.0 if found is None else found


async def test_published_signals_count_by_source_after_commit(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "signaldesk_signals_published_total"
    before = await scrape()
    await publish()  # a manual signal (the helper's source)
    now = datetime.now(UTC)
    draft = signals.SignalDraft(
        setup_key="EURUSD:buy:metrics", symbol="EURUSD", side="buy", entry=D("1.1"),
        stop=D("1.09"), take_profit=D("1.1325"), published_at=now,
        expires_at=now + timedelta(hours=100), source=SignalSource.STRATEGY,
    )  # fmt: skip
    assert await signals.publish(draft) is not None
    assert await signals.publish(draft) is None  # the same setup again: not a publication
    external = dataclasses.replace(draft, setup_key="EURUSD:sell:producer", side="sell",
                                   stop=D("1.11"), take_profit=D("1.0675"),
                                   source=SignalSource.EXTERNAL)  # fmt: skip
    assert await signals.publish(external) is not None  # an outside producer's

    async def broken(view: object, *_: object) -> list[str]:
        raise RuntimeError("copy fan-out failed")

    monkeypatch.setattr(copy_engine, "on_publish", broken)
    rolled_back = dataclasses.replace(draft, setup_key="EURUSD:buy:rolled-back")
    with pytest.raises(RuntimeError):
        await signals.publish(rolled_back)
    assert not await Signal.exists(setup_key="EURUSD:buy:rolled-back")
    after = await scrape()
    for source in SignalSource:
        delta = counter(after, name, source=source) - counter(before, name, source=source)
        assert delta == 1, source
    assert "# HELP signaldesk_signals_published_total Signals published" in after


async def test_approvals_count_each_recorded_decision(database: str) -> None:
    name = "signaldesk_approvals_total"
    sam = await user(2002, Role.SUBSCRIBER)
    view = await publish()
    before = await scrape()
    first = await approvals.decide(sam, view.id, Decision.APPROVED)
    assert first.needs_consent  # not recorded yet: consent first
    await approvals.accept_disclaimer(sam, await app_settings.disclaimer_version())
    assert (await approvals.decide(sam, view.id, Decision.APPROVED)).changed
    assert not (await approvals.decide(sam, view.id, Decision.APPROVED)).changed  # repeat
    changed = await approvals.decide(sam, view.id, Decision.REJECTED, ApprovalSource.MINI_APP)
    assert changed.changed
    after = await scrape()
    deltas = {d: counter(after, name, decision=d) - counter(before, name, decision=d)
              for d in Decision}  # fmt: skip
    assert deltas == {Decision.APPROVED: 1, Decision.REJECTED: 1}


def ack(command_id: str, status: CommandStatus) -> AckIn:
    return AckIn(command_id, status, 77, D("1.1"), D("0.1"), None, None)


async def test_ea_acks_count_by_status_and_result(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "signaldesk_ea_acks_total"
    sam, other = await user(2003), await user(2004, name="Olga")
    mine, theirs = await device(sam), await device(other)
    ids = [await ea_commands.create(mine.id, "open", {"symbol": "EURUSD", "side": "buy"},
                                    signal_id=None, dedupe_key=f"k{i}", expires_at=None)
           for i in range(3)]  # fmt: skip
    first, second, third = [i for i in ids if i is not None]
    before = await scrape()
    await acks.acknowledge(mine.id, ack(first, CommandStatus.ACCEPTED))
    await acks.acknowledge(mine.id, ack(first, CommandStatus.FILLED))
    await acks.acknowledge(mine.id, ack(first, CommandStatus.FILLED))  # repeated
    with pytest.raises(ea_commands.AckConflict):
        await acks.acknowledge(mine.id, ack(first, CommandStatus.PENDING))
    with pytest.raises(ea_commands.UnknownCommand):
        await acks.acknowledge(mine.id, ack("cmd_nope", CommandStatus.FILLED))
    with pytest.raises(ea_commands.ForeignCommand):
        await acks.acknowledge(theirs.id, ack(second, CommandStatus.REJECTED))

    async def failing_follow_up(info: object, ack_in: AckIn) -> None:
        raise RuntimeError("what follows the ack failed: the ack rolls back")

    monkeypatch.setattr(fills, "on_ack", failing_follow_up)
    with pytest.raises(RuntimeError):
        await acks.acknowledge(mine.id, ack(third, CommandStatus.REJECTED))
    assert (await Command.get(id=third)).status == CommandStatus.PENDING
    after = await scrape()

    def delta(status: CommandStatus, result: str) -> float:
        labels = {"status": status.value, "result": result}
        return counter(after, name, **labels) - counter(before, name, **labels)

    assert delta(CommandStatus.ACCEPTED, "applied") == 1
    assert delta(CommandStatus.FILLED, "applied") == 1
    assert delta(CommandStatus.FILLED, "repeated") == 1
    assert delta(CommandStatus.PENDING, "conflict") == 1
    assert delta(CommandStatus.FILLED, "unknown") == 1
    assert delta(CommandStatus.REJECTED, "foreign") == 1
    assert delta(CommandStatus.REJECTED, "applied") == 0  # rolled back by what followed


def test_unknown_results_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="send result"):
        business_metrics.message_result("delivered")
    with pytest.raises(ValueError, match="ack result"):
        business_metrics.ea_ack(CommandStatus.FILLED, "ok")
