"""The audit log: append-only record of who did what to whom."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.exceptions import OperationalError
from tortoise.models import Model


class AuditLog(Model):
    id = fields.BigIntField(primary_key=True)
    actor_id = fields.BigIntField(null=True, db_index=True)  # Telegram id; null = the system
    action = fields.CharField(max_length=64, db_index=True)
    target = fields.CharField(max_length=128, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self._saved_in_db:
            msg = "the audit log is append-only: rows cannot be changed"
            raise OperationalError(msg)
        await super().save(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        msg = "the audit log is append-only: rows cannot be deleted"
        raise OperationalError(msg)
