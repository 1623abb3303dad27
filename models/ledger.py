"""The verifiable signal ledger: an append-only hash chain of signal events, the private side of
its commitments (levels and salts until the signal is over) and the heads published to the
public channel. services/ledger/ documents the format; migration 0017 makes the entries
append-only in the database itself."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class LedgerEntry(Model):
    """One signal event: `event` is its canonical JSON (the exact UTF-8 text that is hashed),
    `prev_hash` the previous entry's `hash` (64 zeros for the first), `hash` its own SHA-256.
    Both hashes are unique: a second successor of an entry (a fork) cannot be stored."""

    seq = fields.BigIntField(primary_key=True, generated=False)
    signal_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=16)
    event = fields.TextField()
    prev_hash = fields.CharField(max_length=64, unique=True)
    hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entries"


class LedgerCommitment(Model):
    """What an entry committed to while the signal was live (never served before the signal
    is over): the levels' canonical JSON and the signal's salt (hex)."""

    seq = fields.BigIntField(primary_key=True, generated=False)
    signal_id = fields.IntField(db_index=True)
    salt = fields.CharField(max_length=64)
    levels = fields.TextField()

    class Meta:
        table = "ledger_commitments"


class LedgerHead(Model):
    """A head of the chain posted to the public channel: the post's outbox row is
    `dedupe_key`; `message_id` is the channel message once the sender delivered it."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)
    at = fields.DatetimeField()
    chat_id = fields.BigIntField()
    channel = fields.CharField(max_length=128, default="")
    dedupe_key = fields.CharField(max_length=160, unique=True)
    message_id = fields.BigIntField(null=True)

    class Meta:
        table = "ledger_heads"
