"""Analytics of the track record: which closed signals each view counts, and its rollups.

A *scope* is one view of the record: ``all`` (every closed signal with a result, counted in the
transaction that closes it: the Mini App) and ``public`` (those closed longer ago than the
public page's delay, counted by an idempotent catch-up). A signal is counted at most once per
scope (`AnalyticsResult` is unique on scope and signal), and counting it adds its result to one
`AnalyticsRollup` row per period (day, month, hour of day, weekday).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class RollupScope(StrEnum):
    ALL = "all"
    PUBLIC = "public"


class RollupPeriod(StrEnum):
    DAY = "day"  # bucket: days since 1970-01-01 (UTC)
    MONTH = "month"  # bucket: months since 1970-01 (year = 1970 + b // 12, month = b % 12 + 1)
    HOUR = "hour"  # bucket: the close's hour of day, 0..23 (UTC)
    WEEKDAY = "weekday"  # bucket: the close's weekday, Monday 0 .. Sunday 6 (UTC)


class AnalyticsResult(Model):
    """One closed signal counted in one scope: its close time and result, as counted."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharEnumField(RollupScope, max_length=8)
    signal: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Signal", related_name="analytics_results", on_delete=fields.CASCADE
    )
    closed_at = fields.DatetimeField()
    result_r = fields.DecimalField(max_digits=10, decimal_places=4)
    token = fields.CharField(max_length=32)  # which counting run inserted it (races: see rollups)
    counted_at = fields.DatetimeField()

    class Meta:
        table = "analytics_results"
        unique_together = (("scope", "signal"),)
        indexes = (("scope", "closed_at"),)


class AnalyticsRollup(Model):
    """The sums of one bucket of one period in one scope (R exact: Decimal sums)."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharEnumField(RollupScope, max_length=8)
    period = fields.CharEnumField(RollupPeriod, max_length=8)
    bucket = fields.IntField()
    signals = fields.IntField(default=0)
    wins = fields.IntField(default=0)  # R > 0
    losses = fields.IntField(default=0)  # R < 0 (break-even is neither)
    total_r = fields.DecimalField(max_digits=16, decimal_places=4, default=0)
    gross_win_r = fields.DecimalField(max_digits=16, decimal_places=4, default=0)
    gross_loss_r = fields.DecimalField(max_digits=16, decimal_places=4, default=0)  # >= 0
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_rollups"
        unique_together = (("scope", "period", "bucket"),)
