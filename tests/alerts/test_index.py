"""The sorted index: above / below / cross at exact levels and over gaps, and (hypothesis) the
same hits as a naive scan of every alert for any alerts and any sequence of moves."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.alerts.index import AlertIndex, Move, Watch, naive_hits


def index(*watches: Watch, reference: str = "2390") -> AlertIndex:
    out = AlertIndex()
    out.add_many(watches)
    out.advance("XAUUSD", D(reference))
    return out


def w(alert_id: int, condition: str, level: str, symbol: str = "XAUUSD") -> Watch:
    return Watch(alert_id, symbol, condition, D(level))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reference", "move", "fires"),
    [
        ("2390", Move.at(D("2400")), True),  # reaches the level exactly from below
        ("2390", Move.at(D("2399.99")), False),  # one tick short
        ("2390", Move(D("2405"), D("2420"), D("2410")), True),  # a bar gapping over it
        ("2390", Move(D("2380"), D("2400"), D("2385")), True),  # the bar's high touched it
        ("2400", Move.at(D("2401")), False),  # started on the level: not "from below"
        ("2410", Move.at(D("2420")), False),  # already above
        ("2410", Move(D("2395"), D("2410"), D("2405")), False),  # from above: not an "above"
    ],
)
def test_above(reference: str, move: Move, fires: bool) -> None:
    idx = index(w(1, "above", "2400"), reference=reference)
    assert idx.hits("XAUUSD", move) == ([1] if fires else [])


@pytest.mark.parametrize(
    ("reference", "move", "fires"),
    [
        ("2410", Move.at(D("2400")), True),
        ("2410", Move.at(D("2400.01")), False),
        ("2410", Move(D("2380"), D("2395"), D("2390")), True),  # gap down over the level
        ("2400", Move.at(D("2399")), False),  # started on it
        ("2390", Move.at(D("2380")), False),  # already below
    ],
)
def test_below(reference: str, move: Move, fires: bool) -> None:
    idx = index(w(1, "below", "2400"), reference=reference)
    assert idx.hits("XAUUSD", move) == ([1] if fires else [])


@pytest.mark.parametrize(
    ("reference", "move", "fires"),
    [
        ("2390", Move.at(D("2400")), True),
        ("2410", Move.at(D("2400")), True),
        ("2390", Move(D("2405"), D("2420"), D("2410")), True),
        ("2410", Move(D("2380"), D("2395"), D("2390")), True),
        ("2400", Move(D("2399"), D("2401"), D("2400")), False),  # resting on the level
        ("2390", Move.at(D("2395")), False),
    ],
)
def test_cross(reference: str, move: Move, fires: bool) -> None:
    idx = index(w(1, "cross", "2400"), reference=reference)
    assert idx.hits("XAUUSD", move) == ([1] if fires else [])


def test_a_wide_bar_fires_a_cross_alert_once() -> None:
    """A bar whose range covers the level on both sides of the reference (impossible with a
    single level, so: two levels) lists each alert once."""
    idx = index(w(1, "cross", "2400"), w(2, "cross", "2380"), reference="2390")
    assert sorted(idx.hits("XAUUSD", Move(D("2370"), D("2410"), D("2390")))) == [1, 2]


def test_hits_leave_the_reference_and_advance_moves_it() -> None:
    idx = index(w(1, "above", "2400"), reference="2390")
    assert idx.hits("XAUUSD", Move.at(D("2401"))) == [1]
    assert idx.hits("XAUUSD", Move.at(D("2401"))) == [1]  # nothing changed yet
    idx.advance("XAUUSD", D("2401"))
    assert idx.hits("XAUUSD", Move.at(D("2402"))) == []


def test_no_reference_no_hits_other_symbols_apart() -> None:
    idx = AlertIndex()
    idx.add(w(1, "above", "1.0900", "EURUSD"))
    assert idx.hits("EURUSD", Move.at(D("2"))) == []  # the first price only sets the reference
    idx.add(w(2, "above", "2400"))
    idx.advance("XAUUSD", D("2390"))
    assert idx.hits("XAUUSD", Move.at(D("2400"))) == [2]


def test_remove_and_replace() -> None:
    idx = index(w(1, "above", "2400"), w(2, "above", "2400"), w(3, "cross", "2400"))
    assert idx.remove(2) is not None
    assert idx.remove(2) is None
    assert sorted(idx.hits("XAUUSD", Move.at(D("2400")))) == [1, 3]
    idx.add(w(1, "below", "2380"))  # the same alert with other terms: replaced
    assert idx.hits("XAUUSD", Move.at(D("2400"))) == [3]
    assert idx.hits("XAUUSD", Move.at(D("2380"))) == [1]
    assert len(idx) == 2 and 2 not in idx


LEVELS = st.integers(min_value=2300, max_value=2500).map(D)
WATCH = st.tuples(st.sampled_from(["above", "below", "cross"]), LEVELS)
MOVE = st.tuples(LEVELS, LEVELS, st.floats(0, 1)).map(
    lambda t: Move(
        min(t[0], t[1]),
        max(t[0], t[1]),
        min(t[0], t[1]) + (abs(t[0] - t[1]) * D(str(round(t[2], 2)))),
    )  # fmt: skip
)


@settings(max_examples=300, deadline=None)
@given(
    watches=st.lists(WATCH, max_size=40),
    removed=st.sets(st.integers(0, 39), max_size=10),
    start=LEVELS,
    moves=st.lists(MOVE, min_size=1, max_size=12),
)
def test_the_index_gives_the_hits_of_a_naive_scan(
    watches: list[tuple[str, D]], removed: set[int], start: D, moves: list[Move]
) -> None:
    idx = AlertIndex()
    live = {i: w(i, c, str(level)) for i, (c, level) in enumerate(watches)}
    idx.add_many(live.values())
    for i in removed:
        idx.remove(i)
        live.pop(i, None)
    reference: D | None = start
    idx.advance("XAUUSD", start)
    for move in moves:
        got = idx.hits("XAUUSD", move)
        assert len(got) == len(set(got))  # each alert once
        assert set(got) == naive_hits(live.values(), reference, move)
        for hit in got[: len(got) // 2]:  # one-shot: some fire and leave
            idx.remove(hit)
            live.pop(hit)
        idx.advance("XAUUSD", move.last)
        reference = move.last


@settings(max_examples=200, deadline=None)
@given(
    first=st.lists(st.tuples(st.integers(0, 30), WATCH), max_size=30),
    then=st.lists(st.tuples(st.integers(0, 30), WATCH), max_size=30),
    moves=st.lists(MOVE, min_size=1, max_size=6),
)
def test_adding_many_at_once_is_adding_them_one_by_one(
    first: list[tuple[int, tuple[str, D]]], then: list[tuple[int, tuple[str, D]]],
    moves: list[Move],
) -> None:  # fmt: skip
    """`add_many` (one sort per side, onto alerts already there, repeated ids replaced: the last
    wins) gives the same hits in the same order as calling `add` for each."""
    one_by_one, at_once = AlertIndex(), AlertIndex()
    for batch in (first, then):
        watches = [w(i, c, str(level)) for i, (c, level) in batch]
        for watch in watches:
            one_by_one.add(watch)
        at_once.add_many(watches)
        assert len(at_once) == len(one_by_one)
    for idx in (one_by_one, at_once):
        idx.advance("XAUUSD", D("2400"))
    for move in moves:
        assert at_once.hits("XAUUSD", move) == one_by_one.hits("XAUUSD", move)
        for idx in (one_by_one, at_once):
            idx.advance("XAUUSD", move.last)
