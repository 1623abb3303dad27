"""Access over time end to end: the real app against the emulator on a manual clock. A
visitor's Copy plan runs out: the 3-day and 1-day reminders (once each, however often the
periodic pass runs), Renew opens /plans, the grace notice, the end of access with the copy
terminal paused; a promo code's extra days bring the plan back and the terminal resumes at
once (the UserChanged watch on the leader)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.app import AppRunner
from core import db
from core.clock import ManualClock
from jobs.lifecycle import lifecycle_job
from models.billing import EntitlementSource
from models.devices import Device, DeviceMode
from models.notifications import Notification, NotificationStatus
from models.users import Role
from services.billing import catalog
from services.billing import entitlements as ent
from services.users import profiles as users_service
from tests.e2e.conftest import OWNER, VISITOR, app_settings, running_app, text
from tests.services.terminals import helpers as th
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

DAY = timedelta(days=1)


@pytest.fixture
async def app(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, clock: ManualClock
) -> AsyncIterator[AppRunner]:
    await db.init_db(clean_db)
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    nico = await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    await users_service.set_language(VISITOR, "es")  # everything below in Spanish
    await ent.grant(nico.id, "starter_copy", 30, source=EntitlementSource.STARS, now=clock.now())
    await th.device(nico, name="Copier", mode=DeviceMode.COPY)
    await db.close_db()
    settings = app_settings(
        clean_db, emulator.url, throttle_rate=100, throttle_burst=100, sender_rate_per_s=500,
        sender_per_chat_per_s=100,
    )  # fmt: skip
    async with running_app(settings) as runner:
        yield runner


async def settled() -> bool:
    unfinished = (NotificationStatus.PENDING, NotificationStatus.SENDING)
    return not await Notification.filter(chat_id=VISITOR, status__in=unfinished).exists()


async def bot_texts(tg: EmulatorClient) -> list[str]:
    return [text(m) for m in await tg.messages(VISITOR) if m["from_bot"]]


async def passes(n: int = 3) -> None:
    """The periodic job firing `n` times at the same moment (as often as it likes)."""
    for _ in range(n):
        await lifecycle_job()
    await until(settled, "the outbox drained")


async def test_a_copy_plan_runs_out_and_a_promo_brings_it_back(
    app: AppRunner, tg: EmulatorClient, clock: ManualClock
) -> None:
    ends = clock.now() + 30 * DAY
    clock.set(ends - 3 * DAY)
    await passes()
    reminder = await tg.wait_for(VISITOR, lambda m: "dentro de 3 días" in text(m), after_seq=0)
    assert "Tu plan Starter Copy termina el 31 ene, 0:00 UTC" in text(reminder)
    await tg.press(VISITOR, VISITOR, reminder["message_id"], text="🔄 Renovar Starter Copy")
    plans = await tg.wait_for(VISITOR, lambda m: text(m).startswith("Planes"))
    assert "Tu plan: Starter Copy hasta el" in text(plans)

    clock.set(ends - DAY)
    await passes()
    await tg.wait_for(VISITOR, lambda m: "dentro de 1 día" in text(m), after_seq=0)
    clock.set(ends)
    await passes()
    grace = await tg.wait_for(VISITOR, lambda m: "periodo de gracia" in text(m), after_seq=0)
    assert "hasta el 2 feb, 0:00 UTC" in text(grace)
    clock.set(ends + ent.GRACE)
    await passes()
    await tg.wait_for(VISITOR, lambda m: "Tu acceso a Starter Copy terminó" in text(m),
                      after_seq=0)  # fmt: skip
    paused = await tg.wait_for(VISITOR, lambda m: "Tus terminales" in text(m), after_seq=0)
    assert "terminales en modo copia Copier están en pausa" in text(paused)
    assert (await Device.get(name="Copier")).status == "paused"

    texts = await bot_texts(tg)
    assert sum("termina el" in t for t in texts) == 2  # one reminder each, never repeated
    assert sum("periodo de gracia" in t for t in texts) == 1
    assert sum("Tu acceso a" in t for t in texts) == 1

    await tg.send(OWNER, "/promo_new BACK days 10 starter_copy")
    await tg.wait_for(OWNER, lambda m: "Promo code created" in text(m))
    await tg.send(VISITOR, "/redeem back")
    done = await tg.wait_for(VISITOR, lambda m: "Código aceptado" in text(m))
    assert "10 días extra de Starter Copy" in text(done)
    back = await tg.wait_for(VISITOR, lambda m: "vuelven a estar activos" in text(m))
    assert "Copier" in text(back)  # the watch ran enforce without waiting for the job
    assert (await Device.get(name="Copier")).status == "active"
