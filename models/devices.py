"""Terminals (MT5 + our EA): devices, their settings, the commands they execute and what they report."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

DEVICE_ID_LENGTH = 40  # a device's public id (dev_...): longer ones cannot exist


class DeviceMode(StrEnum):
    APPROVAL = "approval"  # only signals the user approved
    COPY = "copy"  # every signal, within the user's risk settings


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # by the drawdown guard or the user: no new trades
    REVOKED = "revoked"  # credentials dead, effective immediately


class CommandType(StrEnum):
    OPEN = "open"
    MODIFY = "modify"
    CANCEL = "cancel"
    CLOSE = "close"


class CommandStatus(StrEnum):
    PENDING = "pending"  # waiting for the terminal to fetch and acknowledge it
    ACCEPTED = "accepted"  # the terminal took it
    PLACED = "placed"  # a pending order exists at the broker
    FILLED = "filled"  # a position exists
    CLOSED = "closed"  # the position (or, for close commands, the work) is done
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # refused by the terminal's guards or the broker
    FAILED = "failed"  # technical failure
    EXPIRED = "expired"  # never acknowledged in time


class Device(Model):
    id = fields.IntField(primary_key=True)
    device_id = fields.CharField(max_length=DEVICE_ID_LENGTH, unique=True)  # public: dev_xxxxxxxx
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="devices", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    secret_enc = fields.TextField()  # AES-GCM under MASTER_KEY, base64
    mode = fields.CharEnumField(DeviceMode, max_length=10, default=DeviceMode.APPROVAL)
    status = fields.CharEnumField(DeviceStatus, max_length=10, default=DeviceStatus.ACTIVE)
    paused_reason = fields.CharField(max_length=64, null=True)
    encrypt_payloads = fields.BooleanField(default=False)
    symbol_map: Any = fields.JSONField(default=dict)  # our symbol -> broker symbol overrides
    broker = fields.CharField(
        max_length=64, null=True
    )  # the account's company, as the EA reports it
    last_seen_at = fields.DatetimeField(null=True)
    offline_notified = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "devices"


class CopySettings(Model):
    """Per-device risk settings (copy mode, and caps that also bind approval mode)."""

    id = fields.IntField(primary_key=True)
    device: fields.OneToOneRelation[Device] = fields.OneToOneField(
        "models.Device", related_name="copy_settings", on_delete=fields.CASCADE
    )
    risk_pct = fields.DecimalField(max_digits=6, decimal_places=3, null=True)  # of balance
    lot_multiplier = fields.DecimalField(max_digits=5, decimal_places=2, null=True)  # 0.1 .. 2.0
    max_lot = fields.DecimalField(max_digits=10, decimal_places=2, null=True)
    max_open_positions = fields.IntField(null=True)
    max_trades_per_day = fields.IntField(null=True)
    max_drawdown_pct = fields.DecimalField(max_digits=5, decimal_places=2, default=20)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "copy_settings"


class DeviceSymbol(Model):
    """A symbol as the terminal reports it (broker name and specs), mapped to ours."""

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="symbols", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=32)  # the broker's name, e.g. XAUUSDm
    symbol = fields.CharField(max_length=24, null=True, db_index=True)  # ours, e.g. XAUUSD
    spec: Any = fields.JSONField()  # digits, point, tick_size, tick_value, contract_size, ...
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "device_symbols"
        unique_together = (("device", "name"),)


class Command(Model):
    id = fields.CharField(max_length=40, primary_key=True)  # cmd_<uuid hex>: the idempotency key
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="commands", on_delete=fields.CASCADE
    )
    signal_id = fields.IntField(null=True, db_index=True)
    type = fields.CharEnumField(CommandType, max_length=8)
    status = fields.CharEnumField(CommandStatus, max_length=10, default=CommandStatus.PENDING)
    dedupe_key = fields.CharField(max_length=120, unique=True)  # e.g. open:<device>:<signal>
    payload: Any = fields.JSONField()  # the wire command minus id/type
    ticket = fields.BigIntField(null=True)
    last_ack: Any = fields.JSONField(null=True)
    error = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    delivered_at = fields.DatetimeField(null=True)
    acked_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "commands"
        # (status, created_at): the pending count and oldest age on /metrics, without a scan
        indexes = (("device_id", "status"), ("status", "created_at"))


class Execution(Model):
    """A fill of an open command: price, slippage against the signal, latency from approval."""

    id = fields.IntField(primary_key=True)
    command: fields.OneToOneRelation[Command] = fields.OneToOneField(
        "models.Command", related_name="execution", on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="executions", on_delete=fields.CASCADE
    )
    signal_id = fields.IntField(null=True, db_index=True)
    ticket = fields.BigIntField()
    symbol = fields.CharField(max_length=32)
    side = fields.CharField(max_length=4)
    volume = fields.DecimalField(max_digits=12, decimal_places=2)
    requested_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    fill_price = fields.DecimalField(max_digits=20, decimal_places=8)
    slippage_points = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    latency_ms = fields.IntField(null=True)  # approval (or publication in copy mode) -> fill
    spread_points = fields.IntField(
        null=True
    )  # the symbol's spread at the fill, as the EA reports it
    filled_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    close_price = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    profit = fields.DecimalField(max_digits=16, decimal_places=2, null=True)

    class Meta:
        table = "executions"


class AccountSnapshot(Model):
    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="snapshots", on_delete=fields.CASCADE
    )
    balance = fields.DecimalField(max_digits=16, decimal_places=2)
    equity = fields.DecimalField(max_digits=16, decimal_places=2)
    margin = fields.DecimalField(max_digits=16, decimal_places=2)
    currency = fields.CharField(max_length=8)
    high_water = fields.DecimalField(max_digits=16, decimal_places=2)  # max equity seen
    drawdown_pct = fields.DecimalField(max_digits=6, decimal_places=2)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "account_snapshots"


class Position(Model):
    """The terminal's open positions as last reported (reconciliation compares with commands)."""

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="positions", on_delete=fields.CASCADE
    )
    ticket = fields.BigIntField()
    symbol = fields.CharField(max_length=32)
    side = fields.CharField(max_length=4)
    volume = fields.DecimalField(max_digits=12, decimal_places=2)
    open_price = fields.DecimalField(max_digits=20, decimal_places=8)
    sl = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    tp = fields.DecimalField(max_digits=20, decimal_places=8, null=True)
    profit = fields.DecimalField(max_digits=16, decimal_places=2)
    comment = fields.CharField(max_length=64, default="")
    command_id = fields.CharField(max_length=40, null=True)  # parsed from the comment
    orphan = fields.BooleanField(default=False)  # not opened by any command of ours
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "positions"
        unique_together = (("device", "ticket"),)


class UsedNonce(Model):
    """Replay protection across replicas: (device, nonce) seen within the window."""

    id = fields.BigIntField(primary_key=True)
    device_id = fields.CharField(max_length=40)
    nonce = fields.CharField(max_length=64)
    seen_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "used_nonces"
        unique_together = (("device_id", "nonce"),)
