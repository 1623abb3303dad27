"""The /ea/v1 routes over real HTTP: commands, acks, reports, encryption, strict validation."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from bot.app import AppRunner
from ea.crypto import decrypt_payload
from models.devices import Command, CommandStatus, CommandType
from services.terminals import commands as ea_commands
from services.terminals import fills, reports
from services.terminals.device_auth import DeviceRef
from services.terminals.protocol import AccountReport, AckIn, BarIn, SymbolReport
from tests.ea.conftest import Terminal, bookkeeping_done, new_terminal, polls_waiting
from tests.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")
WAIT_S = 30  # the longest poll a terminal may ask for: answering in half of it is "at once"
OPEN = {"symbol": "XAUUSDm", "side": "buy", "order_type": "limit", "price": "2350.50",
        "sl": "2340", "tp": "2371.25", "volume": "0.10", "comment": "sd"}  # fmt: skip
ACK = {"command_id": "?", "status": "filled", "ticket": 123456, "price": 2350.4,
       "volume": 0.1, "time": 1_700_000_000, "error": None}  # fmt: skip


async def make_command(t: Terminal, key: str, **extra: Any) -> str:
    command_id = await ea_commands.create(
        t.pk, CommandType.OPEN, {**OPEN, **extra}, signal_id=7, dedupe_key=f"{t.pk}:{key}",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert command_id is not None
    return command_id


async def delivered_at(command_id: str) -> datetime | None:
    return (await Command.get(id=command_id)).delivered_at


async def test_commands_have_the_documented_shape_and_are_redelivered(
    app: AppRunner, terminal: Terminal
) -> None:
    command_id = await make_command(terminal, "a")
    first = await terminal.poll()
    assert first.status == 200
    assert first.json["commands"] == [
        {"id": command_id, "type": "open", "signal_id": 7, "symbol": "XAUUSDm", "side": "buy",
         "order_type": "limit", "price": 2350.5, "sl": 2340, "tp": 2371.25, "volume": 0.1,
         "expires_at": 1893456000, "ticket": None, "comment": "sd"}
    ]  # fmt: skip
    delivered = await until(  # written just after the answer
        lambda: delivered_at(command_id), f"{command_id} stamped delivered"
    )
    again = await terminal.poll()
    assert [c["id"] for c in again.json["commands"]] == [command_id]
    await bookkeeping_done(app)  # whatever the second delivery would write is written
    assert await delivered_at(command_id) == delivered


async def test_expired_and_acknowledged_commands_are_not_served(terminal: Terminal) -> None:
    await make_command(terminal, "old")
    await Command.filter(device_id=terminal.pk).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert (await terminal.poll()).json["commands"] == []
    assert await ea_commands.expire_stale() >= 1
    command_id = await make_command(terminal, "new")
    await terminal.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id})
    assert (await terminal.poll()).json["commands"] == []


async def test_long_poll_returns_as_soon_as_a_command_is_created(
    app: AppRunner, terminal: Terminal
) -> None:
    poll = asyncio.create_task(terminal.poll(wait=WAIT_S))
    await polls_waiting(app, 1)
    started = time.monotonic()
    async with ea_commands.transaction():
        command_id = await make_command(terminal, "wake")
    reply = await poll
    elapsed = time.monotonic() - started
    assert [c["id"] for c in reply.json["commands"]] == [command_id]
    assert elapsed < WAIT_S / 2, elapsed  # woken, not timed out


async def test_long_poll_without_commands_waits_and_answers_empty(terminal: Terminal) -> None:
    started = time.monotonic()
    reply = await terminal.poll(wait=1)
    assert reply.status == 200 and reply.json["commands"] == []
    assert time.monotonic() - started >= 0.9  # it waited (a hang is pytest-timeout's to catch)


async def test_a_command_committed_elsewhere_is_found_when_the_wait_ends(
    app: AppRunner, terminal: Terminal
) -> None:
    # The row must be in before the wait ends: 3 s leave room for one INSERT however busy.
    poll = asyncio.create_task(terminal.poll(wait=3))
    await polls_waiting(app, 1)
    await Command.create(  # as another replica would: no wake-up reaches this process
        id="cmd_" + "e" * 32, device_id=terminal.pk, type=CommandType.CLOSE,
        dedupe_key=f"elsewhere:{terminal.pk}", payload={**OPEN, "ticket": 9},
    )  # fmt: skip
    assert [c["id"] for c in (await poll).json["commands"]] == ["cmd_" + "e" * 32]


WAITS_THAT_ARE_NOT_NUMBERS = [
    "²",  # str.isdigit() says yes, int() raises: this was a 500
    "٣",  # int() says 3: this waited 3 s
    "１",  # fullwidth 1
    "+1",
    " 1",
    "1_0",
    "1e1",
    "99999999999999999999999",
]


@pytest.mark.parametrize("wait", ["-1", "31", "abc", "1.5", "", *WAITS_THAT_ARE_NOT_NUMBERS])
async def test_bad_wait_is_400(terminal: Terminal, wait: str) -> None:
    path = "/ea/v1/commands?wait=" + quote(wait)  # signed as sent, percent-encoded
    reply = await terminal.call("GET", path)
    assert reply.status == 400, reply.body
    assert reply.content_type == "application/problem+json"
    assert reply.json["field"] == "wait" and "0 to 30" in reply.json["detail"]


async def test_too_many_parallel_polls_are_refused(app: AppRunner, terminal: Terminal) -> None:
    polls = [asyncio.create_task(terminal.poll(wait=WAIT_S)) for _ in range(4)]
    await polls_waiting(app, 4)
    extra = await terminal.poll(wait=WAIT_S)
    assert extra.status == 429
    await make_command(terminal, "release")
    assert all(r.status == 200 for r in await asyncio.gather(*polls))


async def test_acks_are_idempotent_and_conflicts_409(terminal: Terminal) -> None:
    command_id = await make_command(terminal, "ack")
    ack = {**ACK, "command_id": command_id}
    first = await terminal.call("POST", "/ea/v1/acks", ack)
    assert first.status == 200
    assert first.json == {"command_id": command_id, "status": "filled", "ticket": 123456}
    again = await terminal.call("POST", "/ea/v1/acks", {**ack, "ticket": 999, "price": 1})
    assert (again.status, again.body) == (200, first.body)
    late = await terminal.call("POST", "/ea/v1/acks", {**ack, "status": "accepted"})
    assert late.status == 409 and late.json["current"] == "filled"
    closed = await terminal.call("POST", "/ea/v1/acks", {**ack, "status": "closed"})
    assert closed.json["status"] == "closed"
    row = await Command.get(id=command_id)
    assert (row.status, row.ticket, row.last_ack["status"]) == ("closed", 123456, "closed")


async def test_ack_of_another_devices_command_is_403_and_unknown_404(
    app: AppRunner, terminal: Terminal
) -> None:
    other = await new_terminal(app.base_url, terminal.http)
    command_id = await make_command(other, "theirs")
    stolen = await terminal.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id})
    assert stolen.status == 403
    assert (await Command.get(id=command_id)).status == CommandStatus.PENDING
    missing = await terminal.call("POST", "/ea/v1/acks", {**ACK, "command_id": "cmd_nope"})
    assert missing.status == 404


async def test_what_follows_an_ack_runs_once_per_transition_and_failures_roll_back(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, str]] = []

    async def follow_up(command: ea_commands.CommandInfo, ack: AckIn) -> None:
        if ack.status is CommandStatus.REJECTED:
            raise RuntimeError("what follows broke")
        seen.append((command.id, command.previous_status.value, command.status.value))

    monkeypatch.setattr(fills, "on_ack", follow_up)
    command_id = await make_command(terminal, "hooks")
    ack = {**ACK, "command_id": command_id, "status": "accepted"}
    for _ in range(2):
        assert (await terminal.call("POST", "/ea/v1/acks", ack)).status == 200
    assert seen == [(command_id, "pending", "accepted")]
    broken = await terminal.call("POST", "/ea/v1/acks", {**ack, "status": "rejected"})
    assert broken.status == 503
    assert (await Command.get(id=command_id)).status == CommandStatus.ACCEPTED


async def test_reports_reach_their_services_as_typed_values(
    app: AppRunner, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: dict[str, Any] = {}

    async def on_account(device: DeviceRef, report: AccountReport) -> None:
        got["account"] = (device, report)

    async def on_symbols(device: DeviceRef, symbols: list[SymbolReport]) -> None:
        got["symbols"] = symbols

    async def on_bars(device: DeviceRef, bars: list[BarIn]) -> None:
        got["bars"] = bars

    account = {"balance": 10000.5, "equity": 9990, "margin": 12.3, "currency": "USD",
               "positions": [{"ticket": 5, "symbol": "XAUUSDm", "side": "sell", "volume": 0.1,
                              "open_price": 2350.5, "sl": 0, "tp": 2300, "profit": -9.5,
                              "comment": "sd:cmd"}]}  # fmt: skip
    symbol = {"name": "XAUUSDm", "digits": 2, "point": 0.01, "tick_size": 0.01,
              "tick_value": 1, "contract_size": 100, "volume_min": 0.01, "volume_max": 100,
              "volume_step": 0.01, "stops_level": 0}  # fmt: skip
    bar = {"symbol": "XAUUSDm", "time": 1_700_000_000, "open": 1, "high": 2, "low": 0.5,
           "close": 1.5, "volume": 10}  # fmt: skip
    assert app.bars is not None  # the assembly's router, handed to the EA routes
    monkeypatch.setattr(reports, "on_account", on_account)
    monkeypatch.setattr(reports, "on_symbols", on_symbols)
    monkeypatch.setattr(app.bars, "on_bars", on_bars)
    assert (await terminal.call("POST", "/ea/v1/account", account)).status == 204
    assert (await terminal.call("POST", "/ea/v1/symbols", {"symbols": [symbol]})).status == 204
    assert (await terminal.call("POST", "/ea/v1/bars", {"bars": [bar]})).status == 204
    device, report = got["account"]
    assert device == DeviceRef(terminal.pk, terminal.device_id, device.user_id)
    assert report.balance == Decimal("10000.5") and report.currency == "USD"
    position = report.positions[0]
    assert (position.ticket, position.sl, position.tp) == (5, None, Decimal(2300))
    assert got["symbols"][0].point == Decimal("0.01") and got["symbols"][0].digits == 2
    assert got["bars"][0].time == datetime.fromtimestamp(1_700_000_000, UTC)


async def test_encrypted_responses_open_with_the_hkdf_key(app: AppRunner, http: Any) -> None:
    t = await new_terminal(app.base_url, http, encrypt_payloads=True)
    command_id = await make_command(t, "enc")
    reply = await t.poll()
    envelope = reply.json
    assert set(envelope) == {"enc", "nonce", "ciphertext"} and envelope["enc"] == "aes-256-gcm"
    opened = decrypt_payload(t.secret, t.device_id, envelope)
    assert [c["id"] for c in opened["commands"]] == [command_id]
    ack = await t.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id})
    assert decrypt_payload(t.secret, t.device_id, ack.json)["status"] == "filled"
    assert (await t.call("POST", "/ea/v1/acks", {"command_id": 1})).json["status"] == 422


POSITION = {"ticket": 1, "symbol": "X", "side": "buy", "volume": 1, "open_price": 1,
            "profit": 0}  # fmt: skip
BAD_BODIES = [
    ("/ea/v1/acks", b"", 400, None),
    ("/ea/v1/acks", b"{not json", 400, None),
    ("/ea/v1/acks", b"[1, 2]", 400, None),
    ("/ea/v1/acks", b'{"command_id": "c", "status": "filled", "price": NaN}', 400, None),
    ("/ea/v1/acks", b"\xff\xfe", 400, None),
    ("/ea/v1/acks", b"[" * 100_000, 400, None),
    ("/ea/v1/acks", {"status": "filled"}, 422, "command_id"),
    ("/ea/v1/acks", {"command_id": 5, "status": "filled"}, 422, "command_id"),
    ("/ea/v1/acks", {"command_id": "c", "status": "pending"}, 422, "status"),
    ("/ea/v1/acks", {"command_id": "c", "status": "filled", "ticket": "7"}, 422, "ticket"),
    ("/ea/v1/acks", {"command_id": "c", "status": "filled", "ticket": True}, 422, "ticket"),
    ("/ea/v1/acks", {"command_id": "c", "status": "filled", "price": "1.5"}, 422, "price"),
    ("/ea/v1/acks", {"command_id": "c", "status": "filled", "time": -5}, 422, "time"),
    ("/ea/v1/acks", {"command_id": "c", "status": "filled", "volume": 1e300}, 422, "volume"),
    ("/ea/v1/account", {"balance": 1, "equity": 1, "margin": 0}, 422, "currency"),
    (
        "/ea/v1/account",
        {"balance": 1, "equity": 1, "margin": 0, "currency": "USD", "positions": {}},
        422,
        "positions",
    ),  # fmt: skip
    (
        "/ea/v1/account",
        {
            "balance": 1,
            "equity": 1,
            "margin": 0,
            "currency": "USD",
            "positions": [{**POSITION, "side": "long"}],
        },
        422,
        "positions[0].side",
    ),
    (
        "/ea/v1/account",
        {"balance": 1, "equity": 1, "margin": 0, "currency": "USD", "positions": [POSITION, 3]},
        422,
        "positions[1]",
    ),  # fmt: skip
    ("/ea/v1/symbols", {}, 422, "symbols"),
    ("/ea/v1/symbols", {"symbols": [{"name": "X", "digits": 99}]}, 422, "symbols[0].digits"),
    ("/ea/v1/bars", {"bars": [{"symbol": "X", "time": "yesterday"}]}, 422, "bars[0].time"),
    ("/ea/v1/bars", {"bars": [{"symbol": "", "time": 1}]}, 422, "bars[0].symbol"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), BAD_BODIES)
async def test_malformed_bodies_are_4xx_problems(
    terminal: Terminal, path: str, body: Any, status: int, field: str | None
) -> None:
    raw = body if isinstance(body, bytes) else None
    reply = await terminal.call("POST", path, None if raw is not None else body, raw=raw)
    assert reply.status == status, reply.body
    assert reply.content_type == "application/problem+json"
    assert reply.json["status"] == status and reply.json["detail"]
    assert reply.json["instance"] == path and reply.json["ref"]
    if field is not None:
        assert reply.json["field"] == field
        assert reply.json["detail"].startswith(field)


async def test_unknown_route_and_wrong_method_are_problems(terminal: Terminal) -> None:
    assert (await terminal.call("GET", "/ea/v1/nothing")).json["status"] == 404
    assert (await terminal.call("POST", "/ea/v1/commands", {})).json["status"] == 405


# Text no database stores as sent: JSON's "\ud800" escape is an unpaired surrogate (not UTF-8),
# and PostgreSQL's text refuses NUL. Retrying cannot help, so never a 503 "retry": a 422.
UNSTORABLE = ["\ud800", "ok\udfffok", "a\x00b"]
ACCOUNT = {"balance": 1, "equity": 1, "margin": 0, "currency": "USD"}
SYMBOL = {"name": "XAUUSDm", "digits": 2, "point": 0.01, "tick_size": 0.01, "tick_value": 1,
          "contract_size": 100, "volume_min": 0.01, "volume_max": 100, "volume_step": 0.01}  # fmt: skip
BAR = {"symbol": "XAUUSDm", "time": 1_700_000_000, "open": 1, "high": 2, "low": 0.5, "close": 1.5}


def unstorable_bodies(text: str, command_id: str) -> list[tuple[str, dict[str, Any], str]]:
    return [
        ("/ea/v1/acks", {**ACK, "command_id": command_id, "error": text}, "error"),
        ("/ea/v1/acks", {**ACK, "command_id": text}, "command_id"),
        ("/ea/v1/account", {**ACCOUNT, "currency": text}, "currency"),
        ("/ea/v1/account", {**ACCOUNT, "positions": [{**POSITION, "comment": text}]},
         "positions[0].comment"),
        ("/ea/v1/account", {**ACCOUNT, "positions": [{**POSITION, "symbol": text}]},
         "positions[0].symbol"),
        ("/ea/v1/symbols", {"symbols": [{**SYMBOL, "name": text}]}, "symbols[0].name"),
        ("/ea/v1/bars", {"bars": [{**BAR, "symbol": text}]}, "bars[0].symbol"),
    ]  # fmt: skip


@pytest.mark.parametrize("text", UNSTORABLE)
async def test_unstorable_text_in_any_string_field_is_422_naming_the_field(
    terminal: Terminal, text: str
) -> None:
    command_id = await make_command(terminal, f"unstorable-{UNSTORABLE.index(text)}")
    for path, body, field in unstorable_bodies(text, command_id):
        reply = await terminal.call("POST", path, body)  # json.dumps writes \\ud800 escapes
        assert reply.status == 422, (path, field, reply.body)
        assert reply.json["field"] == field
    # nothing was recorded: the command is still pending and its ack still works
    ok = await terminal.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id})
    assert ok.status == 200 and ok.json["status"] == "filled"
