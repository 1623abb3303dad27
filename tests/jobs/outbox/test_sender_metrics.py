"""`signaldesk_messages_sent_total{result}`: the sender against the real emulator, each result
counted once the outbox row recording it is written."""

from __future__ import annotations

from aiogram import Bot

from models.notifications import NotificationStatus
from services import business_metrics
from services.business_metrics import SEND_RESULTS
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from services.outbox.notifications import Outgoing
from tests.exposition import value
from tests.jobs.helpers import drained, rows, running, subscribers
from tgemu import EmulatorClient, EmulatorServer


async def sent_by_result() -> dict[str, float]:
    text = (await business_metrics.exposition()).decode()
    return {
        result: value(text, "signaldesk_messages_sent_total", result=result) or 0.0
        for result in SEND_RESULTS
    }


async def test_each_send_result_is_counted_once_recorded(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    fine, bad, flaky, blocker, paused, doomed = await subscribers(server, 6)
    await control.block(blocker)
    await control.inject_fault("sendMessage", 400, chat_id=bad, times=-1)
    await control.inject_fault("sendMessage", 500, chat_id=flaky, times=2)
    await control.inject_fault("sendMessage", 429, chat_id=paused, retry_after=1)
    await control.inject_fault("sendMessage", 502, chat_id=doomed, times=-1)
    before = await sent_by_result()
    items = [Outgoing(fine, Prepared(outbox.text(f"m{i}")), f"fine-{i}") for i in range(3)]
    items += [
        Outgoing(chat, Prepared(outbox.text("x")), f"to-{chat}")
        for chat in (bad, flaky, blocker, paused, doomed)
    ]
    items.append(Outgoing(blocker, Prepared(outbox.text("y")), "skipped-with-its-chat"))
    async with running(bot):
        async with outbox.transaction():
            await outbox.enqueue_many(items)
        await drained()
    after = await sent_by_result()  # the sender stopped: every result it had is written
    deltas = {result: after[result] - before[result] for result in SEND_RESULTS}
    state = await rows()
    assert state[f"to-{doomed}"].status == NotificationStatus.FAILED
    attempts = state[f"to-{doomed}"].attempts  # max_attempts: all but the last were retried
    assert deltas == {
        "sent": 5,  # 3 to `fine`, `flaky` after two 500s, `paused` after its 429
        "retried": 2 + attempts - 1,
        "rate_limited": 1,
        "unreachable": 1,  # one 403; the chat's other row is skipped, never attempted
        "failed": 1,
        "exhausted": 1,
        "error": 0,
    }
    sent = [r for r in state.values() if r.status == NotificationStatus.SENT]
    assert len(sent) == deltas["sent"]
