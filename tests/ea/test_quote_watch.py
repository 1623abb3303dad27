"""Quotes on their way to the alert evaluator: the replica-bus event (wire and merging) and the
alert watch's coalescing (a flood while it is behind keeps one waiting quote per symbol)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from core.bus import Bus
from jobs.alerts import MAX_QUOTED_SYMBOLS, AlertWatch
from services.alerts.evaluator import AlertEvaluator
from services.alerts.firing import Fired
from services.events import QUOTE_CHUNK, Quote, QuotesReported
from services.terminals.protocol import QuoteIn
from services.terminals.quotes import ours
from tests.waiting import until

GOLD = Quote("XAUUSD", D("2400.10"), D("2400.40"))
EURO = Quote("EURUSD", D("1.08500"), D("1.08512"))


def test_quotes_travel_between_replicas_exactly_in_chunks() -> None:
    many = tuple(Quote(f"S{i}", D(i + 1), D(i + 1) + D("0.00001")) for i in range(250))
    wire = QuotesReported(many).to_wire()
    assert [len(w["quotes"]) for w in wire] == [QUOTE_CHUNK, QUOTE_CHUNK, 50]
    back = [QuotesReported.from_wire(w) for w in wire]
    assert tuple(q for event in back if event for q in event.quotes) == many


def test_only_well_formed_quotes_come_off_the_wire() -> None:
    assert QuotesReported.from_wire({"quotes": [["XAUUSD", "2400.1", "2400.4"]]}) == (
        QuotesReported((Quote("XAUUSD", D("2400.1"), D("2400.4")),))
    )
    for bad in (
        {"live": "alert", "key": 1, "users": []},  # another event
        {"quotes": "XAUUSD"},
        {"quotes": [["XAUUSD", "2400.1"]]},
        {"quotes": [[7, "2400.1", "2400.4"]]},
        {"quotes": [["XAUUSD", 2400.1, "2400.4"]]},  # numbers travel as exact strings
        {"quotes": [["XAUUSD", "NaN", "2400.4"]]},
        {"quotes": [["XAUUSD", "0", "2400.4"]]},
        {"quotes": [["XAUUSD", "2400.5", "2400.4"]]},
        {"quotes": [["XAUUSD", "x", "2400.4"]]},
    ):
        assert QuotesReported.from_wire(bad) is None, bad


async def test_held_quotes_merge_to_the_latest_of_each_symbol(bus: Bus) -> None:
    heard: list[QuotesReported] = []
    bus.subscribe(QuotesReported, heard.append)
    newer = Quote("XAUUSD", D("2401.00"), D("2401.30"))
    with bus.deferred():
        bus.publish(QuotesReported((GOLD, EURO)))
        bus.publish(QuotesReported((newer,)))
    assert heard == [QuotesReported((newer, EURO))]


def test_broker_symbols_map_to_ours_and_unknown_ones_are_dropped() -> None:
    mapped = {"XAUUSDm": "XAUUSD", "GOLD.pro": "XAUUSD", "EURUSD.r": "EURUSD",
              "ZZTOP": None, "ABCDEF": "ABCDEF"}  # fmt: skip
    quotes = [
        QuoteIn("XAUUSDm", D("2400.1"), D("2400.4")),
        QuoteIn("ZZTOP", D(3), D(4)),  # no mapping
        QuoteIn("ABCDEF", D(1), D(2)),  # an FX-looking name we have no spec for
        QuoteIn("EURUSD.r", D("1.085"), D("1.0851")),
        QuoteIn("GOLD.pro", D("2400.2"), D("2400.5")),  # the same instrument: the later wins
    ]
    assert ours(mapped, quotes) == [
        Quote("EURUSD", D("1.085"), D("1.0851")),
        Quote("XAUUSD", D("2400.2"), D("2400.5")),
    ]


class GatedEvaluator(AlertEvaluator):
    """Records every quote evaluated; the first waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.quoted: list[tuple[str, D, D]] = []

    async def rebuild(self) -> int:
        return 0  # no database: nothing to watch but quotes

    async def on_quote(self, symbol: str, bid: D, ask: D) -> list[Fired]:
        self.started.set()
        await self.gate.wait()
        self.quoted.append((symbol, bid, ask))
        return []


async def test_a_flood_while_the_watch_is_behind_keeps_one_quote_per_symbol() -> None:
    evaluator = GatedEvaluator()
    watch = AlertWatch(evaluator)
    watch.quotes(QuotesReported((GOLD,)))  # not leading: ignored
    assert watch.waiting == 0
    await watch.start()
    try:
        watch.quotes(QuotesReported((GOLD,)))
        await asyncio.wait_for(evaluator.started.wait(), 30)  # busy with it, the gate shut
        for i in range(10_000):
            step = D(i) / 100
            watch.quotes(QuotesReported((
                Quote("XAUUSD", D("2400") + step, D("2400.3") + step),
                Quote("EURUSD", D("1.08") + step / 1000, D("1.0801") + step / 1000),
            )))  # fmt: skip
            assert watch.waiting <= 2
        watch.quotes(QuotesReported((Quote("GBPUSD", D("1.27"), D("1.2701")),)))
        assert watch.waiting == 3
        assert watch.quotes_replaced == 2 * 9_999
        evaluator.gate.set()
        await until(lambda: watch.idle.is_set(), "the watch caught up")
    finally:
        await watch.stop()
    assert evaluator.quoted == [
        ("XAUUSD", GOLD.bid, GOLD.ask),  # the one being evaluated when the flood came
        ("XAUUSD", D("2499.99"), D("2500.29")),  # then only the latest of each symbol
        ("EURUSD", D("1.17999"), D("1.18009")),
        ("GBPUSD", D("1.27"), D("1.2701")),
    ]


async def test_quotes_of_too_many_symbols_are_refused_not_queued() -> None:
    evaluator = GatedEvaluator()
    watch = AlertWatch(evaluator)
    await watch.start()
    try:
        watch.quotes(QuotesReported((GOLD,)))
        await asyncio.wait_for(evaluator.started.wait(), 30)
        names = [f"X{i}" for i in range(MAX_QUOTED_SYMBOLS + 50)]
        watch.quotes(QuotesReported(tuple(Quote(n, D(1), D(2)) for n in names)))
        assert watch.waiting == MAX_QUOTED_SYMBOLS
    finally:
        await watch.stop()
    assert watch.waiting == 0
