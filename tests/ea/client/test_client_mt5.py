"""The reference EA on a MetaTrader 5 terminal (MT5Broker over the fake MT5 module): what the
MQL5 EA must handle too - netting merges, the fill race, unknown results, AutoTrading off, a
terminal that is not connected yet, RETURN-only symbols, partial fills, specs not loaded yet.
See ea/mql5/README.md for the MQL5 function that mirrors each."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from ea.client.lock import AlreadyRunning
from ea.client.state import StateFile
from ea.client.terminal import EAClient
from tests.ea.client.conftest import config, open_cmd, running, statuses
from tests.ea.client.fake_server import FakeServer
from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5 import FakeMT5
from tests.waiting import until
from trading.brokers.base import OrderRequest, OrderType, Side
from trading.brokers.mt5 import MT5Broker
from trading.brokers.paper import PaperEngine
from trading.symbols import get_spec

NETTING = api.ACCOUNT_MARGIN_MODE_RETAIL_NETTING


def terminal(
    margin_mode: int = api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, filling_mode: int = 2
) -> tuple[MT5Broker, FakeMT5]:
    """A connected terminal quoting EURUSD at 1.10000 / 1.10010, now (history lookups are
    bounded by the wall clock, as on a real terminal)."""
    engine = PaperEngine({"EURUSD": get_spec("EURUSD")}, spread_points=10)
    fake = FakeMT5(engine, margin_mode=margin_mode, filling_mode=filling_mode)
    fake.initialized = True
    fake.tick("EURUSD", 1.10000, time_s=int(time.time()))
    return MT5Broker(fake), fake


def client(server: FakeServer, tmp_path: Path, broker: MT5Broker, **kw: Any) -> EAClient:
    return EAClient(config(server.url, tmp_path / "state.json", **kw), broker)


async def rounds(server: FakeServer, count: int = 3) -> None:
    """Let the report loop run ``count`` more rounds (each follows orders, then reports)."""
    seen = len(server.accounts)
    await until(lambda: len(server.accounts) >= seen + count)


def sends(fake: FakeMT5) -> int:
    return sum(
        1
        for r in fake.requests
        if r["action"] in (api.TRADE_ACTION_DEAL, api.TRADE_ACTION_PENDING)
    )


async def test_netting_a_limit_that_fills_into_a_position_is_filled_and_closes_its_share(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal(NETTING)
    existing = await broker.place_order(  # the user's own position on the symbol
        OrderRequest("EURUSD", Side.BUY, OrderType.MARKET, D("0.20"))
    )
    ea = client(server, tmp_path, broker)
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
        order = server.acks[0]["ticket"]
        fake.tick("EURUSD", 1.09490)  # ask 1.09500: the limit fills into the position
        ea.poke()
        await until(lambda: statuses(server, "cmd_0001") == ["placed", "filled"])
        filled = server.acks[-1]
        assert filled["ticket"] == existing.position != order  # the position's id
        assert (filled["price"], filled["volume"]) == (1.095, 0.1)
        [position] = await broker.positions()
        assert position.volume == D("0.30")
        server.add({"id": "cmd_0002", "type": "close", "signal_id": 7, "ticket": None})
        await until(lambda: statuses(server, "cmd_0002") == ["closed"])
        await until(lambda: statuses(server, "cmd_0001") == ["placed", "filled", "closed"])
        await rounds(server)
    assert [p.volume for p in await broker.positions()] == [D("0.20")]  # only our share went
    closed = [a for a in server.acks if a["command_id"] == "cmd_0001"][-1]
    assert closed["volume"] == 0.1 and closed["ticket"] == existing.position
    assert statuses(server, "cmd_0001") == ["placed", "filled", "closed"]  # never cancelled


async def test_netting_a_cancel_of_an_order_that_filled_into_a_position_is_refused(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal(NETTING)
    await broker.place_order(OrderRequest("EURUSD", Side.BUY, OrderType.MARKET, D("0.20")))
    ea = client(server, tmp_path, broker, account_interval_s=30)  # no follow round meanwhile
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
        fake.tick("EURUSD", 1.09490)  # fills into the position: no position has its ticket
        server.add({"id": "cmd_0002", "type": "cancel", "signal_id": 7})
        await until(lambda: statuses(server, "cmd_0002") == ["rejected"])
    [refusal] = [a for a in server.acks if a["command_id"] == "cmd_0002"]
    assert "already filled" in refusal["error"]  # the open's own "filled" may come after it


async def test_netting_an_opposite_open_is_refused(server: FakeServer, tmp_path: Path) -> None:
    broker, _ = terminal(NETTING)
    await broker.place_order(OrderRequest("EURUSD", Side.SELL, OrderType.MARKET, D("0.10")))
    server.add(open_cmd(order_type="market", price=None))
    async with running(client(server, tmp_path, broker)):
        await until(lambda: statuses(server, "cmd_0001") == ["rejected"])
    assert "netting account" in server.acks[0]["error"]
    assert len(await broker.positions()) == 1


@pytest.mark.parametrize("order_in_history", [False, True])
async def test_the_fill_race_is_never_acked_cancelled(
    server: FakeServer, tmp_path: Path, order_in_history: bool
) -> None:
    broker, fake = terminal()
    ea = client(server, tmp_path, broker)
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
        fake.hide_fill(server.acks[0]["ticket"], order_in_history=order_in_history)
        fake.tick("EURUSD", 1.09490)
        ea.poke()
        await rounds(server)  # gone from the orders, no deal, no position yet
        assert statuses(server, "cmd_0001") == ["placed"]
        fake.reveal()
        ea.poke()
        await until(lambda: statuses(server, "cmd_0001") == ["placed", "filled"])


async def test_a_cancelled_order_is_acked_from_the_order_history(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, _ = terminal()
    ea = client(server, tmp_path, broker)
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
        await broker.cancel_order(server.acks[0]["ticket"])  # deleted by hand in the terminal
        ea.poke()
        await until(lambda: statuses(server, "cmd_0001") == ["placed", "cancelled"])
    assert "cancelled at the broker" in server.acks[-1]["error"]


@pytest.mark.parametrize(
    ("order_type", "retcode", "expected"),
    [
        ("limit", api.TRADE_RETCODE_TIMEOUT, "placed"),
        ("market", api.TRADE_RETCODE_TIMEOUT, "filled"),
        ("limit", api.TRADE_RETCODE_CONNECTION, "placed"),
    ],
)
async def test_an_unknown_result_that_did_reach_the_broker_is_found_by_comment(
    server: FakeServer, tmp_path: Path, order_type: str, retcode: int, expected: str
) -> None:
    broker, fake = terminal()
    fake.inject("order_send", retcode=retcode, execute=True)  # carried out, answer lost
    server.add(open_cmd(order_type=order_type, price=None if order_type == "market" else 1.095))
    async with running(client(server, tmp_path, broker)):
        await until(lambda: statuses(server, "cmd_0001") == [expected])
        await rounds(server)
    assert sends(fake) == 1  # never sent again
    books = await broker.orders() if expected == "placed" else await broker.positions()
    assert [x.ticket for x in books] == [server.acks[0]["ticket"]]
    assert statuses(server, "cmd_0001") == [expected]


async def test_an_unknown_result_that_never_reached_the_broker_fails_after_a_while(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    fake.inject("order_send", retcode=api.TRADE_RETCODE_TIMEOUT)  # lost on the way
    server.add(open_cmd())
    async with running(client(server, tmp_path, broker, unsure_settle_s=0.5)) as _:
        await until(lambda: server.polls >= 3)  # redelivered meanwhile: not sent again
        assert server.acks == [] and sends(fake) == 1
        await until(lambda: statuses(server, "cmd_0001") == ["failed"])
    assert "did not confirm" in server.acks[0]["error"]
    assert sends(fake) == 1 and await broker.orders() == []


async def test_an_unknown_close_is_found_by_its_exit_deal(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    server.add(open_cmd(order_type="market", price=None))
    ea = client(server, tmp_path, broker)
    async with running(ea):
        await until(lambda: statuses(server, "cmd_0001") == ["filled"])
        fake.inject("order_send", retcode=api.TRADE_RETCODE_TIMEOUT, execute=True)
        server.add({"id": "cmd_0002", "type": "close", "signal_id": 7, "comment": "sd:close:x"})
        await until(lambda: statuses(server, "cmd_0002") == ["closed"])
        await until(lambda: statuses(server, "cmd_0001") == ["filled", "closed"])
    assert await broker.positions() == [] and sends(fake) == 2


async def test_autotrading_off_leaves_commands_pending_with_a_warning(
    server: FakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker, fake = terminal()
    fake.algo_trading = False
    ea = client(server, tmp_path, broker)
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: ea.blocked is not None)
        assert "AutoTrading is off" in (ea.blocked or "")
        assert server.polls == 0 and server.acks == [] and sends(fake) == 0
        fake.algo_trading = True
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
    assert any("commands stay pending" in r.getMessage() for r in caplog.records)


async def test_autotrading_switched_off_at_the_send_is_not_a_rejection(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    fake.inject("order_send", retcode=api.TRADE_RETCODE_CLIENT_DISABLES_AT)  # 10027, once
    server.add(open_cmd())
    async with running(client(server, tmp_path, broker)):
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
    assert len(await broker.orders()) == 1 and statuses(server, "cmd_0001") == ["placed"]


async def test_recovery_waits_for_the_terminal_to_connect(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    placed = await broker.place_order(  # placed before a crash; the ack never went out
        OrderRequest("EURUSD", Side.BUY, OrderType.LIMIT, D("0.10"), D("1.095"),
                     comment="SD cmd_0001", client_id="SD cmd_0001")
    )  # fmt: skip
    state = StateFile(tmp_path / "state.json")
    state.begin("cmd_0001", "open", comment="SD cmd_0001", symbol="EURUSD", signal_id=7)
    fake.connected = False  # the terminal starts: not connected, its book not loaded
    ea = client(server, tmp_path, broker)
    server.add(open_cmd())
    async with running(ea):
        await until(lambda: ea.blocked is not None)
        assert sends(fake) == 1 and server.polls == 0
        fake.connected = True
        await until(lambda: statuses(server, "cmd_0001") == ["placed"])
    assert server.acks[0]["ticket"] == placed.ticket and sends(fake) == 1


@pytest.mark.parametrize("order_type", ["market", "limit"])
async def test_a_return_only_symbol_trades(
    server: FakeServer, tmp_path: Path, order_type: str
) -> None:
    broker, fake = terminal(filling_mode=0)
    server.add(open_cmd(order_type=order_type, price=None if order_type == "market" else 1.095))
    async with running(client(server, tmp_path, broker)):
        expected = "filled" if order_type == "market" else "placed"
        await until(lambda: statuses(server, "cmd_0001") == [expected])
    assert fake.requests[-1]["type_filling"] == api.ORDER_FILLING_RETURN


async def test_a_partial_fill_is_acked_with_the_filled_volume(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    fake.partial_volume = 0.04
    server.add(open_cmd(order_type="market", price=None))
    async with running(client(server, tmp_path, broker)):
        await until(lambda: statuses(server, "cmd_0001") == ["filled"])
    assert server.acks[0]["volume"] == 0.04


async def test_specs_are_reported_once_the_terminal_has_loaded_them(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, fake = terminal()
    fake.incomplete.add("EURUSD")  # tick value 0 right after symbol_select
    async with running(client(server, tmp_path, broker)):
        await rounds(server)
        assert server.symbols == []
        fake.incomplete.clear()
        await until(lambda: server.symbols)
        await rounds(server)
    [report] = server.symbols
    assert report["symbols"][0]["tick_value"] == 1.0


async def test_a_second_ea_on_the_same_state_file_refuses_to_start(
    server: FakeServer, tmp_path: Path
) -> None:
    broker, _ = terminal()
    first = client(server, tmp_path, broker)
    async with running(first):
        await until(lambda: first.polls >= 1)
        with pytest.raises(AlreadyRunning, match="already running"):
            await asyncio.wait_for(client(server, tmp_path, broker).run(), 5)
    again = client(server, tmp_path, broker)  # the lock went with the first one
    async with running(again):
        await until(lambda: again.polls >= 1)
