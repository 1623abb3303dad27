"""Access over time: the 3-day and 1-day reminders, the grace notice and the end of access,
each exactly once however often (and on however many replicas) the periodic pass runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import EntitlementSource
from models.devices import Device, DeviceMode
from models.notifications import Notification
from models.users import Role
from services.billing import catalog, expiry
from services.billing import entitlements as ent
from services.billing.callbacks import RenewCB
from services.users import profiles
from tests.services.terminals import helpers as th

NICO, PIA = 911, 912
DAY = timedelta(days=1)


@pytest.fixture
async def plans(database: str) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))


async def kinds(chat_id: int = NICO) -> list[str]:
    rows = await Notification.filter(chat_id=chat_id, kind__startswith="billing.").order_by("id")
    return [r.dedupe_key.split(":")[1] for r in rows]


async def texts(chat_id: int = NICO) -> list[str]:
    rows = await Notification.filter(chat_id=chat_id, kind__startswith="billing.").order_by("id")
    return [r.payload["text"] for r in rows]


async def run(clock: ManualClock, replicas: int = 1) -> list[expiry.Due]:
    return list(await asyncio.gather(*(expiry.run_due(clock.now()) for _ in range(replicas))))


async def test_reminders_at_3_and_1_day_then_grace_then_the_end_each_once(
    plans: None, clock: ManualClock
) -> None:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    await ent.grant(user.id, "starter_copy", 30, source=EntitlementSource.GRANT, now=clock.now())
    copy = await th.device(user, name="Copy", mode=DeviceMode.COPY)
    ends = clock.now() + 30 * DAY
    steps = [
        (ends - 4 * DAY, []),
        (ends - 3 * DAY - timedelta(seconds=1), []),
        (ends - 3 * DAY, ["remind3d"]),
        (ends - 2 * DAY, ["remind3d"]),
        (ends - DAY, ["remind3d", "remind1d"]),
        (ends - timedelta(minutes=1), ["remind3d", "remind1d"]),
        (ends, ["remind3d", "remind1d", "grace"]),
        (ends + DAY, ["remind3d", "remind1d", "grace"]),
        (ends + ent.GRACE, ["remind3d", "remind1d", "grace", "ended", "enforce"]),
        (ends + ent.GRACE + DAY, ["remind3d", "remind1d", "grace", "ended", "enforce"]),
    ]
    for moment, expected in steps:
        clock.set(moment)
        for _ in range(2):  # run again at once: nothing new
            await run(clock, replicas=3)  # three "replicas" at the same moment
        assert await kinds() == expected, moment
    reminder3, reminder1, grace, ended, enforced = await texts()
    assert "Your plan <b>Starter Copy</b> ends on" in reminder3 and "in 3 days" in reminder3
    assert "does not renew by itself" in reminder3
    assert "in 1 day" in reminder1
    assert "Your access continues in a grace period until" in grace
    assert "Your access to <b>Starter Copy</b> ended on" in ended
    assert "copy-mode terminals <b>Copy</b> are paused" in enforced
    assert (await Device.get(id=copy.id)).status == "paused"
    (row,) = await Notification.filter(dedupe_key__startswith="lifecycle:remind3d:")
    (button,) = row.payload["reply_markup"]["inline_keyboard"][0]
    assert button["text"] == "🔄 Renew Starter Copy"
    assert RenewCB.unpack(button["callback_data"]).plan == "starter_copy"


async def test_a_renewing_or_renewed_period_gets_no_reminder(
    plans: None, clock: ManualClock
) -> None:
    nico = await th.user(NICO, Role.PUBLIC, "Nico")
    pia = await th.user(PIA, Role.PUBLIC, "Pia")
    await ent.grant(nico.id, "starter", 30, source=EntitlementSource.STARS, now=clock.now(),
                    renews=True)  # fmt: skip
    await ent.grant(pia.id, "starter", 30, source=EntitlementSource.GRANT, now=clock.now())
    await ent.grant(pia.id, "starter", 30, source=EntitlementSource.GRANT, now=clock.now())
    for day in (28, 29, 30):
        clock.set(clock.now().replace(day=1) + day * DAY)
        await run(clock)
    assert await kinds(NICO) == [] and await kinds(PIA) == []  # Pia's chain goes on
    clock.advance(timedelta(minutes=30))  # within the renewal slack: still nothing
    await run(clock)
    assert await kinds(NICO) == []
    clock.advance(expiry.RENEWAL_SLACK)  # no renewal came: the grace notice
    await run(clock)
    assert await kinds(NICO) == ["grace"]


async def test_a_short_period_gets_only_the_reminders_that_fit_in_its_language(
    plans: None, clock: ManualClock
) -> None:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    await profiles.set_language(NICO, "ru")
    await ent.grant(user.id, "starter", 2, source=EntitlementSource.GRANT, now=clock.now())
    await run(clock)
    assert await kinds() == []  # 2 days long: no 3-day reminder at its start
    clock.advance(DAY)
    await run(clock)
    assert await kinds() == ["remind1d"]
    (text,) = await texts()
    assert "Ваш тариф <b>Starter</b> заканчивается" in text and "через 1 день" in text


async def test_the_end_is_not_announced_when_another_plan_continues(
    plans: None, clock: ManualClock
) -> None:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    await ent.grant(user.id, "starter", 5, source=EntitlementSource.TRIAL, now=clock.now())
    await ent.grant(user.id, "starter_copy", 60, source=EntitlementSource.GRANT, now=clock.now())
    for _ in range(10):
        clock.advance(DAY)
        await run(clock)
    assert await kinds() == []


async def test_a_job_that_was_down_catches_up_from_its_last_run(
    plans: None, clock: ManualClock
) -> None:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    await run(clock)  # the last run is now
    await ent.grant(user.id, "starter", 1, source=EntitlementSource.GRANT, now=clock.now())
    clock.advance(timedelta(days=5))  # down through the period, its grace and beyond
    due = (await run(clock))[0]
    assert due.ended == 1 and await kinds() == ["ended"]
