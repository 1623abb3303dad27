"""A small aiohttp app behind the guard, and a raw HTTP client (asyncio streams on loopback)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from httpguard import ConnectionGuard, GuardedSite, ReadLimits, read_bounds

LIMITS = ReadLimits(
    header_timeout_s=0.5, body_timeout_s=0.5, keepalive_timeout_s=30, max_connections=4
)


@dataclass
class Served:
    port: int
    guard: ConnectionGuard
    runner: web.AppRunner
    events: list[str]
    release: asyncio.Event
    handled: list[str] = field(default_factory=list)


def make_app(served: list[str], release: asyncio.Event, events: list[str]) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        served.append("health")
        return web.json_response({"status": "ok"})

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        served.append("echo")
        return web.json_response({"bytes": len(body)})

    async def slow(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"released": True})

    app = web.Application(middlewares=[read_bounds(LIMITS, on_event=events.append)])
    app.router.add_get("/health", health)
    app.router.add_post("/echo", echo)
    app.router.add_get("/slow", slow)
    return app


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    events: list[str] = []
    release = asyncio.Event()
    handled: list[str] = []
    runner = web.AppRunner(make_app(handled, release, events), **LIMITS.runner_kwargs())
    await runner.setup()
    guard = ConnectionGuard(LIMITS, on_event=events.append)
    site = GuardedSite(runner, "127.0.0.1", 0, guard)
    await site.start()
    try:
        yield Served(site.port, guard, runner, events, release, handled)
    finally:
        release.set()
        await runner.cleanup()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """One TCP connection: write whatever bytes, read HTTP/1.1 responses or the close."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> Answer | None:
        """The next response, or None if the server closed without one."""
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await self.reader.read(1)
            if not chunk:
                return None
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(status, headers, body)

    async def closed(self) -> bool:
        """True once the server closed the connection (EOF), with nothing more sent. A server
        that closes while the client is still sending makes the kernel answer the client's
        next bytes with a RST: that is a close too (the 408 was read before it)."""
        try:
            return await self.reader.read() == b""
        except ConnectionResetError:
            return True

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a client that crashed or lost its network."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.close()


def get(path: str = "/health", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
