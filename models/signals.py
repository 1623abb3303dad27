"""Signals and their life: revisions, approvals, chart cache, per-symbol strategy state and
recent market bars."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class SignalStatus(StrEnum):
    PUBLISHED = "published"
    REVISED = "revised"
    FILLED = "filled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class CloseReason(StrEnum):
    TP = "tp"
    SL = "sl"
    MANUAL = "manual"


class SignalSource(StrEnum):
    STRATEGY = "strategy"
    MANUAL = "manual"
    EXTERNAL = "external"  # an outside producer's (models.ingest)


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalSource(StrEnum):
    CHAT = "chat"
    MINI_APP = "mini_app"


class Signal(Model):
    id = fields.IntField(primary_key=True)
    setup_key = fields.CharField(max_length=96, unique=True)  # (symbol, side, leg-2 start)
    symbol = fields.CharField(max_length=24, db_index=True)
    side = fields.CharField(max_length=4)
    source = fields.CharEnumField(SignalSource, max_length=12, default=SignalSource.STRATEGY)
    status = fields.CharEnumField(SignalStatus, max_length=12, default=SignalStatus.PUBLISHED)
    close_reason = fields.CharEnumField(CloseReason, max_length=8, null=True)
    version = fields.IntField(default=1)
    final = fields.BooleanField(default=False)
    entry = fields.DecimalField(max_digits=20, decimal_places=8)
    stop = fields.DecimalField(max_digits=20, decimal_places=8)
    take_profit = fields.DecimalField(max_digits=20, decimal_places=8)
    price_adjusted = fields.BooleanField(default=False)
    trigger_time = fields.DatetimeField(null=True)
    leg2_start = fields.DatetimeField(null=True)
    point1_time = fields.DatetimeField(null=True)
    point1_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    point2_time = fields.DatetimeField(null=True)
    point2_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    rationale = fields.CharField(max_length=255, default="")
    published_at = fields.DatetimeField(db_index=True)
    expires_at = fields.DatetimeField()
    filled_at = fields.DatetimeField(null=True)
    fill_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    closed_at = fields.DatetimeField(null=True)
    exit_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    result_r = fields.DecimalField(max_digits=10, decimal_places=4, null=True)
    created_by = fields.BigIntField(null=True)  # Telegram id for manual signals
    producer: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Producer", related_name="signals", null=True, on_delete=fields.RESTRICT
    )  # an outside producer's signal (models.ingest); None for ours
    external_id = fields.CharField(max_length=64, null=True)  # the producer's own id
    via = fields.CharField(
        max_length=96, default="", db_default=""
    )  # the card's "via ...": name at publish
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "signals"
        unique_together = (("producer", "external_id"),)  # a producer's repeat is one signal


class SignalRevision(Model):
    id = fields.IntField(primary_key=True)
    signal: fields.ForeignKeyRelation[Signal] = fields.ForeignKeyField(
        "models.Signal", related_name="revisions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    entry = fields.DecimalField(max_digits=20, decimal_places=8)
    stop = fields.DecimalField(max_digits=20, decimal_places=8)
    take_profit = fields.DecimalField(max_digits=20, decimal_places=8)
    point2_time = fields.DatetimeField(null=True)
    point2_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "signal_revisions"
        unique_together = (("signal", "version"),)


class Approval(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="approvals", on_delete=fields.CASCADE
    )
    signal: fields.ForeignKeyRelation[Signal] = fields.ForeignKeyField(
        "models.Signal", related_name="approvals", on_delete=fields.CASCADE
    )
    decision = fields.CharEnumField(Decision, max_length=10)
    consent_version = fields.CharField(max_length=16, null=True)
    source = fields.CharEnumField(ApprovalSource, max_length=10, default=ApprovalSource.CHAT)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "approvals"
        unique_together = (("user", "signal"),)


class Consent(Model):
    """A user's acceptance of a version of the risk disclaimer."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="consents", on_delete=fields.CASCADE
    )
    version = fields.CharField(max_length=16)
    accepted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consents"
        unique_together = (("user", "version"),)


class ChartFile(Model):
    """A rendered chart per signal version: the file on disk and Telegram's `file_id` once sent."""

    id = fields.IntField(primary_key=True)
    signal: fields.ForeignKeyRelation[Signal] = fields.ForeignKeyField(
        "models.Signal", related_name="charts", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    path = fields.CharField(max_length=255)
    file_id = fields.CharField(max_length=255, null=True)
    render_ms = fields.FloatField(default=0.0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chart_files"
        unique_together = (("signal", "version"),)


class SymbolState(Model):
    """Per-symbol trading-loop state: the pause switch and the last processed bar."""

    symbol = fields.CharField(max_length=24, primary_key=True)
    paused = fields.BooleanField(default=False)
    last_bar_time = fields.DatetimeField(null=True)
    bars_seen = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "symbol_states"


class MarketBar(Model):
    """A recent closed bar of a symbol, stored as the trading loop applies it (the loop runs on
    the scheduler leader; every replica reads these): the last known price and the chart
    window of manual signals. `recorded_at` is when the loop stored it (wall clock), which
    tells whether the symbol's feed is live. Old bars are pruned as new ones arrive."""

    id = fields.BigIntField(primary_key=True)
    symbol = fields.CharField(max_length=24)
    time = fields.DatetimeField()  # the bar's open time (UTC)
    timeframe_s = fields.IntField()
    open = fields.FloatField()
    high = fields.FloatField()
    low = fields.FloatField()
    close = fields.FloatField()
    volume = fields.FloatField(default=0.0)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "market_bars"
        unique_together = (("symbol", "time"),)


class ChannelRoute(Model):
    """A Telegram channel or group that receives the public version of a symbol's signals."""

    id = fields.IntField(primary_key=True)
    symbol = fields.CharField(max_length=24, db_index=True)
    chat_id = fields.BigIntField()
    title = fields.CharField(max_length=128, default="")
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "channel_routes"
        unique_together = (("symbol", "chat_id"),)


class AppSetting(Model):
    """Owner-tunable settings stored in the database (visibility, disclaimer version, ...)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value: Any = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "app_settings"
