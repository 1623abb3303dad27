"""The notification outbox: everything the bot sends goes through here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn (or for next_attempt_at)
    SENDING = "sending"  # claimed by the sender; a crash here may send it twice
    SENT = "sent"
    FAILED = "failed"  # permanent error (400) or retries exhausted: never retried
    SKIPPED = "skipped"  # recipient unreachable (blocked the bot), or no longer entitled


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    chat_id = fields.BigIntField(db_index=True)
    user_id = fields.BigIntField(null=True)  # Telegram id when the chat is a user's
    # Who it is for (services.users.entitlements.Audience), asked again just before it is sent.
    audience = fields.CharField(max_length=16, null=True)
    kind = fields.CharField(max_length=48)
    payload: Any = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=160, unique=True)
    depends_on = fields.CharField(max_length=160, null=True)  # dedupe key that must be sent first
    signal_id = fields.IntField(null=True, db_index=True)
    status = fields.CharEnumField(
        NotificationStatus, max_length=10, default=NotificationStatus.PENDING, db_index=True
    )
    priority = fields.SmallIntField(default=5)  # lower first
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_error = fields.CharField(max_length=500, null=True)
    sent_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("status", "next_attempt_at"),)


class DeliveryMode(StrEnum):
    """How a user wants one kind of notification (the Mini App's settings)."""

    ON = "on"  # sent with sound
    SILENT = "silent"  # sent with disable_notification
    OFF = "off"  # not queued


class NotificationPreference(Model):
    """The choice of one user for one kind of notification (a kind without a row is ON)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)  # services.outbox.preferences.Category
    mode = fields.CharEnumField(DeliveryMode, max_length=8, default=DeliveryMode.ON)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notification_preferences"
        unique_together = (("user", "kind"),)
