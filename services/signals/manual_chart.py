"""The chart of a manual signal: the feed's recent bars with the signal's levels.

The same chart function as the strategy's signals (`trading.charting.render_signal_chart`),
without the Fib-RSI points and leg (a manual signal has none); the risk and reward bands start
at the last bar, where the signal was placed.
"""

from __future__ import annotations

from collections.abc import Callable

from services.signals.views import SignalView
from trading.candles import Candles
from trading.charting import ChartLevels, render_signal_chart
from trading.detector import Side


def chart_renderer(
    candles: Candles, digits: int, *, exits_hidden: bool = False
) -> Callable[[SignalView], bytes]:
    """A renderer for `services.signals.lifecycle.publish`: PNG bytes of `view` over `candles`
    (with `exits_hidden`, the owner's visibility "entry only": the entry alone)."""

    def render(view: SignalView) -> bytes:
        levels = ChartLevels(
            side=Side(view.side),
            entry=float(view.entry),
            stop=float(view.stop),
            take_profit=float(view.take_profit),
            title=f"{view.symbol} · {view.side.upper()} · #{view.id} · manual",
            digits=digits,
            exits_hidden=exits_hidden,
        )
        return render_signal_chart(candles, levels)

    return render
