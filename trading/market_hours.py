"""FX and metals trading calendar in New York time (STRATEGY.md "Market hours").

FX: open Sunday 17:00 to Friday 17:00 New York. Metals: the same week, plus a daily pause
17:00-18:00 New York (so gold opens Sunday 18:00). DST comes from zoneinfo: the boundaries are
New York wall-clock hours, never fixed UTC hours. Holidays are not modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from trading import constants as C
from trading.symbols import SymbolKind, SymbolSpec, symbol_kind
from trading.timeutil import require_aware

NY = ZoneInfo(C.MARKET_TZ)
_SUNDAY, _FRIDAY, _SATURDAY = 6, 4, 5
_DAY = timedelta(days=1)
# Sessions are listed per New York calendar day as [start, end) wall-clock times; `None` as
# the end means "until midnight", where the next day's session may continue it.
_Session = tuple[time, time | None]


def _kind(symbol: str | SymbolSpec) -> SymbolKind:
    return symbol.kind if isinstance(symbol, SymbolSpec) else symbol_kind(symbol)


def _sessions(kind: SymbolKind, day: date) -> list[_Session]:
    """Open intervals of one New York calendar day."""
    week_open = time(C.WEEK_OPEN_HOUR_NY)
    pause_start, pause_end = time(C.METAL_PAUSE_START_HOUR_NY), time(C.METAL_PAUSE_END_HOUR_NY)
    weekday = day.weekday()
    if weekday == _SATURDAY:
        return []
    if weekday == _SUNDAY:
        start = max(week_open, pause_end) if kind == "metal" else week_open
        return [(start, None)]
    if weekday == _FRIDAY:
        return [(time(0), time(C.WEEK_CLOSE_HOUR_NY))]
    if kind == "metal":
        return [(time(0), pause_start), (pause_end, None)]
    return [(time(0), None)]


def _at(day: date, wall: time) -> datetime:
    # Boundaries are 00:00, 17:00 and 18:00: never inside a DST jump (02:00), so unambiguous.
    return datetime.combine(day, wall, tzinfo=NY).astimezone(UTC)


def _local(t: datetime) -> tuple[date, time]:
    require_aware(t)
    ny = t.astimezone(NY)
    return ny.date(), ny.time().replace(tzinfo=None)


def is_open(symbol: str | SymbolSpec, t: datetime) -> bool:
    """True when `symbol` trades at aware instant `t` (naive raises ValueError).

    Reference: STRATEGY.md "Market hours"; kind from `trading.symbols` (metal for XAU/GOLD)."""
    day, wall = _local(t)
    return any(
        start <= wall and (end is None or wall < end)
        for start, end in _sessions(_kind(symbol), day)
    )


def next_open(symbol: str | SymbolSpec, t: datetime) -> datetime:
    """`t` itself when open, else the first instant after `t` the market opens (aware UTC)."""
    if is_open(symbol, t):
        return t
    kind = _kind(symbol)
    day, wall = _local(t)
    for offset in range(8):
        d = day + offset * _DAY
        for start, _end in _sessions(kind, d):
            if offset > 0 or start > wall:
                return _at(d, start)
    msg = "no session within 8 days: calendar misconfigured"  # pragma: no cover
    raise RuntimeError(msg)  # pragma: no cover


def next_close(symbol: str | SymbolSpec, t: datetime) -> datetime:
    """The first instant at or after `t` at which the market closes (aware UTC). When closed at
    `t`, the close that ends the next session. Sessions joined across midnight count as one."""
    kind = _kind(symbol)
    start_t = next_open(symbol, t)
    day, wall = _local(start_t)
    for offset in range(8):
        d = day + offset * _DAY
        for _start, end in _sessions(kind, d):
            if end is None or (offset == 0 and end <= wall):
                continue  # runs past midnight (continues tomorrow) or already over
            return _at(d, end)
    msg = "no close within 8 days: calendar misconfigured"  # pragma: no cover
    raise RuntimeError(msg)  # pragma: no cover


def open_seconds(symbol: str | SymbolSpec, start: datetime, end: datetime) -> float:
    """Seconds of trading time in `[start, end)` (aware instants; 0 when `end <= start`).

    Formula: the sum over the sessions that overlap the interval of their overlap, so a
    weekend or the metals' daily pause counts for nothing. Used to tell a stalled feed from a
    closed market: "no bar for 3 hours" means stalled only if the market was open for them.
    Reference: STRATEGY.md "Market hours"."""
    require_aware(start, "start")
    require_aware(end, "end")
    total = 0.0
    t = start
    while t < end:
        t = next_open(symbol, t)
        if t >= end:
            break
        close = min(next_close(symbol, t), end)
        total += (close - t).total_seconds()
        t = close
    return total
