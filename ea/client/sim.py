"""Simulation helpers for the reference EA: a paper account and prices to move it.

A :class:`~trading.brokers.paper.PaperBroker` only fills what its quotes reach, so a simulated
terminal needs prices: :func:`replay_bars` plays a candle file into it (the CLI's ``--prices``),
:func:`feed_bar` applies one bar from elsewhere (the app's trading loop in sandbox mode, the
end-to-end tests) and wakes the client so fills and exits are acked at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal

from ea.client.terminal import EAClient
from trading.brokers.base import MarketClosed
from trading.brokers.paper import PaperBroker, PaperEngine
from trading.candles import Bar, Candles
from trading.symbols import get_spec


def paper_broker(
    symbols: Iterable[str], *, balance: Decimal = Decimal(10_000), spread_points: int = 0
) -> PaperBroker:
    """A paper account with the built-in specs of ``symbols`` (UnknownSymbolError otherwise)."""
    specs = {name: get_spec(name) for name in symbols}
    return PaperBroker(PaperEngine(specs, balance=balance, spread_points=spread_points))


def feed_bar(broker: PaperBroker, client: EAClient | None, symbol: str, bar: Bar) -> None:
    """Apply one closed bar to the paper account and let the client report what it did.

    Bars of unknown symbols and bars older than the account's last quote (history replayed
    by a restarted trading loop) are ignored: the market only moves forward.
    """
    if symbol not in broker.engine.market.specs:
        return
    try:
        last_close = broker.engine.market.quote(symbol).time
    except MarketClosed:  # no quote yet
        last_close = None
    if last_close is not None and bar.time < last_close:
        return
    broker.on_bar(symbol, bar)
    if client is not None:
        client.poke()


async def replay_bars(
    broker: PaperBroker, client: EAClient, candles: Candles, *, interval_s: float
) -> None:
    """Feed every bar of ``candles``, one each ``interval_s`` seconds, then keep the last
    quote (the simulated market stays where the file ends)."""
    for index in range(len(candles)):
        feed_bar(broker, client, candles.symbol, candles.bar(index))
        await asyncio.sleep(interval_s)
