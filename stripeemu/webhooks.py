"""Events and their delivery: Stripe's signature scheme, in order, again on demand.

`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{payload}")>` over the exact bytes
posted, as `stripe.Webhook.construct_event` checks it. The signing time is the wall clock by
default (the receiver compares it with its own `time.time()`), the event's `created` is the
emulator's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Delivery:
    """One POST of an event: when it was signed and what the endpoint answered."""

    signed_at: int
    status: int | None  # None: the connection failed
    body: str = ""


@dataclass
class Event:
    payload: dict[str, Any]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    @property
    def delivered(self) -> bool:
        return any(d.status is not None and 200 <= d.status < 300 for d in self.deliveries)

    def body(self) -> bytes:
        return json.dumps(self.payload, indent=2).encode()


class WebhookSender:
    """Posts events to one endpoint; queued events go out one at a time in emission order.

    A failed delivery is retried `attempts` times with a doubling pause, then left undelivered
    (`Event.delivered` is false) until delivered again by hand.
    """

    def __init__(
        self,
        *,
        url: str | None,
        secret: str,
        signing_clock: Callable[[], float] = time.time,
        attempts: int = 3,
        backoff_s: float = 0.05,
    ) -> None:
        self.url = url
        self.secret = secret
        self.signing_clock = signing_clock
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, event: Event) -> None:
        self._queue.put_nowait(event)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self) -> None:
        """Until every queued event has been delivered or given up on."""
        await self._queue.join()

    def signed(
        self, event: Event, *, signed_at: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Stripe would post for `event` (for posting it yourself)."""
        ts = int(self.signing_clock()) if signed_at is None else signed_at
        return self._signed(event, ts)

    def _signed(self, event: Event, ts: int) -> tuple[bytes, dict[str, str]]:
        body = event.body()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(body, self.secret, ts),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return body, headers

    async def deliver(self, event: Event, *, signed_at: int | None = None) -> Delivery:
        """Post `event` once (whatever its history), signed at `signed_at` (default: now)."""
        if not self.url:
            msg = "no webhook endpoint configured"
            raise RuntimeError(msg)
        ts = int(self.signing_clock()) if signed_at is None else signed_at
        body, headers = self._signed(event, ts)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            async with self._session.post(self.url, data=body, headers=headers) as response:
                delivery = Delivery(ts, response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery = Delivery(ts, None, repr(exc))
        event.deliveries.append(delivery)
        logger.debug("stripe event %s %s -> %s", event.id, event.type, delivery.status)
        return delivery

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._deliver_with_retries(event)
            finally:
                self._queue.task_done()

    async def _deliver_with_retries(self, event: Event) -> None:
        if not self.url:
            return
        pause = self.backoff_s
        for attempt in range(self.attempts):
            delivery = await self.deliver(event)
            if delivery.status is not None and 200 <= delivery.status < 300:
                return
            if attempt + 1 < self.attempts:
                await asyncio.sleep(pause)
                pause *= 2
        logger.warning("stripe event %s %s not delivered", event.id, event.type)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
