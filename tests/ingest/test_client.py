"""The producer's stdlib client (`ea.ingest_client`) and `python -m bot signal-send` against the
real ingest routes over loopback HTTP, on a migrated database. The client blocks, so the tests
call it in a thread while the server answers on the test's event loop."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import random
import socket
import string
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.cli import main
from core.crypto import canonical_message as core_message
from core.crypto import sign_request
from core.http.problems import problem_middleware
from ea import ingest_client
from ea.ingest_client import IngestError, SignalDeskProducer, number_text, sign_headers
from models.ingest import HeldSignal, ProducerMode
from models.signals import Signal
from services.ingest import producers
from services.signals.manual_checks import ManualLimits
from tests.ingest.conftest import OWNER, feed, producer
from webapp.ingest import ExternalId, IngestConfig, setup_ingest

SECRET_ENV = "SIGNALDESK_PRODUCER_SECRET"
LEVELS = {"entry": D("1.0800"), "stop": "1.0750", "take_profit": 1.095}


@pytest.fixture
async def url(database: str) -> AsyncIterator[str]:
    app = web.Application(middlewares=[problem_middleware])
    setup_ingest(app, IngestConfig(ManualLimits(), frozenset({OWNER})))
    async with serving(app) as base:
        yield base


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a loopback port (the stdlib client needs a real socket): its base URL."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def desk_for(url: str, **kw: Any) -> tuple[producers.Credentials, SignalDeskProducer]:
    await feed()
    made = await producer(**kw)
    return made, SignalDeskProducer(url, made.info.producer_id, made.secret)


def random_case(rng: random.Random) -> tuple[str, str, str, int, str, bytes]:
    alphabet = string.ascii_letters + string.digits + "-_é€ж"
    secret = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
    method = rng.choice(["POST", "PATCH", "DELETE", "get"])
    path = "/api/v1/signals" + rng.choice(["", "/tv%3AEURUSD%2F1", "/s-1?x=1&y=%20"])
    nonce = "".join(rng.choice(string.ascii_letters + "_-") for _ in range(rng.randint(16, 64)))
    body = rng.choice([b"", rng.randbytes(rng.randint(1, 2000)), json.dumps({"a": 1}).encode()])
    return secret, method, path, rng.randint(0, 10**12 - 1), nonce, body


@pytest.mark.parametrize("seed", range(12))
def test_the_clients_signature_is_the_servers(seed: int) -> None:
    secret, method, path, ts, nonce, body = random_case(random.Random(seed))
    ours = sign_headers(secret, method, path, body, timestamp=ts, nonce=nonce)
    assert ours == sign_request(secret, method, path, body, timestamp=ts, nonce=nonce)
    assert ingest_client.canonical_message(method, path, ts, nonce, body) == core_message(
        method, path, ts, nonce, body
    )


def test_the_client_imports_the_standard_library_only() -> None:
    tree = ast.parse(Path(ingest_client.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside == set(), outside
    assert ingest_client.EXTERNAL_ID_RE.pattern in str(ExternalId)  # the server's own rule


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1.0800"), "1.0800"), ("2350.50", "2350.50"), (1.1, "1.1"), (2, "2"),
        (1e-7, "0.0000001"), (D("1E-5"), "0.00001"), (D("-1.5"), "-1.5"), (0.1 + 0.2, "0.30000000000000004"),
    ],
)  # fmt: skip
def test_prices_travel_as_their_exact_decimal_text(value: object, text: str) -> None:
    assert number_text(value, "stop") == text


@pytest.mark.parametrize(
    "value", ["nan", float("nan"), float("inf"), D("Infinity"), "1e5", "1_000", " 1", "١", "",
              ".5", True, None, [1]],
)  # fmt: skip
def test_a_malformed_price_is_refused_before_sending(value: object) -> None:
    desk = SignalDeskProducer("http://127.0.0.1:9", "prd_x", "s")
    with pytest.raises(ValueError, match="^stop must be"):
        desk.send("s-1", "EURUSD", "buy", stop=value, entry="1.08")  # type: ignore[arg-type]


def test_the_body_carries_decimal_text_not_floats() -> None:
    body = ingest_client._encode(  # noqa: SLF001 - the wire form itself
        {"entry": ingest_client._Number("1.0800"), "note": 'é "q"', "x": None}  # noqa: SLF001
    )
    assert body == b'{"entry": 1.0800, "note": "\\u00e9 \\"q\\""}'
    assert json.loads(body, parse_float=D) == {"entry": D("1.0800"), "note": 'é "q"'}


async def test_send_publishes_and_a_repeat_answers_the_same_signal(url: str) -> None:
    made, desk = await desk_for(url)
    first = await asyncio.to_thread(desk.send, "s-1", "EURUSD", "buy", **LEVELS, note="Breakout")
    assert (first.status, first.repeated, first.external_id) == ("published", False, "s-1")
    row = await Signal.get(id=first.signal_id)
    assert (row.producer_id, row.external_id, row.rationale) == (made.info.id, "s-1", "Breakout")
    assert (row.entry, row.stop, row.take_profit) == (D("1.08"), D("1.075"), D("1.095"))
    again = await asyncio.to_thread(desk.send, "s-1", "EURUSD", "buy", stop="1.07", entry=1.081)
    assert again.repeated and again.signal_id == first.signal_id
    assert await Signal.filter(external_id="s-1").count() == 1


async def test_a_market_order_with_reward_risk(url: str) -> None:
    _, desk = await desk_for(url)
    result = await asyncio.to_thread(
        desk.send, "m-1", "EURUSD", "sell", stop="1.0900", reward_risk="2", order_type="market"
    )
    row = await Signal.get(id=result.signal_id)
    assert row.side == "sell" and row.entry == D("1.08412")
    assert row.take_profit == row.entry - 2 * (row.stop - row.entry)


async def test_revise_and_cancel_by_external_id_even_with_slashes(url: str) -> None:
    _, desk = await desk_for(url)
    external = "tv:EURUSD/buy@2030-01-01T10:00"
    sent = await asyncio.to_thread(desk.send, external, "EURUSD", "buy", **LEVELS)
    revised = await asyncio.to_thread(desk.revise, external, stop=D("1.0760"))
    assert (revised.signal_id, revised.version, revised.status) == (sent.signal_id, 2, "revised")
    row = await Signal.get(id=sent.signal_id)
    assert (row.stop, row.entry, row.take_profit) == (D("1.076"), D("1.08"), D("1.095"))
    cancelled = await asyncio.to_thread(desk.cancel, external)
    assert cancelled.status == "cancelled"
    assert (await Signal.get(id=sent.signal_id)).status == "cancelled"


async def test_a_wrong_secret_is_a_401(url: str) -> None:
    made, _ = await desk_for(url)
    wrong = SignalDeskProducer(url, made.info.producer_id, "not-the-secret")
    with pytest.raises(IngestError) as refused:
        await asyncio.to_thread(wrong.send, "s-1", "EURUSD", "buy", **LEVELS)
    assert (refused.value.status, refused.value.detail) == (401, "bad signature")
    assert str(refused.value) == "401 Unauthorized: bad signature"
    assert not await Signal.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"stop": "-1"}, "stop"), ({"stop": "1.0900"}, "stop"), ({"take_profit": "1.07"},
     "take_profit"), ({"expiry_hours": 1000}, "expiry_hours"), ({"symbol": "XAGUSD"}, "symbol")],
)  # fmt: skip
async def test_a_refused_value_names_its_field(url: str, change: dict, field: str) -> None:
    _, desk = await desk_for(url)
    values: dict[str, Any] = {"symbol": "EURUSD", **LEVELS, **change}
    with pytest.raises(IngestError) as refused:
        await asyncio.to_thread(desk.send, external_id="s-1", side="buy", **values)
    assert refused.value.status in (403, 422) and refused.value.field == field
    assert refused.value.detail and field in str(refused.value)
    assert not await Signal.exists()


async def test_a_held_signal_has_no_id_yet(url: str) -> None:
    _, desk = await desk_for(url, mode=ProducerMode.HOLD)
    held = await asyncio.to_thread(desk.send, "h-1", "EURUSD", "buy", **LEVELS)
    assert (held.status, held.signal_id) == ("held", None) and held.held_id
    assert (await asyncio.to_thread(desk.cancel, "h-1")).status == "discarded"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_network_failure_is_an_ingest_error_with_status_0() -> None:
    desk = SignalDeskProducer(f"http://127.0.0.1:{closed_port()}", "prd_x", "s", timeout=5)
    with pytest.raises(IngestError) as failed:
        desk.cancel("s-1")
    assert failed.value.status == 0 and "Connection refused" in str(failed.value)


@pytest.fixture
async def odd_url() -> AsyncIterator[str]:
    """A server that answers what a proxy in front of SignalDesk might."""

    async def html_502(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>\n<h1>Bad Gateway</h1></html>")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("https://desk.example.com/api/v1/signals")

    app = web.Application()
    app.router.add_post("/gw/api/v1/signals", html_502)
    app.router.add_post("/old/api/v1/signals", moved)
    async with serving(app) as base:
        yield base


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("/gw", "502 Bad Gateway: <html> <h1>Bad Gateway</h1></html>"),
     ("/old", "301 Redirected: use the URL https://desk.example.com/api/v1/signals")],
)  # fmt: skip
async def test_an_answer_that_is_no_problem_document_is_still_one_readable_error(
    odd_url: str, prefix: str, expected: str
) -> None:
    desk = SignalDeskProducer(odd_url + prefix, "prd_x", "s")
    with pytest.raises(IngestError) as refused:
        await asyncio.to_thread(desk.send, "s-1", "EURUSD", "buy", **LEVELS)
    assert str(refused.value) == expected


# The command line, end to end.


def cli_args(url: str, made: producers.Credentials, *extra: str) -> list[str]:
    return ["signal-send", "--url", url, "--producer", made.info.producer_id, *extra]


NEW = ("--external-id", "c-1", "--symbol", "EURUSD", "--side", "buy", "--entry", "1.0800",
       "--stop", "1.0750", "--rr", "3")  # fmt: skip


async def test_cli_sends_repeats_revises_and_cancels(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made, _ = await desk_for(url)
    monkeypatch.setenv(SECRET_ENV, made.secret)
    argv = cli_args(url, made, *NEW, "--note", "CLI", "--expiry-hours", "12")
    assert await asyncio.to_thread(main, argv) == 0
    signal_id = int(capsys.readouterr().out)
    row = await Signal.get(id=signal_id)
    assert (row.external_id, row.take_profit, row.rationale) == ("c-1", D("1.095"), "CLI")
    assert row.expires_at - row.published_at == timedelta(hours=12)
    assert await asyncio.to_thread(main, cli_args(url, made, *NEW, "--json")) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["signal_id"] == signal_id and answer["repeated"] is True
    revise = cli_args(url, made, "--revise", "--external-id", "c-1", "--stop", "1.0765")
    assert await asyncio.to_thread(main, revise) == 0
    assert capsys.readouterr().out == f"{signal_id}\n"
    assert (await Signal.get(id=signal_id)).stop == D("1.0765")
    cancel = cli_args(url, made, "--cancel", "--external-id", "c-1")
    assert await asyncio.to_thread(main, cancel) == 0
    assert capsys.readouterr().out == "cancelled\n"
    assert (await Signal.get(id=signal_id)).status == "cancelled"


async def test_cli_a_refusal_is_one_line_and_exit_1(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made, _ = await desk_for(url)
    monkeypatch.setenv(SECRET_ENV, made.secret)
    bad_stop = cli_args(url, made, *NEW[:-4], "--stop", "1.0900", "--tp", "1.095")
    assert await asyncio.to_thread(main, bad_stop) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("error: 422 ") and out.err.count("\n") == 1
    assert "stop" in out.err
    monkeypatch.setenv(SECRET_ENV, "wrong")
    assert await asyncio.to_thread(main, cli_args(url, made, *NEW)) == 1
    assert capsys.readouterr().err == "error: 401 bad signature\n"
    assert not await Signal.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (NEW[:6] + ("--stop", "1.07"), "give --entry PRICE for a limit order or --market"),
        (NEW + ("--market",), "give --entry PRICE for a limit order or --market"),
        (("--external-id", "x", "--side", "buy", "--stop", "1", "--market"), "needs --symbol"),
        (("--revise", "--external-id", "x", "--symbol", "EURUSD", "--stop", "1"),
         "--revise takes no --symbol"),
        (("--revise", "--external-id", "x"), "--revise needs at least one of"),
        (("--cancel", "--external-id", "x", "--stop", "1"), "--cancel takes no --stop"),
        (NEW[:-1] + ("1e3",), "--rr must be a decimal number"),
        (NEW[:7] + ("1,08",) + NEW[8:], "--entry must be a decimal number"),
        (("--external-id", "a b") + NEW[2:], "--external-id must be 1-64 of"),
        (NEW + ("--expiry-hours", "+5"), "--expiry-hours must be a number of hours from 1 to"),
        (NEW + ("--expiry-hours", "0"), "--expiry-hours must be a number of hours from 1 to"),
    ],
)  # fmt: skip
def test_cli_bad_arguments_exit_2(
    extra: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv(SECRET_ENV, "s")
    argv = ["signal-send", "--url", "http://127.0.0.1:9", "--producer", "prd_x", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("url", "producer", "message"),
    [("ftp://x", "prd_x", "--url must be an http"), ("http://h", "p d", "--producer must be")],
)
def test_cli_bad_url_or_producer_exit_2(
    url: str, producer: str, message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv(SECRET_ENV, "s")
    assert main(["signal-send", "--url", url, "--producer", producer, *NEW]) == 2
    assert message in capsys.readouterr().err


def test_cli_without_the_secret_in_the_environment_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    argv = ["signal-send", "--url", "http://127.0.0.1:9", "--producer", "prd_x", *NEW]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: set {SECRET_ENV} to the producer's secret (it is never taken as an argument)\n"
    )


def test_cli_takes_no_secret_argument_and_no_tp_with_rr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["signal-send", "--url", "http://h", "--producer", "prd_x", *NEW]
    for argv in ([*base, "--secret", "s"], [*base, "--tp", "1.1"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
    assert "--secret" in capsys.readouterr().err


async def test_cli_a_held_signal_prints_its_held_id(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made, _ = await desk_for(url, mode=ProducerMode.HOLD)
    monkeypatch.setenv(SECRET_ENV, made.secret)
    assert await asyncio.to_thread(main, cli_args(url, made, *NEW)) == 0
    held = await HeldSignal.get(producer_id=made.info.id, external_id="c-1")
    assert capsys.readouterr().out == f"held {held.id}\n"
