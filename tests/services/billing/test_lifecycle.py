"""Terminals follow access: over the plan's limit the least recently used pause (the user
chooses which stay), copy mode goes off without a Copy plan, copy terminals pause when access
ends; once, with one message, whatever runs it again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import EntitlementSource
from models.devices import Device, DeviceMode, DeviceStatus
from models.notifications import Notification
from models.users import Role
from services import audit
from services.billing import catalog, lifecycle
from services.billing import entitlements as ent
from services.billing.callbacks import KeepCB
from services.errors import InvalidInput
from services.terminals import overview
from services.users import registration
from services.users.profiles import UserInfo
from tests.services.terminals import helpers as th

NICO = 901
GRANT = EntitlementSource.GRANT


@pytest.fixture
async def plans(database: str) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))


async def nico(plan: str | None, clock: ManualClock, days: int = 30) -> UserInfo:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    if plan is not None:
        await ent.grant(user.id, plan, days, source=GRANT, now=clock.now())
    return user


async def terminals(user: UserInfo, clock: ManualClock, *specs: tuple[str, DeviceMode]) -> None:
    """Devices named as given, the first seen longest ago (so the last is the most recent)."""
    for i, (name, mode) in enumerate(specs):
        row = await th.device(user, name=name, mode=mode)
        row.last_seen_at = clock.now() - timedelta(hours=len(specs) - i)
        await row.save(update_fields=["last_seen_at"])


async def states() -> dict[str, tuple[str, str, str | None]]:
    return {d.name: (d.mode.value, d.status.value, d.paused_reason) for d in await Device.all()}


async def messages(kind: str = "billing.enforced") -> list[Notification]:
    return list(await Notification.filter(chat_id=NICO, kind=kind).order_by("id"))


async def test_over_the_limit_the_least_recently_used_pause_once_with_one_message(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("pro", clock)  # 3 terminals
    A = DeviceMode.APPROVAL
    await terminals(user, clock, ("Old", A), ("Mid", A), ("New", A), ("Newest", A))
    (ent_row,) = await ent.history(user.id)
    await ent.end(ent_row.id, clock.now(), reason="downgrade by test")
    await ent.grant(user.id, "starter", 30, source=GRANT, now=clock.now())  # 1 terminal
    done = await lifecycle.enforce(user.id, clock.now())
    assert len(done.paused) == 3 and done.notified
    assert await states() == {
        "Old": ("approval", "paused", "plan_limit"), "Mid": ("approval", "paused", "plan_limit"),
        "New": ("approval", "paused", "plan_limit"), "Newest": ("approval", "active", None),
    }  # fmt: skip
    (msg,) = await messages()
    body = msg.payload["text"]
    assert "Your plan <b>Starter</b> allows 1 terminal, so" in body
    assert "so <b>New</b>, <b>Mid</b>, <b>Old</b> are paused" in body  # most recent first
    buttons = [b["text"] for row in msg.payload["reply_markup"]["inline_keyboard"] for b in row]
    assert sorted(buttons) == ["▶️ Keep Mid active", "▶️ Keep New active", "▶️ Keep Old active"]
    assert len(await audit.recent(action="device.paused")) == 3
    again = await lifecycle.enforce(user.id, clock.now())
    assert not again and not again.notified
    clock.advance(60)
    assert not await lifecycle.enforce(user.id, clock.now())
    assert len(await messages()) == 1


async def test_concurrent_enforcement_changes_and_says_it_once(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("starter", clock)
    await terminals(user, clock, ("One", DeviceMode.APPROVAL), ("Two", DeviceMode.COPY))
    results = await asyncio.gather(*(lifecycle.enforce(user.id, clock.now()) for _ in range(4)))
    assert sum(bool(r) for r in results) == 1
    assert await states() == {
        "One": ("approval", "paused", "plan_limit"), "Two": ("approval", "active", None)
    }  # fmt: skip
    assert len(await messages()) == 1


async def test_copy_mode_goes_off_without_a_copy_plan_in_the_users_language(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("pro", clock)
    from services.users import profiles

    await profiles.set_language(NICO, "es")
    await terminals(user, clock, ("Copia", DeviceMode.COPY), ("Manual", DeviceMode.APPROVAL))
    done = await lifecycle.enforce(user.id, clock.now())
    assert len(done.copy_off) == 1 and not done.paused
    assert (await states())["Copia"] == ("approval", "active", None)
    (msg,) = await messages()
    assert (
        "El modo copia está desactivado en <b>Copia</b>: tu plan <b>Pro</b> no lo incluye"
        in (msg.payload["text"])
    )
    assert msg.payload["reply_markup"] is None


async def test_a_copy_plan_keeps_copy_mode(plans: None, clock: ManualClock) -> None:
    user = await nico("pro_copy", clock)
    await terminals(user, clock, ("Copy", DeviceMode.COPY))
    assert not await lifecycle.enforce(user.id, clock.now())
    assert (await states())["Copy"] == ("copy", "active", None)


async def test_no_access_pauses_copy_terminals_only_and_a_new_plan_resumes_them(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("starter_copy", clock, days=1)
    await terminals(user, clock, ("Copy", DeviceMode.COPY), ("Manual", DeviceMode.APPROVAL))
    clock.advance(timedelta(days=1) + ent.GRACE)
    done = await lifecycle.enforce(user.id, clock.now())
    assert [d for d in done.paused] and not done.copy_off
    assert await states() == {
        "Copy": ("copy", "paused", "no_access"), "Manual": ("approval", "active", None)
    }  # fmt: skip
    (msg,) = await messages()
    assert "copy-mode terminals <b>Copy</b> are paused" in msg.payload["text"]
    # approval-mode terminals get no new commands: approving needs the plan
    expired = await registration.with_access(user)
    view = await th.publish()
    with pytest.raises(Exception, match="error.signal_not_entitled"):
        await th.approve(expired, view.id)
    await ent.grant(user.id, "pro_copy", 30, source=GRANT, now=clock.now())
    back = await lifecycle.enforce(user.id, clock.now())
    assert len(back.resumed) == 1
    assert (await states())["Copy"] == ("copy", "active", None)
    assert "active again" in (await messages())[-1].payload["text"]


async def test_complimentary_access_pauses_nothing(plans: None, clock: ManualClock) -> None:
    sam = await th.user(NICO, Role.SUBSCRIBER, "Sam")  # the role, no entitlement
    await terminals(sam, clock, *((f"T{i}", DeviceMode.COPY) for i in range(3)))
    assert not await lifecycle.enforce(sam.id, clock.now())
    assert {s[1] for s in (await states()).values()} == {"active"}


async def test_the_user_keeps_a_paused_terminal_instead_of_an_active_one(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("starter", clock)
    await terminals(user, clock, ("Old", DeviceMode.APPROVAL), ("New", DeviceMode.APPROVAL))
    await lifecycle.enforce(user.id, clock.now())
    old = await Device.get(name="Old")
    new = await Device.get(name="New")
    asked = await lifecycle.keep(user.id, old.device_id, None, clock.now())
    assert asked.resumed is None and [t.name for t in asked.choices] == ["New"]
    kept = await lifecycle.keep(user.id, old.device_id, new.device_id, clock.now())
    assert kept.resumed is not None and kept.paused is not None
    assert await states() == {
        "Old": ("approval", "active", None), "New": ("approval", "paused", "plan_limit")
    }  # fmt: skip
    # the choice stands: enforcing again keeps it
    assert not await lifecycle.enforce(user.id, clock.now())
    # checked on the server: an active terminal cannot be "kept", nor someone else's swapped
    with pytest.raises(InvalidInput, match="error.keep_not_paused_by_plan"):
        await lifecycle.keep(user.id, old.device_id, new.device_id, clock.now())
    other = await th.user(902, Role.PUBLIC, "Pia")
    await ent.grant(other.id, "starter", 30, source=GRANT, now=clock.now())
    with pytest.raises(Exception, match="error.terminal_not_found"):
        await lifecycle.keep(other.id, new.device_id, None, clock.now())
    # /devices' resume refuses a terminal the plan paused
    with_access = await registration.with_access(user)
    with pytest.raises(InvalidInput, match="error.device_paused_by_plan"):
        await overview.resume(with_access, new.device_id)


async def test_keep_with_room_resumes_without_pausing_another(
    plans: None, clock: ManualClock
) -> None:
    user = await nico("starter", clock)
    await terminals(user, clock, ("Old", DeviceMode.APPROVAL), ("New", DeviceMode.APPROVAL))
    await lifecycle.enforce(user.id, clock.now())
    new = await Device.get(name="New")
    await Device.filter(id=new.id).update(status=DeviceStatus.REVOKED)
    old = await Device.get(name="Old")
    kept = await lifecycle.keep(user.id, old.device_id, None, clock.now())
    assert kept.resumed is not None and kept.paused is None
    assert (await states())["Old"] == ("approval", "active", None)


def test_keep_callback_fits_telegrams_64_bytes() -> None:
    packed = KeepCB(device_id="dev_" + "x" * 12, instead="dev_" + "y" * 12).pack()
    assert len(packed.encode()) <= 64
