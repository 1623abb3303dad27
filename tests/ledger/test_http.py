"""GET /ledger and GET /ledger/head: keyset pages, one signal's entries, the heads, RFC 7807
problems on bad input, and nothing personal in any field."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import aiohttp
import pytest

from models.signals import SignalSource
from models.users import Role
from services.ledger import heads
from services.signals import lifecycle as signals
from services.users import profiles as users_service
from tests.ledger.conftest import CHANNEL, seed_history
from tests.ledger.helpers import draft

PROBLEM = "application/problem+json"


async def get(url: str) -> tuple[int, str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.content_type, await response.json(content_type=None)


async def test_pages_follow_the_chain_in_order(ledger_url: str) -> None:
    seeded = await seed_history()
    status, _, first = await get(f"{ledger_url}/ledger?limit=3")
    assert status == 200 and first["format"] == 1
    assert [e["seq"] for e in first["entries"]] == [1, 2, 3]
    assert first["next"] == "/ledger?after=3&limit=3"
    _, _, second = await get(ledger_url + first["next"])
    assert [e["seq"] for e in second["entries"]] == [4, 5, 6]
    _, _, last = await get(ledger_url + second["next"])
    assert [e["seq"] for e in last["entries"]] == [7] and last["next"] is None
    assert second["entries"][0]["prev"] == first["entries"][2]["hash"]
    _, _, whole = await get(f"{ledger_url}/ledger")
    assert len(whole["entries"]) == 7 and whole["next"] is None
    _, _, one = await get(f"{ledger_url}/ledger?signal={seeded.closed}&limit=2")
    assert [(e["seq"], e["kind"]) for e in one["entries"]] == [(1, "published"), (2, "revised")]
    _, _, rest = await get(ledger_url + one["next"])
    assert [(e["seq"], e["kind"]) for e in rest["entries"]] == [(3, "filled"), (5, "closed")]
    assert rest["next"] is None
    _, _, none = await get(f"{ledger_url}/ledger?after=7")
    assert none == {"format": 1, "entries": [], "next": None}


async def test_the_head_and_the_latest_post(ledger_url: str) -> None:
    _, _, empty = await get(f"{ledger_url}/ledger/head")
    assert empty == {"format": 1, "current": None, "published": None}
    await seed_history()
    _, _, body = await get(f"{ledger_url}/ledger/head")
    _, _, whole = await get(f"{ledger_url}/ledger")
    last = whole["entries"][-1]
    assert body["current"]["seq"] == 7 and body["current"]["hash"] == last["hash"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["current"]["at"])
    published = body["published"]
    assert (published["seq"], published["hash"]) == (7, last["hash"])
    assert published["chat_id"] == CHANNEL and published["channel"] == "@signaldesk_ledger"
    assert published["message_id"] is None  # not delivered yet (no sender here)
    await heads.publish(900)  # the same head: nothing new
    _, _, again = await get(f"{ledger_url}/ledger/head")
    assert again["published"] == published


@pytest.mark.parametrize(
    "query",
    [
        "after=-1", "after=abc", "after=1.5", "after=%D9%A1", "after=1_000", "after=",
        "limit=0", "limit=1001", "limit=+5", "signal=0", "signal=99999999999", "after=1&after=2",
        "page=2", "after=9999999999999999999",
    ],
)  # fmt: skip
async def test_bad_input_is_a_problem(ledger_url: str, query: str) -> None:
    status, content_type, body = await get(f"{ledger_url}/ledger?{query}")
    assert status == 422 and content_type == PROBLEM
    assert body["status"] == 422 and body["title"] == "Unprocessable Entity" and body["detail"]


async def test_the_head_takes_no_parameters(ledger_url: str) -> None:
    status, content_type, body = await get(f"{ledger_url}/ledger/head?x=1")
    assert (status, content_type, body["status"]) == (422, PROBLEM, 422)


ALLOWED_EVENT_KEYS = {
    "v", "kind", "signal", "symbol", "side", "source", "version", "at", "expires_at",
    "commitment", "levels", "reveal", "reason", "result_r",
}  # fmt: skip


async def test_no_personal_data_in_any_field(ledger_url: str) -> None:
    owner = 73519468
    await users_service.seed(owner, "Olivia", "olivia_desk", Role.OWNER)
    await seed_history()
    manual = dataclasses.replace(draft(), source=SignalSource.MANUAL, created_by=owner)
    view = await signals.publish(manual)  # a signal the owner typed in: her id is on its row
    assert view is not None
    await signals.cancel(view.id, actor_id=owner)
    _, _, whole = await get(f"{ledger_url}/ledger")
    _, _, head = await get(f"{ledger_url}/ledger/head")
    for entry in whole["entries"]:
        assert set(entry) == {"seq", "signal", "kind", "event", "prev", "hash"}
        assert set(entry["event"]) <= ALLOWED_EVENT_KEYS
    assert whole["entries"][-1]["event"]["source"] == "manual"
    assert set(head["published"]) == {"seq", "hash", "at", "chat_id", "channel", "message_id"}
    text = str(whole) + str(head)
    for personal in (str(owner), "Olivia", "olivia_desk", "created_by", "actor", "user"):
        assert personal not in text
