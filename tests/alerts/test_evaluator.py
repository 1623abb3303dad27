"""The evaluator on closed bars: firing recorded with its outbox notification, one-shot vs
repeating with the cool-down, preferences, the index following the database, and each crossing
firing once across a failed commit and a second evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from core.bus import Bus
from models.alerts import AlertState, PriceAlert
from models.notifications import DeliveryMode, Notification
from services.alerts import evaluator as evaluator_module
from services.alerts import service
from services.alerts.evaluator import AlertEvaluator
from services.alerts.index import Move
from services.alerts.service import NewAlert
from services.events import LiveUpdate
from services.outbox import preferences
from services.outbox.preferences import Category
from services.users import profiles
from tests.alerts.conftest import ELITE, PRO, World
from trading.candles import Bar

T0 = datetime(2030, 1, 2, 12, tzinfo=UTC)


def bar(low: float, high: float, close: float) -> Bar:
    return Bar(T0, close, high, low, close, 1.0)


async def alert_rows(chat_id: int = PRO) -> list[Notification]:
    return await Notification.filter(chat_id=chat_id, kind="alert").order_by("id")


@pytest.fixture
async def ev(world: World) -> AlertEvaluator:
    return AlertEvaluator()


async def test_a_one_shot_alert_fires_once_through_the_outbox(world: World, ev: AlertEvaluator,
                                                             bus: Bus) -> None:  # fmt: skip
    heard: list[LiveUpdate] = []
    bus.subscribe(LiveUpdate, heard.append)
    made = await service.create(
        await world.user(PRO), NewAlert("XAUUSD", "above", "2410", "take <b>profit</b>")
    )
    assert await ev.rebuild() == 1
    assert await ev.on_bar("XAUUSD", bar(2395, 2409.99, 2405)) == []  # one tick short
    fired = await ev.on_bar("XAUUSD", bar(2404, 2415.3, 2412.4))
    assert [(f.alert_id, f.number) for f in fired] == [(made.id, 1)]
    rows = await alert_rows()
    assert [r.dedupe_key for r in rows] == [f"alert:{made.id}:1"]
    assert rows[0].payload["text"] == (
        "🔔 <b>XAUUSD</b> rose to 2,410.00 (now 2,412.40).\n📝 take &lt;b&gt;profit&lt;/b&gt;\n"
        "This alert is done; set a new one with /alerts."
    )
    row = await PriceAlert.get(id=made.id)
    assert (row.state, row.fired_count, row.last_fired_at) == (
        AlertState.FIRED,
        1,
        world.clock.now(),
    )
    assert made.id not in ev.index
    assert await ev.on_bar("XAUUSD", bar(2380, 2390, 2385)) == []
    assert await ev.on_bar("XAUUSD", bar(2385, 2420, 2415)) == []  # a one-shot is done
    assert len(await alert_rows()) == 1
    assert LiveUpdate("alert", made.id, (PRO,)) in heard


async def test_below_and_cross_in_the_readers_language(world: World, ev: AlertEvaluator) -> None:
    await profiles.set_language(PRO, "es")
    await service.create(await world.user(PRO), NewAlert("XAUUSD", "below", "2390"))
    await service.create(await world.user(PRO), NewAlert("XAUUSD", "cross", "2395", repeat=True))
    await ev.rebuild()
    fired = await ev.on_bar("XAUUSD", bar(2380, 2401, 2385))  # a bar down through both levels
    assert len(fired) == 2
    texts = [r.payload["text"] for r in await alert_rows()]
    assert any(
        t.startswith("🔔 <b>XAUUSD</b> bajó hasta 2.390,00 (ahora 2.385,00).") for t in texts
    )
    assert any("Puede volver a saltar pasados 5 minutos." in t for t in texts)


async def test_a_repeating_alert_waits_for_its_cooldown(world: World, ev: AlertEvaluator) -> None:
    made = await service.create(await world.user(PRO),
                                NewAlert("XAUUSD", "cross", "2410", repeat=True, cooldown_min=10))  # fmt: skip
    await ev.rebuild()
    assert len(await ev.on_bar("XAUUSD", bar(2400, 2411, 2411))) == 1  # up through 2410
    world.clock.advance(timedelta(minutes=9))
    assert await ev.on_bar("XAUUSD", bar(2405, 2411, 2405)) == []  # down through: cooling down
    assert await ev.on_bar("XAUUSD", bar(2405, 2405, 2405)) == []
    world.clock.advance(timedelta(minutes=1))
    fired = await ev.on_bar("XAUUSD", bar(2405, 2412, 2412))
    assert [f.number for f in fired] == [2]
    row = await PriceAlert.get(id=made.id)
    assert (row.state, row.fired_count) == (AlertState.ACTIVE, 2)
    assert [r.dedupe_key for r in await alert_rows()] == [
        f"alert:{made.id}:1",
        f"alert:{made.id}:2",
    ]


async def test_preference_off_records_the_firing_without_a_message(world: World,
                                                                  ev: AlertEvaluator) -> None:  # fmt: skip
    await preferences.set_modes(PRO, {Category.ALERT: DeliveryMode.OFF})
    await preferences.set_modes(ELITE, {Category.ALERT: DeliveryMode.SILENT})
    a = await service.create(await world.user(PRO), NewAlert("XAUUSD", "above", "2410"))
    await service.create(await world.user(ELITE), NewAlert("XAUUSD", "above", "2410"))
    await ev.rebuild()
    assert len(await ev.on_bar("XAUUSD", bar(2400, 2410, 2410))) == 2
    assert await alert_rows(PRO) == []
    assert (await PriceAlert.get(id=a.id)).state is AlertState.FIRED
    [silent] = await alert_rows(ELITE)
    assert silent.payload["disable_notification"] is True


async def test_the_index_follows_creates_and_deletes(world: World, ev: AlertEvaluator) -> None:
    await ev.rebuild()
    pro = await world.user(PRO)
    made = await service.create(pro, NewAlert("XAUUSD", "above", "2410"))
    await ev.refresh(made.id)  # what the LiveUpdate of the create makes the leader do
    assert made.id in ev.index
    await service.delete(pro, made.id)
    await ev.refresh(made.id)
    assert made.id not in ev.index
    assert await ev.on_bar("XAUUSD", bar(2400, 2420, 2415)) == []


async def test_a_failed_commit_fires_the_same_crossing_once_on_retry(
    world: World, ev: AlertEvaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await service.create(await world.user(PRO), NewAlert("XAUUSD", "above", "2410"))
    await ev.rebuild()
    real = evaluator_module.firing.record
    calls = 0

    async def flaky(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            msg = "database went away"
            raise ConnectionError(msg)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluator_module.firing, "record", flaky)
    with pytest.raises(ConnectionError):
        await ev.on_bar("XAUUSD", bar(2400, 2415, 2414))
    assert await alert_rows() == []
    assert ev.index.reference("XAUUSD") == D("2400.00")  # not advanced: the move can be retried
    assert len(await ev.on_bar("XAUUSD", bar(2400, 2415, 2414))) == 1
    assert [r.dedupe_key for r in await alert_rows()] == [f"alert:{made.id}:1"]


async def test_two_evaluators_record_one_firing(world: World) -> None:
    made = await service.create(await world.user(PRO),
                                NewAlert("XAUUSD", "above", "2410", repeat=True))  # fmt: skip
    first, second = AlertEvaluator(), AlertEvaluator()
    await first.rebuild()
    await second.rebuild()
    move = Move(D("2400"), D("2411"), D("2411"))
    assert len(await first.on_move("XAUUSD", move)) == 1
    assert await second.on_move("XAUUSD", move) == []  # the row moved on: nothing queued
    assert [r.dedupe_key for r in await alert_rows()] == [f"alert:{made.id}:1"]
    assert made.id not in second.index  # until its LiveUpdate makes it re-read the row
    await second.refresh(made.id)
    assert made.id in second.index


async def test_rebuild_starts_from_the_last_stored_price_and_quotes_feed_it(
    world: World, ev: AlertEvaluator
) -> None:
    await service.create(await world.user(PRO), NewAlert("EURUSD", "below", "1.08000"))
    await ev.rebuild()
    assert ev.index.reference("EURUSD") == D("1.08500")
    assert await ev.on_quote("EURUSD", D("1.08002"), D("1.08004")) == []
    fired = await ev.on_quote("EURUSD", D("1.07990"), D("1.07998"))
    assert len(fired) == 1
    assert (
        (await alert_rows())[0]
        .payload["text"]
        .startswith("🔔 <b>EURUSD</b> fell to 1.08000 (now 1.07994).")
    )


async def test_many_alerts_in_one_move_with_one_fired_elsewhere_meanwhile(world: World) -> None:
    """One move reaches six alerts (one-shot and repeating, some fired before): the rows are
    updated in batches; one alert fired by another evaluator in between makes its batch
    fall back to one row at a time, and every other alert still fires exactly once."""
    user = await world.user(PRO)
    levels = ("2402", "2404", "2406", "2408", "2410", "2412")
    made = [
        await service.create(user, NewAlert("XAUUSD", "above", level, repeat=i % 2 == 1))
        for i, level in enumerate(levels)
    ]
    await PriceAlert.filter(id=made[3].id).update(fired_count=4)  # fired 4 times long ago
    first, second = AlertEvaluator(), AlertEvaluator()
    await first.rebuild()
    await second.rebuild()
    await second.on_move("XAUUSD", Move(D("2401"), D("2402"), D("2402")))  # fires made[0]
    fired = await first.on_move("XAUUSD", Move(D("2400"), D("2413"), D("2413")))
    assert sorted(f.alert_id for f in fired) == sorted(a.id for a in made[1:])
    assert {f.alert_id: f.number for f in fired}[made[3].id] == 5
    rows = {a.id: a for a in await PriceAlert.filter(id__in=[a.id for a in made])}
    assert [rows[a.id].fired_count for a in made] == [1, 1, 1, 5, 1, 1]
    assert [rows[a.id].state for a in made] == [
        AlertState.FIRED, AlertState.ACTIVE, AlertState.FIRED,
        AlertState.ACTIVE, AlertState.FIRED, AlertState.ACTIVE,
    ]  # fmt: skip
    keys = sorted(r.dedupe_key for r in await alert_rows())
    assert keys == sorted(
        [f"alert:{made[0].id}:1", f"alert:{made[3].id}:5"]
        + [f"alert:{a.id}:1" for a in (made[1], made[2], made[4], made[5])]
    )


async def test_a_move_reaching_hundreds_of_alerts_records_them_all(world: World) -> None:
    """More hits than one UPDATE batch holds: all recorded, each with its notification."""
    user = await world.user(ELITE)
    await PriceAlert.bulk_create(
        [
            PriceAlert(
                user_id=user.id,
                symbol="XAUUSD",
                condition="above",
                level=D("2401") + D(i) / 100,
                created_at=T0,
                updated_at=T0,
            )
            for i in range(evaluator_module.firing.BATCH + 20)
        ]  # fmt: skip
    )
    ev = AlertEvaluator()
    await ev.rebuild()
    fired = await ev.on_move("XAUUSD", Move(D("2400"), D("2410"), D("2410")))
    assert len(fired) == evaluator_module.firing.BATCH + 20
    assert await PriceAlert.filter(state=AlertState.FIRED).count() == len(fired)
    assert len(await alert_rows(ELITE)) == len(fired)
    assert len(ev.index) == 0
