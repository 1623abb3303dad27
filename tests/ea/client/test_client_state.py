"""Exactly-once across crashes: the state file is written before the order and before the ack."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from ea.client import state as client_state
from ea.client.state import StateFile, StateFileError
from ea.client.terminal import EAClient
from ea.client.wire import Ack, Command
from tests.ea.client.conftest import (
    STOP_S,
    acked,
    config,
    open_cmd,
    paper,
    quote,
    running,
    statuses,
)
from tests.ea.client.fake_server import FakeServer
from tests.waiting import until
from trading.brokers.base import ConnectionLost, Order
from trading.brokers.paper import PaperBroker, PaperEngine
from trading.symbols import get_spec


class Crash(Exception):
    """The process dies here."""


def crash_at(point: str):
    def fault(where: str, cmd: Command) -> None:
        if where == point and cmd.type == "open":
            raise Crash(where)

    return fault


@pytest.mark.parametrize("point", ["placed", "recorded"])
async def test_restart_after_a_crash_never_places_twice(
    server: FakeServer, tmp_path: Path, point: str
) -> None:
    broker = paper()
    state = tmp_path / "state.json"
    server.add(open_cmd())
    first = EAClient(config(server.url, state), broker, fault=crash_at(point))
    with pytest.raises(Crash):
        await asyncio.wait_for(first.run(), STOP_S)
    assert len(await broker.orders()) == 1 and server.acks == []
    expected = "executing" if point == "placed" else "done"
    assert json.loads(state.read_text())["commands"]["cmd_0001"]["state"] == expected

    second = EAClient(config(server.url, state), broker)  # same broker: the terminal lived on
    async with running(second):
        await acked(server, "cmd_0001", ["placed"])
        polls = server.polls  # two more polls after the ack, and nothing more arrives:
        await until(lambda: server.polls, accept=lambda n: n >= polls + 2)
    assert len(await broker.orders()) == 1
    assert statuses(server, "cmd_0001") == ["placed"]
    assert server.acks[0]["ticket"] == (await broker.orders())[0].ticket


async def test_recovery_finds_a_fill_that_happened_while_down(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    state = tmp_path / "state.json"
    server.add(open_cmd(order_type="market", price=None))
    with pytest.raises(Crash):
        await EAClient(config(server.url, state), broker, fault=crash_at("placed")).run()
    async with running(EAClient(config(server.url, state), broker)):
        await acked(server, "cmd_0001", ["filled"])
    assert len(await broker.positions()) == 1


async def test_an_interrupted_open_that_never_reached_the_broker_is_placed_once(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    state = StateFile(tmp_path / "state.json")
    state.begin("cmd_0001", "open", comment="SD cmd_0001", symbol="EURUSD", signal_id=7)
    server.add(open_cmd())
    async with running(EAClient(config(server.url, state.path), broker)):
        await acked(server, "cmd_0001", ["placed"])
    assert len(await broker.orders()) == 1


async def test_a_redelivered_finished_command_gets_its_acks_again(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd())
    async with running(client):
        await acked(server, "cmd_0001", ["placed"])
        server.add(open_cmd())  # the server lost the ack and redelivers
        await acked(server, "cmd_0001", ["placed", "placed"])
    assert len(await broker.orders()) == 1


def test_state_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = StateFile(tmp_path / "state.json")
    state.record(Ack("cmd_a", "rejected", error="guard"), kind="open")
    before = state.path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        state.begin("cmd_b", "open", comment="c", symbol="EURUSD", signal_id=None)
    assert state.path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left
    monkeypatch.undo()
    reloaded = StateFile(state.path)
    assert reloaded.get("cmd_a") is not None and reloaded.get("cmd_b") is None
    assert reloaded.get("cmd_a").unsent == [Ack("cmd_a", "rejected", error="guard")]


def test_the_state_file_forgets_the_oldest_finished_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_state, "MAX_ENTRIES", 3)
    state = StateFile(tmp_path / "state.json")
    state.record(Ack("cmd_live", "placed", 5), kind="open")  # followed: never forgotten
    state.record(Ack("cmd_unsent", "rejected"), kind="open")  # its ack not confirmed yet
    for n in range(3):
        state.record(Ack(f"cmd_old{n}", "rejected"), kind="open")
        state.mark_sent(f"cmd_old{n}", 1)
    state.begin("cmd_new", "open", comment="c", symbol="EURUSD", signal_id=None)
    assert set(StateFile(state.path).entries) == {"cmd_live", "cmd_unsent", "cmd_new"}


@pytest.mark.parametrize("content", ["{not json", '{"version": 99}', "[]"])
def test_an_unreadable_state_file_stops_the_ea(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateFileError, match="state file"):
        StateFile(path)


class Flaky(PaperBroker):
    """A terminal whose link to the trade server is down until ``down`` is cleared."""

    down = True

    async def orders(self, symbol: str | None = None) -> list[Order]:
        if self.down:
            raise ConnectionLost("no connection to the trade server")
        return await super().orders(symbol)


async def test_recovery_that_cannot_see_the_broker_never_places(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = Flaky(PaperEngine({"EURUSD": get_spec("EURUSD")}))
    quote(broker, "1.10000")
    state = StateFile(tmp_path / "state.json")
    state.begin("cmd_0001", "open", comment="SD cmd_0001", symbol="EURUSD", signal_id=7)
    server.add(open_cmd())
    client = EAClient(config(server.url, state.path), broker)
    async with running(client):
        await until(lambda: server.polls, accept=lambda n: n >= 3)  # redelivered, not executed
        assert server.acks == [] and broker.engine.ledger.orders() == []
        broker.down = False
        await acked(server, "cmd_0001", ["placed"])
    assert len(broker.engine.ledger.orders()) == 1


async def test_refused_acks_of_a_redelivered_command_back_off(
    server: FakeServer, tmp_path: Path
) -> None:
    server.ack_status["cmd_0001"] = 422
    server.keep_pending = True  # the server keeps redelivering what it cannot accept
    client = EAClient(config(server.url, tmp_path / "state.json"), paper())
    server.add(open_cmd())
    async with running(client):
        await until(lambda: server.polls, accept=lambda n: n >= 4)
        started, polls = time.monotonic(), server.polls
        # Measured over ten more redeliveries (about 1 s backed off, a few ms unbounded); a
        # loaded machine only makes the rate lower.
        await until(lambda: server.polls, "ten more polls", accept=lambda n: n >= polls + 10)
        rate = (server.polls - polls) / (time.monotonic() - started)
    assert rate < 40, f"{rate:.0f} polls/s: the EA hammers the server"  # unbounded: hundreds
