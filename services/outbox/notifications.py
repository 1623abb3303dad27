"""The notification outbox: everything the bot sends is a row here first.

Producers call `enqueue`/`enqueue_many` inside the same transaction as the state change they
announce, so a rolled-back change announces nothing and a committed one is never lost. The one
sender (`jobs/outbox/sender.py`) drains the queue with the operations of `services.outbox.queue`.

Delivery is at-least-once: a row is SENDING from just before its Bot API call until its result
is written, and `recover_in_flight` at start-up puts such rows back to PENDING, so duplicates
after a crash are bounded by the rows SENDING at that moment (the count it returns).

This module holds the enqueue API. Payload builders (`text`, `photo`, ...; the payload format)
are in `services.outbox.payloads`, the sender's queue operations in `services.outbox.queue`;
both are re-exported here, so `from services import notifications as outbox` reaches it all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from core import bus, clock
from models.notifications import DeliveryMode, Notification
from services.events import OutboxChanged
from services.outbox import preferences
from services.outbox.kinds import Notice, kind_of, render
from services.outbox.payloads import (
    EDITS,
    Button,
    Keyboard,
    Payload,
    delete,
    edit_caption,
    edit_markup,
    edit_text,
    inline_keyboard,
    photo,
    text,
    validate_payload,
)
from services.outbox.queue import (
    BATCH,
    ERROR_MAX,
    ChartRef,
    Claimed,
    OutboxStats,
    SentResult,
    chart_ref,
    chat_unreachable,
    claim_due,
    due_now,
    mark_failed,
    mark_sending,
    mark_sent,
    recover_in_flight,
    remember_chart_file_id,
    schedule_retry,
    skip_chat,
    stats,
)
from services.users.entitlements import Audience

__all__ = [
    "EDITS",
    "ERROR_MAX",
    "Button",
    "ChartRef",
    "Claimed",
    "Keyboard",
    "OutboxStats",
    "Outgoing",
    "Payload",
    "SentResult",
    "chart_ref",
    "chat_unreachable",
    "claim_due",
    "delete",
    "due_now",
    "edit_caption",
    "edit_markup",
    "edit_text",
    "enqueue",
    "enqueue_many",
    "inline_keyboard",
    "mark_failed",
    "mark_sending",
    "mark_sent",
    "photo",
    "recover_in_flight",
    "remember_chart_file_id",
    "schedule_retry",
    "skip_chat",
    "stats",
    "text",
    "transaction",
    "validate_payload",
]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification to queue for one chat, keyed for idempotency: a typed `message`
    (services.outbox.kinds), rendered once here into the stored `kind` and `payload`."""

    chat_id: int
    message: Notice
    dedupe_key: str
    user_id: int | None = None
    signal_id: int | None = None
    priority: int = 5  # lower first
    not_before: datetime | None = None
    # Who it is for, asked again just before sending (services.users.entitlements.Audience); a user's
    # chat defaults to ACTIVE (never to a banned user), other chats are not checked.
    audience: str | None = None
    kind: str = field(init=False)
    payload: Payload = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", kind_of(self.message))
        object.__setattr__(self, "payload", render(self.message))


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """`in_transaction()` that wakes the sender after commit if the block queued anything.

    Plain `in_transaction()` works too; the sender then finds the rows on its next poll.
    Nested inside another `transaction()` (or the command queue's), the wake waits for the
    outermost commit: `OutboxChanged` is held on the bus until then (`core.bus`).
    """
    with bus.deferred():
        async with in_transaction():
            yield


async def enqueue(
    chat_id: int,
    message: Notice,
    dedupe_key: str,
    *,
    user_id: int | None = None,
    signal_id: int | None = None,
    priority: int = 5,
    not_before: datetime | None = None,
    audience: str | None = None,
) -> bool:
    """Queue one notification; False if `dedupe_key` was already queued (nothing changes) or
    the recipient turned this kind of notification off."""
    item = Outgoing(
        chat_id, message, dedupe_key, user_id, signal_id, priority, not_before, audience
    )
    return await enqueue_many([item]) == 1


async def enqueue_many(items: Iterable[Outgoing]) -> int:
    """Queue notifications, ignoring dedupe keys already queued; returns how many are new.

    Runs in the caller's transaction. Conflicts are skipped with INSERT ... ON CONFLICT DO
    NOTHING, never by catching IntegrityError (which would abort a PostgreSQL transaction);
    the count may be high if another transaction queues the same key at the same moment.
    Each recipient's notification preferences apply here (`services.outbox.preferences`): a
    kind they turned off is not queued, a silent one is sent with `disable_notification`.
    """
    unique: dict[str, Outgoing] = {}
    items = list(items)
    chosen = await preferences.modes_for(
        i.chat_id for i in items if preferences.category_of(i.message) is not None
    )
    silent: set[str] = set()
    for item in items:
        mode = _mode(item, chosen)
        if mode is DeliveryMode.OFF:
            continue
        if mode is DeliveryMode.SILENT:
            silent.add(item.dedupe_key)
        validate_payload(item.payload)
        if item.not_before is not None and item.not_before.utcoffset() is None:
            msg = f"not_before must be timezone-aware (UTC), got {item.not_before!r}"
            raise ValueError(msg)
        unique.setdefault(item.dedupe_key, item)
    keys = list(unique)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        for key in await Notification.filter(dedupe_key__in=chunk).values_list(
            "dedupe_key", flat=True
        ):
            unique.pop(str(key), None)
    if not unique:
        return 0
    now = _utcnow()
    rows = [_row(item, now, silent=item.dedupe_key in silent) for item in unique.values()]
    await Notification.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    bus.publish(OutboxChanged())  # the sender wakes (after the commit, in `transaction()`)
    return len(rows)


def _mode(
    item: Outgoing, chosen: dict[int, dict[preferences.Category, DeliveryMode]]
) -> DeliveryMode:
    category = preferences.category_of(item.message)
    if category is None:
        return DeliveryMode.ON
    return chosen.get(item.chat_id, {}).get(category, DeliveryMode.ON)


def _row(item: Outgoing, now: datetime, *, silent: bool = False) -> Notification:
    payload = {**item.payload, "disable_notification": True} if silent else item.payload
    return Notification(
        chat_id=item.chat_id,
        user_id=item.user_id,
        audience=_audience(item),
        kind=item.kind,
        payload=payload,
        dedupe_key=item.dedupe_key,
        depends_on=validate_payload(item.payload),
        signal_id=item.signal_id,
        priority=item.priority,
        next_attempt_at=item.not_before or now,
        created_at=now,
    )


def _audience(item: Outgoing) -> str | None:
    if item.audience is not None:
        return str(Audience(item.audience))  # refuses a misspelt audience at queue time
    return Audience.ACTIVE.value if item.user_id is not None else None


def _utcnow() -> datetime:
    return clock.now()
