"""`GET /api/v1/stream`: committed changes reach the open pages they concern, as server-sent
events over real HTTP; a stalled page gets a resync, a banned user's stream ends, and the
replica wire format carries the update unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from core import bus
from models.signals import Decision
from models.users import User, UserStatus
from services.events import LIVE_CHUNK, LiveUpdate, UserChanged
from services.miniapp.push import RESYNC, LiveHub, Message
from services.signals import approvals
from tests.services.terminals import helpers as th
from tests.waiting import DEADLINE_S, until
from tests.webapp.miniapp.conftest import Api

SUB, OTHER = 1000002, 1000005


class Events:
    """The events of one open stream, read as they arrive."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self) -> tuple[str, dict[str, Any]] | None:
        """The next event (name, data), or None when the server ended the stream."""
        name, data = "message", []
        async with asyncio.timeout(DEADLINE_S):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    return None
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        return name, json.loads("\n".join(data))
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "":
                    self.comments.append(value)
                elif field == "event":
                    name = value
                elif field == "data":
                    data.append(value)


@asynccontextmanager
async def opened(api: Api, header: str) -> AsyncIterator[Events]:
    assert api.live is not None
    before = api.live.open_streams
    async with api.http.get(api.url + "/api/v1/stream", headers={"Authorization": header}) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "text/event-stream"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Content-Security-Policy"]
        await until(lambda: api.live.open_streams > before, "the server holds the stream")
        yield Events(r)


async def test_a_decision_in_chat_reaches_only_that_users_open_page(api: Api) -> None:
    sub, _other = await th.user(SUB), await th.user(OTHER, name="Olga")
    view = await th.publish()
    async with (
        opened(api, await api.login(SUB)) as mine,
        opened(api, await api.login(OTHER)) as theirs,
    ):
        version = await approvals.app_settings.disclaimer_version()
        await approvals.accept_disclaimer(sub, version)
        await approvals.decide(sub, view.id, Decision.APPROVED)  # the chat's path
        assert await mine.next() == ("live", {"kind": "decision", "key": view.id})
        second = await th.publish("GBPUSD")  # everyone's
        assert await theirs.next() == ("live", {"kind": "signal", "key": second.id})
        assert await mine.next() == ("live", {"kind": "signal", "key": second.id})
        assert "open" in mine.comments


async def test_signal_changes_are_announced_after_they_commit(api: Api) -> None:
    await th.user(SUB)
    async with opened(api, await api.login(SUB)) as events:
        view = await th.publish()
        assert await events.next() == ("live", {"kind": "signal", "key": view.id})
        await th.signals.cancel(view.id, actor_id=SUB)
        assert await events.next() == ("live", {"kind": "signal", "key": view.id})


async def test_nothing_is_announced_for_a_change_that_rolls_back(api: Api) -> None:
    from tortoise.transactions import in_transaction

    await th.user(SUB)
    async with opened(api, await api.login(SUB)) as events:
        try:
            with bus.deferred():
                async with in_transaction():
                    bus.publish(LiveUpdate("signal", 999))
                    raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        bus.publish(LiveUpdate("terminal", 7, (SUB,)))
        assert await events.next() == ("live", {"kind": "terminal", "key": 7})


async def test_a_banned_users_stream_ends(api: Api) -> None:
    await th.user(SUB)
    async with opened(api, await api.login(SUB)) as events:
        await User.filter(telegram_id=SUB).update(status=UserStatus.BANNED)
        bus.publish(UserChanged(SUB))  # what the database trigger / probe announces
        assert await events.next() == ("live", {"kind": "access", "key": 0})
        assert await events.next() is None
    assert api.live is not None
    await until(lambda: api.live.open_streams == 0, "the stream is released")
    status, body, _ = await api.call("GET", "/api/v1/stream", auth=f"Bearer {'x' * 10}")
    assert status == 401 and body["status"] == 401


async def test_the_stream_is_documented_as_server_sent_events(api: Api) -> None:
    _, document, _ = await api.call("GET", "/api/v1/openapi.json")
    ok = document["paths"]["/api/v1/stream"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    assert "401" in document["paths"]["/api/v1/stream"]["get"]["responses"]


def test_a_stalled_stream_gets_one_resync_instead_of_growing() -> None:
    hub = LiveHub(queue_size=3)
    slow, other = hub.open(SUB), hub.open(OTHER)
    for key in range(5):
        hub.deliver(LiveUpdate("signal", key))
    assert slow.dropped == 4 and other.dropped == 4  # 0, 1, 2 and 3: the queue was full

    async def drain(stream: Any) -> list[Message]:
        out = []
        while (message := await stream.next(0)) is not None:
            out.append(message)
        return out

    got = asyncio.run(drain(slow))
    assert got == [Message(RESYNC), Message("signal", 4)]
    slow.close()
    hub.deliver(LiveUpdate("decision", 1, (SUB,)))
    assert hub.open_streams == 1 and hub.delivered == 10


def test_users_changed_everywhere_make_every_page_resync() -> None:
    hub = LiveHub()
    a, b = hub.open(SUB), hub.open(OTHER)
    hub.user_changed(UserChanged(None))
    hub.user_changed(UserChanged(SUB))
    got_a = asyncio.run(_all(a))
    got_b = asyncio.run(_all(b))
    assert got_a == [Message(RESYNC), Message("access")] and got_b == [Message(RESYNC)]


async def _all(stream: Any) -> list[Message]:
    out = []
    while (message := await stream.next(0)) is not None:
        out.append(message)
    return out


def test_live_updates_cross_replicas_unchanged_in_chunks() -> None:
    many = tuple(range(1, LIVE_CHUNK * 2 + 2))
    for event in (LiveUpdate("signal", 5), LiveUpdate("positions", 9, (SUB,)),
                  LiveUpdate("decision", 3, many)):  # fmt: skip
        wire = event.to_wire()
        assert all(len(json.dumps(w)) < 8000 for w in wire)
        back = [LiveUpdate.from_wire(json.loads(json.dumps(w))) for w in wire]
        users = tuple(u for b in back if b is not None for u in b.users)
        assert back[0] is not None and (back[0].kind, back[0].key) == (event.kind, event.key)
        assert users == event.users
    for bad in ({"live": "nope", "key": 1, "users": []}, {"live": "signal", "key": "1", "users": []},
                {"live": "signal", "key": 1, "users": ["x"]}, {"wake": [1]}):  # fmt: skip
        assert LiveUpdate.from_wire(bad) is None
