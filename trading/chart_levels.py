"""What the signal chart says, as plain values: the levels to draw (`ChartLevels`), the
Fibonacci retracement levels between points 1 and 2 (`fib_levels`), the points' names and
the title.

No matplotlib here: `trading.charting` draws these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from trading.detector import Setup, Side, StrategyParams
from trading.timeutil import to_unix_s

DEFAULT_PARAMS = StrategyParams()


@dataclass(frozen=True, slots=True)
class ChartLevels:
    """What to draw over the candles. Times are aware datetimes or unix seconds of bar OPENs
    (as in `Setup`); prices in quote units.

    `point1`/`point2` are the Fib points of a strategy setup; a signal without them (a manual
    one) is drawn with its entry, stop and take-profit only. `signal_id` and `version` go in
    the title ("revision 2" only once revised); `title` replaces the whole composed title.
    `status` is a short right-aligned note such as "Pending" or "Filled at 1.07219".
    `digits`: decimals of the price labels (None: inferred from the candles). `params`: the
    strategy's ratios and RSI thresholds, drawn as the Fib levels and the RSI panel's lines.
    `exits_hidden`: the owner keeps the stop and take-profit private (visibility "entry
    only"): only the entry is drawn; no stop or take-profit line, tag or band, no Fib points
    or levels (the stop follows from them), and the price range is the candles' and the
    entry's alone (a range widened to the stop would show where it is).
    """

    side: Side
    entry: float
    stop: float
    take_profit: float
    point1: tuple[datetime | int, float] | None = None
    point2: tuple[datetime | int, float] | None = None
    trigger_time: datetime | int | None = None
    leg2_start: datetime | int | None = None
    title: str = ""
    status: str = ""
    digits: int | None = None
    signal_id: int | None = None
    version: int = 1
    params: StrategyParams = DEFAULT_PARAMS
    exits_hidden: bool = False

    def __post_init__(self) -> None:
        if self.side not in (Side.BUY, Side.SELL):
            msg = f"side must be Side.BUY/Side.SELL or 'buy'/'sell', got {self.side!r}"
            raise ValueError(msg)
        object.__setattr__(self, "side", Side(self.side))  # also accept "buy"/"sell"
        if self.exits_hidden:  # the Fib points give the stop away (stop = p1 + 27 % of the leg)
            object.__setattr__(self, "point1", None)
            object.__setattr__(self, "point2", None)
        points = [p[1] for p in (self.point1, self.point2) if p is not None]
        prices = (self.entry, self.stop, self.take_profit, *points)
        if not all(math.isfinite(p) for p in prices):
            msg = f"chart levels must be finite prices, got {prices}; check the setup"
            raise ValueError(msg)
        if self.digits is not None and not 0 <= self.digits <= 10:
            msg = f"digits must be 0..10 decimals (e.g. 5 for EURUSD), got {self.digits}"
            raise ValueError(msg)
        if self.version < 1 or (self.signal_id is not None and self.signal_id < 1):
            msg = f"version and signal_id must be >= 1, got {self.version}, {self.signal_id}"
            raise ValueError(msg)

    @classmethod
    def from_setup(
        cls,
        setup: Setup,
        *,
        title: str = "",
        status: str = "",
        digits: int | None = None,
        signal_id: int | None = None,
        version: int = 1,
        params: StrategyParams = DEFAULT_PARAMS,
    ) -> ChartLevels:
        """The levels of a detector `Setup`: a live signal, or a backtest trade."""
        return cls(
            side=setup.side,
            entry=setup.entry,
            stop=setup.stop,
            take_profit=setup.take_profit,
            point1=(setup.point1_time, setup.point1_price),
            point2=(setup.point2_time, setup.point2_price),
            trigger_time=setup.trigger_time,
            leg2_start=setup.leg2_start,
            title=title,
            status=status,
            digits=digits,
            signal_id=signal_id,
            version=version,
            params=params,
        )


@dataclass(frozen=True, slots=True)
class FibLevel:
    """One retracement level: `ratio` of the 1 -> 2 move measured back from point 2
    (0 = point 2, 1 = point 1, > 1 beyond point 1), its price and its label ("74 %")."""

    ratio: float
    price: float
    label: str


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.4g} %"


def fib_levels(levels: ChartLevels) -> tuple[FibLevel, ...]:
    """The retracement levels the strategy trades, ascending by ratio: 0 % (point 2), the
    entry ratio (74 %), 100 % (point 1) and the stop beyond point 1 (1 + 0.27 = 127 %).

    price(r) = p2 + r * (p1 - p2) for both sides (STRATEGY.md: sell entry =
    low + 0.74 * range, stop = high + 0.27 * range; buy mirrored). Empty without both points.
    """
    if levels.point1 is None or levels.point2 is None:
        return ()
    p1, p2 = levels.point1[1], levels.point2[1]
    ratios = (0.0, levels.params.entry_ratio, 1.0, 1.0 + levels.params.stop_ratio)
    return tuple(FibLevel(r, p2 + r * (p1 - p2), _pct(r)) for r in ratios)


def point_names(side: Side) -> tuple[str, str]:
    """What points 1 and 2 are: a sell's 1 is the swing high, its 2 the swing low."""
    return ("swing high", "swing low") if side is Side.SELL else ("swing low", "swing high")


def timeframe_label(seconds: int) -> str:
    """MT5's name of a bar length: 60 -> "M1", 900 -> "M15", 3600 -> "H1", 86400 -> "D1",
    604800 -> "W1"; other lengths in seconds ("45s")."""
    for unit, size in (("W", 604800), ("D", 86400), ("H", 3600), ("M", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{unit}{seconds // size}"
    return f"{seconds}s"


def chart_title(
    levels: ChartLevels, symbol: str, timeframe_s: int, bar_time: datetime | int
) -> tuple[str, str]:
    """(headline, details): "EURUSD · SELL" and "H1 · 31 May 2017 09:00 UTC · #12 ·
    revision 2". The time is the open of the last bar drawn (MT5's bar time); "#12" the
    signal; "revision N" only once it was revised. A non-empty `levels.title` replaces both.
    Short: every glyph costs render time."""
    if levels.title:
        return levels.title, ""
    when = datetime.fromtimestamp(_unix(bar_time), tz=UTC)
    details = [f"{timeframe_label(timeframe_s)} · {when:%d %b %Y %H:%M} UTC"]
    if levels.signal_id is not None:
        details.append(f"#{levels.signal_id}")
    if levels.version > 1:
        details.append(f"revision {levels.version}")
    return f"{symbol} · {levels.side.value.upper()}", " · ".join(details)


def _unix(t: datetime | int) -> int:
    return to_unix_s(t) if isinstance(t, datetime) else int(t)
