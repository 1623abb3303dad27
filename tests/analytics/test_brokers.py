"""Spread at fill and the by-broker breakdown of closed signals, from seeded terminals and
fills: medians equal those computed here, and no broker of fewer than three subscribers'
terminals is ever named (per signal and over a period)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from statistics import median

import pytest

from models.signals import Signal
from services.analytics import brokers
from services.analytics.brokers import BrokerSummary, FillFacts
from services.analytics.fills import period_by_broker, signal_execution_summary
from tests.analytics import fills_seed as seed

T = datetime(2026, 11, 10, 12, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("database")

# (broker as the EA reports it, subscriber, [(slippage in points, spread in points), ...])
# one fill per row; a subscriber's rows with the same broker are one terminal each
FILLS = [
    ("IC Markets", "a", [(1, 10)]),
    ("ic  markets ", "b", [(3, 12)]),  # the same broker, spelt differently
    ("IC Markets", "c", [(5, 20), (7, 22)]),  # one terminal, two fills
    ("Tiny Broker Ltd", "d", [(2, 30)]),  # two terminals: never named
    ("Tiny Broker Ltd", "e", [(4, 40)]),
    (None, "f", [(0, None)]),  # three terminals without a reported broker
    (None, "g", [(0, None)]),
    ("   ", "h", [(6, 8)]),  # blank: not reported
    ("Solo FX", "i", [(10, 50)]),  # one subscriber's three terminals: never named either
    ("Solo FX", "i", [(10, 50)]),
    ("Solo FX", "i", [(12, 50)]),
]


async def _seed(
    sig: Signal, rows: list[tuple[str | None, str, list[tuple[int, int | None]]]]
) -> None:
    users = {}
    for n, (broker, who, fills) in enumerate(rows):
        if who not in users:
            users[who] = await seed.user(1000 + ord(who), name=f"User {who}")
        box = await seed.terminal(users[who], f"{who}'s box {n}", broker=broker)
        for slip, spread in fills:
            await seed.fill(box, sig, f"{1.1 + slip * 0.00001:.5f}", spread=spread)


def _expected(group: str, broker: str | None, fills: list[tuple[int, int | None]],
              terminals: int) -> BrokerSummary:  # fmt: skip
    spreads = [s for _, s in fills if s is not None]
    return BrokerSummary(
        group, broker, terminals, len(fills), float(median(p for p, _ in fills)),  # type: ignore[arg-type]
        pytest.approx(median(p for p, _ in fills) / 100),
        float(median(spreads)) if spreads else None,
    )  # fmt: skip


def _fills_of(*names: str | None) -> list[tuple[int, int | None]]:
    keys = {brokers.broker_key(n) for n in names}
    return [f for b, _, fills in FILLS if brokers.broker_key(b) in keys for f in fills]


async def test_one_signal_by_broker_names_only_brokers_of_three_subscribers() -> None:
    sig = await seed.signal(T, "2.0")  # buy at 1.10000, 100 points of risk
    await _seed(sig, FILLS)
    (summary,) = (await signal_execution_summary([sig.id])).values()

    every = [f for _, _, fills in FILLS for f in fills]
    assert (summary.terminals, summary.fills) == (len(FILLS), len(every))
    assert summary.median_spread_points == median(s for _, s in every if s is not None)
    assert summary.median_slippage_points == median(p for p, _ in every)
    assert summary.brokers == (
        _expected("broker", "IC Markets", _fills_of("IC Markets"), 3),
        _expected("unreported", None, _fills_of(None), 3),
        _expected("other", None, _fills_of("Tiny Broker Ltd", "Solo FX"), 5),
    )
    shown = repr(dataclasses.asdict(summary))
    for private in ("Tiny Broker", "Solo FX", "User", "box"):
        assert private not in shown


async def test_below_three_every_broker_is_other_and_a_lone_unreported_terminal_too() -> None:
    sig = await seed.signal(T, "1.0")
    await _seed(sig, [("Pepperstone", "a", [(2, 14)]), ("Pepperstone", "b", [(4, 16)]),
                      (None, "c", [(1, None)])])  # fmt: skip
    (summary,) = (await signal_execution_summary([sig.id])).values()
    assert summary.median_spread_points == 15.0
    assert summary.brokers == (BrokerSummary("other", None, 3, 3, 2.0, pytest.approx(0.02), 15.0),)


async def test_no_fill_no_broker_and_a_spread_only_where_reported() -> None:
    idle = await seed.signal(T, "1.0")
    (summary,) = (await signal_execution_summary([idle.id])).values()
    assert (summary.brokers, summary.median_spread_points) == ((), None)


async def test_over_a_period_a_broker_is_named_once_three_subscribers_used_it() -> None:
    first, second = await seed.signal(T, "1.0"), await seed.signal(T, "-1.0")
    await _seed(first, [("Pepperstone", "a", [(2, 14)]), ("Pepperstone", "b", [(4, 16)]),
                        ("Exness", "c", [(9, 90)])])  # fmt: skip
    await _seed(second, [("Pepperstone", "z", [(6, 18)])])
    per_signal = await signal_execution_summary([first.id, second.id])
    assert all(b.group == "other" for s in per_signal.values() for b in s.brokers)

    found = await period_by_broker([first.id, second.id])
    assert found == (
        BrokerSummary("broker", "Pepperstone", 3, 3, 4.0, pytest.approx(0.04), 16.0),
        BrokerSummary("other", None, 1, 1, 9.0, pytest.approx(0.09), 90.0),
    )
    assert await period_by_broker([]) == ()


@pytest.mark.parametrize(
    ("spellings", "shown"),
    [
        (["IC Markets", "IC Markets", "ic markets"], "IC Markets"),
        (["Abc", "abc", "ABC"], "ABC"),  # a tie: the first in sort order
        (["  Spaced   Out ", "Spaced Out", "spaced out"], "Spaced Out"),
    ],
)
def test_spellings_of_one_broker_are_one_group(spellings: list[str], shown: str) -> None:
    facts = [FillFacts(n, n, name, None, 1.0, 0.01) for n, name in enumerate(spellings)]
    (row,) = brokers.by_broker(facts)
    assert (row.group, row.broker, row.terminals) == ("broker", shown, 3)
