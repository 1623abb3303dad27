"""Append-only audit trail. Services call `record` inside their own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.audit import AuditLog


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    actor_id: int | None
    action: str
    target: str | None
    data: dict[str, Any]
    created_at: datetime


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        actor_id=row.actor_id,
        action=row.action,
        target=row.target,
        data=dict(row.data or {}),
        created_at=row.created_at,
    )


async def record(
    action: str, *, actor_id: int | None, target: str | None = None, **data: Any
) -> AuditEntry:
    """Append one row: `actor_id` is a Telegram id (None for the system)."""
    row = await AuditLog.create(actor_id=actor_id, action=action, target=target, data=data)
    return _entry(row)


async def recent(
    *, action: str | None = None, actor_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    query = AuditLog.all().order_by("-id").limit(limit)
    if action is not None:
        query = query.filter(action=action)
    if actor_id is not None:
        query = query.filter(actor_id=actor_id)
    return [_entry(row) for row in await query]
