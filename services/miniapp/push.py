"""Live updates for open Mini App pages: each page holds one stream (`GET /api/v1/stream`), and
the hub hands it every committed `LiveUpdate` that concerns its user.

The assembly creates one hub per process and subscribes `LiveHub.deliver` to `LiveUpdate` and
`LiveHub.user_changed` to `UserChanged` (both replica events: a decision recorded on another
replica reaches this one over the bridge). An update names what changed (`kind`, `key`), never
what it is: the page fetches it through the API, which checks who may see it.

A stream that falls behind (its queue full: a stalled client) drops what it held and gets one
`resync` instead (the page reloads what it shows): a slow client never holds memory or the
others back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.events import LiveUpdate, UserChanged

QUEUE_SIZE = 64
RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class Message:
    """One event for a stream: `kind` is a `LiveUpdate` kind or `resync`."""

    kind: str
    key: int = 0


class Stream:
    """One open page's queue of messages (made by `LiveHub.open`)."""

    def __init__(self, hub: LiveHub, telegram_id: int, size: int) -> None:
        self.telegram_id = telegram_id
        self._hub = hub
        self._queue: asyncio.Queue[Message] = asyncio.Queue(size)
        self.dropped = 0  # messages lost to a full queue (replaced by a resync)

    def put(self, message: Message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:  # this one and what it held: a resync says it all
            self.dropped += 1
            while not self._queue.empty():
                self._queue.get_nowait()
                self.dropped += 1
            self._queue.put_nowait(Message(RESYNC))

    async def next(self, wait_s: float) -> Message | None:
        """The next message, or None after `wait_s` seconds without one."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        try:
            return await asyncio.wait_for(self._queue.get(), wait_s)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub.close(self)


class LiveHub:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._streams: dict[int, set[Stream]] = {}
        self.delivered = 0  # messages queued, all streams together

    def open(self, telegram_id: int) -> Stream:
        stream = Stream(self, telegram_id, self._queue_size)
        self._streams.setdefault(telegram_id, set()).add(stream)
        return stream

    def close(self, stream: Stream) -> None:
        streams = self._streams.get(stream.telegram_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._streams[stream.telegram_id]

    @property
    def open_streams(self) -> int:
        return sum(len(s) for s in self._streams.values())

    def _targets(self, users: tuple[int, ...]) -> list[Stream]:
        if not users:
            return [s for streams in self._streams.values() for s in streams]
        return [s for tid in dict.fromkeys(users) for s in self._streams.get(tid, ())]

    def _send(self, users: tuple[int, ...], message: Message) -> None:
        for stream in self._targets(users):
            stream.put(message)
            self.delivered += 1

    def deliver(self, event: LiveUpdate) -> None:
        """The bus handler for `LiveUpdate`."""
        self._send(event.users, Message(event.kind, event.key))

    def user_changed(self, event: UserChanged) -> None:
        """The bus handler for `UserChanged`: the user's pages reload their access (role,
        ban, plan); None (changes may have been missed) makes every page resync."""
        if event.telegram_id is None:
            self._send((), Message(RESYNC))
        else:
            self._send((event.telegram_id,), Message("access"))
