"""FX / metals calendar in New York time, across both DST switches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trading.market_hours import is_open, next_close, next_open, open_seconds
from trading.symbols import get_spec

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("t", "fx", "metal"),
    [
        (ny(2024, 3, 8, 16, 59), True, True),  # Friday before the close
        (ny(2024, 3, 8, 17, 0), False, False),  # Friday 17:00 NY: weekly close
        (ny(2024, 3, 9, 12, 0), False, False),  # Saturday
        (ny(2024, 3, 10, 16, 59), False, False),  # Sunday before the open (DST day)
        (ny(2024, 3, 10, 17, 0), True, False),  # Sunday 17:00: FX opens, metals pause
        (ny(2024, 3, 10, 18, 0), True, True),  # metals open after the daily pause
        (ny(2024, 3, 12, 17, 30), True, False),  # Tuesday daily metals pause
        (ny(2024, 3, 12, 18, 0), True, True),
        (ny(2024, 3, 12, 0, 0), True, True),  # midnight is not a boundary
        (ny(2024, 11, 3, 1, 30), False, False),  # Sunday of the fall-back (ambiguous hour)
        (ny(2024, 11, 3, 17, 30), True, False),
    ],
)
def test_is_open(t: datetime, fx: bool, metal: bool) -> None:
    assert is_open("EURUSD", t) is fx
    assert is_open("XAUUSD", t) is metal
    assert is_open(get_spec("GOLD"), t) is metal


def test_dst_is_respected_in_utc() -> None:
    # Winter: Friday 17:00 EST = 22:00 UTC; summer: 17:00 EDT = 21:00 UTC.
    assert is_open("EURUSD", datetime(2024, 1, 5, 21, 30, tzinfo=UTC))
    assert not is_open("EURUSD", datetime(2024, 7, 5, 21, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("symbol", "t", "expected"),
    [
        ("EURUSD", ny(2024, 3, 9, 12), ny(2024, 3, 10, 17)),
        ("XAUUSD", ny(2024, 3, 9, 12), ny(2024, 3, 10, 18)),
        ("XAUUSD", ny(2024, 3, 12, 17, 15), ny(2024, 3, 12, 18)),
        ("EURUSD", ny(2024, 3, 8, 17), ny(2024, 3, 10, 17)),
        ("EURUSD", ny(2024, 3, 12, 10), ny(2024, 3, 12, 10)),  # open: t itself
    ],
)
def test_next_open(symbol: str, t: datetime, expected: datetime) -> None:
    assert next_open(symbol, t) == expected


@pytest.mark.parametrize(
    ("symbol", "t", "expected"),
    [
        ("EURUSD", ny(2024, 3, 11, 10), ny(2024, 3, 15, 17)),
        ("EURUSD", ny(2024, 3, 9, 10), ny(2024, 3, 15, 17)),  # closed: end of next session
        ("XAUUSD", ny(2024, 3, 11, 10), ny(2024, 3, 11, 17)),
        ("XAUUSD", ny(2024, 3, 11, 19), ny(2024, 3, 12, 17)),
        ("XAUUSD", ny(2024, 3, 10, 18), ny(2024, 3, 11, 17)),
        ("XAUUSD", ny(2024, 3, 15, 16), ny(2024, 3, 15, 17)),
    ],
)
def test_next_close(symbol: str, t: datetime, expected: datetime) -> None:
    assert next_close(symbol, t) == expected


def test_results_are_aware_utc() -> None:
    t = next_open("EURUSD", datetime(2024, 3, 9, tzinfo=UTC))
    assert t.tzinfo is UTC
    assert t == datetime(2024, 3, 10, 21, tzinfo=UTC)  # 17:00 EDT


def test_naive_time_is_rejected() -> None:
    naive = datetime(2024, 3, 11, 10)  # noqa: DTZ001 - the point of the test
    for fn in (is_open, next_open, next_close):
        with pytest.raises(ValueError, match="naive"):
            fn("EURUSD", naive)


def test_unknown_symbols_use_the_name_heuristic() -> None:
    t = ny(2024, 3, 12, 17, 30)
    assert is_open("AUDCAD", t)
    assert not is_open("XAGUSD", t)
    assert next_open("XAGUSD", t) - t == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("symbol", "start", "end", "hours"),
    [
        ("EURUSD", ny(2024, 3, 12, 9), ny(2024, 3, 12, 12), 3),  # a Tuesday morning
        ("EURUSD", ny(2024, 3, 12, 12), ny(2024, 3, 12, 9), 0),  # end before start
        ("EURUSD", ny(2024, 3, 8, 16), ny(2024, 3, 11, 0), 1 + 7),  # Fri 16:00 -> Mon 00:00
        ("XAUUSD", ny(2024, 3, 8, 16), ny(2024, 3, 11, 0), 1 + 6),  # gold opens Sun 18:00
        ("XAUUSD", ny(2024, 3, 12, 16), ny(2024, 3, 12, 19), 2),  # the daily pause
        ("EURUSD", ny(2024, 3, 9, 1), ny(2024, 3, 10, 16), 0),  # all weekend
        ("EURUSD", ny(2024, 3, 10, 12), ny(2024, 3, 17, 12), 24 * 5),  # one whole week
        ("XAUUSD", ny(2024, 3, 10, 12), ny(2024, 3, 17, 12), 24 * 5 - 5),  # minus 5 pauses
    ],
)
def test_open_seconds_counts_only_trading_time(
    symbol: str, start: datetime, end: datetime, hours: int
) -> None:
    assert open_seconds(symbol, start, end) == hours * 3600
    assert open_seconds(symbol, start.astimezone(UTC), end.astimezone(UTC)) == hours * 3600


def test_open_seconds_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        open_seconds("EURUSD", datetime(2024, 3, 12), ny(2024, 3, 12, 9))  # noqa: DTZ001
