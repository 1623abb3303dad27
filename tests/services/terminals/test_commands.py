"""The command queue: exactly-once creation, serving, the ack state machine, wake-ups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from core.bus import Bus
from core.clock import ManualClock
from models.devices import Command, CommandStatus, CommandType
from services.batching import Batcher
from services.events import CommandsPending
from services.terminals import acks, devices, fills
from services.terminals import commands as ea_commands
from services.terminals import secrets as secret_box
from services.terminals.commands import AckConflict, ForeignCommand, NewCommand, UnknownCommand
from services.terminals.protocol import AckIn
from tests.waiting import until

S = CommandStatus
PAYLOAD = {"symbol": "XAUUSD", "side": "buy", "order_type": "limit", "price": Decimal("2350.5"),
           "sl": 2340, "tp": "2370.25", "volume": 0.1, "ticket": None, "comment": "x"}  # fmt: skip


@pytest.fixture(autouse=True)
def _key(tmp_path: Path) -> None:
    secret_box.configure("command-tests-master-key", tmp_path)


@pytest.fixture
def wakes(bus: Bus) -> list[list[int]]:
    calls: list[list[int]] = []
    bus.subscribe(CommandsPending, lambda event: calls.append(list(event.device_ids)))
    return calls


async def device_pk(telegram_id: int = 1) -> int:
    return (await devices.create_device(telegram_id, "T")).device.id


async def create(pk: int, key: str, **kw: Any) -> str | None:
    return await ea_commands.create(
        pk, kw.pop("type", "open"), {**PAYLOAD, **kw}, signal_id=3, dedupe_key=key,
        expires_at=kw.pop("expires_at", None),
    )  # fmt: skip


def ack(command_id: str, status: CommandStatus, ticket: int | None = 77) -> AckIn:
    return AckIn(command_id, status, ticket, Decimal("2350.4"), Decimal("0.1"), None, None)


async def test_create_is_exactly_once_per_dedupe_key(database: str, wakes: list) -> None:
    pk = await device_pk()
    first = await create(pk, "open:1:3")
    assert first is not None and first.startswith("cmd_") and len(first) == 36
    assert await create(pk, "open:1:3") is None
    row = await Command.get(id=first)
    assert row.payload["price"] == "2350.5" and row.payload["sl"] == "2340"
    assert row.payload["volume"] == "0.1" and row.status == S.PENDING
    assert wakes == [[pk]]  # autocommit: woken at once, not for the duplicate


async def test_create_many_aligns_results_and_dedupes_within_the_batch(database: str) -> None:
    a, b = await device_pk(1), await device_pk(2)
    items = [
        NewCommand(a, CommandType.OPEN, PAYLOAD, 1, "k1", None),
        NewCommand(b, CommandType.OPEN, PAYLOAD, 1, "k2", None),
        NewCommand(a, CommandType.OPEN, PAYLOAD, 1, "k1", None),
    ]
    ids = await ea_commands.create_many(items)
    assert ids[0] and ids[1] and ids[2] is None
    assert await ea_commands.create_many(items[:2]) == [None, None]
    assert await ea_commands.create_many([]) == []


async def test_transaction_wakes_after_commit_and_not_after_rollback(
    database: str, wakes: list
) -> None:
    pk = await device_pk()
    async with ea_commands.transaction():
        await create(pk, "t1")
        async with ea_commands.transaction():  # nested: still one wake, at the outer commit
            await create(pk, "t2")
        assert wakes == []
    assert wakes == [[pk]]
    with pytest.raises(RuntimeError):
        async with ea_commands.transaction():
            await create(pk, "t3")
            raise RuntimeError("roll back")
    assert wakes == [[pk]]
    assert not await Command.exists(dedupe_key="t3")


async def test_create_in_a_foreign_transaction_wakes_again_later(
    database: str, wakes: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ea_commands, "LATE_WAKES_S", (0.02,))
    pk = await device_pk()
    async with in_transaction():
        assert await create(pk, "f1") is not None
        assert await create(pk, "f1") is None  # the caller's transaction is not broken
    await until(lambda: wakes, "the late wake-up", accept=lambda seen: len(seen) == 2)
    assert wakes == [[pk], [pk]]


async def test_transaction_inside_a_foreign_one_wakes_again_later(
    database: str, wakes: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ea_commands, "LATE_WAKES_S", (0.02,))
    pk = await device_pk()
    async with in_transaction(), ea_commands.transaction():
        await create(pk, "n1")
    await until(lambda: wakes, "the late wake-up", accept=lambda seen: len(seen) == 2)
    assert wakes == [[pk], [pk]]


@pytest.mark.parametrize(
    "bad",
    [
        {"nonsense": 1},
        {"side": "long"},
        {"order_type": "stop"},
        {"symbol": ""},
        {"price": "abc"},
        {"price": float("nan")},
        {"ticket": True},
        {"comment": "x" * 65},
    ],
)
async def test_bad_payloads_are_programming_errors(database: str, bad: dict) -> None:
    pk = await device_pk()
    with pytest.raises(ValueError, match="payload"):
        await create(pk, "bad", **bad)


async def test_pending_serves_oldest_first_and_skips_expired(database: str) -> None:
    pk = await device_pk()
    first = await create(pk, "a")
    second = await create(pk, "b", type="close", ticket=5)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await create(pk, "c", expires_at=past)
    served = await ea_commands.pending(pk)
    assert [c.id for c in served] == [first, second]
    assert served[0].price == Decimal("2350.5") and served[1].ticket == 5
    assert served[1].type == "close" and served[0].signal_id == 3
    stamp = (await Command.get(id=first)).delivered_at
    assert stamp is not None
    await ea_commands.pending(pk)
    assert (await Command.get(id=first)).delivered_at == stamp
    assert await ea_commands.expire_stale() == 1
    assert await Command.filter(status=S.EXPIRED).count() == 1


async def test_a_command_expires_when_the_process_clock_passes_its_expiry(
    database: str, clock: ManualClock
) -> None:
    pk = await device_pk()
    expires = clock.now() + timedelta(minutes=5)
    command_id = await create(pk, "late", expires_at=expires)
    row = await Command.get(id=command_id)
    assert row.created_at == clock.now()  # stamped on the process clock
    clock.advance(timedelta(minutes=4))
    assert [c.id for c in await ea_commands.pending(pk)] == [command_id]
    assert (await Command.get(id=command_id)).delivered_at == clock.now()
    assert await ea_commands.expire_stale() == 0
    clock.advance(timedelta(minutes=1))  # now == expires_at: no longer offered
    assert await ea_commands.pending(pk) == []
    assert await ea_commands.expire_stale() == 1
    assert (await Command.get(id=command_id)).status == S.EXPIRED


async def test_ack_state_machine(database: str) -> None:
    pk, other = await device_pk(1), await device_pk(2)
    command_id = await create(pk, "ack")
    assert command_id is not None
    with pytest.raises(UnknownCommand):
        await acks.acknowledge(pk, ack("cmd_missing", S.FILLED))
    with pytest.raises(ForeignCommand):
        await acks.acknowledge(other, ack(command_id, S.FILLED))
    placed = await acks.acknowledge(pk, ack(command_id, S.PLACED, ticket=1))
    assert (placed.status, placed.ticket) == (S.PLACED, 1)
    assert await acks.acknowledge(pk, ack(command_id, S.PLACED, ticket=2)) == placed  # same
    with pytest.raises(AckConflict) as err:
        await acks.acknowledge(pk, ack(command_id, S.REJECTED))
    assert (err.value.current, err.value.new) == (S.PLACED, S.REJECTED)
    filled = await acks.acknowledge(pk, ack(command_id, S.FILLED, ticket=None))
    assert (filled.status, filled.ticket) == (S.FILLED, 1)
    row = await Command.get(id=command_id)
    assert row.acked_at is not None and row.last_ack["price"] == "2350.4"
    assert await ea_commands.cancel_pending_for_device(pk) == 0


async def test_what_follows_an_ack_sees_the_transition_inside_the_transaction(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = await device_pk()
    command_id = await create(pk, "hook")
    assert command_id is not None
    calls: list[ea_commands.CommandInfo] = []

    async def follow_up(info: ea_commands.CommandInfo, ack_in: AckIn) -> None:
        assert (await Command.get(id=info.id)).status == info.status  # same transaction
        calls.append(info)
        if ack_in.status is S.FAILED:
            raise RuntimeError("boom")

    monkeypatch.setattr(fills, "on_ack", follow_up)
    await acks.acknowledge(pk, ack(command_id, S.ACCEPTED))
    await acks.acknowledge(pk, ack(command_id, S.ACCEPTED))  # repeated: nothing follows
    with pytest.raises(RuntimeError):
        await acks.acknowledge(pk, ack(command_id, S.FAILED))
    assert [(c.previous_status, c.status) for c in calls] == [
        (S.PENDING, S.ACCEPTED),
        (S.ACCEPTED, S.FAILED),
    ]
    assert calls[0].payload["symbol"] == "XAUUSD" and calls[0].device_pk == pk
    assert (await Command.get(id=command_id)).status == S.ACCEPTED  # rolled back


async def test_batcher_coalesces_concurrent_calls_and_shares_failures() -> None:
    batches: list[list[int]] = []

    async def run(items: Any) -> list[int]:
        batches.append(list(items))
        if 999 in items:
            raise ValueError("unlucky")
        return [i * 2 for i in items]

    batcher: Batcher[int, int] = Batcher(run, max_size=30)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(50))) == [
        i * 2 for i in range(50)
    ]
    assert [len(b) for b in batches] == [30, 20]
    results = await asyncio.gather(*(batcher.submit(i) for i in (12, 999)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await batcher.submit(1) == 2
