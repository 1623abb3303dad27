"""The emulator's guard: only the sandbox page (same origin, with the per-start token) or a local
client holding the token may drive it; a web page the sandbox user visits may not."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.tgemu.helpers import TOKEN, USER_ID
from tgemu import Emulator, EmulatorServer, setup_sandbox
from tgemu.guard import TOKEN_HEADER, is_loopback_host
from tgemu.server import CONTROL_TOKEN

OWNER = 1000001
ATTACK = b'{"user_id": 1000001, "text": "/role 1000003 admin"}'


async def call(
    server: EmulatorServer,
    verb: str,
    path: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(verb, f"{server.url}/{path}", data=data, headers=headers or {}) as resp,
    ):
        return resp.status, resp.content_type, await resp.json(content_type=None)


def token(server: EmulatorServer, **more: str) -> dict[str, str]:
    return {TOKEN_HEADER: server.control_token, **more}


JSON = {"Content-Type": "application/json"}
READS = ["_control/users", f"_control/chats/{USER_ID}/messages?wait=0", "_control/bot",
         "_control/stats", "_control/files/unknown", "_control/webhook"]  # fmt: skip


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("given", [None, "", "not-the-token"])
async def test_every_control_read_needs_the_token(
    server: EmulatorServer, path: str, given: str | None
) -> None:
    headers = {} if given is None else {TOKEN_HEADER: given}
    status, kind, problem = await call(server, "GET", path, headers=headers)
    assert (status, kind) == (403, "application/problem+json")
    assert problem["title"] == "Control token required" and TOKEN_HEADER in problem["detail"]


async def test_the_cross_site_text_plain_post_of_the_report_is_refused(
    server: EmulatorServer,
) -> None:
    server.emulator.add_user(OWNER, "Olivia")
    attacks = [
        {"Content-Type": "text/plain", "Origin": "http://evil.example"},  # the report's page
        {"Content-Type": "text/plain"},  # no Origin (an old browser, a privacy extension)
        token(server, **{"Content-Type": "text/plain"}),  # even with the token: JSON only
        token(server, **{"Content-Type": "application/x-www-form-urlencoded"}),
        token(server, **{"Content-Type": "multipart/form-data; boundary=x"}),
        token(server, **JSON, Origin="http://evil.example"),  # token leaked, wrong origin
        token(server, **JSON, Origin="null"),  # sandboxed iframes, file:// pages
        token(server, **JSON, Origin=f"{server.url}.evil.example"),
    ]
    statuses = [
        (await call(server, "POST", "_control/send", data=ATTACK, headers=h))[0] for h in attacks
    ]
    assert statuses == [403, 403, 415, 415, 415, 403, 403, 403]
    assert server.emulator.updates == [] and server.emulator.events_after(OWNER, 0) == []


async def test_a_post_without_any_body_needs_json_too(server: EmulatorServer) -> None:
    status, _, problem = await call(server, "POST", "_control/reset", headers=token(server))
    assert status == 415 and problem["title"] == "Unsupported media type"
    ok = await call(server, "POST", "_control/reset", data=b"{}", headers=token(server, **JSON))
    assert ok[0] == 200


@pytest.mark.parametrize(
    "host", ["evil.example:8080", "evil.example", "127.0.0.1.evil.example", "10.0.0.5:80", ""]
)
@pytest.mark.parametrize(
    "path", ["_control/users", f"bot{TOKEN}/getMe", "_static/sandbox.js", "_control/send"]
)
async def test_a_rebound_host_is_misdirected_everywhere(
    server: EmulatorServer, host: str, path: str
) -> None:
    verb = "POST" if path.endswith("send") else "GET"
    body = ATTACK if verb == "POST" else None
    status, kind, answer = await call(
        server, verb, path, data=body, headers=token(server, **JSON, Host=host)
    )
    assert status == 421
    if path.startswith("bot"):  # the Bot API answers in Telegram's shape
        assert answer["ok"] is False and answer["error_code"] == 421
    else:
        assert kind == "application/problem+json" and "loopback Host" in answer["detail"]


async def test_same_origin_requests_with_the_token_work(server: EmulatorServer) -> None:
    server.emulator.add_user(USER_ID, "Sam")
    headers = token(server, **JSON, Origin=server.url)
    body = b'{"user_id": 1000002, "text": "hi"}'
    status, _, sent = await call(server, "POST", "_control/send", data=body, headers=headers)
    assert status == 200 and sent["message"]["text"] == "hi"
    for host in ("localhost", "LOCALHOST:1", "[::1]:8080", "127.0.0.2", "app.localhost:80"):
        status, _, _ = await call(
            server, "GET", "_control/users", headers=token(server, Host=host)
        )
        assert status == 200, host


async def test_the_bot_api_needs_no_control_token(server: EmulatorServer) -> None:
    status, _, me = await call(server, "GET", f"bot{TOKEN}/getMe")
    assert status == 200 and me["result"]["is_bot"] is True
    status, _, _ = await call(
        server, "POST", f"bot{TOKEN}/getMe", headers={"Origin": "http://evil.example"}
    )
    assert status == 403


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8080", True), ("127.8.9.10", True), ("[::1]:80", True), ("[::1]", True),
        ("localhost:8080", True), ("LocalHost", True), ("a.b.localhost:1", True),
        ("localhost.", True), ("evil.example", False), ("localhost.evil.example", False),
        ("127.0.0.1.nip.io", False), ("[::ffff:10.0.0.1]", False), ("0.0.0.0:8080", False),
        ("192.168.1.2", False), ("user@127.0.0.1", False), ("127.0.0.1:8080/x", False),
        ("127.0.0.1:", False), ("", False), (None, False), ("[::1", False),
    ],
)  # fmt: skip
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


async def test_sandbox_page_carries_a_fresh_token_and_refuses_a_rebound_host() -> None:
    tokens = []
    for _ in range(2):
        app = web.Application()
        subapp = setup_sandbox(app, Emulator())
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
                async with session.get("/sandbox") as resp:
                    page = await resp.text()
                evil = {"Host": "evil.example:8080"}
                async with session.get("/sandbox", headers=evil) as resp:
                    assert resp.status == 421
                    assert "data-control-token" not in await resp.text()
        finally:
            await runner.cleanup()
        tokens.append(subapp[CONTROL_TOKEN])
        assert f'data-control-token="{subapp[CONTROL_TOKEN]}"' in page
    assert tokens[0] != tokens[1] and all(len(t) >= 40 for t in tokens)
