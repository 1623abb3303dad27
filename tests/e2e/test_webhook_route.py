"""The webhook route over HTTP, in both modes: problems for bad input, never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from models.notifications import Notification
from tests.e2e.conftest import SUB, app_settings, running_app, webhook_settings
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

SECRET = "s3cret-for-tests"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["webhook", "webhook-reply"])
async def hook_app(
    request: pytest.FixtureRequest, clean_db: str, emulator: EmulatorServer
) -> AsyncIterator[AppRunner]:
    settings = app_settings(clean_db, emulator.url, **webhook_settings(request.param))
    async with running_app(settings) as runner:
        yield runner


async def post(app: AppRunner, body: bytes, secret: str | None = SECRET) -> tuple[int, str, Any]:
    headers: dict[str, Any] = dict(JSON)
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    url = f"{app.base_url}{app.settings.webhook_path}"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, r.content_type, await r.json(content_type=None)


def help_update(update_id: int) -> dict[str, Any]:
    user = {"id": SUB, "is_bot": False, "first_name": "Sam", "username": "sam"}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": SUB, "type": "private", "first_name": "Sam"},
        "from": user,
        "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }
    return {"update_id": update_id, "message": message}


# One app per mode serves a whole table: starting the app is most of a test's time.
BAD_SECRETS = [None, "", "wrong", "s3cret-for-tests-", "sécret", "s3cret-for-tests\u00e9"]
MALFORMED = [
    (b"", "not UTF-8 JSON"),
    (b"not json", "not UTF-8 JSON"),
    (b'{"update_id": 1', "not UTF-8 JSON"),
    (b"\xff\xfe{}", "not UTF-8 JSON"),
    (b"[1, 2]", "not a Telegram Update"),
    (b"null", "not a Telegram Update"),
    (b"{}", "update_id"),
    (b'{"update_id": "x"}', "update_id"),
    (b'{"update_id": 1, "message": 1}', "message"),
    (b'{"update_id": 1, "message": {"message_id": 1}}', "message"),
]


async def test_a_missing_or_wrong_secret_is_a_401_problem(hook_app: AppRunner) -> None:
    for secret in BAD_SECRETS:
        status, content_type, body = await post(hook_app, b'{"update_id": 1}', secret)
        assert (status, content_type) == (401, "application/problem+json"), secret
        assert body["status"] == 401 and body["title"] == "Unauthorized"


async def test_a_secret_that_is_not_utf8_is_a_401_problem(hook_app: AppRunner) -> None:
    # aiohttp's client refuses to send such a header: write the request by hand
    body = b'{"update_id": 1}'
    head = (
        f"POST {hook_app.settings.webhook_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", hook_app.port)
    writer.write(head + b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe\xe9\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"401"
    assert b"application/problem+json" in rest


async def test_a_malformed_update_is_a_400_problem(hook_app: AppRunner) -> None:
    for body, fragment in MALFORMED:
        status, content_type, problem = await post(hook_app, body)
        assert (status, content_type) == (400, "application/problem+json"), body
        assert problem["status"] == 400 and fragment in problem["detail"], problem


def deeply_nested(depth: int, where: str) -> bytes:
    """An update whose `where` field is `depth` lists deep: json.loads raises RecursionError
    (not a ValueError) long before that."""
    return f'{{"update_id": 3, "{where}": {"[" * depth}{"]" * depth}}}'.encode()


@pytest.mark.parametrize("where", ["message", "unknown_field"])
async def test_a_deeply_nested_body_is_a_400_problem(hook_app: AppRunner, where: str) -> None:
    for depth in (50_000, 2_000):
        status, content_type, problem = await post(hook_app, deeply_nested(depth, where))
        assert (status, content_type) == (400, "application/problem+json"), depth
        assert problem["status"] == 400 and problem["detail"], problem
    status, _, _ = await post(hook_app, json.dumps(help_update(4)).encode())
    assert status == 200  # and the app serves on


UNKNOWN_KINDS = [
    b'{"update_id": 7}',
    b'{"update_id": 8, "some_future_update": {"id": 1}}',
]


async def test_an_update_of_no_known_kind_is_one_info_line_a_200_and_no_alert(
    hook_app: AppRunner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for body in UNKNOWN_KINDS:
        status, _, answer = await post(hook_app, body)
        assert (status, answer) == (200, {})

    def ignored() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "update of no known type ignored"]

    await until(lambda: len(ignored()) == len(UNKNOWN_KINDS), timeout_s=30)
    assert [r.levelno for r in ignored()] == [logging.INFO] * len(UNKNOWN_KINDS)
    assert [r.update_id for r in ignored()] == [7, 8]  # type: ignore[attr-defined]
    assert ignored()[1].fields == ["some_future_update"]  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert await Notification.filter(kind="ops.alert").count() == 0


async def test_a_valid_update_is_answered_as_before(
    hook_app: AppRunner, tg: EmulatorClient
) -> None:
    status, content_type, body = await post(hook_app, json.dumps(help_update(9)).encode())
    assert (status, content_type) == (200, "application/json")
    if hook_app.settings.webhook_in_background:  # the reply is a Bot API call to "Telegram"
        assert body == {}
        assert "/language" in (await tg.wait_for_bot(SUB))["text"]
    else:  # the reply travels in the webhook response
        assert body["method"] == "sendMessage" and body["chat_id"] == str(SUB)
        assert "/language" in body["text"]
