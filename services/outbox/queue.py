"""The sender's queue operations on the outbox: claim due rows, mark them SENDING, record
results (sent, retry, failed, skipped), recover rows a crash left SENDING, count rows by status,
and look up the chart files photos are sent from. `jobs/outbox/sender.py` calls them through the
re-exports in `services.outbox.notifications`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from core import clock
from models.notifications import Notification, NotificationStatus
from models.signals import ChartFile
from services.outbox.payloads import EDITS, Payload
from services.users import profiles as users

ERROR_MAX = 500  # Notification.last_error's length
BATCH = 500  # rows per INSERT or IN (...) list, well below SQLite's and asyncpg's limits
_UNFINISHED = (NotificationStatus.PENDING, NotificationStatus.SENDING)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due notification, its dependency resolved into message ids, ready to send."""

    id: int
    chat_id: int
    user_id: int | None
    kind: str
    dedupe_key: str
    payload: Payload
    attempts: int  # counting the attempt about to be made
    reply_to_message_id: int | None = None
    target_message_id: int | None = None  # the message to edit or delete
    audience: str | None = None  # who it is for (services.users.entitlements.Audience)
    signal_id: int | None = None


@dataclass(frozen=True, slots=True)
class SentResult:
    id: int
    message_id: int | None
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class ChartRef:
    id: int
    path: str
    file_id: str | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0


async def claim_due(now: datetime, limit: int, exclude_chats: Iterable[int] = ()) -> list[Claimed]:
    """Up to `limit` due PENDING rows (priority, then id) not in `exclude_chats`.

    A row waits while its dependency is PENDING or SENDING. An edit or delete whose target
    failed or was skipped is marked SKIPPED here and not returned. Does not mark rows SENDING.
    """
    unfinished = Notification.filter(status__in=_UNFINISHED).values("dedupe_key")
    query = Notification.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
    query = query.filter(Q(depends_on__isnull=True) | ~Q(depends_on__in=Subquery(unfinished)))
    excluded = list(exclude_chats)
    for start in range(0, len(excluded), BATCH):
        query = query.exclude(chat_id__in=excluded[start : start + BATCH])
    rows = await query.order_by("priority", "id").limit(limit)
    targets = await _sent_message_ids({r.depends_on for r in rows if r.depends_on})
    claimed: list[Claimed] = []
    orphans: list[int] = []
    for row in rows:
        target = targets.get(row.depends_on or "")
        is_edit = row.payload.get("method") in EDITS
        if is_edit and target is None:
            orphans.append(row.id)
            continue
        claimed.append(
            Claimed(
                id=row.id,
                chat_id=row.chat_id,
                user_id=row.user_id,
                kind=row.kind,
                dedupe_key=row.dedupe_key,
                payload=row.payload,
                attempts=row.attempts + 1,
                reply_to_message_id=None if is_edit else target,
                target_message_id=target if is_edit else None,
                audience=row.audience,
                signal_id=row.signal_id,
            )
        )
    if orphans:
        await Notification.filter(id__in=orphans).update(
            status=NotificationStatus.SKIPPED, last_error="the message to change was not sent"
        )
    return claimed


async def _sent_message_ids(keys: set[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = await Notification.filter(
        dedupe_key__in=list(keys), status=NotificationStatus.SENT, sent_message_id__isnull=False
    ).values_list("dedupe_key", "sent_message_id")
    return {str(key): int(message_id) for key, message_id in rows}


async def mark_sending(ids: Sequence[int]) -> int:
    """Claim rows for sending in one UPDATE, counting the attempt; returns rows changed."""
    if not ids:
        return 0
    return await Notification.filter(id__in=list(ids), status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENDING, attempts=F("attempts") + 1
    )


async def mark_sent(results: Sequence[SentResult]) -> None:
    """Record delivered rows (message id, time) in one transaction: a few statements per batch."""
    if not results:
        return
    rows = [
        Notification(
            id=r.id,
            status=NotificationStatus.SENT,
            sent_message_id=r.message_id,
            sent_at=r.sent_at,
        )
        for r in results
    ]
    async with in_transaction():
        await Notification.bulk_update(
            rows, fields=["status", "sent_message_id", "sent_at"], batch_size=BATCH
        )


async def schedule_retry(
    notification_id: int, at: datetime, error: str, *, count_attempt: bool = True
) -> None:
    """A SENDING row back to PENDING until `at`; `count_attempt=False` gives the attempt back."""
    changes: dict[str, Any] = {
        "status": NotificationStatus.PENDING,
        "next_attempt_at": at,
        "last_error": error[:ERROR_MAX],
    }
    if not count_attempt:
        changes["attempts"] = F("attempts") - 1
    await Notification.filter(id=notification_id, status=NotificationStatus.SENDING).update(
        **changes
    )


async def mark_failed(notification_id: int, error: str) -> None:
    """Permanent failure (a 400, or retries exhausted): never retried."""
    await Notification.filter(id=notification_id).update(
        status=NotificationStatus.FAILED, last_error=error[:ERROR_MAX]
    )


async def skip_chat(chat_id: int, reason: str) -> int:
    """Everything still PENDING for `chat_id` becomes SKIPPED; returns how many."""
    return await Notification.filter(chat_id=chat_id, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SKIPPED, last_error=reason[:ERROR_MAX]
    )


async def chat_unreachable(
    notification_id: int, chat_id: int, user_id: int | None, reason: str
) -> int:
    """A 403: skip this row and the chat's queue; a private chat's user is marked blocked_bot.

    Returns how many other rows were skipped.
    """
    async with in_transaction():
        await Notification.filter(id=notification_id).update(
            status=NotificationStatus.SKIPPED, last_error=reason[:ERROR_MAX]
        )
        if chat_id > 0:
            await users.mark_blocked_bot(user_id or chat_id)
        return await skip_chat(chat_id, reason)


async def due_now(user_id: int, kinds: Sequence[str]) -> int:
    """A user's PENDING rows of `kinds` fall due now (e.g. delayed summaries after a promotion,
    which the sender then swaps for what the user gets now); returns how many."""
    return await Notification.filter(
        user_id=user_id, kind__in=list(kinds), status=NotificationStatus.PENDING
    ).update(next_attempt_at=clock.now())


async def recover_in_flight() -> int:
    """At start-up: rows left SENDING by a crash go back to PENDING (the possible duplicates)."""
    return await Notification.filter(status=NotificationStatus.SENDING).update(
        status=NotificationStatus.PENDING
    )


async def stats() -> OutboxStats:
    """Row counts per status."""
    rows = await Notification.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return OutboxStats(**{NotificationStatus(status).value: int(n) for status, n in rows})


async def chart_ref(chart_id: int) -> ChartRef:
    """The chart file to upload, or the file_id Telegram gave it the first time."""
    row = await ChartFile.get(id=chart_id)
    return ChartRef(id=row.id, path=row.path, file_id=row.file_id)


async def remember_chart_file_id(chart_id: int, file_id: str) -> None:
    """Keep Telegram's file_id so later sends of this chart skip the upload."""
    await ChartFile.filter(id=chart_id, file_id__isnull=True).update(file_id=file_id)
