"""The drawdown guard: close-all and cancel-all in one go, pause, tell people, exactly once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from models.audit import AuditLog
from models.devices import CommandStatus, CommandType, Device, DeviceMode, DeviceStatus
from models.users import Role
from services.errors import InvalidInput
from services.terminals import overview as terminals
from services.terminals import reports as terminal_reports
from services.terminals.device_auth import DeviceRef
from services.terminals.protocol import AccountReport, PositionIn
from tests.services.terminals import helpers as th

SUB, OWNER = 701, 702


def ref(row: Device) -> DeviceRef:
    return DeviceRef(row.id, row.device_id, row.user_id)  # type: ignore[attr-defined]


def report(equity: str, *tickets: int) -> AccountReport:
    positions = tuple(
        PositionIn(t, "EURUSD", "buy", D("0.1"), D("1.1"), None, None, D(-100), f"manual {t}")
        for t in tickets
    )
    return AccountReport(D(10000), D(equity), D(0), "USD", positions)


async def _armed(mode: DeviceMode, **limits: object) -> tuple[Device, str]:
    """A terminal with two positions and one unfilled order; returns it and the order's id."""
    await th.user(OWNER, Role.OWNER, "Olga")
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=mode, **limits)  # type: ignore[arg-type]
    view = await th.publish()
    if mode is DeviceMode.APPROVAL:
        await th.approve(sam, view.id)
    (order,) = await th.commands(CommandType.OPEN)
    await th.set_status(order.id, CommandStatus.PLACED, ticket=300)
    await terminal_reports.on_account(ref(dev), report("10000", 101, 102))
    return dev, order.id


@pytest.mark.parametrize("mode", [DeviceMode.COPY, DeviceMode.APPROVAL])
async def test_guard_flattens_pauses_and_tells_once(database: str, mode: DeviceMode) -> None:
    dev, order_id = await _armed(mode)
    await terminal_reports.on_account(ref(dev), report("8500", 101, 102))  # 15 %: below the cap
    assert (await Device.get(id=dev.id)).status == DeviceStatus.ACTIVE
    await terminal_reports.on_account(ref(dev), report("8000", 101, 102))  # 20 %: the default cap
    await terminal_reports.on_account(ref(dev), report("7000", 101, 102))  # again: nothing new
    row = await Device.get(id=dev.id)
    assert (row.status, row.paused_reason) == (DeviceStatus.PAUSED, "drawdown")
    closes = await th.commands(CommandType.CLOSE)
    assert sorted(c.payload["ticket"] for c in closes) == [101, 102]
    assert {c.payload["order_type"] for c in closes} == {"market"}
    (cancel,) = await th.commands(CommandType.CANCEL)
    assert (cancel.dedupe_key, cancel.payload["ticket"]) == (f"cancel:{order_id}", 300)
    (text,) = await th.texts(SUB, "terminal.guard")
    assert text.startswith("🛑 Drawdown guard: the account on your terminal <b>Main MT5</b> is")
    assert "20% below its high of $10,000.00" in text and "your cap is 20%" in text
    assert "Closing 2 positions and cancelling 1 pending order;" in text  # plural forms
    owner_texts = await th.texts(OWNER, "terminal.guard")
    if mode is DeviceMode.COPY:  # copy accounts: the owner hears about it too
        (owner_text,) = owner_texts
        assert "on sam's copy terminal <b>Main MT5</b>: 20% below" in owner_text
    else:
        assert owner_texts == []
    (entry,) = await AuditLog.filter(action="device.guard_tripped")
    assert (entry.data["closes"], entry.data["cancels"]) == (2, 1)
    # paused: no new trades, and the user hears why
    view = await th.publish()
    if mode is DeviceMode.APPROVAL:
        await th.approve(await th.user(SUB), view.id)
    assert len(await th.commands(CommandType.OPEN)) == 1
    assert "it is paused" in (await th.texts(SUB, "terminal.skip"))[0]


async def test_custom_cap_and_resume_restart_the_high_water_mark(database: str) -> None:
    dev, _ = await _armed(DeviceMode.COPY, max_drawdown_pct=D(5))
    await terminal_reports.on_account(ref(dev), report("9490", 101))  # 5.1 %
    assert (await Device.get(id=dev.id)).status == DeviceStatus.PAUSED
    sam = await th.user(SUB)
    view = await terminals.resume(sam, dev.device_id)
    assert (view.status, view.paused_reason) == ("active", None)
    assert view.account is not None and view.account.high_water == D("9490.00")
    with pytest.raises(InvalidInput):
        await terminals.resume(sam, dev.device_id)  # not paused any more
    await terminal_reports.on_account(ref(dev), report("9400"))  # 0.95 % from the new high
    assert (await Device.get(id=dev.id)).status == DeviceStatus.ACTIVE
    assert await AuditLog.filter(action="device.resumed", actor_id=SUB).count() == 1
    # a second trip: the first trip's closes are still under way, so none is repeated
    await terminal_reports.on_account(ref(dev), report("8900", 101))
    assert (await Device.get(id=dev.id)).status == DeviceStatus.PAUSED
    assert len(await th.commands(CommandType.CLOSE)) == 1  # ticket 101, once
