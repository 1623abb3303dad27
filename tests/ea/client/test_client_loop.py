"""The reference EA against a fake /ea/v1 server: signing, the order lifecycle, retries."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from ea.client.terminal import EAClient
from tests.e2e.conftest import free_port
from tests.ea.client.conftest import (
    DEVICE,
    SECRET,
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


async def test_limit_order_is_placed_filled_and_closed_with_signed_requests(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd())
    async with running(client):
        await acked(server, "cmd_0001", ["placed"])
        [order] = await broker.orders()
        assert (order.price, order.volume, order.magic) == (D("1.09500"), D("0.10"), 20_260_515)
        assert order.comment == "SD cmd_0001" and len(order.comment) <= 31
        quote(broker, "1.09400", minutes=5)  # ask 1.09410 <= 1.095: the limit fills
        client.poke()
        await acked(server, "cmd_0001", ["placed", "filled"])
        quote(broker, "1.11125", minutes=10)  # bid at the take-profit
        client.poke()
        await until(lambda: "closed" in statuses(server, "cmd_0001"))
        await until(lambda: server.accounts and server.accounts[-1]["positions"] == [])
    placed, filled, closed = (a for a in server.acks if a["command_id"] == "cmd_0001")
    assert placed["ticket"] == filled["ticket"] == closed["ticket"] == order.ticket
    assert filled["price"] == 1.095 and closed["price"] == 1.11125
    assert set(closed) == {"command_id", "status", "ticket", "price", "volume", "time", "error"}
    assert isinstance(placed["time"], int) and placed["error"] is None
    assert server.rejected == [] and server.polls >= 1
    assert server.symbols[0]["symbols"][0]["name"] == "EURUSD"
    assert server.symbols[0]["symbols"][0]["volume_step"] == 0.01
    account = server.accounts[-1]
    assert account["balance"] == 10_162.5 and account["currency"] == "USD"


async def test_market_open_then_close_by_signal_without_ticket(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd(order_type="market", price=None, sl=1.09, tp=1.12))
    async with running(client):
        await acked(server, "cmd_0001", ["filled"])
        await until(lambda: server.accounts and server.accounts[-1]["positions"])
        position = server.accounts[-1]["positions"][0]
        assert position["comment"] == "SD cmd_0001" and position["side"] == "buy"
        assert position["open_price"] == 1.1001  # the ask
        server.add({"id": "cmd_0002", "type": "close", "signal_id": 7, "ticket": None})
        await acked(server, "cmd_0002", ["closed"])
        await acked(server, "cmd_0001", ["filled", "closed"])
    assert await broker.positions() == []


async def test_modify_and_cancel_a_pending_order(server: FakeServer, tmp_path: Path) -> None:
    broker = paper()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd())
    async with running(client):
        await acked(server, "cmd_0001", ["placed"])
        ticket = server.acks[0]["ticket"]
        modify = {"id": "cmd_0002", "type": "modify", "signal_id": 7, "price": 1.096, "sl": 1.091}
        server.add({**modify, "tp": 1.11, "ticket": ticket})
        await acked(server, "cmd_0002", ["placed"])
        [order] = await broker.orders()
        assert (order.price, order.sl, order.tp) == (D("1.096"), D("1.091"), D("1.11"))
        server.add({"id": "cmd_0003", "type": "cancel", "signal_id": 7})
        await acked(server, "cmd_0003", ["cancelled"])
        await acked(server, "cmd_0001", ["placed", "cancelled"])
    assert await broker.orders() == []


async def test_an_expired_limit_is_acked_cancelled(server: FakeServer, tmp_path: Path) -> None:
    broker = paper()
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd())
    async with running(client):
        await acked(server, "cmd_0001", ["placed"])
        quote(broker, "1.10000", minutes=101 * 60)
        client.poke()
        await acked(server, "cmd_0001", ["placed", "cancelled"])
    assert "expired" in server.acks[-1]["error"]


async def test_broker_refusal_is_a_rejected_ack(server: FakeServer, tmp_path: Path) -> None:
    client = EAClient(config(server.url, tmp_path / "state.json"), paper())
    server.add(open_cmd(price=1.2))  # a buy limit above the ask
    server.add(open_cmd("cmd_0002", symbol="NOPE"))
    server.add({"id": "cmd_0003", "type": "explode"})
    async with running(client):
        await until(lambda: len(server.acks) == 3)
    errors = {a["command_id"]: (a["status"], a["error"]) for a in server.acks}
    assert errors["cmd_0001"][0] == "rejected" and "invalid_price" in errors["cmd_0001"][1]
    assert errors["cmd_0002"][0] == "rejected" and "unknown_symbol" in errors["cmd_0002"][1]
    assert errors["cmd_0003"][0] == "rejected" and "unknown command type" in errors["cmd_0003"][1]


async def test_encrypted_answers_are_decrypted_and_bad_ones_retried(tmp_path: Path) -> None:
    server = FakeServer(DEVICE, SECRET, encrypt=True)
    server.seal_secret = "not the device's secret"
    await server.start()
    try:
        client = EAClient(config(server.url, tmp_path / "state.json"), paper())
        server.add(open_cmd())
        async with running(client) as task:
            # unreadable answers: retried
            await until(lambda: server.polls, accept=lambda n: n >= 3)
            assert not task.done() and server.acks == []
            server.seal_secret = SECRET
            await acked(server, "cmd_0001", ["placed"])
    finally:
        await server.stop()


async def test_retries_until_the_server_comes_up_and_after_it_restarts(tmp_path: Path) -> None:
    port = free_port()
    server = FakeServer(DEVICE, SECRET)
    client = EAClient(config(f"http://127.0.0.1:{port}", tmp_path / "s.json"), paper())
    async with running(client):
        await until(lambda: client.polls, accept=lambda n: n >= 3)  # connection refused, retried
        await server.start(port)
        await until(lambda: server.polls, accept=lambda n: n >= 1)
        await server.stop()  # mid long-poll
        polls = client.polls
        await until(lambda: client.polls, accept=lambda n: n >= polls + 2)
        server = FakeServer(DEVICE, SECRET)
        await server.start(port)
        server.add(open_cmd())
        await acked(server, "cmd_0001", ["placed"])
    await server.stop()


async def test_a_conflicting_ack_is_dropped_not_retried(
    server: FakeServer, tmp_path: Path
) -> None:
    client = EAClient(config(server.url, tmp_path / "state.json"), paper())
    server.ack_status["cmd_0001"] = 409
    server.add(open_cmd())
    async with running(client):
        await until(lambda: client.state.get("cmd_0001") is not None)
        await until(lambda: client.state.with_unsent() == [])
    assert client.acks_sent == []


async def test_refused_symbol_specs_are_logged_and_not_resent(
    server: FakeServer, tmp_path: Path
) -> None:
    """The server judged them: a 422 (none usable) or a 200 listing refusals ends the
    reporting; resending the same specs every round would change nothing."""
    problem = {"status": 422, "field": "symbols[0].tick_size",
               "detail": "symbols[0].tick_size: must be from the point 0.00001 to 10"}  # fmt: skip
    server.symbols_answers = [(503, {"detail": "busy"}), (422, problem)]
    client = EAClient(config(server.url, tmp_path / "state.json"), paper())
    async with running(client):
        await until(lambda: len(server.symbols) == 2 and len(server.accounts) >= 3)
    assert len(server.symbols) == 2  # after a 503 it tried again; after the 422, never
    assert client.symbols_refused == [{"detail": problem["detail"]}]

    half = {"accepted": ["EURUSD"], "refused": [{"name": "XAUUSD", "field": "symbols[1].tick_size",
                                                 "detail": "symbols[1].tick_size: ..."}]}  # fmt: skip
    server.symbols, server.symbols_answers = [], [(200, half)]
    client = EAClient(config(server.url, tmp_path / "state2.json"), paper())
    async with running(client):
        await until(lambda: len(server.symbols) == 1 and len(server.accounts) >= 6)
    assert len(server.symbols) == 1 and client.symbols_refused == half["refused"]
