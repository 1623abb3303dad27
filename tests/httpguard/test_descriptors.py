"""The reported failure itself: more connections than the process has file descriptors.

A server process with a low descriptor limit (600) and a cap configured far above it gets
1,000 connections that each send half a request. Without the guard, accept() fails with
EMFILE in a loop and asyncio logs a traceback for each failure; with it, the cap is fitted
to the descriptors, the excess is refused with a 503, the slow ones get their 408, the
server answers again as soon as they are gone, and its log stays a few lines.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

from tests.httpguard.conftest import Raw, get
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]
SERVER = textwrap.dedent(
    """
    import asyncio, logging, resource, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (600, 600))  # hard too: no raising it
    from aiohttp import web
    from core.log_filters import ClientErrorFilter, RepeatFilter
    from httpguard import ConnectionGuard, GuardedSite, ReadLimits, fit_to_descriptors, read_bounds

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ClientErrorFilter())
    handler.addFilter(RepeatFilter(60))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])

    async def health(_):
        return web.json_response({"status": "ok"})

    async def main():
        limits = fit_to_descriptors(ReadLimits(header_timeout_s=2, max_connections=10_000))
        app = web.Application(middlewares=[read_bounds(limits)])
        app.router.add_get("/health", health)
        runner = web.AppRunner(app, **limits.runner_kwargs())
        await runner.setup()
        site = GuardedSite(runner, "127.0.0.1", 0, ConnectionGuard(limits))
        await site.start()
        print(site.port, limits.max_connections, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())
    """
)


async def outcome(conn: Raw) -> int | str | None:
    try:
        answer = await conn.response()
    except ConnectionResetError:
        return "reset"
    return None if answer is None else answer.status


async def test_a_flood_beyond_the_descriptor_limit_is_refused_not_fatal() -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    conns: list[Raw] = []
    try:
        port_text, cap_text = (await server.stdout.readline()).split()
        port, cap = int(port_text), int(cap_text)
        assert 0 < cap <= 600 - 256  # fitted to what the descriptors allow
        for _ in range(1000):
            conn = await Raw.open(port)
            await conn.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and no more
            conns.append(conn)
        statuses = [await outcome(c) for c in conns]
        # Beyond the cap, refused at once: a 503, or a reset when the refusal closed the
        # connection with its half request unread (the kernel answers that with RST). The
        # admitted ones get their 408 (and make room again as they go).
        assert statuses.count(503) + statuses.count("reset") >= 1, statuses
        assert statuses.count(408) >= 1
        assert set(statuses) <= {408, 503, "reset"}, statuses
        for conn in conns:
            conn.close()

        async def serves() -> bool:
            conn = await Raw.open(port)
            try:
                await conn.send(get())
                answer = await conn.response()
                return answer is not None and answer.status == 200
            finally:
                conn.close()

        assert await serves()
    finally:
        server.stdin.close()
        _, stderr = await asyncio.wait_for(server.communicate(), 60)
    log = stderr.decode()
    assert "out of system resource" not in log and "Too many open files" not in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]
    assert len(log.splitlines()) <= 10, log  # each kind of problem once, not once a connection
    await until(lambda: server.returncode is not None, timeout_s=30)
