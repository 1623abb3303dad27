"""Publishing the ledger's head (seq, hash, time) to a public Telegram channel the owner names.

A head posted where everyone can read it (and keeps a copy) pins history: rewriting any entry
up to that seq changes its hash, which then contradicts the post. Each post goes through the
outbox to the channel and is kept in `ledger_heads` with its message id once delivered.
The channel is an app setting (`/ledger channel @name`); the LEDGER_CHANNEL environment
variable names one when no setting exists (the assembly resolves it to the chat's id).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core import clock
from models.ledger import LedgerHead
from services import app_settings, audit
from services.errors import InvalidInput
from services.ledger import public
from services.ledger.canonical import moment
from services.ledger.public import PublishedHead
from services.outbox import notifications as outbox
from services.outbox.kinds import PlainText
from services.text.formatting import render
from services.text.i18n import msgid as _

CHANNEL_KEY = "ledger.channel_id"
TITLE_KEY = "ledger.channel_title"
POST = _("ledger.head_post")  # {seq}, {hash}, {at}: the public channel's text (English)
CHANNEL_LANGUAGE = "en"  # as the channel cards (services.outbox.kinds.ChannelCard)


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class Posted:
    head: PublishedHead
    created: bool  # False: this head was already posted to this channel


async def channel() -> Channel | None:
    chat_id = await app_settings.get(CHANNEL_KEY)
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    title = await app_settings.get(TITLE_KEY)
    return Channel(chat_id, title if isinstance(title, str) else str(chat_id))


async def set_channel(actor_id: int | None, chat_id: int, title: str) -> Channel:
    """Name the public channel (the caller checked the bot may post there)."""
    async with in_transaction():
        await app_settings.put(CHANNEL_KEY, chat_id)
        await app_settings.put(TITLE_KEY, title[:128])
        await audit.record("ledger.channel", actor_id=actor_id, chat_id=chat_id, title=title)
    return Channel(chat_id, title[:128])


def post_text(seq: int, digest: str, at: str) -> str:
    return render(CHANNEL_LANGUAGE, POST, seq=seq, hash=digest, at=at)


async def publish(actor_id: int | None = None, fallback: Channel | None = None) -> Posted:
    """Post the current head to the channel (the setting, else `fallback`) through the outbox.
    A head already posted to that channel is not posted again. InvalidInput without a
    channel or without any entry."""
    target = await channel() or fallback
    if target is None:
        raise InvalidInput("error.ledger_no_channel")
    head = await public.current_head()
    if head is None:
        raise InvalidInput("error.ledger_empty")
    key = f"ledger:head:{head.seq}:{target.id}"
    existing = await LedgerHead.get_or_none(dedupe_key=key)
    if existing is not None:
        await public.sync_message_ids()
        await existing.refresh_from_db()
        return Posted(_view(existing), created=False)
    now = clock.now()
    async with outbox.transaction():
        row = await LedgerHead.create(
            seq=head.seq, hash=head.hash, at=now, chat_id=target.id, channel=target.title,
            dedupe_key=key,
        )  # fmt: skip
        body = post_text(head.seq, head.hash, moment(now))
        await outbox.enqueue(target.id, PlainText(body), key, priority=2)
        await audit.record("ledger.head", actor_id=actor_id, seq=head.seq, chat_id=target.id)
    return Posted(_view(row), created=True)


def _view(row: LedgerHead) -> PublishedHead:
    return PublishedHead(row.seq, row.hash, row.at, row.chat_id, row.channel, row.message_id)
