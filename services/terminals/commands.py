"""The EA command queue: what each terminal must do, until it acknowledges it.

A command is created once per ``dedupe_key`` (INSERT ... ON CONFLICT DO NOTHING, so a retried
approval or copy fan-out never makes a second one), served by the long poll until
acknowledged (redelivery carries the same id), and moved through `services.terminals.command_states`
by acks: a repeated ack answers the stored result, an impossible one is a conflict (409).

Waking long-pollers: commands are only visible after their transaction commits, so inside
`transaction()` the `CommandsPending` event waits on the bus for the commit (`core.bus`). `create` used
in autocommit mode wakes at once; used inside some other transaction it wakes at once and
again shortly after (`LATE_WAKES_S`), and pollers re-query the database when they wake and
when their wait ends, so a command is never lost, only possibly late. Use `transaction()`.

Acks: `apply_ack` moves the command inside the caller's transaction and says what changed;
the use case `services.terminals.acks.acknowledge` opens that transaction and runs what follows
a transition (fills, closes, refusals) in it, so a failure there rolls the transition back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import bus, clock
from models.devices import Command, CommandStatus, CommandType
from services.errors import AppError
from services.events import CommandsPending
from services.terminals.command_states import AckVerdict, judge
from services.terminals.payloads import ack_record, normalise_payload, wire_command
from services.terminals.protocol import AckIn, WireCommand

CHUNK = 1000  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits
LATE_WAKES_S: tuple[float, ...] = (0.1, 1.0, 5.0)
# The devices woken inside `transaction()` (the unit of work's, like Tortoise's connection).
_woken: ContextVar[set[int] | None] = ContextVar("ea_woken", default=None)


class UnknownCommand(AppError):
    """No command has this id (HTTP 404)."""

    problem_status, problem_title = 404, "Not Found"


class ForeignCommand(AppError):
    """The command belongs to another device (HTTP 403)."""

    problem_status, problem_title = 403, "Forbidden"


class AckConflict(AppError):
    """The ack is not a possible next status (HTTP 409)."""

    problem_status, problem_title = 409, "Conflict"

    def __init__(self, command_id: str, current: CommandStatus, new: CommandStatus) -> None:
        super().__init__(f"{command_id}: {current.value} cannot become {new.value}")
        self.current, self.new = current, new


@dataclass(frozen=True, slots=True)
class NewCommand:
    device_pk: int
    type: CommandType
    payload: dict[str, Any]
    signal_id: int | None
    dedupe_key: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """A command after an ack applied: what follows the transition sees of the row."""

    id: str
    device_pk: int
    type: CommandType
    status: CommandStatus
    previous_status: CommandStatus
    signal_id: int | None
    payload: dict[str, Any]
    ticket: int | None
    dedupe_key: str
    created_at: datetime
    delivered_at: datetime | None
    acked_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AckResult:
    """What the terminal is told; identical for a repeated ack."""

    command_id: str
    status: CommandStatus
    ticket: int | None


def notify(device_pks: Iterable[int]) -> None:
    """Wake long-pollers of these devices (they re-query the database): `CommandsPending` on
    the bus, held until the commit inside `transaction()`."""
    pks = tuple(sorted(set(device_pks)))
    if pks:
        bus.publish(CommandsPending(pks))


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """``in_transaction()`` that wakes pollers of the commands created inside after commit."""
    foreign = _woken.get() is None and _in_foreign_transaction()  # someone else commits, later
    with bus.deferred(), _collecting() as wakes:
        async with in_transaction():
            yield
    if foreign and wakes:
        _wake_later(sorted(wakes))


@contextmanager
def _collecting() -> Iterator[set[int]]:
    """The devices woken inside (to wake them again later when a foreign block commits)."""
    outer = _woken.get()
    wakes: set[int] = set() if outer is None else outer
    token = _woken.set(wakes)
    try:
        yield wakes
    finally:
        _woken.reset(token)


def _in_foreign_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


def _wake_later(pks: list[int]) -> None:
    loop = asyncio.get_running_loop()
    for delay in LATE_WAKES_S:
        loop.call_later(delay, notify, pks)


def _schedule_wake(pks: list[int]) -> None:
    woken = _woken.get()
    if woken is not None:
        woken.update(pks)
    notify(pks)
    if woken is None and _in_foreign_transaction():
        _wake_later(pks)


async def create(
    device_pk: int,
    type: CommandType | str,
    payload: dict[str, Any],
    *,
    signal_id: int | None,
    dedupe_key: str,
    expires_at: datetime | None,
) -> str | None:
    """Queue one command; its id (``cmd_<uuid4 hex>``), or None if ``dedupe_key`` exists.

    ``payload`` keys: symbol (broker name), side (buy|sell), order_type (market|limit,
    default market), price, sl, tp, volume (Decimal, int or str), ticket (int), comment.
    """
    item = NewCommand(device_pk, CommandType(type), payload, signal_id, dedupe_key, expires_at)
    return (await create_many([item]))[0]


async def create_many(items: Sequence[NewCommand]) -> list[str | None]:
    """Queue many commands with one INSERT (a fan-out); ids aligned with ``items``, None = dup.

    Never catches IntegrityError, so it is safe inside the caller's PostgreSQL transaction.
    """
    if not items:
        return []
    now = clock.now()
    encode = Command._meta.fields_map["payload"].to_db_value
    rows = [
        (f"cmd_{uuid.uuid4().hex}", item.device_pk, item.type.value, CommandStatus.PENDING.value,
         item.signal_id, item.dedupe_key,
         encode(normalise_payload(item.type, item.payload), Command), item.expires_at, now, now)
        for item in items
    ]  # fmt: skip
    await _insert_ignoring_conflicts(rows)
    inserted: set[str] = set()
    for start in range(0, len(rows), CHUNK):
        ids = [row[0] for row in rows[start : start + CHUNK]]
        found = await Command.filter(id__in=ids).values_list("id", flat=True)
        inserted.update(str(command_id) for command_id in found)
    _schedule_wake(sorted({row[1] for row in rows if row[0] in inserted}))
    return [row[0] if row[0] in inserted else None for row in rows]


_INSERT_COLUMNS = ("id", "device_id", "type", "status", "signal_id", "dedupe_key", "payload",
                   "expires_at", "created_at", "updated_at")  # fmt: skip


async def _insert_ignoring_conflicts(rows: list[tuple[Any, ...]]) -> None:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING (same SQL on SQLite and PostgreSQL).

    Written by hand because building 1,000 model instances for `bulk_create` costs more than
    the database work in a fan-out; values are already in database form.
    """
    conn = connections.get("default")
    count = len(_INSERT_COLUMNS)
    if conn.capabilities.dialect == "postgres":
        marks = ", ".join(f"${i}" for i in range(1, count + 1))
    else:
        marks = ", ".join("?" * count)
    columns = ", ".join(f'"{c}"' for c in _INSERT_COLUMNS)
    sql = f'INSERT INTO "commands" ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING'
    await conn.execute_many(sql, [list(row) for row in rows])


async def fetch_pending(
    device_pks: Sequence[int], now: datetime | None = None
) -> tuple[dict[int, list[WireCommand]], list[str]]:
    """Pending, unexpired commands of many devices (oldest first), and the never-delivered ids.

    One query per `CHUNK` devices: a thousand woken pollers cost one round trip.
    """
    moment = now or clock.now()
    found: dict[int, list[WireCommand]] = {pk: [] for pk in device_pks}
    fresh: list[str] = []
    unique = sorted(found)
    for start in range(0, len(unique), CHUNK):
        rows = (
            await Command.filter(device_id__in=unique[start : start + CHUNK])
            .filter(status=CommandStatus.PENDING)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
            .order_by("created_at", "id")
            .values(
                "id", "device_id", "type", "signal_id", "payload", "expires_at", "delivered_at"
            )
        )
        for row in rows:
            found[row["device_id"]].append(wire_command(row))
            if row["delivered_at"] is None:
                fresh.append(row["id"])
    return found, fresh


async def mark_delivered(command_ids: Sequence[str], now: datetime | None = None) -> None:
    """Stamp ``delivered_at`` on first delivery (redeliveries keep the first time)."""
    moment = now or clock.now()
    for start in range(0, len(command_ids), CHUNK):
        await Command.filter(
            id__in=list(command_ids[start : start + CHUNK]), delivered_at__isnull=True
        ).update(delivered_at=moment)


async def pending(device_pk: int) -> list[WireCommand]:
    """What the terminal must do now (status pending, not expired), oldest first."""
    found, fresh = await fetch_pending([device_pk])
    await mark_delivered(fresh)
    return found[device_pk]


@dataclass(frozen=True, slots=True)
class AppliedAck:
    """What `apply_ack` did: the answer, and the command if its status changed."""

    result: AckResult
    command: CommandInfo | None  # None: a repeated ack, nothing changed


async def apply_ack(device_pk: int, ack_in: AckIn) -> AppliedAck:
    """Apply a terminal's acknowledgement inside the caller's transaction (the row is locked
    until it ends); see the module docstring for the rules. Raises `UnknownCommand`,
    `ForeignCommand` or `AckConflict` for an ack that cannot be applied."""
    row = await Command.filter(id=ack_in.command_id).select_for_update().first()
    if row is None:
        raise UnknownCommand(ack_in.command_id)
    if row.device_id != device_pk:  # type: ignore[attr-defined]
        raise ForeignCommand(ack_in.command_id)
    current = CommandStatus(row.status)
    verdict = judge(CommandType(row.type), current, ack_in.status)
    if verdict is AckVerdict.CONFLICT:
        raise AckConflict(row.id, current, ack_in.status)
    info = None
    if verdict is AckVerdict.APPLY:
        await _apply(row, ack_in)
        info = _info(row, current)
    return AppliedAck(AckResult(row.id, CommandStatus(row.status), row.ticket), info)


async def _apply(row: Command, ack_in: AckIn) -> None:
    now = clock.now()
    row.status = ack_in.status
    if ack_in.ticket is not None:
        row.ticket = ack_in.ticket
    if ack_in.error:
        row.error = ack_in.error[:255]
    row.last_ack = ack_record(ack_in)
    row.acked_at = now
    row.delivered_at = row.delivered_at or now
    await row.save(
        update_fields=["status", "ticket", "error", "last_ack", "acked_at", "delivered_at"]
    )


def _info(row: Command, previous: CommandStatus) -> CommandInfo:
    return CommandInfo(
        id=row.id,
        device_pk=row.device_id,  # type: ignore[attr-defined]
        type=CommandType(row.type),
        status=CommandStatus(row.status),
        previous_status=previous,
        signal_id=row.signal_id,
        payload=dict(row.payload),
        ticket=row.ticket,
        dedupe_key=row.dedupe_key,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        acked_at=row.acked_at,
        expires_at=row.expires_at,
    )


async def expire_stale(now: datetime | None = None) -> int:
    """Pending commands past ``expires_at`` become expired; returns how many."""
    moment = now or clock.now()
    return int(
        await Command.filter(status=CommandStatus.PENDING, expires_at__lte=moment).update(
            status=CommandStatus.EXPIRED, updated_at=moment
        )
    )


async def cancel_pending_for_device(device_pk: int, reason: str = "device revoked") -> int:
    """Cancel every pending command of the device (revocation); returns how many."""
    now = clock.now()
    return int(
        await Command.filter(device_id=device_pk, status=CommandStatus.PENDING).update(
            status=CommandStatus.CANCELLED, error=reason[:255], updated_at=now
        )
    )
