"""The webhook route under generated hostile input: any JSON, updates of every known and
unknown kind with fields of any type and text (unpaired surrogates, NUL, huge numbers), and
any header values. Every answer is a 200 or a 4xx problem; never a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import AppRunner
from tests.e2e.conftest import SUB, app_settings, running_app, webhook_settings
from tgemu import EmulatorServer

SECRET = "s3cret-for-tests"
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
NUMBER = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
KINDS = ["message", "edited_message", "callback_query", "my_chat_member", "pre_checkout_query",
         "inline_query", "chat_join_request", "some_future_update"]  # fmt: skip


def mostly(typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(0, 7).flatmap(lambda k: JSON if k == 0 else typical)


USER = st.fixed_dictionaries({
    "id": mostly(st.sampled_from([SUB, 1, 2**53])), "is_bot": mostly(st.booleans()),
    "first_name": mostly(TEXT), "username": mostly(TEXT),
    "language_code": mostly(st.sampled_from(["en", "es", "ru", "xx"])),
})  # fmt: skip
CHAT = st.fixed_dictionaries({
    "id": mostly(st.sampled_from([SUB, -100123])),
    "type": mostly(st.sampled_from(["private", "group", "supergroup", "channel"])),
})  # fmt: skip
MESSAGE = st.fixed_dictionaries(
    {"message_id": mostly(st.integers(1, 2**31)), "date": mostly(st.just(int(time.time()))),
     "chat": mostly(CHAT)},
    optional={"from": mostly(USER), "text": mostly(TEXT | st.sampled_from(["/start", "/help",
              "/users 99999999999999999999999", "/start ref_\ud800"])), "entities": JSON},
)  # fmt: skip
CALLBACK = st.fixed_dictionaries({
    "id": mostly(TEXT), "from": mostly(USER), "chat_instance": mostly(TEXT),
    "data": mostly(TEXT | st.sampled_from(["sig:approve:1", "sig:details:99999999999999999999"])),
})  # fmt: skip
UPDATES = st.builds(
    lambda update_id, kind, payload: {"update_id": update_id, kind: payload},
    mostly(st.integers(0, 2**62)),
    st.sampled_from(KINDS),
    st.one_of(MESSAGE, CALLBACK, JSON),
)


@pytest.fixture(params=["webhook", "webhook-reply"])
async def hook_app(
    request: pytest.FixtureRequest, clean_db: str, emulator: EmulatorServer
) -> AsyncIterator[AppRunner]:
    """Both modes: in reply mode the update is handled inside the request."""
    settings = app_settings(clean_db, emulator.url, **webhook_settings(request.param))
    async with running_app(settings) as runner:
        yield runner


async def post(app: AppRunner, body: bytes, headers: dict[str, str] | None = None) -> None:
    sent = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    sent.update(headers or {})
    url = f"{app.base_url}{app.settings.webhook_path}"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=sent) as r:
        text = await r.read()
        assert r.status in (200, 400, 401, 413), (body[:300], r.status, text[:300])
        if r.status != 200:
            assert r.content_type == "application/problem+json"


@FUZZ
@given(update=UPDATES)
async def test_generated_updates(hook_app: AppRunner, update: dict[str, Any]) -> None:
    await post(hook_app, json.dumps(update).encode())


@FUZZ
@given(body=JSON)
async def test_any_json(hook_app: AppRunner, body: Any) -> None:
    await post(hook_app, json.dumps(body).encode())


@FUZZ
@given(
    name=st.sampled_from(["X-Telegram-Bot-Api-Secret-Token", "X-Request-Id", "Content-Type"]),
    value=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=80),
)
async def test_any_header(hook_app: AppRunner, name: str, value: str) -> None:
    await post(hook_app, b'{"update_id": 1}', {name: value})
