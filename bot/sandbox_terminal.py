"""Sandbox mode's terminal: one Python EA for the owner, on a paper account that sees the bars
the app's trading loop sees, talking to the app's own /ea/v1 over loopback.

The owner's device is created on the first start ("Sandbox EA") and found again later; its
secret never leaves this process (the server unseals it; nothing is written or logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ea.client.journal import TerminalJournal
from ea.client.sim import feed_bar, paper_broker
from ea.client.terminal import EAClient, EAConfig
from services.terminals import devices
from services.terminals.device_auth import Credentials
from services.users import profiles as users_service
from trading.candles import Bar
from trading.feeds import MarketDataFeed
from trading.symbols import known_symbols

log = logging.getLogger(__name__)
DEVICE_NAME = "Sandbox EA"


class MarketTee:
    """A feed wrapper that releases one bar per call and shows it to ``market`` first.

    The terminal then sees each bar close when the server does, so a command created by a bar
    meets the terminal's quote of that very bar (as with a live terminal).
    """

    def __init__(self, inner: MarketDataFeed, market: Callable[[str, Bar], None]) -> None:
        self.inner = inner
        self.market = market
        self._buffer: deque[Bar] = deque()

    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        if not self._buffer:
            self._buffer.extend(await self.inner.next_closed_bars(symbol))
        if not self._buffer:
            return []
        bar = self._buffer.popleft()
        self.market(symbol, bar)
        return [bar]


async def owner_device(
    owner_telegram_id: int, owners: frozenset[int], credentials: Credentials
) -> tuple[str, str]:
    """The owner's live sandbox device, created if there is none: ``(device_id, secret)``."""
    owner = await users_service.get_by_telegram_id(owner_telegram_id)
    for info in await devices.list_devices(owner):
        if info.name == DEVICE_NAME:
            auth = await credentials.get_for_auth(info.device_id)
            if auth is not None and not auth.revoked:
                return info.device_id, auth.secret
    new = await devices.create_device(owner_telegram_id, DEVICE_NAME, owners=owners)
    return new.device_id, new.secret


class SandboxTerminal:
    """The paper account, its EA and the feeds that move its market."""

    def __init__(
        self, symbols: Sequence[str], state_path: Path, journal: TerminalJournal | None = None
    ) -> None:
        self.symbols = tuple(s for s in symbols if s in known_symbols())
        self.journal = journal  # what the sandbox page's terminal panel shows
        self.broker = paper_broker(self.symbols)
        self.state_path = state_path
        self.client: EAClient | None = None
        self._task: asyncio.Task[None] | None = None

    def tee(self, feeds: Mapping[str, MarketDataFeed]) -> dict[str, MarketDataFeed]:
        """The loop's feeds, each also moving the paper account's market."""
        return {symbol: MarketTee(feed, self._market) for symbol, feed in feeds.items()}

    def _market(self, symbol: str, bar: Bar) -> None:
        feed_bar(self.broker, self.client, symbol, bar)

    async def start(
        self, owner_telegram_id: int, owners: frozenset[int], server: str, credentials: Credentials
    ) -> None:
        device_id, secret = await owner_device(owner_telegram_id, owners, credentials)
        config = EAConfig(
            device_id=device_id, secret=secret, state_path=self.state_path, server=server,
            symbols=self.symbols, account_interval_s=5.0,
        )  # fmt: skip
        self.client = EAClient(config, self.broker, observer=self.journal)
        self._task = asyncio.create_task(self.client.run(), name="sandbox-ea")
        self._task.add_done_callback(_report_crash)
        log.info("sandbox EA started", extra={"device": device_id, "symbols": self.symbols})

    async def stop(self) -> None:
        if self.client is None or self._task is None:
            return
        self.client.stop()
        done, _ = await asyncio.wait({self._task}, timeout=15)
        if not done:  # never hold up the app's shutdown for it
            log.warning("sandbox EA did not stop in time; cancelling it")
            self._task.cancel()
        self.client = self._task = None


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sandbox EA stopped", exc_info=task.exception())
