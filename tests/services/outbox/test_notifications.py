"""The outbox service: idempotent enqueue inside transactions, the sender's queue operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from core.bus import Bus
from models.notifications import Notification, NotificationStatus
from models.users import Role, UserStatus
from services.events import OutboxChanged
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from services.outbox.notifications import Outgoing
from services.users import profiles as users
from tests.buses import heard

LATER = datetime.now(UTC) + timedelta(days=1)


def note(chat_id: int, key: str, payload: outbox.Payload | None = None, **kw: object) -> Outgoing:
    return Outgoing(chat_id, Prepared(payload or outbox.text(f"hello {key}")), key, **kw)  # type: ignore[arg-type]


async def statuses() -> dict[str, str]:
    rows = await Notification.all().values_list("dedupe_key", "status")
    return {str(key): str(status) for key, status in rows}


async def test_enqueue_is_idempotent_on_the_dedupe_key(database: str) -> None:
    assert await outbox.enqueue(1, Prepared(outbox.text("hi")), "k1", user_id=1) is True
    assert await outbox.enqueue(1, Prepared(outbox.text("changed")), "k1") is False
    row = await Notification.get(dedupe_key="k1")
    assert (row.payload["text"], row.status, row.attempts) == ("hi", NotificationStatus.PENDING, 0)
    items = [note(1, "k1"), note(2, "k2"), note(2, "k2"), note(3, "k3")]
    assert await outbox.enqueue_many(items) == 2
    assert await Notification.all().count() == 3


async def test_enqueue_joins_the_callers_transaction(database: str) -> None:
    """A duplicate inside a transaction must not abort it (PostgreSQL), and rollback drops all."""
    with pytest.raises(RuntimeError):
        async with in_transaction():
            assert await outbox.enqueue(1, Prepared(outbox.text("a")), "tx") is True
            assert await outbox.enqueue(1, Prepared(outbox.text("a")), "tx") is False
            assert await outbox.enqueue_many([note(2, "tx"), note(2, "tx2")]) == 1
            assert await Notification.all().count() == 2  # the transaction is still usable
            raise RuntimeError("the state change failed")
    assert await Notification.all().count() == 0
    async with in_transaction():
        await outbox.enqueue_many([note(1, "tx"), note(1, "tx")])
    assert await statuses() == {"tx": "pending"}


async def test_transaction_wakes_listeners_only_after_commit(database: str, bus: Bus) -> None:
    woken = heard(bus, OutboxChanged)
    async with outbox.transaction():
        await outbox.enqueue(1, Prepared(outbox.text("a")), "w1")
        assert woken == []
    assert len(woken) == 1
    with pytest.raises(RuntimeError):
        async with outbox.transaction():
            await outbox.enqueue(1, Prepared(outbox.text("a")), "w2")
            raise RuntimeError
    assert len(woken) == 1
    await outbox.enqueue(1, Prepared(outbox.text("a")), "w3")  # no transaction: at once
    assert len(woken) == 2
    async with outbox.transaction():
        async with outbox.transaction():
            await outbox.enqueue(1, Prepared(outbox.text("a")), "w4")
        assert len(woken) == 2  # nested: waits for the outer commit
    assert len(woken) == 3


async def test_not_before_must_be_aware(database: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await outbox.enqueue(1, Prepared(outbox.text("x")), "k", not_before=datetime(2030, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"method": "fax"}, "must be one of"),
        ({"method": "send_message", "text": ""}, "needs text"),
        ({"method": "edit_text", "text": "x"}, "needs edit_of"),
        ({"method": "send_photo", "photo": {"path": "a", "file_id": "b"}}, "exactly one"),
        ({"method": "send_message", "text": "x", "edit_of": "k"}, "use 'reply_to'"),
    ],
)
async def test_bad_payloads_are_refused_before_queueing(
    database: str, payload: outbox.Payload, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await outbox.enqueue(1, Prepared(payload), "bad")
    assert await Notification.all().count() == 0


def test_payload_helpers_build_the_documented_shape() -> None:
    keyboard = outbox.inline_keyboard(
        [
            [
                outbox.Button("Approve", callback_data="sig:a:1"),
                outbox.Button("Web", url="https://x"),
            ]
        ]
    )
    assert keyboard.as_json() == {
        "inline_keyboard": [
            [{"text": "Approve", "callback_data": "sig:a:1"}, {"text": "Web", "url": "https://x"}]
        ]
    }
    assert outbox.photo("c", chart_id=7, reply_to="k")["photo"] == {"chart_id": 7}
    assert outbox.edit_markup("k") == {
        "method": "edit_markup",
        "reply_markup": None,
        "edit_of": "k",
    }
    assert outbox.validate_payload(outbox.delete("k")) == "k"
    assert outbox.validate_payload(outbox.text("t", reply_to="r")) == "r"


async def test_claim_orders_by_priority_then_id_and_honours_exclusions(database: str) -> None:
    await outbox.enqueue_many(
        [
            note(1, "low", priority=9),
            note(2, "a"),
            note(3, "b"),
            note(4, "urgent", priority=1),
            note(5, "later", not_before=LATER),
        ]
    )
    claimed = await outbox.claim_due(datetime.now(UTC), 10, exclude_chats={3})
    assert [c.dedupe_key for c in claimed] == ["urgent", "a", "low"]
    assert all(c.attempts == 1 for c in claimed)
    assert [c.dedupe_key for c in await outbox.claim_due(LATER, 2)] == ["urgent", "a"]


async def test_dependencies_wait_then_resolve_to_message_ids(database: str) -> None:
    await outbox.enqueue_many(
        [
            note(1, "orig"),
            note(1, "reply", outbox.text("re", reply_to="orig")),
            note(1, "edit", outbox.edit_text("orig", "v2")),
            note(2, "lost"),
            note(2, "edit-lost", outbox.edit_markup("lost")),
            note(2, "reply-lost", outbox.text("re", reply_to="lost")),
        ]
    )
    now = datetime.now(UTC)
    assert [c.dedupe_key for c in await outbox.claim_due(now, 10)] == ["orig", "lost"]
    ids = {row.dedupe_key: row.id for row in await Notification.all()}
    assert await outbox.mark_sending([ids["orig"], ids["lost"]]) == 2
    assert await outbox.claim_due(now, 10) == []  # dependencies are SENDING
    await outbox.mark_sent([outbox.SentResult(ids["orig"], 41, now)])
    await outbox.mark_failed(ids["lost"], "Bad Request: chat not found")
    claimed = {c.dedupe_key: c for c in await outbox.claim_due(now, 10)}
    assert set(claimed) == {"reply", "edit", "reply-lost"}
    assert claimed["reply"].reply_to_message_id == 41
    assert claimed["edit"].target_message_id == 41
    assert claimed["reply-lost"].reply_to_message_id is None  # sent without the reply
    assert (await statuses())["edit-lost"] == "skipped"


async def test_retry_failure_and_recovery_bookkeeping(database: str) -> None:
    await outbox.enqueue_many([note(1, "a"), note(2, "b"), note(3, "c")])
    now = datetime.now(UTC)
    ids = {row.dedupe_key: row.id for row in await Notification.all()}
    await outbox.mark_sending(list(ids.values()))
    await outbox.schedule_retry(ids["a"], now + timedelta(seconds=30), "TelegramServerError")
    await outbox.schedule_retry(ids["b"], now, "429", count_attempt=False)
    rows = {row.dedupe_key: row for row in await Notification.all()}
    assert (rows["a"].attempts, rows["a"].status, rows["a"].last_error) == (
        1,
        NotificationStatus.PENDING,
        "TelegramServerError",
    )
    assert rows["b"].attempts == 0
    assert [c.dedupe_key for c in await outbox.claim_due(now + timedelta(seconds=1), 10)] == ["b"]
    assert await outbox.recover_in_flight() == 1  # "c" was SENDING
    assert await outbox.stats() == outbox.OutboxStats(pending=3)


async def test_unreachable_chat_blocks_the_user_and_skips_their_queue(database: str) -> None:
    await users.seed(77, "Blocker", None, Role.SUBSCRIBER)
    await outbox.enqueue_many([note(77, "m1", user_id=77), note(77, "m2"), note(78, "other")])
    ids = {row.dedupe_key: row.id for row in await Notification.all()}
    await outbox.mark_sending([ids["m1"]])
    skipped = await outbox.chat_unreachable(ids["m1"], 77, 77, "Forbidden: bot was blocked")
    assert skipped == 1
    assert await statuses() == {"m1": "skipped", "m2": "skipped", "other": "pending"}
    assert (await users.get_by_telegram_id(77)).status is UserStatus.BLOCKED_BOT
    assert await outbox.stats() == outbox.OutboxStats(pending=1, skipped=2)
