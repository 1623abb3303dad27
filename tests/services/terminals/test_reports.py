"""What terminals report: acks through the real command queue, accounts, symbols and bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from core.bus import Bus
from models.devices import (
    AccountSnapshot,
    CommandStatus,
    CommandType,
    DeviceMode,
    DeviceSymbol,
    Execution,
    Position,
)
from models.users import Role
from services.events import BarsReported
from services.terminals import acks, symbol_map
from services.terminals import reports as terminal_reports
from services.terminals.device_auth import DeviceRef
from services.terminals.protocol import AccountReport, AckIn, BarIn, PositionIn
from tests.buses import heard
from tests.services.terminals import helpers as th
from trading.candles import Bar
from trading.feeds import PushFeed

SUB, OWNER = 601, 602
S = CommandStatus


def ref(row: object) -> DeviceRef:
    return DeviceRef(row.id, row.device_id, row.user_id)  # type: ignore[attr-defined]


def ack(command_id: str, status: S, **kw: object) -> AckIn:
    fields: dict[str, object] = {"ticket": None, "price": None, "volume": None, "time": None}
    return AckIn(command_id=command_id, status=status, error=None, **(fields | kw))  # type: ignore[arg-type]


def position(ticket: int, comment: str = "", profit: str = "0") -> PositionIn:
    return PositionIn(
        ticket=ticket, symbol="EURUSD", side="sell", volume=D("0.53"), open_price=th.ENTRY,
        sl=th.STOP, tp=th.TP, profit=D(profit), comment=comment,
    )  # fmt: skip


def account(equity: str, *positions: PositionIn, balance: str = "10000") -> AccountReport:
    return AccountReport(D(balance), D(equity), D(0), "USD", tuple(positions))


async def test_fill_and_close_through_the_command_queue(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam)
    view = await th.publish()
    await th.approve(sam, view.id)
    (cmd,) = await th.commands(CommandType.OPEN)
    await acks.acknowledge(dev.id, ack(cmd.id, S.PLACED, ticket=5001))
    filled_at = datetime.now(UTC)
    fill = ack(cmd.id, S.FILLED, ticket=5001, price=D("1.07595"), volume=D("0.53"), time=filled_at)
    await acks.acknowledge(dev.id, fill)
    await acks.acknowledge(dev.id, fill)  # repeated: the same answer, nothing new
    (ex,) = await Execution.all()
    assert (ex.ticket, ex.fill_price, ex.requested_price, ex.volume) == (
        5001, D("1.07595"), D("1.07592"), D("0.53"),
    )  # fmt: skip
    assert ex.slippage_points == D("-3.0")  # a sell filled 3 points higher: better than asked
    assert ex.latency_ms is not None and 0 <= ex.latency_ms < 60_000  # from the approval
    (text,) = await th.texts(SUB, "terminal.filled")
    assert text == (
        f"✅ Your trade: terminal <b>Main MT5</b> filled signal #{view.id}, SELL 0.53 lot"
        " at 1.07595 (slippage -3.0 pt)."
    )
    close = ack(cmd.id, S.CLOSED, ticket=5001, price=D("1.07495"), time=filled_at)
    await acks.acknowledge(dev.id, close)
    ex = await Execution.get(id=ex.id)
    # (1.07595 - 1.07495) / 0.00001 * 1 USD * 0.53 lots
    assert (ex.close_price, ex.profit) == (D("1.07495"), D("53.00"))
    (text,) = await th.texts(SUB, "terminal.closed")
    assert f"closed your 0.53 lot of signal #{view.id} at 1.07495" in text
    assert "P&amp;L +53.00" in text


async def test_a_close_command_completes_the_execution_and_its_open(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    await acks.acknowledge(dev.id, ack(cmd.id, S.FILLED, ticket=9, price=th.ENTRY))
    from services.terminals import overview as terminals

    await terminal_reports.on_account(ref(dev), account("10000", position(9, f"sd:{view.id}")))
    close_id = await terminals.request_close(sam, dev.device_id, 9)
    await acks.acknowledge(dev.id, ack(close_id, S.CLOSED, ticket=9, price=D("1.07492")))
    ex = await Execution.get(command_id=cmd.id)
    assert ex.profit == D("53.00") and ex.closed_at is not None
    assert (await th.commands(CommandType.OPEN))[0].status == S.CLOSED
    assert len(await th.texts(SUB, "terminal.closed")) == 1


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("open", "could not open signal #{id}: 10019: not enough money"),
        ("close", "could not close position 77: 10019: not enough money. You can try again"),
    ],
)
async def test_refusals_reach_the_user_with_the_eas_reason(
    database: str, kind: str, expected: str
) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    target = cmd.id
    if kind == "close":
        from services.copy import engine as copy_engine

        target = str(await copy_engine.close_position(dev.id, 77, "EURUSD", "sell",
                                                      signal_id=None, reason="user"))  # fmt: skip
    refusal = AckIn(target, S.REJECTED, None, None, None, None, "10019: not enough money")
    await acks.acknowledge(dev.id, refusal)
    (text,) = await th.texts(SUB, "terminal.rejected")
    assert expected.format(id=view.id) in text


async def test_account_report_keeps_high_water_and_positions(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, balance=None)
    view = await th.publish()
    snap = await terminal_reports.on_account(ref(dev), account("10000"))
    assert (snap.high_water, snap.drawdown_pct) == (D(10000), D(0))
    await th.approve(sam, view.id)  # sized on the balance just reported
    (cmd,) = await th.commands(CommandType.OPEN)
    mine, manual = position(1, f"sd:{view.id}", "12.5"), position(2, "by hand")
    await terminal_reports.on_account(ref(dev), account("10000", mine, manual))
    snap = await terminal_reports.on_account(ref(dev), account("10500", mine))
    snap = await terminal_reports.on_account(ref(dev), account("9450", mine))
    assert (snap.high_water, snap.drawdown_pct) == (D(10500), D("10.00"))
    (row,) = await Position.filter(device_id=dev.id)  # ticket 2 no longer reported: gone
    assert (row.ticket, row.command_id, row.orphan, row.profit) == (1, cmd.id, False, D("12.5"))
    await terminal_reports.on_account(ref(dev), account("9450", position(3, "manual")))
    (row,) = await Position.filter(device_id=dev.id)
    assert (row.ticket, row.command_id, row.orphan) == (3, None, True)
    assert await AccountSnapshot.filter(device_id=dev.id).count() == 5


@pytest.mark.parametrize(
    ("comment", "found"),
    [("sd:{signal}", True), ("{cmd31}", True), ("sd:999999", False), ("", False), ("x", False)],
)
async def test_comments_lead_back_to_our_command(database: str, comment: str, found: bool) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    text = comment.format(signal=view.id, cmd31=cmd.id[:31])  # the EA's fallback: the id, cut
    expected = cmd.id if found else None
    assert await terminal_reports.command_for_comment(dev.id, text) == expected


async def test_symbols_report_maps_broker_names(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, symbol_map={"XAUUSD": "XAU.spot"})
    reports = [th.report("XAUUSDm", digits=2), th.report("EURUSD.r"), th.report("XAU.spot"),
               th.report("US30")]  # fmt: skip
    assert await terminal_reports.on_symbols(ref(dev), reports) == 4
    assert await terminal_reports.on_symbols(ref(dev), reports) == 0  # unchanged: no writes
    rows = dict(await DeviceSymbol.filter(device_id=dev.id).values_list("name", "symbol"))
    assert rows == {"XAUUSDm": "XAUUSD", "EURUSD.r": "EURUSD", "XAU.spot": "XAUUSD", "US30": None}
    spec = (await DeviceSymbol.get(device_id=dev.id, name="XAUUSDm")).spec
    assert (spec["digits"], spec["point"], spec["volume_step"]) == (2, "0.01", "0.01")


async def test_owner_bars_feed_the_loop_only_when_it_runs_on_ea_bars(
    database: str, bus: Bus
) -> None:
    owner = await th.user(OWNER, Role.OWNER, "Olga")
    sam = await th.user(SUB)
    own_dev, sub_dev = await th.device(owner), await th.device(sam)
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    bars = [
        BarIn("EURUSD.r", start + timedelta(hours=i), 1.1, 1.2, 1.0, 1.15, 10) for i in range(3)
    ]
    bars.append(BarIn("EURUSD.r", start, 1.1, 1.0, 1.2, 1.15, 1))  # high < low: dropped
    bars.append(BarIn("US30", start, 1.0, 1.0, 1.0, 1.0, 1))  # not a symbol we trade
    no_feed = terminal_reports.BarRouter(None, ("EURUSD",))
    assert await no_feed.on_bars(ref(own_dev), bars) == 0  # no EA feed configured
    feed = PushFeed(clock=lambda: datetime(2031, 1, 1, tzinfo=UTC))
    router = terminal_reports.BarRouter(feed, ("EURUSD",))
    reported = heard(bus, BarsReported)
    relayed: list[int] = []  # the app subscribes the router for other replicas' bars
    bus.subscribe(BarsReported, lambda event: relayed.append(router.relayed(event)))
    assert await router.on_bars(ref(sub_dev), bars) == 0  # not the owner's
    assert reported == []
    assert await router.on_bars(ref(own_dev), bars) == 3
    assert [(e.symbol, len(e.bars)) for e in reported] == [("EURUSD", 3)]  # to the replicas
    assert relayed == [0]  # our own: already in the feed
    later = Bar(start + timedelta(hours=3), 1.1, 1.2, 1.0, 1.15, 10)
    assert router.relayed(BarsReported("EURUSD", (later,))) == 1  # another replica's
    assert router.relayed(BarsReported("US30", (later,))) == 0  # not a symbol we trade
    router.close()
    got = await feed.next_closed_bars("EURUSD")
    assert [b.time for b in got] == [start + timedelta(hours=i) for i in range(4)]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"tick_size": D(0)}, "tick_size"), ({"tick_size": D("1e-40")}, "tick_size"),
     ({"digits": 3}, "point"), ({"volume_step": D(1000)}, "volume_step")],
)  # fmt: skip
async def test_unusable_symbol_specs_are_recorded_as_refused(
    database: str, change: dict, field: str
) -> None:
    """Only the refusal is stored, never the numbers: the good symbols are kept, and the bad
    one is known to be unusable (signals skip that terminal instead of guessing a spec)."""
    from dataclasses import replace

    sam = await th.user(SUB)
    dev = await th.device(sam)
    await terminal_reports.on_symbols(ref(dev), [th.report("EURUSD.r")])  # fine at first
    broken = replace(th.report("EURUSD.r"), **change)
    assert await terminal_reports.on_symbols(ref(dev), [broken, th.report("GBPUSD")]) == 2
    rows = {r.name: r.spec for r in await DeviceSymbol.filter(device_id=dev.id)}
    assert rows["GBPUSD"] == symbol_map.spec_json(th.report("GBPUSD"))
    assert rows["EURUSD.r"]["refused"]["field"] == field and "digits" not in rows["EURUSD.r"]
    assert symbol_map.usable_spec("EURUSD.r", rows["EURUSD.r"]) is None


@pytest.mark.parametrize(("visibility", "closes"), [("entry_only", 1), ("full", 0)])
async def test_a_fill_that_raced_the_signals_end_is_closed_when_we_manage_exits(
    database: str, monkeypatch: pytest.MonkeyPatch, visibility: str, closes: int
) -> None:
    from models.signals import SignalStatus
    from services.signals import lifecycle as signals

    await th.visibility(visibility)
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (cmd,) = await th.commands(CommandType.OPEN)
    await acks.acknowledge(dev.id, ack(cmd.id, S.PLACED, ticket=70))
    await signals.transition(view.id, SignalStatus.EXPIRED)  # CANCEL queued...
    await acks.acknowledge(dev.id, ack(cmd.id, S.FILLED, ticket=70, price=th.ENTRY))  # ...too late
    (cancel,) = await th.commands(CommandType.CANCEL)
    refusal = AckIn(cancel.id, S.REJECTED, 70, None, None, None, "cancel: #70 already filled")
    await acks.acknowledge(dev.id, refusal)
    assert await th.texts(SUB, "terminal.rejected") == []  # a cancel finding nothing: quiet
    rows = await th.commands(CommandType.CLOSE)
    assert [(c.payload["ticket"], c.payload["comment"]) for c in rows] == [
        (70, "sd:close:ended")
    ] * closes
