"""The MQL5 self-test parses captured server answers (SD_VEC_* in SignalDeskSelfTest.mq5):
they must be byte for byte what the real server sends, so they cannot silently rot. Only the
parts that differ per run (command id, device id, server time) are put back to the vector's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from models.devices import CommandType
from services.terminals import commands as ea_commands
from tests.ea.client.test_mql5_source import defines
from tests.ea.conftest import Terminal

pytestmark = pytest.mark.asyncio(loop_scope="module")
VECTOR_ID = "cmd_0123456789abcdef0123456789abcdef"
OPEN = {"symbol": "XAUUSDm", "side": "buy", "order_type": "limit", "price": "2350.50",
        "sl": "2340", "tp": "2371.25", "volume": "0.10", "comment": "sd:7"}  # fmt: skip


def fixed(body: bytes, **replace: str) -> str:
    text = re.sub(r'"server_time":\s*\d+', '"server_time":1700000000', body.decode())
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


async def test_the_self_test_vectors_are_what_the_server_sends(terminal: Terminal) -> None:
    vectors = defines()
    command_id = await ea_commands.create(
        terminal.pk, CommandType.OPEN, OPEN, signal_id=7, dedupe_key=f"{terminal.pk}:vec",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert command_id is not None
    poll = await terminal.poll()
    assert fixed(poll.body, **{command_id: VECTOR_ID}) == vectors["SD_VEC_COMMANDS"]

    ack = {"command_id": command_id, "status": "placed", "ticket": 123456789012}
    answer = await terminal.call("POST", "/ea/v1/acks", ack)
    assert fixed(answer.body, **{command_id: VECTOR_ID}) == vectors["SD_VEC_ACK_ANSWER"]

    ping = await terminal.call("GET", "/ea/v1/ping")
    expected_ping = vectors["SD_VEC_PING"]
    assert fixed(ping.body, **{terminal.device_id: "dev_selftest01"}) == expected_ping

    bad = {"X-Signature": "0" * 64, "X-Request-Id": "selftest-1"}  # the ref the vector shows
    refused = await terminal.call("GET", "/ea/v1/ping", headers=bad)
    assert refused.status == 401
    assert refused.body.decode() == vectors["SD_VEC_PROBLEM"]
