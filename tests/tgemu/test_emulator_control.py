"""The control API: RFC 7807 problems for bad input, long-polled transcripts, reset."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiohttp import web

from tests.tgemu.helpers import USER_ID
from tgemu import Emulator, EmulatorClient, EmulatorServer, setup_sandbox, start_emulator
from tgemu.guard import TOKEN_HEADER

PROBLEMS = [
    ("POST", "send", {}, 422),
    ("POST", "send", {"user_id": "1000002", "text": "x"}, 422),
    ("POST", "send", {"user_id": 5, "text": "hi"}, 404),
    ("POST", "send", {"user_id": USER_ID, "text": ""}, 422),
    ("POST", "send", {"user_id": USER_ID, "text": "x", "chat_id": -1}, 404),
    ("POST", "send", {"user_id": USER_ID, "text": "x", "reply_to_message_id": 50}, 404),
    ("POST", "send", [1, 2], 400),
    ("POST", "press", {"user_id": USER_ID, "message_id": 1}, 422),
    ("POST", "press", {"user_id": USER_ID, "message_id": 1, "callback_data": "x"}, 404),
    ("POST", "pay", {"user_id": USER_ID, "chat_id": USER_ID, "message_id": 1}, 404),
    ("POST", "pay", {"user_id": USER_ID, "invoice_link": "https://t.me/$nope"}, 404),
    ("POST", "users", {"id": -4, "first_name": "Neg"}, 422),
    ("POST", "users", {"id": 4}, 422),
    ("POST", "chats", {"id": 5, "type": "group", "title": "t"}, 422),
    ("POST", "chats", {"id": -5, "type": "group", "title": "t", "members": [99]}, 404),
    ("POST", "limits", {"per_chat_per_s": -1}, 422),
    ("POST", "limits", {"enabled": "yes"}, 422),
    ("POST", "faults", {"method": "sendMessage", "error_code": 418}, 422),
    ("POST", "faults", {"method": "sendMessage", "error_code": 429, "retry_after": 0}, 422),
    ("POST", "block", {"user_id": 12}, 404),
    ("POST", "join", {"user_id": USER_ID}, 422),
    ("GET", "chats/abc/messages", None, 400),
    ("GET", f"chats/{USER_ID}/messages?wait=soon", None, 400),
    ("GET", f"chats/{USER_ID}/messages?after_seq=x", None, 400),
    ("GET", f"chats/{USER_ID}/messages?wait=1000", None, 400),
    # every integer parameter is ASCII digits, in range, or a 400 (int() alone takes "1_0")
    ("GET", f"chats/{USER_ID}/messages?after_seq=1_0", None, 400),
    ("GET", f"chats/{USER_ID}/messages?after_seq=%201", None, 400),
    ("GET", f"chats/{USER_ID}/messages?after_seq=-1", None, 400),
    ("GET", f"chats/{USER_ID}/messages?after_seq=", None, 400),
    ("GET", f"chats/{USER_ID}/messages?wait=1e1", None, 400),
    ("GET", f"chats/{USER_ID}/messages?wait=nan", None, 400),
    ("GET", f"chats/{USER_ID}/commands?user_id=abc", None, 400),
    ("GET", f"chats/{USER_ID}/commands?user_id=0", None, 400),
    ("GET", f"chats/{USER_ID}/commands?user_id=", None, 400),
    ("GET", "chats/1_0/commands", None, 400),
    ("GET", "webhook?min_attempts=1.5", None, 400),
    ("GET", "webhook?min_attempts=x", None, 400),
    ("GET", "webhook?wait=soon", None, 400),
    ("GET", "callback/123?wait=x", None, 400),
    ("GET", "callback/123", None, 404),
    ("GET", "files/unknown", None, 404),
    ("GET", "no/such/route", None, 404),
    ("DELETE", "users", None, 405),
]


@pytest.mark.parametrize(("verb", "path", "body", "status"), PROBLEMS)
async def test_bad_input_gets_rfc7807_problem(
    server: EmulatorServer,
    client: EmulatorClient,
    verb: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    headers = {TOKEN_HEADER: server.control_token}
    async with (
        aiohttp.ClientSession() as session,
        session.request(verb, f"{server.url}/_control/{path}", json=body, headers=headers) as resp,
    ):
        problem = await resp.json(content_type=None)
        assert resp.status == status
        assert resp.content_type == "application/problem+json"
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"].startswith("https://")


async def test_malformed_json_is_a_400_problem(server: EmulatorServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.url}/_control/send",
            data=b"{oops",
            headers={TOKEN_HEADER: server.control_token, "Content-Type": "application/json"},
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json(content_type=None))["title"] == "Malformed JSON"


async def test_entities_of_what_users_type(client: EmulatorClient) -> None:
    sent = await client.send(USER_ID, "/start@signaldesk_bot ref ask @sam_trades https://x.test")
    assert sent["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 21},
        {"type": "mention", "offset": 30, "length": 11},
        {"type": "url", "offset": 42, "length": 14},
    ]


async def test_transcript_long_poll_wakes_on_new_message(bot: Bot, client: EmulatorClient) -> None:
    waiting = asyncio.create_task(client.events(USER_ID, after_seq=0, wait=60))
    await bot.send_chat_action(USER_ID, "typing")
    answer = await asyncio.wait_for(waiting, 30)  # woken: far sooner than the 60 s wait
    assert [e["type"] for e in answer["events"]] == ["chat_action"]
    assert answer["last_seq"] == answer["events"][0]["seq"]
    empty = await client.events(USER_ID, after_seq=answer["last_seq"], wait=0)
    assert empty["events"] == [] and empty["last_seq"] == answer["last_seq"]


async def test_wait_for_times_out_cleanly(client: EmulatorClient) -> None:
    with pytest.raises(TimeoutError, match="no matching message"):
        await client.wait_for(USER_ID, lambda m: m["from_bot"], timeout=0.2)


async def test_users_list_and_reset(bot: Bot, client: EmulatorClient) -> None:
    await bot.send_message(USER_ID, "before reset")
    users = {u["id"]: u for u in await client.users()}
    assert users[USER_ID]["label"] == "Subscriber" and users[USER_ID]["is_bot"] is False
    await client.reset()
    assert await client.messages(USER_ID) == []
    assert (await client.stats())["methods"] == {}
    assert {u["id"] for u in await client.users()} == set(users)
    fresh = await bot.send_message(USER_ID, "after reset")
    assert fresh.message_id == 1
    await client.reset(users=True)
    assert await client.users() == []


async def test_non_loopback_clients_are_refused() -> None:
    from tgemu.control_io import _is_loopback

    assert _is_loopback("127.0.0.1") and _is_loopback("::1")
    assert not _is_loopback("192.0.2.10") and not _is_loopback(None)


async def test_start_emulator_standalone() -> None:
    runner, base_url, emulator = await start_emulator(token="42:standalone")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base_url}/bot42:standalone/getMe") as resp,
        ):
            me = await resp.json()
        assert me["result"]["id"] == 42 == emulator.bot_id
    finally:
        await runner.cleanup()


async def test_sandbox_page_and_assets_are_served() -> None:
    app = web.Application()
    emulator = Emulator()
    setup_sandbox(app, emulator, control_token="page-token")
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
            async with session.get("/sandbox") as resp:
                page = await resp.text()
                assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
            async with session.get("/emulator/_static/sandbox.js") as resp:
                assert resp.status == 200 and "controlBase" in await resp.text()
            headers = {TOKEN_HEADER: "page-token"}
            async with session.get("/emulator/_control/users", headers=headers) as resp:
                labels = [u["label"] for u in (await resp.json())["users"]]
    finally:
        await runner.cleanup()
    assert 'data-control-base="/emulator/_control"' in page
    assert 'data-control-token="page-token"' in page
    assert 'href="/emulator/_static/sandbox.css"' in page
    assert "Sandbox: offline Telegram emulator — loopback only" in page
    assert labels == ["Owner", "Subscriber", "New visitor"]
