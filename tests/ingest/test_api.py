"""POST/PATCH/DELETE /api/v1/signals (signed like the EA protocol) and the TradingView hook,
over real HTTP against the routes with the problem middleware, on a migrated database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.crypto import sign_request
from core.http.forwarded import parse_networks
from core.http.problems import problem_middleware
from models.ingest import ProducerMode
from models.signals import Signal
from services.ingest import intake, producers
from services.signals.manual_checks import ManualLimits
from tests.ingest.conftest import OWNER, feed, producer
from webapp.ingest import TRADINGVIEW_TEMPLATE, IngestConfig, setup_ingest

PATH = "/api/v1/signals"
BODY = {"external_id": "s-1", "symbol": "EURUSD", "side": "buy", "entry": 1.08,
        "stop": 1.075, "take_profit": 1.095}  # fmt: skip


@pytest.fixture
async def client(database: str) -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[problem_middleware])
    setup_ingest(app, IngestConfig(ManualLimits(), frozenset({OWNER})))
    async with TestClient(TestServer(app)) as c:
        yield c


async def send(
    client: TestClient, made: producers.Credentials | None, body: Any = BODY, *,
    method: str = "POST", path: str = PATH, secret: str | None = None, **sign: Any,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if made is not None:
        headers |= sign_request(secret or made.secret, method, path, raw, **sign)
        headers["X-Producer-Id"] = made.info.producer_id
    resp = await client.request(method, path, data=raw, headers=headers)
    return resp.status, await resp.json(content_type=None)


async def test_a_signed_post_publishes_and_a_repeat_answers_the_first(client: TestClient) -> None:
    await feed()
    made = await producer()
    status, body = await send(client, made)
    assert status == 201 and body["status"] == "published" and body["external_id"] == "s-1"
    again, second = await send(client, made, {**BODY, "entry": 1.081})
    assert again == 200 and second["signal_id"] == body["signal_id"]
    assert await Signal.filter(external_id="s-1").count() == 1


async def test_twenty_concurrent_identical_posts_over_http(client: TestClient) -> None:
    await feed()
    made = await producer()
    answers = await asyncio.gather(*(send(client, made, {**BODY, "external_id": "c"})
                                     for _ in range(20)))  # fmt: skip
    assert sorted(s for s, _ in answers) == [200] * 19 + [201]
    assert len({b["signal_id"] for _, b in answers}) == 1
    assert await Signal.filter(external_id="c").count() == 1


async def test_authentication_refusals(client: TestClient) -> None:
    await feed()
    made = await producer()
    assert (await send(client, None))[0] == 401
    status, body = await send(client, made, secret="wrong-secret")
    assert (status, body["detail"]) == (401, "bad signature")
    assert body["title"] == "Unauthorized" and body["status"] == 401  # RFC 7807
    stale = int(time.time()) - 301
    status, body = await send(client, made, timestamp=stale)
    assert status == 401 and "X-Timestamp" in body["detail"]
    status, _ = await send(client, made, {**BODY, "external_id": "r"}, nonce="n" * 22)
    assert status == 201
    status, body = await send(client, made, {**BODY, "external_id": "r2"}, nonce="n" * 22)
    assert (status, body["detail"]) == (401, "nonce already used")
    await producers.revoke(made.info.producer_id, actor_id=OWNER)
    status, body = await send(client, made, {**BODY, "external_id": "x"})
    assert (status, body["detail"]) == (401, "unknown or revoked producer")


async def test_oversize_and_malformed(client: TestClient) -> None:
    await feed()
    made = await producer()
    big = {**BODY, "note": "x" * 40_000}
    assert (await send(client, made, big))[0] == 413
    status, body = await send(client, made, {**BODY, "stop": -1})
    assert status == 422 and body["field"] == "stop"
    status, body = await send(client, made, {**BODY, "colour": "red"})
    assert status == 422 and body["field"] == "colour"
    status, body = await send(client, made, {k: v for k, v in BODY.items() if k != "side"})
    assert status == 422 and body["field"] == "side"
    assert (await send(client, made, b"[1,"))[0] == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entry": 1.2}, "entry"),
        ({"stop": 1.07998}, "stop"),
        ({"take_profit": 1.07}, "take_profit"),
        ({"symbol": "GBPUSD"}, "symbol"),
        ({"expiry_hours": 1000}, "expiry_hours"),
    ],
)
async def test_each_check_answers_422_with_its_field(
    client: TestClient, change: dict, field: str
) -> None:
    await feed()
    made = await producer(symbols=("EURUSD", "GBPUSD"))
    status, body = await send(client, made, {**BODY, **change})
    assert status == 422 and body["field"] == field and body["detail"]
    assert not await Signal.exists()


async def test_symbol_not_allowed_paused_and_rate_limit(client: TestClient) -> None:
    await feed()
    made = await producer(symbols=("XAUUSD",))
    status, body = await send(client, made)
    assert status == 403 and body["field"] == "symbol"
    limited = await producer("Limited", rate_per_hour=1)
    assert (await send(client, limited))[0] == 201
    status, body = await send(client, limited, {**BODY, "external_id": "s-2"})
    assert status == 429 and "1 signals per hour" in body["detail"]
    await producers.set_paused(limited.info.producer_id, True, actor_id=OWNER)
    assert (await send(client, limited, {**BODY, "external_id": "s-3"}))[0] == 403


async def test_patch_and_delete_by_external_id(client: TestClient) -> None:
    await feed()
    made, other = await producer(), await producer("Other")
    await send(client, made)
    path = f"{PATH}/s-1"
    status, body = await send(client, made, {"stop": 1.076}, method="PATCH", path=path)
    assert (status, body["version"]) == (200, 2)
    status, body = await send(client, made, {"stop": 1.09}, method="PATCH", path=path)
    assert status == 422 and body["field"] == "stop"
    assert (await send(client, other, b"", method="DELETE", path=path))[0] == 404
    status, body = await send(client, made, b"", method="DELETE", path=path)
    assert (status, body["status"]) == (200, "cancelled")


async def test_held_posts_wait(client: TestClient) -> None:
    await feed()
    made = await producer(mode=ProducerMode.HOLD)
    status, body = await send(client, made)
    assert (status, body["status"], body["signal_id"]) == (201, "held", None)
    assert body["held_id"] and not await Signal.exists()


def fill(template: str, **values: str) -> bytes:
    """What TradingView sends: the template with its placeholders replaced."""
    text = template
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode()


async def test_tradingview_template_dedupe_within_a_bar_and_wrong_token(
    client: TestClient,
) -> None:
    await feed()
    made = await producer("Gold breakout", tradingview=True)
    assert made.tv_token is not None
    alert = fill(TRADINGVIEW_TEMPLATE, ticker="FX:EURUSD", **{"strategy.order.action": "buy"},
                 time="2030-01-01T10:00:00Z", close="1.0800", plot_0="1.0750",
                 **{"strategy.order.comment": "Breakout"})  # fmt: skip
    url = f"/hooks/tradingview/{made.tv_token}"
    first = await client.post(url, data=alert, headers={"Content-Type": "text/plain"})
    assert first.status == 201
    signal_id = (await first.json())["signal_id"]
    twice = await client.post(url, data=alert)  # the alert fires again within the bar
    assert twice.status == 200 and (await twice.json())["signal_id"] == signal_id
    row = await Signal.get(id=signal_id)
    assert row.via == "TradingView: Gold breakout" and row.rationale == "Breakout"
    wrong = await client.post("/hooks/tradingview/" + "x" * 43, data=alert)
    unknown = {k: v for k, v in (await wrong.json()).items() if k not in ("instance", "ref")}
    assert wrong.status == 404 and unknown == {"type": "about:blank", "title": "Not Found",
                                               "status": 404}  # fmt: skip
    allow = await producer("Walled", tradingview=True, allowed_sources=["203.0.113.0/24"])
    walled = await client.post(f"/hooks/tradingview/{allow.tv_token}", data=alert)
    shown = {k: v for k, v in (await walled.json()).items() if k not in ("instance", "ref")}
    assert walled.status == 404 and shown == unknown  # nothing revealed
    bad = await client.post(url, data=alert.replace(b'"buy"', b'"hold"'))
    assert bad.status == 422 and (await bad.json())["field"] == "side"


async def test_a_held_tradingview_alert_keeps_its_label_once_confirmed(
    client: TestClient,
) -> None:
    """A TradingView producer in hold mode: the alert waits (answering `held`), the owner's
    Confirm publishes it with the card's "via TradingView: <name>", as an alert published at
    once would carry; the side may come in TradingView's upper case."""
    await feed()
    made = await producer("Gold breakout", mode=ProducerMode.HOLD, tradingview=True)
    alert = fill(TRADINGVIEW_TEMPLATE, ticker="FX:EURUSD", **{"strategy.order.action": "BUY"},
                 time="2030-01-01T11:00:00Z", close="1.0800", plot_0="1.0750",
                 **{"strategy.order.comment": ""})  # fmt: skip
    answer = await client.post(f"/hooks/tradingview/{made.tv_token}", data=alert)
    body = await answer.json()
    assert (answer.status, body["status"], body["signal_id"]) == (201, "held", None), body
    decision = await intake.decide(body["held_id"], True, OWNER, ManualLimits())
    assert decision.done and decision.signal_id is not None
    row = await Signal.get(id=decision.signal_id)
    assert (row.via, row.side, row.external_id) == (
        "TradingView: Gold breakout",
        "buy",
        "tv:EURUSD:buy:2030-01-01T11:00:00Z",
    )


async def test_the_tradingview_allow_list_behind_a_trusted_proxy(database: str) -> None:
    """Behind a reverse proxy the operator trusts (TRUSTED_PROXIES) the allow-list checks the
    client the proxy names in X-Forwarded-For; without that trust the header is anyone's and
    the TCP peer (here 127.0.0.1) is checked: a spoofed header opens nothing."""
    await feed()
    made = await producer("Walled", tradingview=True, allowed_sources=["52.89.214.0/24"])
    alert = fill(TRADINGVIEW_TEMPLATE, ticker="EURUSD", **{"strategy.order.action": "buy"},
                 time="2030-01-01T12:00:00Z", close="1.0800", plot_0="1.0750",
                 **{"strategy.order.comment": ""})  # fmt: skip
    url = f"/hooks/tradingview/{made.tv_token}"
    for trusted, forwarded, status in (
        ((), "52.89.214.238", 404),  # not behind a trusted proxy: the header is ignored
        (parse_networks("127.0.0.1"), "198.51.100.7", 404),  # a client outside the list
        (parse_networks("127.0.0.1"), "52.89.214.238, 198.51.100.7", 404),  # spoofed hop
        (parse_networks("127.0.0.1"), "52.89.214.238", 201),  # TradingView through nginx
    ):
        app = web.Application(middlewares=[problem_middleware])
        setup_ingest(
            app, IngestConfig(ManualLimits(), frozenset({OWNER}), trusted_proxies=trusted)
        )
        async with TestClient(TestServer(app)) as c:
            answer = await c.post(url, data=alert, headers={"X-Forwarded-For": forwarded})
            assert answer.status == status, (trusted, forwarded, await answer.text())
