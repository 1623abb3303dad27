"""Reading the ledger as the public sees it: keyset pages of entries, the current head and the
heads posted to the channel. Nothing here is personal: events hold no user, and the
commitments' private side (services.ledger.chain) is only shown by the entry that reveals it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.ledger import LedgerEntry, LedgerHead
from models.notifications import Notification, NotificationStatus
from services.ledger.canonical import moment
from services.ledger.verify import Entry, Head

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page:
    entries: tuple[Entry, ...]
    next_after: int | None  # the `after` of the next page; None: this was the last one


@dataclass(frozen=True, slots=True)
class CurrentHead:
    seq: int
    hash: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PublishedHead:
    seq: int
    hash: str
    at: datetime
    chat_id: int
    channel: str
    message_id: int | None  # None until the sender delivered the post


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "seq": entry.seq, "signal": entry.signal, "kind": entry.kind, "event": entry.event,
        "prev": entry.prev, "hash": entry.hash,
    }  # fmt: skip


def head_json(head: CurrentHead | PublishedHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    data: dict[str, Any] = {"seq": head.seq, "hash": head.hash, "at": moment(head.at)}
    if isinstance(head, PublishedHead):
        data.update(chat_id=head.chat_id, channel=head.channel, message_id=head.message_id)
    return data


def _entry(row: LedgerEntry) -> Entry:
    return Entry(row.seq, row.signal_id, row.kind, json.loads(row.event), row.prev_hash, row.hash)


async def page(after: int = 0, limit: int = DEFAULT_LIMIT, signal: int | None = None) -> Page:
    """Entries with seq above `after`, oldest first, at most `limit` (1 to MAX_LIMIT); only
    signal `signal`'s when given."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = LedgerEntry.filter(seq__gt=after)
    if signal is not None:
        query = query.filter(signal_id=signal)
    rows = await query.order_by("seq").limit(limit + 1)
    more = len(rows) > limit
    entries = tuple(_entry(r) for r in rows[:limit])
    return Page(entries, entries[-1].seq if more else None)


async def all_entries(batch: int = MAX_LIMIT) -> AsyncIterator[Entry]:
    after = 0
    while True:
        found = await page(after, batch)
        for entry in found.entries:
            yield entry
        if found.next_after is None:
            return
        after = found.next_after


async def current_head() -> CurrentHead | None:
    row = await LedgerEntry.all().order_by("-seq").first()
    return None if row is None else CurrentHead(row.seq, row.hash, row.created_at)


async def sync_message_ids() -> None:
    """Copy the channel message id of delivered head posts from their outbox rows."""
    for head in await LedgerHead.filter(message_id__isnull=True):
        sent = await Notification.get_or_none(
            dedupe_key=head.dedupe_key, status=NotificationStatus.SENT
        )
        if sent is not None and sent.sent_message_id is not None:
            await LedgerHead.filter(id=head.id).update(message_id=sent.sent_message_id)


def _published(row: LedgerHead) -> PublishedHead:
    return PublishedHead(row.seq, row.hash, row.at, row.chat_id, row.channel, row.message_id)


async def published_heads() -> list[PublishedHead]:
    """Every head posted (or queued to post), oldest first."""
    await sync_message_ids()
    return [_published(r) for r in await LedgerHead.all().order_by("id")]


async def latest_published() -> PublishedHead | None:
    await sync_message_ids()
    row = await LedgerHead.all().order_by("-id").first()
    return None if row is None else _published(row)


def as_heads(published: list[PublishedHead]) -> list[Head]:
    return [Head(p.seq, p.hash) for p in published]
