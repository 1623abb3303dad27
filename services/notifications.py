"""The notification outbox: everything the bot sends is a row here first.

Producers call `enqueue`/`enqueue_many` inside the same transaction as the state change they
announce, so a rolled-back change announces nothing and a committed one is never lost. The one
sender (`jobs/sender.py`) drains the queue with the operations at the bottom of this module.

Delivery is at-least-once: a row is SENDING from just before its Bot API call until its result
is written, and `recover_in_flight` at start-up puts such rows back to PENDING, so duplicates
after a crash are bounded by the rows SENDING at that moment (the count it returns).

A payload is a JSON dict describing one Bot API action; build it with `text`, `photo`,
`edit_text`, `edit_caption`, `edit_markup` or `delete` rather than by hand:

    {"method": "send_message" | "send_photo" | "edit_text" | "edit_caption" | "edit_markup"
               | "delete",
     "text": str, "caption": str, "parse_mode": "HTML" (default) | "MarkdownV2" | None,
     "reply_markup": {"inline_keyboard": [[{"text", "callback_data" | "url"}, ...]]} | None,
     "photo": {"chart_id": int} | {"file_id": str} | {"path": str},
     "reply_to": dedupe key of an earlier notification to the same chat (reply to its message;
                 waits until that one is done; sent without reply if it failed or was skipped),
     "edit_of": dedupe key of the notification whose message to edit or delete (waits for it;
                skipped if it failed or was skipped)}
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.notifications import Notification, NotificationStatus
from models.signals import ChartFile
from services import users

Payload = dict[str, Any]
Keyboard = Mapping[str, Any]
_REQUIRED: dict[str, tuple[str, ...]] = {
    "send_message": ("text",),
    "send_photo": ("photo",),
    "edit_text": ("text", "edit_of"),
    "edit_caption": ("edit_of",),
    "edit_markup": ("edit_of",),
    "delete": ("edit_of",),
}
EDITS = ("edit_text", "edit_caption", "edit_markup", "delete")
ERROR_MAX = 500  # Notification.last_error's length
_BATCH = 500  # rows per INSERT or IN (...) list, well below SQLite's and asyncpg's limits
_UNFINISHED = (NotificationStatus.PENDING, NotificationStatus.SENDING)
_listeners: list[Callable[[], None]] = []
_deferred: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "outbox_deferred_wake", default=None
)


# -- payloads ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: `callback_data` (packed by a CallbackData class) or `url`."""

    text: str
    callback_data: str | None = None
    url: str | None = None

    def as_json(self) -> dict[str, str]:
        """The button as Bot API JSON (unset fields left out)."""
        data = {"text": self.text, "callback_data": self.callback_data, "url": self.url}
        return {key: value for key, value in data.items() if value is not None}


def inline_keyboard(rows: Iterable[Iterable[Button]]) -> dict[str, Any]:
    """Rows of buttons as the JSON `reply_markup` a payload carries."""
    return {"inline_keyboard": [[button.as_json() for button in row] for row in rows]}


def _base(method: str, parse_mode: str | None, keyboard: Keyboard | None) -> Payload:
    markup = None if keyboard is None else dict(keyboard)
    return {"method": method, "parse_mode": parse_mode, "reply_markup": markup}


def text(
    body: str,
    *,
    keyboard: Keyboard | None = None,
    reply_to: str | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """A new text message, optionally replying to the message of notification `reply_to`."""
    return _base("send_message", parse_mode, keyboard) | {"text": body, "reply_to": reply_to}


def photo(
    caption: str | None = None,
    *,
    chart_id: int | None = None,
    file_id: str | None = None,
    path: str | None = None,
    keyboard: Keyboard | None = None,
    reply_to: str | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """A photo: a chart (uploaded once, then re-sent by file_id), a known file_id or a file."""
    sources = {"chart_id": chart_id, "file_id": file_id, "path": path}
    source = {k: v for k, v in sources.items() if v is not None}
    return _base("send_photo", parse_mode, keyboard) | {
        "caption": caption,
        "photo": source,
        "reply_to": reply_to,
    }


def edit_text(
    edit_of: str, body: str, *, keyboard: Keyboard | None = None, parse_mode: str | None = "HTML"
) -> Payload:
    """Replace the text (and keyboard: None removes it) of notification `edit_of`'s message."""
    return _base("edit_text", parse_mode, keyboard) | {"text": body, "edit_of": edit_of}


def edit_caption(
    edit_of: str,
    caption: str,
    *,
    keyboard: Keyboard | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """Replace the caption (and keyboard) of a photo sent by notification `edit_of`."""
    return _base("edit_caption", parse_mode, keyboard) | {"caption": caption, "edit_of": edit_of}


def edit_markup(edit_of: str, keyboard: Keyboard | None = None) -> Payload:
    """Replace (None: remove) the inline keyboard of notification `edit_of`'s message."""
    markup = None if keyboard is None else dict(keyboard)
    return {"method": "edit_markup", "reply_markup": markup, "edit_of": edit_of}


def delete(edit_of: str) -> Payload:
    """Delete the message sent by notification `edit_of`."""
    return {"method": "delete", "edit_of": edit_of}


def validate_payload(payload: Mapping[str, Any]) -> str | None:
    """Check a payload's shape; returns its dependency key (reply_to or edit_of), if any."""
    method = str(payload.get("method"))
    required = _REQUIRED.get(method)
    if required is None:
        msg = f"payload 'method' must be one of {tuple(_REQUIRED)}, got {method!r}"
        raise ValueError(msg)
    missing = [key for key in required if not payload.get(key)]
    if missing:
        msg = f"{method} needs {' and '.join(missing)} (edit_of: the dedupe key to change)"
        raise ValueError(msg)
    if method == "send_photo" and len(payload["photo"]) != 1:
        msg = "send_photo needs 'photo' with exactly one of chart_id, file_id, path"
        raise ValueError(msg)
    if method not in EDITS and payload.get("edit_of"):
        msg = f"{method} sends a new message: use 'reply_to', not 'edit_of'"
        raise ValueError(msg)
    dependency = payload.get("edit_of") or payload.get("reply_to")
    return str(dependency) if dependency else None


# -- enqueue ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification to queue: a rendered payload for one chat, keyed for idempotency."""

    chat_id: int
    kind: str
    payload: Payload
    dedupe_key: str
    user_id: int | None = None
    signal_id: int | None = None
    priority: int = 5  # lower first
    not_before: datetime | None = None


def on_enqueued(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` (e.g. `Sender.wake`) when rows are queued; returns an unsubscriber."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _notify() -> None:
    for listener in list(_listeners):
        listener()


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """`in_transaction()` that wakes the sender after commit if the block queued anything.

    Plain `in_transaction()` works too; the sender then finds the rows on its next poll.
    Nested inside another `transaction()`, the wake waits for the outermost commit.
    """
    if _deferred.get() is not None:
        async with in_transaction():
            yield
        return
    queued: list[int] = []
    token = _deferred.set(queued)
    try:
        async with in_transaction():
            yield
    finally:
        _deferred.reset(token)
    if queued:
        _notify()


async def enqueue(
    chat_id: int,
    kind: str,
    payload: Payload,
    dedupe_key: str,
    *,
    user_id: int | None = None,
    signal_id: int | None = None,
    priority: int = 5,
    not_before: datetime | None = None,
) -> bool:
    """Queue one notification; False if `dedupe_key` was already queued (nothing changes)."""
    item = Outgoing(chat_id, kind, payload, dedupe_key, user_id, signal_id, priority, not_before)
    return await enqueue_many([item]) == 1


async def enqueue_many(items: Iterable[Outgoing]) -> int:
    """Queue notifications, ignoring dedupe keys already queued; returns how many are new.

    Runs in the caller's transaction. Conflicts are skipped with INSERT ... ON CONFLICT DO
    NOTHING, never by catching IntegrityError (which would abort a PostgreSQL transaction);
    the count may be high if another transaction queues the same key at the same moment.
    """
    unique: dict[str, Outgoing] = {}
    for item in items:
        validate_payload(item.payload)
        if item.not_before is not None and item.not_before.utcoffset() is None:
            msg = f"not_before must be timezone-aware (UTC), got {item.not_before!r}"
            raise ValueError(msg)
        unique.setdefault(item.dedupe_key, item)
    keys = list(unique)
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        for key in await Notification.filter(dedupe_key__in=chunk).values_list(
            "dedupe_key", flat=True
        ):
            unique.pop(str(key), None)
    if not unique:
        return 0
    now = _utcnow()
    rows = [_row(item, now) for item in unique.values()]
    await Notification.bulk_create(rows, batch_size=_BATCH, ignore_conflicts=True)
    queued = _deferred.get()
    if queued is None:
        _notify()
    else:
        queued.append(len(rows))
    return len(rows)


def _row(item: Outgoing, now: datetime) -> Notification:
    return Notification(
        chat_id=item.chat_id,
        user_id=item.user_id,
        kind=item.kind,
        payload=item.payload,
        dedupe_key=item.dedupe_key,
        depends_on=validate_payload(item.payload),
        signal_id=item.signal_id,
        priority=item.priority,
        next_attempt_at=item.not_before or now,
        created_at=now,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- the sender's queue operations --------------------------------------------------------------
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
    for start in range(0, len(excluded), _BATCH):
        query = query.exclude(chat_id__in=excluded[start : start + _BATCH])
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
            rows, fields=["status", "sent_message_id", "sent_at"], batch_size=_BATCH
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
