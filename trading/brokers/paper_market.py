"""What the paper broker knows of the market: symbol specs and costs, the last quote per
symbol, the feed's time and whether a market is open.

The ledger marks its positions to these quotes; the engine reads them to validate and fill
orders. Quotes are kept as floats (the per-bar hot loop) and handed out on the tick grid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from trading.brokers.base import MarketClosed, Tick, UnknownSymbol
from trading.brokers.paper_rules import SymbolCosts, symbol_costs
from trading.symbols import SymbolSpec
from trading.timeutil import utc_from_unix_s


class Market:
    """Specs, per-symbol costs and last quotes (BID prices; ``ask = bid + spread``)."""

    def __init__(
        self,
        specs: Mapping[str, SymbolSpec],
        spread_points: int | Mapping[str, int] = 0,
        market_open: Callable[[str, datetime], bool] | None = None,
    ) -> None:
        self.specs = dict(specs)
        self.market_open = market_open
        spreads = spread_points if isinstance(spread_points, Mapping) else {}
        default = 0 if isinstance(spread_points, Mapping) else spread_points
        self._costs = {n: symbol_costs(s, spreads.get(n, default)) for n, s in self.specs.items()}
        self._quotes: dict[str, tuple[float, float, int]] = {}
        self.now_s = 0  # the latest quote time seen (unix seconds)

    def costs(self, symbol: str) -> SymbolCosts:
        costs = self._costs.get(symbol)
        if costs is None:
            msg = f"unknown symbol {symbol!r}; the paper broker knows {sorted(self._costs)}"
            raise UnknownSymbol(msg)
        return costs

    def set_quote(self, symbol: str, bid: float, ask: float, time_s: int) -> None:
        self._quotes[symbol] = (bid, ask, time_s)
        self.now_s = max(self.now_s, time_s)

    def last(self, symbol: str) -> tuple[float, float, int]:
        """The raw last ``(bid, ask, time_s)`` (floats, for equity curves); KeyError before
        the first quote."""
        return self._quotes[symbol]

    def quote(self, symbol: str) -> Tick:
        """The last bid/ask on the tick grid; :class:`MarketClosed` before the first quote."""
        costs = self.costs(symbol)
        if symbol not in self._quotes:
            msg = f"no quote for {symbol} yet: feed a bar or a tick before trading it"
            raise MarketClosed(msg)
        bid, ask, time_s = self._quotes[symbol]
        return Tick(costs.price(bid), costs.price(ask), utc_from_unix_s(time_s))

    def open_quote(self, symbol: str) -> Tick:
        """:meth:`quote`, refused with :class:`MarketClosed` when ``market_open`` says the
        market is closed at the quote's time (what trading requests need)."""
        tick = self.quote(symbol)
        if self.market_open is not None and not self.market_open(symbol, tick.time):
            msg = f"market closed for {symbol} at {tick.time.isoformat()}; retry when it opens"
            raise MarketClosed(msg)
        return tick
