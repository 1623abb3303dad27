"""Every signal event appends exactly one entry, in order, in the event's own transaction;
live levels hide behind commitments that the ending entry reveals."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from models.ledger import LedgerCommitment, LedgerEntry
from models.signals import CloseReason, Signal, SignalStatus
from services.copy import engine as copy_engine
from services.ledger import canonical, chain
from services.signals import lifecycle as signals
from tests.ledger.helpers import check, draft, entries, publish, revise

S = SignalStatus


async def kinds_of(signal_id: int) -> list[str]:
    return [e.kind for e in await entries() if e.signal == signal_id]


async def test_every_kind_of_event_appends_one_entry_in_order(database: str) -> None:
    closed = await publish()
    await revise(closed, 2)
    await revise(closed, 3)
    await signals.transition(closed.id, S.FILLED, price=D("2030.60"))
    await signals.transition(closed.id, S.CLOSED, price=D("2052.03"), reason=CloseReason.TP)
    ended = {}
    for status in (S.EXPIRED, S.REPLACED, S.CANCELLED):
        view = await publish(side="sell")
        await signals.transition(view.id, status)
        ended[status] = view.id
    stopped = await publish()
    await signals.transition(stopped.id, S.FILLED)
    await signals.cancel(stopped.id, actor_id=900)  # a filled signal is closed (manual)

    assert await kinds_of(closed.id) == ["published", "revised", "revised", "filled", "closed"]
    for status, signal_id in ended.items():
        assert await kinds_of(signal_id) == ["published", status.value]
    assert await kinds_of(stopped.id) == ["published", "filled", "closed"]
    everything = await entries()
    assert [e.seq for e in everything] == list(range(1, 15))
    assert len(everything) == await LedgerEntry.all().count() == 14
    verdict = await check()
    assert verdict.ok, verdict.broken
    assert verdict.entries == 14
    # 4 + 1 + 1 + 1 + 2 live entries, each revealed by its signal's ending entry
    assert verdict.revealed == 9


async def test_a_refused_or_repeated_event_appends_nothing(database: str) -> None:
    view = await publish()
    assert await signals.publish(draft()) is not None  # another setup: one more entry
    before = await LedgerEntry.all().count()
    row = await Signal.get(id=view.id)
    assert await signals.revise(row.setup_key, 1, row.entry, row.stop, row.take_profit) is None
    with pytest.raises(signals.TransitionRefused):
        await signals.transition(view.id, S.CLOSED)  # published -> closed is not a step
    assert await LedgerEntry.all().count() == before


async def test_a_rolled_back_event_leaves_no_entry_and_the_chain_goes_on(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = await publish()

    async def broken(*_: object) -> list[str]:
        raise RuntimeError("copy engine failed after the ledger was written")

    monkeypatch.setattr(copy_engine, "on_transition", broken)
    with pytest.raises(RuntimeError):
        await signals.transition(view.id, S.EXPIRED)
    assert await kinds_of(view.id) == ["published"]
    assert (await signals.get(view.id)).status is S.PUBLISHED
    monkeypatch.undo()
    await signals.transition(view.id, S.EXPIRED)
    assert await kinds_of(view.id) == ["published", "expired"]
    assert (await check()).ok


async def test_the_ledger_refuses_an_append_outside_a_transaction(database: str) -> None:
    view = await publish()
    with pytest.raises(chain.NotInTransaction):
        await chain.record(view, view.published_at)


async def test_live_entries_hide_the_levels_and_the_end_reveals_them(database: str) -> None:
    view = await publish()
    await revise(view, 2)
    await signals.transition(view.id, S.FILLED, price=D("2030.55"))
    live = await entries()
    text = json.dumps([e.event for e in live])
    for level in ("2030.50", "2020.25", "2051.00", "2030.52", "2030.55"):
        assert level not in text  # no live level in any public entry
    assert all("commitment" in e.event and "levels" not in e.event for e in live)
    assert "salt" not in text

    await signals.transition(view.id, S.CLOSED, price=D("2051.02"), reason=CloseReason.TP)
    end = (await entries())[-1].event
    assert end["levels"] == {
        "entry": "2030.52", "stop": "2020.27", "take_profit": "2051.02",
        "fill_price": "2030.55", "exit_price": "2051.02",
    }  # fmt: skip
    assert end["reason"] == "tp"
    assert end["result_r"] == "1.9912"  # (2051.02 - 2030.55) / (2030.55 - 2020.27)
    assert (await signals.get(view.id)).result_r == D("1.9912")
    reveal = end["reveal"]
    assert [item["seq"] for item in reveal["levels"]] == [1, 2, 3]
    assert reveal["levels"][0]["levels"] == {
        "entry": "2030.50",
        "stop": "2020.25",
        "take_profit": "2051.00",
    }
    assert reveal["levels"][2]["levels"]["fill_price"] == "2030.55"
    salts = set(await LedgerCommitment.filter(signal_id=view.id).values_list("salt", flat=True))
    assert salts == {reveal["salt"]} and len(reveal["salt"]) == 64
    for item, entry in zip(reveal["levels"], live, strict=True):
        expected = canonical.commitment(item["levels"], reveal["salt"], entry.seq)
        assert entry.event["commitment"] == expected
    assert (await check()).revealed == 3


async def test_each_signal_has_its_own_salt(database: str) -> None:
    first, second = await publish(), await publish()
    for view in (first, second):
        await signals.transition(view.id, S.CANCELLED)
    reveals = [e.event["reveal"]["salt"] for e in await entries() if e.kind == "cancelled"]
    assert len(set(reveals)) == 2


async def test_the_canonical_form_is_documented_json(database: str) -> None:
    view = await publish("EURUSD", "sell")
    row = await LedgerEntry.get(seq=1)
    event = json.loads(row.event)
    assert row.event == json.dumps(event, sort_keys=True, separators=(",", ":"))
    assert event["at"] == "2030-01-01T09:00:00Z"
    assert event["expires_at"] == "2030-01-01T17:00:00Z"
    assert set(event) == {
        "v", "kind", "signal", "symbol", "side", "source", "version", "at", "expires_at",
        "commitment",
    }  # fmt: skip
    assert row.prev_hash == canonical.GENESIS
    assert row.hash == canonical.sha256_hex(
        json.dumps({"event": event, "prev": canonical.GENESIS, "seq": 1}, sort_keys=True,
                   separators=(",", ":"))
    )  # fmt: skip
    await signals.transition(view.id, S.EXPIRED)
    levels = json.loads((await LedgerEntry.get(seq=2)).event)["levels"]
    assert levels["entry"] == "2030.50000"  # EURUSD has 5 digits: prices as strings with them


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (D("1.0841"), 5, "1.08410"),
        (D("2031.5"), 2, "2031.50"),
        (D("-0.00001"), 4, "0.0000"),
        (D("-1"), 4, "-1.0000"),
        (D("0.000025"), 5, "0.00003"),
    ],
)
def test_decimal_text(value: D, places: int, text: str) -> None:
    assert canonical.decimal_text(value, places) == text


async def test_concurrent_appends_never_fork_the_chain(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishes and transitions at once, each in its own transaction (on PostgreSQL each on
    its own pooled connection, as two replicas would be): one chain, no gap, no fork, none
    refused. The window between reading the head and writing the entry is widened so that
    unserialised appends would all read the same head."""
    import asyncio

    real_salt = chain._salt

    async def slow_salt(signal_id: int) -> str:
        await asyncio.sleep(0.05)
        return await real_salt(signal_id)

    monkeypatch.setattr(chain, "_salt", slow_salt)
    views = await asyncio.gather(*(signals.publish(draft()) for _ in range(8)))
    assert all(v is not None for v in views)
    ids = [v.id for v in views if v is not None]
    await asyncio.gather(*(signals.transition(i, S.CANCELLED) for i in ids[:4]),
                         *(signals.transition(i, S.FILLED) for i in ids[4:]))  # fmt: skip
    everything = await entries()
    assert [e.seq for e in everything] == list(range(1, 17))
    assert len({e.prev for e in everything}) == 16  # each entry has one successor at most
    verdict = await check()
    assert verdict.ok, verdict.broken
