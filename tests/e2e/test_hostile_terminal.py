"""End to end: terminals that report hostile symbol specs (or trip a bug while their order is
planned) never stop a signal from reaching everyone else.

The reported incident: one subscriber's terminal reported ``tick_size: 1e-40``; rounding its
order raised ``decimal.InvalidOperation`` inside the publish transaction, no card reached
anyone and the trading loop was stuck on that bar until a restart. Here, over the real EA
API and the Telegram emulator: Bea's terminal reports that spec (refused, 422), Pat's reports
one good and one hostile symbol (the good one is kept), Cho's order planning raises the same
InvalidOperation (an injected bug). Sam's EA still executes, every paid user gets the card,
the visitor the summary; Bea and Cho are told why they got nothing and the owner is alerted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import InvalidOperation
from typing import Any

import aiohttp
import pytest

from models.devices import Command, CommandStatus, DeviceMode
from models.notifications import Notification
from models.signals import Signal, SignalStatus
from models.users import Role
from services.copy import opening as copy_open
from services.terminals import devices
from services.users import profiles as users_service
from tests.e2e.conftest import OWNER, SUB, VISITOR
from tests.e2e.test_ea_loop import Loop, make_loop, open_command
from tests.e2e.test_signals import caption, card_of
from tests.ea.conftest import Terminal
from tests.waiting import until

__all__ = ["make_loop"]  # the app + Sam's EA harness of test_ea_loop, shared as a fixture
BEA, PAT, CHO = 1000011, 1000012, 1000013
EURUSD = {"name": "EURUSD", "digits": 5, "point": 0.00001, "tick_size": 0.00001,
          "tick_value": 1, "contract_size": 100000, "volume_min": 0.01, "volume_max": 100,
          "volume_step": 0.01, "stops_level": 0}  # fmt: skip
ACCOUNT = {"balance": 10000, "equity": 10000, "margin": 0, "currency": "USD", "positions": []}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def terminal(loop: Loop, http: aiohttp.ClientSession, tid: int, name: str) -> Terminal:
    """A subscriber with a copy-mode terminal that speaks the signed protocol, with its
    account reported."""
    await loop.tg.add_user(tid, name)
    await users_service.seed(tid, name, name.lower(), Role.SUBSCRIBER)
    made = await devices.create_device(tid, f"{name} MT5", DeviceMode.COPY)
    assert loop.app is not None
    t = Terminal(loop.app.base_url, made.device_id, made.secret, http, made.device.id)
    assert (await t.call("POST", "/ea/v1/account", ACCOUNT)).status == 204
    return t


async def test_hostile_terminals_never_stop_a_signal_for_the_others(
    make_loop: Any, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop: Loop = await make_loop("copy")  # Sam: a copy terminal running the Python EA
    await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    bea = await terminal(loop, http, BEA, "Bea")
    hostile = {**EURUSD, "tick_size": 1e-40}
    reply = await bea.call("POST", "/ea/v1/symbols", {"symbols": [hostile]})
    assert reply.status == 422 and reply.json["field"] == "symbols[0].tick_size"

    pat = await terminal(loop, http, PAT, "Pat")
    gold = {**EURUSD, "name": "XAUUSD", "digits": 2, "point": 0.01, "tick_size": 1e-40}
    reply = await pat.call("POST", "/ea/v1/symbols", {"symbols": [EURUSD, gold]})
    assert reply.status == 200 and reply.json["accepted"] == ["EURUSD"]
    assert [r["field"] for r in reply.json["refused"]] == ["symbols[1].tick_size"]

    cho = await terminal(loop, http, CHO, "Cho")
    cho_spec = {**EURUSD, "name": "EURUSD.cho"}
    assert (await cho.call("POST", "/ea/v1/symbols", {"symbols": [cho_spec]})).status == 204
    real = copy_open.terminal_levels

    def rounding_bug(*args: Any, **kwargs: Any) -> Any:
        if getattr(args[4], "name", "") == "EURUSD.cho":
            raise InvalidOperation([InvalidOperation])  # what the 1e-40 tick raised
        return real(*args, **kwargs)

    monkeypatch.setattr(copy_open, "terminal_levels", rounding_bug)

    await loop.push_until(37)  # bar 37 publishes a SELL
    sig = await Signal.get(side="sell")
    assert sig.status == SignalStatus.PUBLISHED
    await until(lambda: open_command(sig.id, CommandStatus.PLACED))  # Sam's EA placed it
    [order] = await loop.broker.orders()
    assert order.comment == f"sd:{sig.id}"
    commands = (await pat.poll()).json["commands"]
    assert [(c["signal_id"], c["symbol"]) for c in commands] == [(sig.id, "EURUSD")]
    for t in (bea, cho):
        assert not await Command.exists(device_id=t.pk, signal_id=sig.id)

    for user in (OWNER, SUB, BEA, PAT, CHO):  # every paid user got the card
        await card_of(loop.tg, user, sig.id)
    await loop.tg.wait_for(VISITOR, lambda m: "EURUSD" in caption(m), timeout=10, after_seq=0)
    bea_note = await loop.tg.wait_for(
        BEA, lambda m: "was not sent to your terminal" in caption(m), timeout=10, after_seq=0
    )
    assert "the symbol spec it reported for EURUSD is not usable (tick_size)" in caption(bea_note)
    cho_note = await loop.tg.wait_for(
        CHO, lambda m: "was not sent to your terminal" in caption(m), timeout=10, after_seq=0
    )
    assert "an error on our side while preparing its order" in caption(cho_note)
    alert = await loop.tg.wait_for(
        OWNER, lambda m: "planning the order failed" in caption(m), timeout=10, after_seq=0
    )
    assert cho.device_id in caption(alert) and "InvalidOperation" in caption(alert)

    await loop.push_until(60)  # the SELL fills and stops out; a BUY is published
    assert (await Signal.get(id=sig.id)).status == SignalStatus.CLOSED
    buy = await Signal.get(side="buy")
    await until(lambda: open_command(buy.id, CommandStatus.PLACED))
    assert not await Notification.filter(kind="ops.alert", dedupe_key__contains="loop:").exists()
