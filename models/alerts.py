"""Price alerts: a user's level on a symbol, watched on every price update we have."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AlertCondition(StrEnum):
    ABOVE = "above"  # the price reaches the level from below
    BELOW = "below"  # the price reaches the level from above
    CROSS = "cross"  # either


class AlertState(StrEnum):
    ACTIVE = "active"  # watched
    FIRED = "fired"  # a one-shot alert that fired: no longer watched
    DELETED = "deleted"  # deleted by its owner (kept: its notifications reference it)


class PriceAlert(Model):
    """One alert. `fired_count` numbers its firings: the n-th firing's notification is keyed
    `alert:<id>:<n>`, and a firing is recorded only where `fired_count` still has the value it
    had when the crossing was seen, so each crossing fires once (services.alerts.firing)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="price_alerts", on_delete=fields.CASCADE
    )
    symbol = fields.CharField(max_length=32)  # the feed's name (services.signals.market_data)
    condition = fields.CharEnumField(AlertCondition, max_length=8)
    level = fields.DecimalField(max_digits=20, decimal_places=8)  # on the symbol's tick
    note = fields.CharField(max_length=200, default="")
    repeat = fields.BooleanField(default=False)
    cooldown_s = fields.IntField(default=300)
    state = fields.CharEnumField(AlertState, max_length=8, default=AlertState.ACTIVE)
    fired_count = fields.IntField(default=0)
    last_fired_at = fields.DatetimeField(null=True)
    last_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "price_alerts"
        indexes = (("state", "symbol"), ("user_id", "state"))
