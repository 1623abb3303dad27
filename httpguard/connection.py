"""A thin guard in front of aiohttp's protocol: header deadlines and the connection cap.

aiohttp (3.14) bounds idle keep-alive connections but not the time a request line and its
headers take: a client that sends half a request, or one byte a second, holds its connection
(a file descriptor) for as long as it likes. `GuardedConnection` wraps each connection's
protocol (aiohttp's `RequestHandler`), forwards every event to it unchanged, and keeps one
timer: from a new connection's start, or from the first byte after a finished request, to
the moment the request reaches the application (`request_started`, called by
`httpguard.middleware`). When it fires, the connection gets a 408 problem (or, if not one
byte arrived, a silent close) and is closed. aiohttp never saw a complete request, so no
response of its own is under way. (A pipelined request whose first bytes came in the same
read as the previous request's last ones is bounded by aiohttp's keep-alive timeout instead:
the guard does not parse HTTP.)

`ConnectionGuard` counts open connections. A connection beyond `max_connections` displaces
the one that has been idle longest (a fresh connection that sent nothing yet, or a kept-alive
one between requests), so a flood of idle connections cannot lock clients out; if every
connection is busy, the newcomer gets a 503 problem at once and is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from enum import Enum

from aiohttp import StreamReader

from httpguard.limits import ReadLimits

log = logging.getLogger("httpguard")
EventSink = Callable[[str], None]  # "header_timeout", "body_timeout", "over_capacity", ...


class Phase(Enum):
    FRESH = "fresh"  # connected, not one byte yet
    HEAD = "head"  # receiving a request line and headers
    REQUEST = "request"  # the application has the request
    IDLE = "idle"  # between requests (keep-alive)
    DRAINING = "draining"  # answered with its body unread: aiohttp lingers, then closes


def raw_problem(status: int, title: str, detail: str, *, retry_after_s: int = 0) -> bytes:
    """A whole HTTP/1.1 response with an RFC 7807 body that closes the connection."""
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        separators=(",", ":"),
    ).encode()
    head = [
        f"HTTP/1.1 {status} {title}",
        "Content-Type: application/problem+json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if retry_after_s:
        head.append(f"Retry-After: {retry_after_s}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


class ConnectionGuard:
    """The protocol factory's companion: counts connections, admits or refuses them."""

    def __init__(self, limits: ReadLimits, on_event: EventSink | None = None) -> None:
        self.limits = limits
        self._on_event = on_event
        self._open: set[GuardedConnection] = set()
        self._idle: dict[GuardedConnection, None] = {}  # insertion order = idle the longest

    def factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for `loop.create_server` around aiohttp's (`runner.server`)."""
        return lambda: GuardedConnection(self, make)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def connections(self) -> tuple[GuardedConnection, ...]:
        return tuple(self._open)

    def event(self, name: str) -> None:
        if self._on_event is not None:
            self._on_event(name)

    def admit(self, conn: GuardedConnection) -> bool:
        if len(self._open) >= self.limits.max_connections and self._idle:
            oldest = next(iter(self._idle))
            self.event("idle_displaced")
            oldest.close()  # its connection_lost forgets it
            self.forget(oldest)
        if len(self._open) >= self.limits.max_connections:
            self.event("over_capacity")
            log.warning(
                "connection refused: the server is at its connection limit",
                extra={"limit": self.limits.max_connections},
            )
            return False
        self._open.add(conn)
        return True

    def forget(self, conn: GuardedConnection) -> None:
        self._open.discard(conn)
        self._idle.pop(conn, None)

    def idle(self, conn: GuardedConnection, idle: bool) -> None:
        if not idle:
            self._idle.pop(conn, None)
        elif conn in self._open:
            self._idle.pop(conn, None)
            self._idle[conn] = None  # to the end: idle the shortest


class GuardedConnection(asyncio.Protocol):
    """One connection: forwards to aiohttp's protocol, bounds the time its headers take."""

    def __init__(self, guard: ConnectionGuard, make: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._make = make
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None  # of the request the application has
        self._pipelined = False  # bytes of a next request arrived while it had one
        self.phase = Phase.FRESH

    # -- asyncio.Protocol, forwarded ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP servers only
        self._transport = transport
        if not self._guard.admit(self):
            detail = "the server is at its connection limit; retry shortly"
            transport.write(raw_problem(503, "Service Unavailable", detail, retry_after_s=1))
            transport.close()
            return
        self._inner = self._make()
        self._inner.connection_made(transport)
        self._guard.idle(self, True)
        self._arm(self._guard.limits.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if data and self.phase is Phase.REQUEST and self._body is not None and self._body.is_eof():
            self._pipelined = True  # its body was complete: these bytes begin the next request
        if data and self.phase in (Phase.FRESH, Phase.IDLE):
            if self.phase is Phase.IDLE:  # a new request begins: its headers have a deadline
                self._arm(self._guard.limits.header_timeout_s)
            self.phase = Phase.HEAD
            self._guard.idle(self, False)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._inner is None else self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._guard.forget(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    # -- from the application (httpguard.middleware) ----------------------------------------
    def request_started(self, body: StreamReader | None = None) -> None:
        """Its headers are in: no header deadline while the application has the request."""
        self._disarm()
        self.phase = Phase.REQUEST
        self._body, self._pipelined = body, False
        self._guard.idle(self, False)

    def request_finished(self, *, body_complete: bool) -> None:
        """Answered. With its body unread aiohttp lingers and closes: nothing more to time.
        If the client already sent (part of) its next request, that one's deadline starts."""
        if self.phase is not Phase.REQUEST:
            return
        self._body = None
        if not body_complete:
            self.phase = Phase.DRAINING
        elif self._pipelined:
            self.phase = Phase.HEAD
            self._arm(self._guard.limits.header_timeout_s)
        else:
            self.phase = Phase.IDLE
            self._guard.idle(self, True)

    def close(self) -> None:
        self._disarm()
        if self._transport is not None:
            self._transport.close()

    # -- the header deadline ----------------------------------------------------------------
    def _arm(self, delay_s: float) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self.phase is Phase.HEAD:
            timeout = self._guard.limits.header_timeout_s
            detail = f"the request line and headers did not arrive within {timeout:g} s"
            transport.write(raw_problem(408, "Request Timeout", detail))
            self._guard.event("header_timeout")
            peer = transport.get_extra_info("peername")
            log.warning("request headers too slow: 408", extra={"peer": str(peer)})
        elif self.phase is Phase.FRESH:
            self._guard.event("idle_closed")
        else:
            return
        transport.close()
