"""Restart safety: a killed sender loses nothing and duplicates at most what was in flight."""

from __future__ import annotations

from collections import Counter

from aiogram import Bot

from jobs.outbox.sender import Sender
from models.notifications import Notification, NotificationStatus
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from services.outbox.notifications import Outgoing
from tests.jobs.helpers import FAST, bot_messages, drained, emulator_limits
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

USERS = 240
FIRST = 7_000_000


async def fan_out(server: EmulatorServer) -> list[int]:
    ids = [FIRST + i for i in range(USERS)]
    for telegram_id in ids:
        server.emulator.add_user(telegram_id, f"Sub {telegram_id}")
    payload = outbox.text("<b>EURUSD SELL</b> 1.0850")
    await outbox.enqueue_many([Outgoing(t, Prepared(payload), f"s:{t}", t) for t in ids])
    return ids


def deliveries(server: EmulatorServer, ids: list[int]) -> Counter[int]:
    return Counter({t: len(bot_messages(server, t)) for t in ids})


async def test_kill_mid_fanout_then_restart(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    emulator_limits(server)
    await control.set_latency(15, methods=["sendMessage"])  # keep sends in flight
    ids = await fan_out(server)
    first = Sender.build(bot, FAST)
    await first.start()
    first.wake()
    await until(lambda: first.counters["sent"], "a third sent", accept=lambda n: n >= USERS // 3)
    await first.abort()  # no graceful stop: in-flight sends cut, results not flushed
    at_risk = await Notification.filter(status=NotificationStatus.SENDING).count()
    assert at_risk > 0
    second = Sender.build(bot, FAST)
    await second.start()
    assert second.recovered == at_risk
    second.wake()
    await drained()
    await second.stop()
    counts = deliveries(server, ids)
    assert min(counts.values()) >= 1  # nothing lost
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= at_risk
    assert (await control.stats())["errors"] == {}


async def test_graceful_stop_mid_fanout_never_duplicates(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    emulator_limits(server)
    await control.set_latency(15, methods=["sendMessage"])
    ids = await fan_out(server)
    first = Sender.build(bot, FAST)
    await first.start()
    first.wake()
    await until(lambda: first.counters["sent"], "a third sent", accept=lambda n: n >= USERS // 3)
    await first.stop()
    assert await Notification.filter(status=NotificationStatus.SENDING).count() == 0
    second = Sender.build(bot, FAST)
    await second.start()
    assert second.recovered == 0
    second.wake()
    await drained()
    await second.stop()
    assert set(deliveries(server, ids).values()) == {1}
