"""`ResultWriter` over a real queue: each verdict settled into the row, sent results written in
batches, the exhausted-retries hook, and the backoff."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import pytest

from jobs.outbox.results import ExhaustedHook, ResultWriter
from jobs.outbox.shield import Shield
from jobs.outbox.verdicts import Judgement, Verdict
from models.notifications import NotificationStatus
from models.users import Role, UserStatus
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from services.outbox.notifications import Claimed, Outgoing, SentResult
from services.users import profiles as users
from tests.jobs.helpers import rows

NOW = 1000.0  # the writer's monotonic clock


def writer(on_exhausted: ExhaustedHook | None = None) -> ResultWriter:
    return ResultWriter(
        Shield(), lambda: NOW, max_attempts=3, backoff_base_s=10.0, on_exhausted=on_exhausted
    )


async def claimed(*chats: int) -> list[Claimed]:
    """One SENDING row per chat, as the sender holds them while sending."""
    await outbox.enqueue_many(
        [Outgoing(c, Prepared(outbox.text(f"to {c}")), f"k{c}", c) for c in chats]
    )
    due = await outbox.claim_due(datetime.now(UTC), len(chats))
    await outbox.mark_sending([item.id for item in due])
    return sorted(due, key=lambda item: item.chat_id)


@pytest.mark.parametrize(
    ("verdict", "result", "status"),
    [
        (Verdict.UNREACHABLE, "unreachable", NotificationStatus.SKIPPED),
        (Verdict.PERMANENT, "failed", NotificationStatus.FAILED),
        (Verdict.TRANSIENT, "retried", NotificationStatus.PENDING),
    ],
)
async def test_each_verdict_is_settled_into_its_row(
    database: str, verdict: Verdict, result: str, status: NotificationStatus
) -> None:
    await users.seed(501, "Sub", None, Role.SUBSCRIBER)
    [item] = await claimed(501)
    results = writer()
    assert await results.settle(item, Judgement(verdict, "SomeError: why")) == result
    row = (await rows())["k501"]
    assert (row.status, row.last_error) == (status, "SomeError: why")
    blocked = (await users.get_by_telegram_id(501)).status is UserStatus.BLOCKED_BOT
    assert blocked is (verdict is Verdict.UNREACHABLE)
    retrying = verdict is Verdict.TRANSIENT
    assert math.isfinite(results.next_retry()) is retrying
    if retrying:
        assert row.next_attempt_at > datetime.now(UTC)


async def test_unreachable_skips_the_rest_of_that_chat_only(database: str) -> None:
    first, _ = await claimed(601, 602)
    await outbox.enqueue_many([Outgoing(601, Prepared(outbox.text("later")), "later", 601)])
    await writer().settle(first, Judgement(Verdict.UNREACHABLE, "TelegramForbiddenError: x"))
    state = await rows()
    assert state["later"].status is NotificationStatus.SKIPPED
    assert state["k602"].status is NotificationStatus.SENDING  # untouched


async def test_the_last_attempt_fails_and_calls_the_hook_once(database: str) -> None:
    calls: list[tuple[int, str]] = []

    async def alert(item: Claimed, error: str) -> None:
        calls.append((item.chat_id, error))

    [item] = await claimed(701)
    last = dataclasses.replace(item, attempts=3)
    judged = Judgement(Verdict.TRANSIENT, "E: down")
    assert await writer(on_exhausted=alert).settle(last, judged) == "exhausted"
    row = (await rows())["k701"]
    assert (row.status, row.last_error) == (NotificationStatus.FAILED, "gave up after 3: E: down")
    assert calls == [(701, "E: down")]


async def test_a_failing_hook_does_not_undo_the_failure(database: str) -> None:
    async def broken(item: Claimed, error: str) -> None:
        raise RuntimeError(error)

    [item] = await claimed(702)
    last = dataclasses.replace(item, attempts=3)
    judged = Judgement(Verdict.TRANSIENT, "E: down")
    assert await writer(on_exhausted=broken).settle(last, judged) == "exhausted"
    assert (await rows())["k702"].status is NotificationStatus.FAILED


async def test_sent_results_are_written_in_one_flush(database: str) -> None:
    items = await claimed(801, 802, 803)
    results = writer()
    assert await results.flush() == 0  # nothing buffered
    for n, item in enumerate(items):
        results.sent(SentResult(item.id, 100 + n, datetime.now(UTC)))
    assert {r.status for r in (await rows()).values()} == {NotificationStatus.SENDING}
    assert await results.flush() == 3
    state = await rows()
    assert [state[f"k{c}"].sent_message_id for c in (801, 802, 803)] == [100, 101, 102]
    assert {r.status for r in state.values()} == {NotificationStatus.SENT}


async def test_discarded_results_are_never_written(database: str) -> None:
    [item] = await claimed(901)
    results = writer()
    results.sent(SentResult(item.id, 1, datetime.now(UTC)))
    results.discard()
    assert await results.flush() == 0
    assert (await rows())["k901"].status is NotificationStatus.SENDING  # recovered at start


@pytest.mark.parametrize(
    ("jitter", "delays"), [(1.0, [0.02, 0.04, 0.08, 0.1]), (0.0, [0.01, 0.02, 0.04, 0.05])]
)
def test_backoff_doubles_with_jitter_up_to_the_cap(jitter: float, delays: list[float]) -> None:
    results = ResultWriter(
        Shield(), lambda: NOW, backoff_base_s=0.02, backoff_cap_s=0.1, rng=lambda: jitter
    )
    assert [round(results.backoff_s(n), 3) for n in (1, 2, 3, 4)] == delays
