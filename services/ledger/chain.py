"""Appending to the ledger: one entry per signal event, inside the event's own transaction.

`services.signals.lifecycle` calls `record` in the transaction that publishes, revises or moves
a signal (filled, expired, replaced, cancelled, closed), so the event and its entry commit
together or not at all. Appends are serialised so the chain never forks: on PostgreSQL by a
transaction-scoped advisory lock taken just before reading the head (held until the commit);
on SQLite the transaction already holds the database's single writer lock (the signal row was
written first) and Tortoise runs one transaction at a time per connection. Either way the
unique `prev_hash` refuses a second successor of an entry, so a fork cannot be stored.

Entries for a live signal (published, revised, filled) hide its levels behind a commitment:
non-payers never see live levels (the free tier's summary has none) and this ledger is public.
The entry that ends the signal (expired, replaced, cancelled, closed) shows the final levels
and reveals the salt with every committed level set, so anyone can check the commitments.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

from core import clock
from models.ledger import LedgerCommitment, LedgerEntry
from models.signals import SignalStatus
from services.ledger.canonical import (
    FORMAT_VERSION,
    GENESIS,
    R_PLACES,
    canonical,
    commitment,
    decimal_text,
    entry_hash,
    moment,
    price,
)
from services.signals.views import SignalView

S = SignalStatus
LIVE = frozenset({S.PUBLISHED, S.REVISED, S.FILLED})
ENDED = frozenset({S.EXPIRED, S.REPLACED, S.CANCELLED, S.CLOSED})
# pg_advisory_xact_lock key of the ledger's append (jobs.leader uses other keys).
APPEND_LOCK = 0x5D1ED6E7
SALT_BYTES = 32


class NotInTransaction(RuntimeError):
    """`record` outside the signal event's transaction (a programming error)."""


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    signal_id: int
    kind: str
    hash: str


def _live_levels(view: SignalView) -> dict[str, Any]:
    levels = {
        "entry": price(view.entry, view.digits),
        "stop": price(view.stop, view.digits),
        "take_profit": price(view.take_profit, view.digits),
    }
    if view.status is S.FILLED:
        levels["fill_price"] = price(view.fill_price or view.entry, view.digits)
    return levels


def _final_levels(view: SignalView) -> dict[str, Any]:
    return {
        "entry": price(view.entry, view.digits),
        "stop": price(view.stop, view.digits),
        "take_profit": price(view.take_profit, view.digits),
        "fill_price": price(view.fill_price, view.digits),
        "exit_price": price(view.exit_price, view.digits),
    }


def _base(view: SignalView, at: datetime) -> dict[str, Any]:
    """Fields every event has. No personal data: never who created or decided a signal."""
    event: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "kind": view.status.value,
        "signal": view.id,
        "symbol": view.symbol,
        "side": view.side,
        "source": view.source,
        "version": view.version,
        "at": moment(at),
    }
    if view.status is S.PUBLISHED:
        event["expires_at"] = moment(view.expires_at)
    if view.status is S.CLOSED:
        event["reason"] = view.close_reason.value if view.close_reason else None
        result = view.result_r
        event["result_r"] = None if result is None else decimal_text(result, R_PLACES)
    return event


async def _salt(signal_id: int) -> str:
    """The signal's salt: the one its earlier commitments used, else a new random one."""
    found = (
        await LedgerCommitment.filter(signal_id=signal_id).first().values_list("salt", flat=True)
    )
    return str(found) if found else secrets.token_hex(SALT_BYTES)


async def _reveal(signal_id: int) -> dict[str, Any]:
    rows = await LedgerCommitment.filter(signal_id=signal_id).order_by("seq")
    return {
        "salt": rows[0].salt if rows else None,
        "levels": [{"seq": r.seq, "levels": json.loads(r.levels)} for r in rows],
    }


async def _serialise() -> None:
    conn = connections.get("default")
    if not isinstance(conn, TransactionalDBClient):
        raise NotInTransaction("ledger.record must run inside the signal event's transaction")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK])


async def record(view: SignalView, at: datetime) -> Appended:
    """Append the event `view` is at now (its status: published ... closed), dated `at`.
    Call inside the transaction that made the change, after the signal row is written."""
    await _serialise()
    last = await LedgerEntry.all().order_by("-seq").first().values_list("seq", "hash")
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    event = _base(view, at)
    if view.status in LIVE:
        levels = _live_levels(view)
        salt = await _salt(view.id)
        event["commitment"] = commitment(levels, salt, seq)
        await LedgerCommitment.create(
            seq=seq, signal_id=view.id, salt=salt, levels=canonical(levels)
        )
    else:
        event["levels"] = _final_levels(view)
        event["reveal"] = await _reveal(view.id)
    digest = entry_hash(seq, prev, event)
    await LedgerEntry.create(
        seq=seq, signal_id=view.id, kind=view.status.value, event=canonical(event),
        prev_hash=prev, hash=digest, created_at=clock.now(),
    )  # fmt: skip
    return Appended(seq, view.id, view.status.value, digest)
