"""What the sandbox watches: fresh signals hold the replay until decided, persona labels follow
roles. Against the database, with rows written as the services write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from bot.sandbox_watch import PersonaLabels, SignalHoldWatch
from models.signals import Approval, Decision, Signal, SignalStatus
from models.users import Role, User, UserStatus
from services.users import profiles as users_service
from tgemu import Emulator

T0 = datetime(2017, 5, 1, 12, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("database")


async def signal(n: int, status: SignalStatus = SignalStatus.PUBLISHED) -> Signal:
    return await Signal.create(
        setup_key=f"EURUSD:sell:{n}", symbol="EURUSD", side="sell", status=status,
        entry=D("1.07592"), stop=D("1.07965"), take_profit=D("1.06379"),
        published_at=T0 + timedelta(hours=n), expires_at=T0 + timedelta(hours=n + 5),
    )  # fmt: skip


async def test_only_signals_newer_than_the_start_hold_each_once() -> None:
    old = await signal(1)
    watch = SignalHoldWatch()
    await watch.prime()
    assert await watch.fresh() is None  # open before the start: no hold
    new = await signal(2)
    hold = await watch.fresh()
    assert hold is not None and hold.key == f"signal:{new.id}"
    assert (hold.subject, hold.waits_for) == (
        f"signal #{new.id} (EURUSD SELL)",
        "a subscriber's decision",
    )
    assert await watch.fresh() is None  # reported once
    assert old.id < new.id


async def test_the_newest_of_several_holds_and_a_closed_one_does_not() -> None:
    watch = SignalHoldWatch()
    await watch.prime()
    await signal(1)
    newest = await signal(2)
    hold = await watch.fresh()
    assert hold is not None and hold.key == f"signal:{newest.id}"
    await signal(3, SignalStatus.FILLED)  # nothing to decide on a fill
    assert await watch.fresh() is None


@pytest.mark.parametrize(
    ("decision", "status", "why"),
    [
        (None, SignalStatus.PUBLISHED, None),
        (Decision.APPROVED, SignalStatus.PUBLISHED, "signal #{id} approved"),
        (Decision.REJECTED, SignalStatus.PUBLISHED, "signal #{id} rejected"),
        (None, SignalStatus.EXPIRED, "signal #{id} is expired"),
        (None, SignalStatus.CANCELLED, "signal #{id} is cancelled"),
        (None, SignalStatus.FILLED, "signal #{id} is filled"),
    ],
)
async def test_a_hold_is_settled_by_the_first_decision_or_the_signal_ending(
    decision: Decision | None, status: SignalStatus, why: str | None
) -> None:
    watch = SignalHoldWatch()
    await watch.prime()
    row = await signal(1)
    hold = await watch.fresh()
    assert hold is not None
    if decision is not None:
        sam = await users_service.seed(1000002, "Sam", "sam", Role.SUBSCRIBER)
        await Approval.create(user_id=sam.id, signal_id=row.id, decision=decision)
    row.status = status
    await row.save()
    expected = None if why is None else why.format(id=row.id)
    assert await watch.settled(hold) == expected


async def test_a_deleted_signal_settles_its_hold() -> None:
    watch = SignalHoldWatch()
    row = await signal(1)
    hold = await watch.fresh()
    assert hold is not None
    await row.delete()
    assert await watch.settled(hold) == f"signal #{row.id} is gone"


async def test_persona_labels_follow_roles_and_bans() -> None:
    emulator = Emulator()
    for user_id, name, label in ((1000001, "Olivia", "Owner"), (1000002, "Sam", "Subscriber"),
                                 (1000003, "Nico", "New visitor")):  # fmt: skip
        emulator.add_user(user_id, name, label=label)
    await users_service.seed(1000001, "Olivia", None, Role.OWNER)
    await users_service.seed(1000002, "Sam", None, Role.SUBSCRIBER)
    labels = PersonaLabels(emulator, [1000001, 1000002, 1000003])
    version = emulator.users_version
    await labels.refresh()
    assert emulator.users_version == version  # nothing changed: the page is not woken
    await users_service.seed(1000002, "Sam", None, Role.PUBLIC)
    await users_service.seed(1000003, "Nico", None, Role.ADMIN)
    await labels.refresh()
    assert [emulator.users[i].label for i in (1000001, 1000002, 1000003)] == [
        "Owner",
        "Visitor",
        "Admin",
    ]
    row = await users_service.get_by_telegram_id(1000002)
    await User.filter(id=row.id).update(status=UserStatus.BANNED)
    await labels.refresh()
    assert emulator.users[1000002].label == "Visitor · banned"
    assert emulator.users_version > version
