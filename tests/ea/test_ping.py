"""GET /ea/v1/ping: the signed no-op the MQL5 self-test calls."""

from __future__ import annotations

import time

import pytest

from bot.app import AppRunner
from ea.crypto import decrypt_payload
from tests.ea.conftest import Terminal, new_terminal

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_ping_answers_the_server_time_and_the_device(terminal: Terminal) -> None:
    before = int(time.time())
    reply = await terminal.call("GET", "/ea/v1/ping")
    assert reply.status == 200 and reply.content_type == "application/json"
    assert reply.json == {
        "server_time": reply.json["server_time"],
        "device_id": terminal.device_id,
    }
    assert before <= reply.json["server_time"] <= int(time.time())


@pytest.mark.parametrize(
    ("sign_kw", "headers", "detail"),
    [
        ({}, {"X-Signature": "0" * 64}, "bad signature"),
        ({"timestamp": 1_000_000_000}, {}, "X-Timestamp"),
        ({"nonce": "short"}, {}, "X-Nonce"),
    ],
)
async def test_a_bad_ping_is_a_401_problem(
    terminal: Terminal, sign_kw: dict, headers: dict, detail: str
) -> None:
    reply = await terminal.call("GET", "/ea/v1/ping", headers=headers, **sign_kw)
    assert reply.status == 401 and reply.content_type == "application/problem+json"
    assert reply.json["status"] == 401 and detail in reply.json["detail"]


async def test_ping_with_a_used_nonce_is_refused(terminal: Terminal) -> None:
    nonce = "n" * 20
    assert (await terminal.call("GET", "/ea/v1/ping", nonce=nonce)).status == 200
    again = await terminal.call("GET", "/ea/v1/ping", nonce=nonce)
    assert again.status == 401 and "nonce" in again.json["detail"]


async def test_ping_is_encrypted_for_a_device_that_asked(
    app: AppRunner, terminal: Terminal
) -> None:
    sealed = await new_terminal(app.base_url, terminal.http, encrypt_payloads=True)
    reply = await sealed.call("GET", "/ea/v1/ping")
    assert set(reply.json) == {"enc", "nonce", "ciphertext"}  # the self-test reports this
    assert decrypt_payload(sealed.secret, sealed.device_id, reply.json)["device_id"] == (
        sealed.device_id
    )
