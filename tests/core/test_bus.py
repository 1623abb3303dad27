"""The in-process bus: typed delivery, isolation of a failing handler, delivery after commit
only (none on rollback), merged per type."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core import bus as core_bus
from core.bus import Bus, Event
from models.notifications import Notification
from services.events import CommandsPending, OutboxChanged
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from tests.buses import heard


@dataclass(frozen=True, slots=True)
class Pinged(Event):
    n: int


@dataclass(frozen=True, slots=True)
class Other(Event):
    pass


def test_handlers_get_their_type_only_in_order_and_can_unsubscribe() -> None:
    bus = Bus()
    got: list[tuple[str, int]] = []
    first = bus.subscribe(Pinged, lambda e: got.append(("a", e.n)))
    bus.subscribe(Pinged, lambda e: got.append(("b", e.n)))
    others = heard(bus, Other)
    bus.publish(Pinged(1))
    first()
    first()  # twice: harmless
    bus.publish(Pinged(2))
    bus.publish(Other())
    assert got == [("a", 1), ("b", 1), ("b", 2)]
    assert others == [Other()]


def test_a_failing_handler_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Bus()

    def broken(_event: Pinged) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(Pinged, broken)
    after = heard(bus, Pinged)
    bus.publish(Pinged(1))
    bus.publish(Pinged(2))
    assert after == [Pinged(1), Pinged(2)]
    assert bus.failures == 2
    assert "event handler failed" in caplog.text


def test_deferred_delivers_at_the_outermost_end_merged_and_drops_on_error() -> None:
    bus = Bus()
    pending = heard(bus, CommandsPending)
    pings = heard(bus, Pinged)
    with bus.deferred():
        bus.publish(CommandsPending((3, 1)))
        with bus.deferred():
            bus.publish(CommandsPending((2, 3)))
            bus.publish(Pinged(1))
            bus.publish(Pinged(1))
        assert pending == [] and pings == [] and bus.deferring
    assert pending == [CommandsPending((1, 2, 3))]  # one wake for every device
    assert pings == [Pinged(1), Pinged(1)]  # not mergeable: as published
    with pytest.raises(RuntimeError), bus.deferred():
        bus.publish(Pinged(2))
        raise RuntimeError
    assert pings == [Pinged(1), Pinged(1)]
    assert not bus.deferring
    bus.publish(Pinged(3))  # outside: at once
    assert pings[-1] == Pinged(3)


def test_without_an_active_bus_publishing_reaches_nobody() -> None:
    assert core_bus.active() is None
    core_bus.publish(Pinged(1))
    with core_bus.deferred():
        core_bus.publish(Pinged(2))


async def test_outbox_wakes_only_after_the_commit_and_never_on_rollback(
    database: str, bus: Bus
) -> None:
    woken = heard(bus, OutboxChanged)
    with pytest.raises(RuntimeError):
        async with outbox.transaction():
            await outbox.enqueue(1, Prepared(outbox.text("a")), "gone")
            raise RuntimeError
    assert woken == [] and await Notification.all().count() == 0
    async with outbox.transaction():
        await outbox.enqueue(1, Prepared(outbox.text("a")), "k1")
        await outbox.enqueue(1, Prepared(outbox.text("b")), "k2")
        assert woken == []  # not committed yet
    assert woken == [OutboxChanged()]  # one wake for the block
    assert await Notification.all().count() == 2
