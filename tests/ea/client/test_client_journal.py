"""The terminal's journal: commands and acks as they happen, in words, long-pollable; a failing
observer never stops the EA."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from ea.client.journal import TerminalJournal, describe_ack, describe_command
from ea.client.terminal import EAClient
from ea.client.wire import Command, parse_command
from tests.ea.client.conftest import config, open_cmd, paper, quote, running
from tests.ea.client.fake_server import FakeServer
from tests.waiting import until


def texts(journal: TerminalJournal) -> list[tuple[str, str]]:
    return [(e["kind"], e["text"]) for e in journal.events_after(0)]


async def test_commands_and_acks_are_journaled_as_they_happen(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    journal = TerminalJournal()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker, observer=journal)
    server.add(open_cmd())
    async with running(client):
        await until(lambda: len(journal.events_after(0)) == 2)
        [order] = await broker.orders()
        assert texts(journal) == [
            ("command", "open BUY EURUSD limit 0.1 lot @ 1.095 SL 1.09 TP 1.11125"),
            ("ack", f"placed 0.1 @ 1.095 #{order.ticket}"),
        ]
        quote(broker, "1.09400", minutes=5)
        client.poke()
        event = (await journal.wait_after(2, timeout_s=10))[0]
        assert event["kind"] == "ack" and event["status"] == "filled"
        assert event["text"] == f"filled 0.1 @ 1.095 #{order.ticket}"
    assert [e["command_id"] for e in journal.events_after(0)] == ["cmd_0001"] * 3
    assert [e["seq"] for e in journal.events_after(0)] == [1, 2, 3]


async def test_a_refused_ack_is_journaled_as_refused(server: FakeServer, tmp_path: Path) -> None:
    journal = TerminalJournal()
    server.ack_status["cmd_0001"] = 409
    client = EAClient(config(server.url, tmp_path / "state.json"), paper(), observer=journal)
    server.add(open_cmd())
    async with running(client):
        await until(lambda: len(journal.events_after(0)) == 2)
    assert journal.events_after(1)[0]["text"].endswith("(refused by the server)")


class Broken:
    def command(self, cmd: Command) -> None:
        raise RuntimeError("observer bug")

    def ack(self, ack: dict[str, Any], *, accepted: bool) -> None:
        raise RuntimeError("observer bug")


async def test_a_failing_observer_never_stops_the_terminal(
    server: FakeServer, tmp_path: Path
) -> None:
    client = EAClient(config(server.url, tmp_path / "state.json"), paper(), observer=Broken())
    server.add(open_cmd())
    async with running(client) as task:
        await until(lambda: [a["status"] for a in server.acks] == ["placed"])
        assert not task.done()


async def test_wait_after_is_a_long_poll_and_the_journal_is_bounded() -> None:
    clock = datetime(2030, 1, 1, 12, tzinfo=UTC)
    journal = TerminalJournal(capacity=3, clock=lambda: clock)
    assert await journal.wait_after(0, timeout_s=0) == []
    waiting = asyncio.create_task(journal.wait_after(0, timeout_s=30))
    await asyncio.sleep(0)
    assert not waiting.done()
    journal.ack({"command_id": "c1", "status": "placed", "ticket": 5}, accepted=True)
    [event] = await waiting
    assert event == {
        "seq": 1, "time": "2030-01-01T12:00:00+00:00", "kind": "ack", "command_id": "c1",
        "text": "placed #5", "status": "placed",
    }  # fmt: skip
    for n in range(5):
        journal.ack({"command_id": f"c{n}", "status": "filled"}, accepted=True)
    assert [e["seq"] for e in journal.events_after(0)] == [4, 5, 6]


def test_descriptions() -> None:
    sell = parse_command(open_cmd(side="sell", price=2381.505, symbol="XAUUSD", volume=0.12))
    assert (
        describe_command(sell) == "open SELL XAUUSD limit 0.12 lot @ 2381.505 SL 1.09 TP 1.11125"
    )
    close = Command(id="c", type="close", symbol="EURUSD", ticket=1001)
    assert describe_command(close) == "close EURUSD #1001"
    modify = Command(id="c", type="modify", symbol="EURUSD", signal_id=3, sl=D("1.1"), tp=None)
    assert describe_command(modify) == "modify EURUSD signal 3: SL 1.1 TP -"
    assert (
        describe_ack({"status": "rejected", "error": "market closed"}) == "rejected: market closed"
    )
    assert (
        describe_ack({"status": "closed", "price": 1.07501, "ticket": 9}) == "closed @ 1.07501 #9"
    )
