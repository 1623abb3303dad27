"""Signed requests over real HTTP: what passes, and every way a request is refused (401/413)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import AppRunner
from ea.api import HUB_KEY
from ea.crypto import new_nonce, sign_request
from models.devices import Device, DeviceStatus
from services.terminals import devices
from tests.ea.conftest import MASTER_KEY, Terminal, polls_waiting
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.asyncio(loop_scope="module")
PROBLEM = "application/problem+json"
WAIT_S = 30  # the longest poll a terminal may ask for


def assert_problem(reply: object, status: int, detail_part: str = "") -> None:
    assert reply.status == status, reply.body  # type: ignore[attr-defined]
    assert reply.content_type == PROBLEM  # type: ignore[attr-defined]
    body = reply.json  # type: ignore[attr-defined]
    assert body["status"] == status and body["title"]
    assert detail_part in body.get("detail", "")


async def test_good_request_is_served(terminal: Terminal) -> None:
    reply = await terminal.poll()
    assert reply.status == 200
    assert reply.json["commands"] == []
    assert abs(reply.json["server_time"] - time.time()) < 5


async def test_replayed_nonce_is_refused(terminal: Terminal) -> None:
    nonce = new_nonce()
    assert (await terminal.call("GET", "/ea/v1/commands?wait=0", nonce=nonce)).status == 200
    again = await terminal.call("GET", "/ea/v1/commands?wait=0", nonce=nonce)
    assert_problem(again, 401, "nonce")


async def test_bad_signature_does_not_burn_the_nonce(terminal: Terminal) -> None:
    nonce = new_nonce()
    forged = await terminal.call(
        "GET", "/ea/v1/commands?wait=0", nonce=nonce, headers={"X-Signature": "0" * 64}
    )
    assert_problem(forged, 401, "signature")
    assert (await terminal.call("GET", "/ea/v1/commands?wait=0", nonce=nonce)).status == 200


async def test_tampered_body_is_refused(terminal: Terminal) -> None:
    signed = b'{"command_id": "cmd_1", "status": "filled"}'
    sent = b'{"command_id": "cmd_2", "status": "filled"}'
    reply = await terminal.call("POST", "/ea/v1/acks", raw=sent, signed_body=signed)
    assert_problem(reply, 401, "signature")


async def test_tampered_query_is_refused(terminal: Terminal) -> None:
    headers = sign_request(terminal.secret, "GET", "/ea/v1/commands?wait=0")
    headers["X-Device-Id"] = terminal.device_id
    url = terminal.base_url + "/ea/v1/commands?wait=1"
    async with terminal.http.get(url, headers=headers) as resp:
        assert resp.status == 401


@pytest.mark.parametrize("offset_s", [-301, 301])
async def test_stale_timestamp_is_refused(terminal: Terminal, offset_s: int) -> None:
    reply = await terminal.call(
        "GET", "/ea/v1/commands?wait=0", timestamp=int(time.time()) + offset_s
    )
    assert_problem(reply, 401, "X-Timestamp")
    assert abs(reply.json["server_time"] - time.time()) < 5


async def test_timestamp_within_the_window_is_accepted(terminal: Terminal) -> None:
    reply = await terminal.call("GET", "/ea/v1/commands?wait=0", timestamp=int(time.time()) - 290)
    assert reply.status == 200


async def test_unknown_device_is_refused(terminal: Terminal) -> None:
    terminal.device_id = "dev_doesnotexist"
    assert_problem(await terminal.poll(), 401, "unknown or revoked")


async def test_revoked_device_is_refused_at_once(app: AppRunner, terminal: Terminal) -> None:
    assert (await terminal.poll()).status == 200  # cached as active
    waiting = asyncio.create_task(terminal.poll(wait=WAIT_S))
    await polls_waiting(app, 1)
    started = time.monotonic()
    await devices.revoke(None, terminal.device_id)
    ended = await waiting  # the open long poll ends at once, with nothing
    assert (ended.status, ended.json["commands"]) == (200, [])
    assert time.monotonic() - started < WAIT_S / 2  # ended by the revocation, not the wait
    assert_problem(await terminal.poll(), 401, "unknown or revoked")


@pytest.mark.parametrize(
    ("header", "value", "detail"),
    [
        ("X-Device-Id", "", "X-Device-Id"),
        ("X-Device-Id", "dev with spaces", "X-Device-Id"),
        ("X-Timestamp", "", "X-Timestamp"),
        ("X-Timestamp", "17e8", "X-Timestamp"),
        ("X-Nonce", "short", "X-Nonce"),
        ("X-Nonce", "n" * 65, "X-Nonce"),
        ("X-Nonce", "has/slash-and-is-long-enough", "X-Nonce"),
        ("X-Signature", "", "X-Signature"),
        ("X-Signature", "A" * 64, "X-Signature"),
    ],
)
async def test_malformed_headers_are_refused(
    terminal: Terminal, header: str, value: str, detail: str
) -> None:
    reply = await terminal.call("GET", "/ea/v1/commands?wait=0", headers={header: value})
    assert_problem(reply, 401, detail)


async def test_oversized_body_is_refused(terminal: Terminal) -> None:
    big = b'{"symbols": [' + b'{"name": "X"},' * 30_000 + b'{"name": "Y"}]}'
    assert len(big) > 256 * 1024
    assert_problem(await terminal.call("POST", "/ea/v1/symbols", raw=big), 413)


async def test_oversized_chunked_body_is_refused(terminal: Terminal) -> None:
    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(300):
            yield b"x" * 1024

    headers = sign_request(terminal.secret, "POST", "/ea/v1/bars", device_id=terminal.device_id)
    url = terminal.base_url + "/ea/v1/bars"
    async with terminal.http.post(url, data=chunks(), headers=headers) as resp:
        assert resp.status == 413
        assert (await resp.json(content_type=None))["status"] == 413


async def test_a_revocation_by_another_process_ends_open_polls(
    app: AppRunner, terminal: Terminal
) -> None:
    """What the CLI does to the shared database: no in-process mark here, no bus (SQLite)."""
    hub = app.web_app[HUB_KEY]
    before = hub.ended_by_revocation
    waiting = asyncio.create_task(terminal.poll(wait=30))
    await until(lambda: hub.waiting_for(terminal.pk) == 1, timeout_s=30)
    now = datetime.now(UTC)
    await Device.filter(id=terminal.pk).update(status=DeviceStatus.REVOKED, revoked_at=now)
    ended = await waiting
    assert (ended.status, ended.json["commands"]) == (200, [])
    assert hub.ended_by_revocation == before + 1  # the revocation ended it, not the wait
    assert_problem(await terminal.poll(), 401, "unknown or revoked")


async def test_a_revocation_from_the_cli_ends_open_polls(
    app: AppRunner, terminal: Terminal, db_url: str, key_dir: Path
) -> None:
    hub = app.web_app[HUB_KEY]
    before = hub.ended_by_revocation
    env = {**os.environ, "DATABASE_URL": db_url, "MASTER_KEY": MASTER_KEY}
    env["DATA_DIR"] = str(key_dir)
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "devices", "revoke", terminal.device_id,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    done = asyncio.create_task(cli.communicate())
    while True:  # a poll is open when the CLI revokes (on a loaded machine it starts slowly)
        ended = await terminal.poll(wait=30)
        assert (ended.status, ended.json["commands"]) == (200, [])
        if hub.ended_by_revocation > before or done.done():
            break
    out, err = await done
    assert cli.returncode == 0, err.decode()
    assert out.decode().strip() == f"{terminal.device_id} revoked"
    assert hub.ended_by_revocation == before + 1  # the revocation ended it, not the wait
    assert_problem(await terminal.poll(), 401, "unknown or revoked")
