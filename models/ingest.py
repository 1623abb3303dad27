"""Outside producers of signals (issue 15): a script beside a terminal, a TradingView indicator,
a partner's feed. Each has a public id and a secret (sealed at rest like an EA device's), a mode
(publish at once or hold each signal for the owner's confirmation), the symbols it may publish,
a rate limit, an optional TradingView alert token (only its SHA-256 is stored) and an optional
allow-list of source addresses. Held signals wait in `held_signals` until the owner decides.

The dedupe of a producer's repeated post is two unique keys: (producer, external_id) on
`signals` (models.signals) and on `held_signals`; concurrent identical posts race on them and
one insert wins.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

PRODUCER_ID_LENGTH = 40  # prd_ + 16 hex: the same column width as a device's public id
EXTERNAL_ID_LENGTH = 64


class ProducerMode(StrEnum):
    PUBLISH = "publish"  # a valid signal goes out at once
    HOLD = "hold"  # each signal waits for the owner's one-tap confirmation in chat


class HeldStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"  # published: `signal` points at it
    DISCARDED = "discarded"  # the owner declined it, or the producer withdrew it


class Producer(Model):
    """An outside source of signals (public id ``prd_...``)."""

    id = fields.IntField(primary_key=True)
    producer_id = fields.CharField(max_length=PRODUCER_ID_LENGTH, unique=True)
    name = fields.CharField(max_length=64)
    secret_enc = fields.TextField()  # AES-GCM under MASTER_KEY (services.terminals.secrets)
    mode = fields.CharEnumField(ProducerMode, max_length=8, default=ProducerMode.PUBLISH)
    symbols: Any = fields.JSONField(default=list)  # allowed symbols (canonical names)
    rate_per_hour = fields.IntField(default=60)  # accepted signals per rolling hour
    paused = fields.BooleanField(default=False)
    revoked = fields.BooleanField(default=False)
    tv_token_hash = fields.CharField(max_length=64, null=True, unique=True)  # hex SHA-256
    allowed_sources: Any = fields.JSONField(default=list)  # IPs or CIDR networks; [] = any
    created_by = fields.BigIntField(null=True)  # the owner's Telegram id
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "producers"


class HeldSignal(Model):
    """A producer's signal waiting for the owner (hold mode): the checked request as JSON."""

    id = fields.IntField(primary_key=True)
    producer: fields.ForeignKeyRelation[Producer] = fields.ForeignKeyField(
        "models.Producer", related_name="held", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=EXTERNAL_ID_LENGTH)
    request: Any = fields.JSONField()
    status = fields.CharEnumField(HeldStatus, max_length=10, default=HeldStatus.HELD)
    signal: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Signal", related_name="held_as", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.BigIntField(null=True)

    class Meta:
        table = "held_signals"
        unique_together = (("producer", "external_id"),)
