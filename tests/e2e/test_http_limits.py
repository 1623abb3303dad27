"""The real app's HTTP server under slow, broken and too many clients (raw sockets on
loopback): 408 problems, no 500 and no ERROR traceback, the cap holds, the app keeps serving,
and a flood of identical problems is one log line per interval with a count."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.app import AppRunner
from core.log_filters import ClientErrorFilter, RepeatFilter
from core.metrics import REGISTRY
from tests.e2e.conftest import app_settings, running_app, webhook_settings
from tests.httpguard.conftest import Raw, get
from tests.waiting import until
from tgemu import EmulatorServer

SECRET = "s3cret-for-tests"
CAP = 16


@pytest.fixture
async def app(clean_db: str, emulator: EmulatorServer) -> AsyncIterator[AppRunner]:
    settings = app_settings(
        clean_db, emulator.url, **webhook_settings("webhook"), http_header_timeout_s=0.5,
        http_body_timeout_s=0.5, http_max_connections=CAP,
    )  # fmt: skip
    async with running_app(settings) as runner:
        yield runner


def webhook_head(app: AppRunner, length: int) -> bytes:
    return (
        f"POST {app.settings.webhook_path} HTTP/1.1\r\nHost: x\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def ea_head(length: int) -> bytes:
    """Well-formed EA headers: auth reads the body before it looks the device up."""
    return (
        "POST /ea/v1/acks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Device-Id: dev_abcdefghijkl\r\nX-Timestamp: {int(time.time())}\r\n"
        f"X-Nonce: {'n' * 24}\r\nX-Signature: {'0' * 64}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def errors_total() -> float:
    return REGISTRY.get_sample_value("signaldesk_errors_total", {"where": "http"}) or 0.0


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def assert_serves(app: AppRunner) -> None:
    conn = await Raw.open(app.port)
    try:
        await conn.send(get())
        answer = await conn.response()
        assert answer is not None and (answer.status, answer.json) == (200, {"status": "ok"})
    finally:
        conn.close()


async def assert_408(conn: Raw) -> None:
    answer = await conn.response()
    assert answer is not None and answer.status == 408, answer
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json["status"] == 408 and answer.json["title"] == "Request Timeout"
    assert await conn.closed()


@pytest.mark.parametrize(
    "partial",
    [b"GET /hea", b"GET /health HTTP/1.1\r\nHost: x\r\n", b"POST /ea/v1/acks HTTP/1.1\r\nX-"],
)
async def test_a_request_never_finished_is_a_408_and_the_app_serves_on(
    app: AppRunner, partial: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await Raw.open(app.port)
    await conn.send(partial)
    await assert_serves(app)
    await assert_408(conn)
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("route", ["webhook", "ea"])
@pytest.mark.parametrize("sent", [b"", b'{"update_id": 1'])
async def test_a_promised_body_never_sent_is_a_408(
    app: AppRunner, route: str, sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    before = errors_total()
    conn = await Raw.open(app.port)
    head = webhook_head(app, 200) if route == "webhook" else ea_head(200)
    await conn.send(head + sent)
    await assert_serves(app)
    await assert_408(conn)
    assert tracebacks(caplog) == [] and errors_total() == before


@pytest.mark.parametrize("route", ["webhook", "ea"])
async def test_a_client_that_resets_mid_body_is_no_500_and_no_traceback(
    app: AppRunner, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = errors_total()
    conn = await Raw.open(app.port)
    head = webhook_head(app, 1000) if route == "webhook" else ea_head(1000)
    await conn.send(head + b'{"update_id": 1, "message": {"text": "')
    conn.reset()  # TCP RST in the middle of the body

    def noted() -> bool:
        return any("request body incomplete" in r.getMessage() for r in caplog.records)

    await until(noted, timeout_s=30)
    assert [r.levelno for r in caplog.records if "incomplete" in r.getMessage()] == [
        logging.WARNING
    ]
    assert tracebacks(caplog) == [] and errors_total() == before
    await assert_serves(app)


async def test_idle_connections_beyond_the_cap_do_not_lock_clients_out(app: AppRunner) -> None:
    assert app.guard is not None
    idle = [await Raw.open(app.port) for _ in range(CAP * 3)]
    await assert_serves(app)
    assert app.guard.open_connections <= CAP
    for conn in idle:
        conn.close()


@pytest.fixture
def log_filters(caplog: pytest.LogCaptureFixture) -> Iterator[list[float]]:
    """The app's log filters on the captured handler, with a clock the test moves."""
    now = [0.0]
    filters = [ClientErrorFilter(), RepeatFilter(60.0, clock=lambda: now[0])]
    for f in filters:
        caplog.handler.addFilter(f)
    try:
        yield now
    finally:
        for f in filters:
            caplog.handler.removeFilter(f)


async def test_repeated_identical_problems_are_logged_once_per_interval_with_a_count(
    app: AppRunner, caplog: pytest.LogCaptureFixture, log_filters: list[float]
) -> None:
    async def slow_client() -> None:
        conn = await Raw.open(app.port)
        await conn.send(b"GET /health HTTP/1.1\r\n")
        await assert_408(conn)

    def slow_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "request headers too slow: 408"]

    for _ in range(5):
        await slow_client()
    assert len(slow_lines()) == 1  # the first one; four held back
    log_filters[0] += 61  # a minute later
    await slow_client()
    lines = slow_lines()
    assert len(lines) == 2 and lines[1].repeated == 4  # type: ignore[attr-defined]


async def test_a_malformed_request_is_one_warning_line_not_an_error_traceback(
    app: AppRunner, caplog: pytest.LogCaptureFixture, log_filters: list[float]
) -> None:
    conn = await Raw.open(app.port)
    await conn.send(b"GET /health HTTP/1.1\r\nHost: x\r\nno colon in this header\r\n\r\n")
    answer = await conn.response()
    assert answer is not None and answer.status == 400
    await until(lambda: any("malformed HTTP" in r.getMessage() for r in caplog.records), 30)
    record = next(r for r in caplog.records if "malformed HTTP" in r.getMessage())
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "BadHttpMessage" in record.error  # type: ignore[attr-defined]
    assert tracebacks(caplog) == []
