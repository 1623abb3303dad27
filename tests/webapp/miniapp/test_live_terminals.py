"""Open Mini App pages hear of their terminals' changes: each service that commits one
publishes `LiveUpdate("positions" | "terminal", device pk, (owner,))` after the commit: an EA
account report through the real protocol, the page's own actions (add, rename, mode, risk,
revoke, resume), the drawdown guard, and the offline / back-online sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from core.bus import Bus
from models.devices import Device
from services.events import LiveUpdate
from services.terminals import overview
from tests.services.terminals import helpers as th
from tests.waiting import until
from tests.webapp.miniapp.terminal_app import Both, position, serve_both

SAM, OTTO = 1000002, 1000005


@pytest.fixture
async def both(database: str, clock: Any, bus: Any, tmp_path: Any) -> AsyncIterator[Both]:
    from services.terminals import secrets as secret_box

    secret_box.configure("miniapp-tests-master-key", tmp_path)
    async for served in serve_both():
        yield served


@pytest.fixture
def heard(bus: Bus) -> list[LiveUpdate]:
    events: list[LiveUpdate] = []
    bus.subscribe(LiveUpdate, events.append)
    return events


async def test_an_ea_account_report_tells_the_owners_pages(
    both: Both, heard: list[LiveUpdate]
) -> None:
    await th.user(SAM)
    header = await both.api.login(SAM)
    terminal = await both.add(header)
    pk = (await Device.get(device_id=terminal.device_id)).id
    heard.clear()
    assert await terminal.report(10000, 9990, [position(11, -10)]) == 204
    await until(lambda: heard, "the account report's live update")
    assert heard == [LiveUpdate("positions", pk, (SAM,))]
    _, body, _ = await both.api.call(
        "GET", f"/api/v1/terminals/{terminal.device_id}/positions", auth=header
    )
    assert [p["ticket"] for p in body["items"]] == [11]  # committed before it was heard


async def test_a_report_that_changes_nothing_tells_nobody(
    both: Both, heard: list[LiveUpdate]
) -> None:
    await th.user(SAM)
    terminal = await both.add(await both.api.login(SAM))
    pk = (await Device.get(device_id=terminal.device_id)).id
    assert await terminal.report(10000, 9990, [position(11, -10)]) == 204
    heard.clear()
    assert await terminal.report(10000, 9990, [position(11, -10)]) == 204  # the same again
    assert heard == []
    for changed in ([position(11, -12)], [position(11, -12), position(12, 3)], []):
        heard.clear()
        assert await terminal.report(10000, 9990, changed) == 204
        assert heard == [LiveUpdate("positions", pk, (SAM,))], changed
    heard.clear()
    assert await terminal.report(10000, 9985, []) == 204  # equity moved
    assert heard == [LiveUpdate("positions", pk, (SAM,))]


async def test_a_refused_report_tells_nobody(both: Both, heard: list[LiveUpdate]) -> None:
    await th.user(SAM)
    terminal = await both.add(await both.api.login(SAM))
    heard.clear()
    assert await terminal.call("POST", "/ea/v1/account", {"balance": "x"}) == 422
    assert await both.terminal(terminal.device_id, "wrong").report(1, 1, []) == 401
    assert heard == []


async def test_the_pages_actions_tell_the_owner_only(both: Both, heard: list[LiveUpdate]) -> None:
    await th.user(SAM)
    await th.user(OTTO, name="Otto")
    header = await both.api.login(SAM)
    terminal = await both.add(header)
    pk = (await Device.get(device_id=terminal.device_id)).id
    path = f"/api/v1/terminals/{terminal.device_id}"
    assert heard == [LiveUpdate("terminal", pk, (SAM,))]  # added
    for method, suffix, body in (
        ("PATCH", "", {"name": "Desk"}), ("PATCH", "", {"mode": "copy"}),
        ("PATCH", "/risk", {"risk_pct": "2"}), ("DELETE", "", None),
    ):  # fmt: skip
        heard.clear()
        status, answer, _ = await both.api.call(method, path + suffix, auth=header, json=body)
        assert status == 200, answer
        assert heard == [LiveUpdate("terminal", pk, (SAM,))], (method, suffix)
    heard.clear()
    status, _, _ = await both.api.call(
        "PATCH", path + "/risk", auth=header, json={"risk_pct": "0"}
    )
    assert status == 404 and heard == []  # revoked: nothing changes, nothing is said


async def test_the_drawdown_guard_and_resume_tell_the_page(
    both: Both, heard: list[LiveUpdate]
) -> None:
    await th.user(SAM)
    header = await both.api.login(SAM)
    terminal = await both.add(header)
    pk = (await Device.get(device_id=terminal.device_id)).id
    assert await terminal.report(10000, 10000, []) == 204
    heard.clear()
    assert await terminal.report(10000, 7000, []) == 204  # 30 % down: the default cap is 20
    await until(lambda: len(heard) >= 2, "the guard's and the report's updates")
    assert set(heard) == {LiveUpdate("terminal", pk, (SAM,)), LiveUpdate("positions", pk, (SAM,))}
    assert (await Device.get(id=pk)).status == "paused"
    heard.clear()
    status, body, _ = await both.api.call(
        "POST", f"/api/v1/terminals/{terminal.device_id}/resume", auth=header
    )
    assert status == 200 and body["status"] == "active"
    assert heard == [LiveUpdate("terminal", pk, (SAM,))]


async def test_offline_and_back_online_tell_the_page(
    both: Both, heard: list[LiveUpdate], clock: Any
) -> None:
    sam = await th.user(SAM)
    device = await th.device(sam)
    await Device.filter(id=device.id).update(last_seen_at=clock.now())
    heard.clear()
    later = clock.now() + timedelta(seconds=overview.OFFLINE_AFTER_S + 1)
    assert (await overview.detect_offline(later)).offline == 1
    assert heard == [LiveUpdate("terminal", device.id, (SAM,))]
    assert (await overview.detect_offline(later)).offline == 0
    assert len(heard) == 1  # told once
    await Device.filter(id=device.id).update(last_seen_at=later)
    assert (await overview.detect_offline(later)).online == 1
    assert heard == [LiveUpdate("terminal", device.id, (SAM,))] * 2


async def test_a_fill_and_its_close_tell_the_owners_pages(
    both: Both, heard: list[LiveUpdate]
) -> None:
    """The Performance page's own executions and the Positions page follow the EA's acks."""
    sam = await th.user(SAM)
    header = await both.api.login(SAM)
    terminal = await both.add(header)
    pk = (await Device.get(device_id=terminal.device_id)).id
    from services.terminals import commands as ea_commands

    view = await th.publish()
    await th.approve(sam, view.id)
    payload = {"symbol": "EURUSD", "side": "sell", "order_type": "limit", "price": th.ENTRY,
               "sl": th.STOP, "tp": th.TP, "volume": 0.1, "ticket": None, "comment": "x"}  # fmt: skip
    await ea_commands.create(
        pk, "open", payload, signal_id=view.id, dedupe_key="open:fill", expires_at=None
    )
    [order] = await terminal.commands()
    heard.clear()
    ack = {"command_id": order["id"], "status": "filled", "ticket": 501,
           "price": 1.07590, "volume": 0.1}  # fmt: skip
    status, _ = await terminal.answer("POST", "/ea/v1/acks", ack)
    assert status == 200
    await until(lambda: LiveUpdate("positions", pk, (SAM,)) in heard, "the fill's live update")
    _, mine, _ = await both.api.call("GET", "/api/v1/performance/mine", auth=header)
    assert [(e["signal_id"], e["fill_price"]) for e in mine["items"]] == [(view.id, "1.07590")]
