"""Seeded histories for the analytics tests: users, terminals, closed signals and fills."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal as D

from models.devices import AccountSnapshot, Command, CommandStatus, CommandType, Device, Execution
from models.signals import CloseReason, Signal, SignalStatus
from models.users import Role
from services.users import profiles as users_service
from services.users.profiles import UserInfo

_ids = itertools.count(1)


async def user(telegram_id: int, role: Role = Role.SUBSCRIBER, name: str = "Sam") -> UserInfo:
    return await users_service.seed(telegram_id, name, name.lower(), role)


async def terminal(
    owner: UserInfo,
    name: str = "Main MT5",
    currency: str | None = "USD",
    broker: str | None = None,
) -> Device:
    n = next(_ids)
    device = await Device.create(
        device_id=f"dev_{n:08d}", user_id=owner.id, name=name, secret_enc="sealed", broker=broker
    )
    if currency is not None:
        await AccountSnapshot.create(
            device_id=device.id, balance=D(10_000), equity=D(10_000), margin=D(0),
            currency=currency, high_water=D(10_000), drawdown_pct=D(0),
        )  # fmt: skip
    return device


async def signal(
    closed_at: datetime,
    result_r: str | None,
    *,
    side: str = "buy",
    entry: str = "1.10000",
    stop: str = "1.09900",
    symbol: str = "EURUSD",
    status: SignalStatus = SignalStatus.CLOSED,
) -> Signal:
    """A signal published 10 hours before `closed_at` (risk: 100 points by default)."""
    n = next(_ids)
    published = closed_at - timedelta(hours=10)
    return await Signal.create(
        setup_key=f"{symbol}:{side}:{n}", symbol=symbol, side=side, status=status,
        close_reason=CloseReason.TP if (result_r or "0")[0] != "-" else CloseReason.SL,
        entry=D(entry), stop=D(stop), take_profit=D(entry) + (D(entry) - D(stop)) * 3,
        published_at=published, expires_at=published + timedelta(hours=100),
        closed_at=closed_at if status is SignalStatus.CLOSED else None,
        result_r=None if result_r is None else D(result_r),
    )  # fmt: skip


async def fill(
    device: Device,
    sig: Signal,
    price: str,
    *,
    after: timedelta = timedelta(seconds=2),
    close: str | None = None,
    profit: str | None = None,
    spread: int | None = None,
) -> Execution:
    """A fill of `sig` on `device` at `price`, `after` its publication; closed when `close`;
    `spread`: the spread at the fill in points, as the EA reports it."""
    n = next(_ids)
    command = await Command.create(
        id=f"cmd_{n:032x}", device_id=device.id, signal_id=sig.id, type=CommandType.OPEN,
        status=CommandStatus.FILLED if close is None else CommandStatus.CLOSED,
        dedupe_key=f"open:{device.id}:{sig.id}:{n}", payload={"symbol": sig.symbol, "side": sig.side},
    )  # fmt: skip
    filled_at = sig.published_at + after
    return await Execution.create(
        command_id=command.id, device_id=device.id, signal_id=sig.id, ticket=1000 + n,
        symbol=sig.symbol, side=sig.side, volume=D("0.10"), requested_price=sig.entry,
        fill_price=D(price), filled_at=filled_at,
        closed_at=None if close is None else (sig.closed_at or filled_at),
        close_price=None if close is None else D(close),
        profit=None if profit is None else D(profit), spread_points=spread,
    )  # fmt: skip
