"""The guard over raw sockets: every way a client can hold a connection without finishing a
request ends in a 408 problem (or a silent close where HTTP allows no answer), the cap holds,
and the server keeps serving everyone else throughout."""

from __future__ import annotations

import asyncio
import json
import resource

import pytest

from httpguard import GuardedSite, Phase, ReadLimits, fit_to_descriptors, raw_problem
from httpguard.limits import FD_RESERVE
from tests.httpguard.conftest import Raw, Served, get
from tests.waiting import until


async def assert_serves(served: Served) -> None:
    """A well-behaved client is answered while the misbehaving ones wait."""
    conn = await Raw.open(served.port)
    try:
        await conn.send(get())
        answer = await conn.response()
        assert answer is not None and answer.status == 200 and answer.json == {"status": "ok"}
    finally:
        conn.close()


async def assert_408_then_close(conn: Raw) -> None:
    answer = await conn.response()
    assert answer is not None, "closed without the 408"
    assert answer.status == 408
    assert answer.headers["content-type"].split(";")[0] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    assert answer.json["status"] == 408 and answer.json["title"] == "Request Timeout"
    assert "within 0.5 s" in answer.json["detail"]
    assert await conn.closed()


@pytest.mark.parametrize(
    "partial",
    [
        b"GET /hea",  # half a request line
        b"GET /health HTTP/1.1\r\n",  # a request line, no headers
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Half: ab",
    ],
)
async def test_a_request_head_never_finished_is_a_408(served: Served, partial: bytes) -> None:
    conn = await Raw.open(served.port)
    await conn.send(partial)
    await assert_serves(served)  # meanwhile
    await assert_408_then_close(conn)
    assert served.events == ["header_timeout"]
    assert served.handled == ["health"]  # the partial request never reached a handler
    await until(lambda: served.guard.open_connections == 0, timeout_s=30)


async def test_a_slowloris_trickling_a_byte_at_a_time_is_cut_off(served: Served) -> None:
    conn = await Raw.open(served.port)
    head = get(extra="X-Padding: " + "a" * 10_000 + "\r\n")

    async def trickle() -> None:  # one byte every 50 ms: each well inside the header timeout
        for byte in head:
            await conn.send(bytes([byte]))
            await asyncio.sleep(0.05)

    sending = asyncio.create_task(trickle())
    try:
        await assert_408_then_close(conn)  # the deadline runs from the first byte
    finally:
        sending.cancel()
    assert served.events == ["header_timeout"]


async def test_a_connection_that_sends_nothing_is_closed_silently(served: Served) -> None:
    conn = await Raw.open(served.port)
    assert await conn.closed()  # no request: nothing to answer (RFC 9112 9.5)
    assert served.events == ["idle_closed"]


async def test_the_next_request_on_a_kept_alive_connection_has_a_deadline_too(
    served: Served,
) -> None:
    conn = await Raw.open(served.port)
    await conn.send(get())
    first = await conn.response()
    assert first is not None and first.status == 200
    await conn.send(b"GET /health HTTP/1.1\r\nHo")  # then half of the next request
    await assert_408_then_close(conn)


async def test_half_a_pipelined_request_has_a_deadline_too(served: Served) -> None:
    conn = await Raw.open(served.port)
    await conn.send(get("/slow"))
    await until(lambda: served.guard.open_connections == 1, timeout_s=30)
    (conn_state,) = served.guard.connections
    await until(lambda: conn_state.phase is Phase.REQUEST, timeout_s=30)
    await conn.send(b"GET /health HTTP/1.1\r\nHo")  # half the next one, while it waits
    served.release.set()
    first = await conn.response()
    assert first is not None and first.status == 200
    await assert_408_then_close(conn)


@pytest.mark.parametrize(
    "sent",
    [b"", b"0123456789", b"0"],  # nothing, part of it, one byte of a 100-byte body
)
async def test_a_promised_body_never_sent_is_a_408(served: Served, sent: bytes) -> None:
    conn = await Raw.open(served.port)
    await conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + sent)
    await assert_serves(served)
    await assert_408_then_close(conn)
    assert served.events == ["body_timeout"]


async def test_a_body_arriving_too_slowly_is_a_408(served: Served) -> None:
    conn = await Raw.open(served.port)
    await conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")

    async def trickle() -> None:
        for _ in range(1000):
            await conn.send(b"x")
            await asyncio.sleep(0.05)

    sending = asyncio.create_task(trickle())
    try:
        await assert_408_then_close(conn)
    finally:
        sending.cancel()


async def test_a_chunked_body_never_finished_is_a_408(served: Served) -> None:
    conn = await Raw.open(served.port)
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    await conn.send(head + b"5\r\nhello\r\n")  # and never the last chunk
    await assert_408_then_close(conn)


async def test_a_body_in_time_is_served_and_the_connection_kept(served: Served) -> None:
    conn = await Raw.open(served.port)
    for _ in range(3):
        await conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        answer = await conn.response()
        assert answer is not None and answer.json == {"bytes": 3}
    conn.close()
    assert served.events == []


async def kept_alive(served: Served) -> Raw:
    """A connection that made a request and now idles (keep-alive)."""
    conn = await Raw.open(served.port)
    await conn.send(get())
    answer = await conn.response()
    assert answer is not None and answer.status == 200
    return conn


async def test_idle_connections_beyond_the_cap_make_room_for_new_ones(served: Served) -> None:
    idle = [await kept_alive(served) for _ in range(4)]  # the cap, all idle
    newcomers = [await kept_alive(served) for _ in range(3)]  # each displaces the longest idle
    assert served.events == ["idle_displaced"] * 3
    assert [await c.closed() for c in idle[:3]] == [True, True, True]
    assert served.guard.open_connections == 4
    await idle[3].send(get())  # the one idle the shortest is still served
    answer = await idle[3].response()
    assert answer is not None and answer.status == 200
    for conn in (idle[3], *newcomers):
        conn.close()


async def test_beyond_the_cap_with_every_connection_busy_is_a_503(served: Served) -> None:
    busy = [await Raw.open(served.port) for _ in range(4)]
    for conn in busy:
        await conn.send(get("/slow"))
    await until(lambda: served.guard.open_connections == 4, timeout_s=30)
    extra = await Raw.open(served.port)
    answer = await extra.response()
    assert answer is not None and answer.status == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json == {
        "type": "about:blank", "title": "Service Unavailable", "status": 503,
        "detail": "the server is at its connection limit; retry shortly",
    }  # fmt: skip
    assert await extra.closed()
    assert served.events == ["over_capacity"]
    served.release.set()  # the busy ones finish: room again
    for conn in busy:
        done = await conn.response()
        assert done is not None and done.status == 200
        conn.close()
    await until(lambda: served.guard.open_connections == 0, timeout_s=30)
    await assert_serves(served)


async def test_many_misbehaving_clients_at_once_leave_the_server_serving(served: Served) -> None:
    partial = [await Raw.open(served.port) for _ in range(20)]
    for i, conn in enumerate(partial):  # 4 may be admitted, the rest displace or are refused
        await conn.send(b"GET /health HTTP/1.1\r\n" if i % 2 else b"POST /echo HTTP/1.1")
    answers = [await c.response() for c in partial]
    assert {a.status for a in answers if a is not None} <= {408, 503}
    await assert_serves(served)


async def test_the_site_serves_like_a_tcp_site(served: Served) -> None:
    """The contract GuardedSite relies on: runner.addresses reads the site's server, and
    cleanup() stops it listening."""
    assert served.runner.addresses[0][1] == served.port
    site = next(iter(served.runner.sites))
    assert isinstance(site, GuardedSite) and site.name == f"http://127.0.0.1:{served.port}"
    await served.runner.cleanup()
    with pytest.raises(OSError):
        await Raw.open(served.port)


def test_the_raw_problem_is_a_complete_response() -> None:
    head, _, body = raw_problem(408, "Request Timeout", "late").partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 408 Request Timeout"
    assert f"Content-Length: {len(body)}" in lines and "Connection: close" in lines
    assert json.loads(body) == {
        "type": "about:blank", "title": "Request Timeout", "status": 408, "detail": "late"
    }  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [{"header_timeout_s": 0}, {"body_timeout_s": -1}, {"keepalive_timeout_s": 0},
     {"max_connections": 0}],
)  # fmt: skip
def test_limits_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ReadLimits(**kwargs)  # type: ignore[arg-type]


def test_the_cap_fits_the_file_descriptors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    limits = {"soft": 1024, "hard": 2048}

    def getrlimit(_: int) -> tuple[int, int]:
        return limits["soft"], limits["hard"]

    def setrlimit(_: int, values: tuple[int, int]) -> None:
        limits["soft"] = values[0]

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    # raised towards the hard limit first, as far as needed
    assert fit_to_descriptors(ReadLimits(max_connections=1000)).max_connections == 1000
    assert limits["soft"] == 1000 + FD_RESERVE
    # beyond the hard limit: the cap comes down, with one warning
    fitted = fit_to_descriptors(ReadLimits(max_connections=10_000))
    assert fitted.max_connections == 2048 - FD_RESERVE
    assert "cap lowered" in caplog.text


async def test_a_handler_error_is_not_the_guards_business(served: Served) -> None:
    """An app's own 404 travels untouched; the connection stays usable."""
    conn = await Raw.open(served.port)
    await conn.send(get("/nowhere"))
    answer = await conn.response()
    assert answer is not None and answer.status == 404
    await conn.send(get())
    again = await conn.response()
    assert again is not None and again.status == 200
    conn.close()
