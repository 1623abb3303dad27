"""Builders for terminal tests: users, devices with an account report, signals, commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from models.devices import (
    AccountSnapshot,
    Command,
    CommandStatus,
    CommandType,
    CopySettings,
    Device,
    DeviceMode,
    DeviceStatus,
)
from models.notifications import Notification
from models.signals import SignalSource
from models.users import Role
from services import app_settings
from services.signals import approvals
from services.signals import lifecycle as signals
from services.signals.views import SignalView
from services.terminals.protocol import SymbolReport
from services.users import profiles as users_service
from services.users.profiles import UserInfo

# The bundled data's first setup (tests/e2e/test_signals.py): a SELL on EURUSD.
ENTRY, STOP, TP = D("1.07592"), D("1.07965"), D("1.06379")
_counter = iter(range(1, 1_000_000))


async def user(telegram_id: int, role: Role = Role.SUBSCRIBER, name: str = "Sam") -> UserInfo:
    return await users_service.seed(telegram_id, name, name.lower(), role)


async def device(
    owner: UserInfo,
    *,
    name: str = "Main MT5",
    mode: DeviceMode = DeviceMode.APPROVAL,
    status: DeviceStatus = DeviceStatus.ACTIVE,
    balance: D | None = D(10000),
    symbol_map: dict[str, str] | None = None,
    **limits: Any,
) -> Device:
    """A device row (no real secret: these tests never authenticate) with an account report."""
    row = await Device.create(
        device_id=f"dev_test{next(_counter):08d}", user_id=owner.id, name=name,
        secret_enc="unused", mode=mode, status=status, symbol_map=symbol_map or {},
    )  # fmt: skip
    if balance is not None:
        await AccountSnapshot.create(
            device=row, balance=balance, equity=balance, margin=0, currency="USD",
            high_water=balance, drawdown_pct=0,
        )  # fmt: skip
    if limits:
        await CopySettings.create(device=row, **limits)
    return row


def draft(
    symbol: str = "EURUSD",
    side: str = "sell",
    entry: D = ENTRY,
    stop: D = STOP,
    tp: D = TP,
    hours: float = 100,
) -> signals.SignalDraft:
    """A manual signal (a fresh setup key each time) published now."""
    now = datetime.now(UTC)
    return signals.SignalDraft(
        setup_key=f"{symbol}:{side}:{next(_counter)}", symbol=symbol, side=side, entry=entry,
        stop=stop, take_profit=tp, published_at=now, expires_at=now + timedelta(hours=hours),
        source=SignalSource.MANUAL,
    )  # fmt: skip


async def publish(
    symbol: str = "EURUSD",
    side: str = "sell",
    entry: D = ENTRY,
    stop: D = STOP,
    tp: D = TP,
    hours: float = 100,
) -> SignalView:
    view = await signals.publish(draft(symbol, side, entry, stop, tp, hours))
    assert view is not None
    return view


async def approve(owner: UserInfo, signal_id: int) -> approvals.ApprovalResult:
    from models.signals import Decision

    version = await approvals.app_settings.disclaimer_version()
    if not await approvals.has_consent(owner, version):
        await approvals.accept_disclaimer(owner, version)
    return await approvals.decide(owner, signal_id, Decision.APPROVED)


async def commands(kind: CommandType | None = None, **filters: Any) -> list[Command]:
    query = Command.filter(**filters).order_by("created_at", "device_id", "id")
    if kind is not None:
        query = query.filter(type=kind)
    return await query


async def set_status(command_id: str, status: CommandStatus, ticket: int | None = None) -> None:
    await Command.filter(id=command_id).update(status=status, ticket=ticket)


async def texts(chat_id: int, kind: str | None = None) -> list[str]:
    query = Notification.filter(chat_id=chat_id).order_by("id")
    if kind is not None:
        query = query.filter(kind=kind)
    return [n.payload["text"] for n in await query]


def report(
    name: str, *, digits: int = 5, tick_value: D = D(1), volume_min: D = D("0.01"),
    step: D = D("0.01"),
) -> SymbolReport:  # fmt: skip
    point = D(1).scaleb(-digits)
    return SymbolReport(
        name=name, digits=digits, point=point, tick_size=point, tick_value=tick_value,
        contract_size=D(100000), volume_min=volume_min, volume_max=D(100), volume_step=step,
        stops_level=0,
    )  # fmt: skip


async def visibility(value: str) -> None:
    """Store the owner's visibility setting, as /visibility does: services read it back."""
    await app_settings.put("signals.visibility", value)
    assert (await app_settings.visibility()).value == value
