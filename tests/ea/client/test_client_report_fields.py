"""The reference EA sends the optional report fields: a fill's spread, the broker and the
quotes of the symbols it trades, each in the shape the server accepts."""

from __future__ import annotations

import json
from pathlib import Path

from ea import schemas
from ea.client.terminal import EAClient
from tests.ea.client.conftest import acked, config, open_cmd, paper, quote, running
from tests.ea.client.fake_server import FakeServer
from tests.waiting import until
from trading.brokers.paper_ledger import PAPER_COMPANY


async def test_fills_carry_the_spread_and_accounts_the_broker_and_quotes(
    server: FakeServer, tmp_path: Path
) -> None:
    broker = paper(spread_points=10)
    client = EAClient(config(server.url, tmp_path / "state.json"), broker)
    server.add(open_cmd())  # a limit at 1.09500
    server.add(open_cmd("cmd_0002", order_type="market", price=None, signal_id=8))
    async with running(client):
        await acked(server, "cmd_0002", ["filled"])
        await acked(server, "cmd_0001", ["placed"])
        quote(broker, "1.09400", spread_points=7, minutes=5)  # the limit fills, spread 7
        client.poke()
        await acked(server, "cmd_0001", ["placed", "filled"])
        await until(lambda: server.accounts and server.accounts[-1].get("quotes"))
    acks = {(a["command_id"], a["status"]): a for a in server.acks}
    assert acks["cmd_0002", "filled"]["spread_points"] == 10  # a market fill, at once
    assert acks["cmd_0001", "filled"]["spread_points"] == 7  # found by following the order
    assert "spread_points" not in acks["cmd_0001", "placed"]  # only fills carry it
    account = server.accounts[-1]
    assert account["broker"] == PAPER_COMPANY
    assert account["quotes"] == [{"symbol": "EURUSD", "bid": 1.094, "ask": 1.09407}]
    for body in (account, *server.acks):  # what the real server parses
        raw = json.dumps(body).encode()
        if "command_id" in body:
            assert schemas.parse_ack(raw).spread_points == body.get("spread_points")
        else:
            parsed = schemas.parse_account(raw)
            assert parsed.broker == PAPER_COMPANY and len(parsed.quotes) == 1
