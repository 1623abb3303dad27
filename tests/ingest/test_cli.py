"""`python -m bot producers ...` in process against the test database, as the operator runs it:
what it prints, what it stores, and that the credentials it prints work (and stop working)
against the real ingest routes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import main
from core import db
from core.crypto import sign_request
from core.http.problems import problem_middleware
from models.audit import AuditLog
from models.ingest import Producer, ProducerMode
from services.ingest import producers
from services.signals.manual_checks import ManualLimits
from tests.dbutil import truncate_all
from tests.ingest.conftest import OWNER, feed
from tests.ingest.test_api import BODY, fill
from webapp.ingest import TRADINGVIEW_TEMPLATE, IngestConfig, setup_ingest

T = TypeVar("T")
Client = TestClient[web.Request, web.Application]
PUBLIC_URL = "https://signals.example.com"
ALERT = fill(TRADINGVIEW_TEMPLATE, ticker="FX:EURUSD", **{"strategy.order.action": "buy"},
             time="2030-01-01T10:00:00Z", close="1.0800", plot_0="1.0750",
             **{"strategy.order.comment": "cli"})  # fmt: skip


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MASTER_KEY", "cli-test-master-key")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SYMBOLS", "XAUUSD,EURUSD")
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    stored(db_url, truncate_all)
    yield db_url


def stored(url: str, make: Callable[[], Awaitable[T]]) -> T:
    """`make` run against the database, as another process would (the CLI closes its own)."""

    async def run() -> T:
        await db.init_db(url)
        try:
            return await make()
        finally:
            await db.close_db()

    return asyncio.run(run())


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["producers", *argv]) == 0
    return capsys.readouterr().out


def added(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    made: dict[str, Any] = json.loads(cli(capsys, "add", *argv, "--json"))
    return made


async def _route(call: Callable[[Client], Awaitable[T]]) -> T:
    """`call` against the real ingest routes (with the problem middleware), a live feed."""
    await feed()
    app = web.Application(middlewares=[problem_middleware])
    setup_ingest(app, IngestConfig(ManualLimits(), frozenset({OWNER})))
    async with TestClient(TestServer(app)) as client:
        return await call(client)


def signed_post(url: str, producer_id: str, secret: str, body: dict[str, Any]) -> int:
    async def post(client: Client) -> int:
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Producer-Id": producer_id}
        headers |= sign_request(secret, "POST", "/api/v1/signals", raw)
        resp = await client.post("/api/v1/signals", data=raw, headers=headers)
        return resp.status

    return stored(url, lambda: _route(post))


def alert_post(url: str, path: str) -> int:
    async def post(client: Client) -> int:
        return (await client.post(path, data=ALERT)).status

    return stored(url, lambda: _route(post))


def row(url: str, producer_id: str) -> Producer:
    return stored(url, lambda: Producer.get(producer_id=producer_id))


def current_secret(url: str, producer_id: str) -> str:
    auth = stored(url, lambda: producers.for_auth(producer_id))
    assert auth is not None
    return auth.secret


def test_add_then_list_shows_it(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    made = added(capsys, "--name", "  Gold   breakout ", "--symbols", "xauusd, EURUSD")
    assert re.fullmatch(r"prd_[0-9a-f]{16}", made["producer_id"]) and len(made["secret"]) >= 43
    assert (made["name"], made["mode"], made["symbols"]) == ("Gold breakout", "publish",
                                                            ["EURUSD", "XAUUSD"])  # fmt: skip
    assert made["tradingview_path"] is None and made["tradingview_url"] is None
    listed = json.loads(cli(capsys, "list", "--json"))
    assert listed == [{
        "producer_id": made["producer_id"], "name": "Gold breakout", "mode": "publish",
        "symbols": ["EURUSD", "XAUUSD"], "rate_per_hour": producers.DEFAULT_RATE_PER_HOUR,
        "status": "active", "tradingview": False, "allowed_sources": [],
        "created_at": listed[0]["created_at"],
        "figures": {"signals": 0, "closed": 0, "wins": 0, "losses": 0, "total_r": "0",
                    "win_rate": None},
    }]  # fmt: skip
    text = cli(capsys, "list")
    assert made["producer_id"] in text and "Gold breakout" in text and "active" in text
    assert made["secret"] not in text + json.dumps(listed)
    audit = stored(env, lambda: AuditLog.get(action="producer.registered"))
    assert (audit.actor_id, audit.target) == (None, made["producer_id"])  # the operator


def test_add_without_options_takes_the_strategy_symbols_and_says_once(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli(capsys, "add", "--name", "Plain")
    assert "shown only this once" in out and "alert URL" not in out
    producer_id = re.search(r"producer_id: (prd_\w+)", out)
    assert producer_id is not None
    saved = row(env, producer_id.group(1))
    assert saved.symbols == ["EURUSD", "XAUUSD"] and saved.mode is ProducerMode.PUBLISH
    assert saved.rate_per_hour == producers.DEFAULT_RATE_PER_HOUR and saved.allowed_sources == []
    assert cli(capsys, "list", "--json") != "[]\n"


def test_hold_rate_and_allow_list_are_stored(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    allow = ["--allow-ip", "10.1.2.3/8", "--allow-ip", "203.0.113.7", "2001:db8::/32"]
    made = added(capsys, "--name", "Held", "--symbols", "EURUSD", "--hold", "--rate", "5", *allow)
    saved = row(env, made["producer_id"])
    assert (saved.mode, saved.rate_per_hour, saved.symbols) == (ProducerMode.HOLD, 5, ["EURUSD"])
    assert saved.allowed_sources == ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"]
    assert made["mode"] == "hold" and made["rate_per_hour"] == 5


def test_the_tradingview_url_it_prints_works_and_the_list_counts_the_signal(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = added(capsys, "--name", "TV", "--tradingview")
    path, url = made["tradingview_path"], made["tradingview_url"]
    assert path.startswith(producers.TV_PATH) and url == PUBLIC_URL + path
    token = path.removeprefix(producers.TV_PATH)
    assert row(env, made["producer_id"]).tv_token_hash == producers.token_hash(token)
    assert alert_post(env, path) == 201
    assert alert_post(env, producers.TV_PATH + "x" * len(token)) == 404
    listed = json.loads(cli(capsys, "list", "--json"))
    assert listed[0]["tradingview"] is True and listed[0]["figures"]["signals"] == 1
    text = cli(capsys, "rotate", made["producer_id"])
    assert "alert URL:   " + PUBLIC_URL + producers.TV_PATH in text and path not in text
    assert alert_post(env, path) == 404  # the old alert URL stopped


def test_rotate_prints_a_new_secret_and_the_old_one_stops(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = added(capsys, "--name", "Rotated", "--symbols", "EURUSD")
    pid, old = made["producer_id"], made["secret"]
    assert signed_post(env, pid, old, BODY) == 201
    rotated = json.loads(cli(capsys, "rotate", pid, "--json"))
    new = rotated["secret"]
    assert rotated["producer_id"] == pid and new != old and rotated["tradingview_url"] is None
    auth = stored(env, lambda: producers.for_auth(pid))
    assert auth is not None and auth.secret == new
    assert signed_post(env, pid, old, {**BODY, "external_id": "s-2"}) == 401
    assert signed_post(env, pid, new, {**BODY, "external_id": "s-2"}) == 201
    assert "shown only this once" in cli(capsys, "rotate", pid)


def test_pause_resume_mode_revoke_change_what_is_stored(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = added(capsys, "--name", "Switched", "--symbols", "EURUSD")["producer_id"]
    assert cli(capsys, "pause", pid) == f"{pid} paused: Switched\n"
    assert row(env, pid).paused is True
    assert json.loads(cli(capsys, "list", "--json"))[0]["status"] == "paused"
    assert signed_post(env, pid, current_secret(env, pid), BODY) == 403
    assert cli(capsys, "resume", pid) == f"{pid} active: Switched\n"
    assert row(env, pid).paused is False
    assert cli(capsys, "mode", pid, "hold") == f"{pid} mode hold: Switched\n"
    assert row(env, pid).mode is ProducerMode.HOLD
    assert cli(capsys, "revoke", pid) == f"{pid} revoked: Switched\n"
    saved = row(env, pid)
    assert saved.revoked and saved.revoked_at is not None
    assert stored(env, lambda: producers.for_auth(pid)) is None
    assert cli(capsys, "revoke", pid) == f"{pid} revoked: Switched\n"  # again: no change
    actions = stored(env, lambda: AuditLog.filter(target=pid).order_by("id").values_list(
        "action", "actor_id"))  # fmt: skip
    assert actions == [("producer.registered", None), ("producer.paused", None),
                       ("producer.resumed", None), ("producer.mode", None),
                       ("producer.revoked", None)]  # fmt: skip
    for argv in (["pause", pid], ["resume", pid], ["rotate", pid], ["mode", pid, "publish"]):
        assert main(["producers", *argv]) == 2
        assert capsys.readouterr().err == f"error: Producer {pid} is revoked.\n"


def test_no_secret_or_token_reaches_the_log(
    env: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = added(capsys, "--name", "Quiet", "--tradingview")
    rotated = json.loads(cli(capsys, "rotate", made["producer_id"], "--json"))
    shown = [made["secret"], rotated["secret"], made["tradingview_path"],
             rotated["tradingview_path"]]  # fmt: skip
    assert not [s for s in shown if s.rsplit("/", 1)[-1] in caplog.text]


LONG = "x" * (producers.MAX_NAME + 1)
RATE = "--rate must be a number of signals per hour from 1 to 10000 (ASCII digits)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "--name", "x", "--symbols", "EURUSD,BTCXYZ"], "Unknown symbol “BTCXYZ”"),
        (["add", "--name", "x", "--symbols", " , "], "Name at least one symbol"),
        (["add", "--name", "x", "--rate", "0"], RATE),
        (["add", "--name", "x", "--rate", "10001"], RATE),
        (["add", "--name", "x", "--rate", "abc"], RATE),
        (["add", "--name", "x", "--rate", "-5"], RATE),
        (["add", "--name", "x", "--rate", "+5"], RATE),
        (["add", "--name", "x", "--rate", "5_0"], RATE),
        (["add", "--name", "x", "--rate", "١٢"], "got '١٢'"),
        (["add", "--name", ""], "name has 1 to 64 characters"),
        (["add", "--name", " \t "], "name has 1 to 64 characters"),
        (["add", "--name", LONG], "name has 1 to 64 characters"),
        (["add", "--name", "\x1b[2Jcleared"], "without control characters"),
        (["add", "--name", "a\x9bb"], "without control characters"),
        (["add", "--name", "x", "--allow-ip", "not-an-ip"], "“not-an-ip” is not an IP address"),
        (["add", "--name", "x", "--allow-ip", "10.0.0.0/33"], "is not an IP address"),
        (["pause", "prd_nope"], "No producer prd_nope."),
        (["resume", "prd_nope"], "No producer prd_nope."),
        (["mode", "prd_nope", "hold"], "No producer prd_nope."),
        (["rotate", "prd_nope"], "No producer prd_nope."),
        (["revoke", "prd_nope"], "No producer prd_nope."),
        (["revoke", "prd_" + "9" * 200], "No producer prd_9999"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(
    env: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["producers", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""
    if argv[0] == "add":
        assert stored(env, lambda: Producer.all().count()) == 0


def test_a_name_of_the_longest_length_is_taken(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "é" * producers.MAX_NAME
    assert added(capsys, "--name", name)["name"] == name
    assert row(env, json.loads(cli(capsys, "list", "--json"))[0]["producer_id"]).name == name


def test_an_unmigrated_database_is_one_line(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not env.startswith("sqlite"):
        pytest.skip("an empty SQLite file is the unmigrated database here")
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'empty.sqlite3'}")
    assert main(["producers", "list"]) == 2
    err = capsys.readouterr().err
    assert "python -m bot migrate" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv", [["add"], ["mode", "prd_x", "sometimes"], ["pause"], ["add", "--name", "x", "--tv"]]
)
def test_what_argparse_refuses_exits_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["producers", *argv])
    assert exited.value.code == 2
