"""A retried bar is a fresh attempt: a fault at any step of applying a bar (a bug, a database
error) heals when the same bar is applied again, with exactly the effects of a fault-free run.

The live runner (services/signals/trading_loop.py) processes bundled EURUSD bars against a database
with copy-mode terminals, paid and free users and a routed channel. Bars 720-825 hold every
kind of step (bar 724 publishes a BUY, 725 revises it, 770 publishes a SELL, 771 fills that
SELL, replaces the BUY, publishes a new BUY and stops the SELL out, 823 expires the BUY);
bars 1265-1277 revise and then cancel a SELL. One fault is injected at one step; the bar is
retried like the trading loop does (no restart) and the end state (signals, revisions,
versions, statuses, outbox rows, commands, audit trail) must equal the fault-free run's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tortoise.exceptions import OperationalError

from models.audit import AuditLog
from models.devices import Command, CommandType, Device, DeviceMode, DeviceSymbol
from models.notifications import Notification
from models.signals import ChannelRoute, Signal, SignalRevision, SymbolState
from models.users import Role
from services import audit
from services.copy import engine as copy_engine
from services.ops_alerts import OpsAlerts
from services.outbox import fanout
from services.outbox import notifications as outbox
from services.signals.trading_loop import SymbolRunner
from services.terminals import commands as ea_commands
from services.terminals import symbol_map
from tests.dbutil import truncate_all
from tests.services.terminals import helpers as th
from trading.candles import Candles, load_csv
from trading.live import LiveStrategy
from trading.symbols import get_spec

OWNER, SAM, BEA, FREE, CHANNEL = 900, 901, 902, 903, -100500
WINDOWS = {"A": (720, 826), "B": (1265, 1278)}
_baselines: dict[str, dict[str, list[Any]]] = {}


DATA = Path(__file__).resolve().parents[3] / "data" / "samples" / "EURUSD_H1.csv"


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv(DATA, "EURUSD").candles


async def seed() -> None:
    await th.user(OWNER, Role.OWNER, "Olivia")
    sam, bea = await th.user(SAM), await th.user(BEA, name="Bea")
    await th.user(FREE, Role.PUBLIC, "Nico")
    await ChannelRoute.create(symbol="EURUSD", chat_id=CHANNEL, title="EURUSD signals")
    await th.device(sam, mode=DeviceMode.COPY, name="Sam MT5")
    bea_mt5 = await th.device(bea, mode=DeviceMode.COPY, name="Bea MT5", max_open_positions=1)
    spec = symbol_map.spec_json(th.report("EURUSD.r"))
    await DeviceSymbol.create(device=bea_mt5, name="EURUSD.r", symbol="EURUSD", spec=spec)


async def run(candles: Candles, window: str) -> tuple[dict[str, list[Any]], int]:
    """Seed, replay the history before the window silently, then apply its bars, retrying a
    failed bar at once (as the loop does, without its delays); returns the end state and how
    many attempts failed."""
    await truncate_all()
    await seed()
    start, end = WINDOWS[window]
    runner = SymbolRunner("EURUSD", get_spec("EURUSD"), charts=False, alerts=OpsAlerts([OWNER]))
    runner.replay([candles.bar(i) for i in range(start)])
    failures = 0
    for i in range(start, end):
        for _attempt in range(3):
            try:
                await runner.process(candles.bar(i))
            except (Injected, OperationalError):
                failures += 1
                continue
            break
        else:
            raise AssertionError(f"bar {i} never applied")
    return await snapshot(), failures


async def baseline(candles: Candles, window: str) -> dict[str, list[Any]]:
    if window not in _baselines:
        state, failures = await run(candles, window)
        assert failures == 0
        _baselines[window] = state
    return _baselines[window]


# -- the end state, with database ids replaced by stable identities -------------------------
class Canon:
    """Signal ids become setup keys, device pks device names, command ids their dedupe keys:
    two runs compare equal when they did the same things, whatever ids they were given."""

    def __init__(
        self, signals: dict[int, str], devices: list[Device], cmds: dict[str, str]
    ) -> None:
        self.signals, self.cmds = signals, cmds
        self.devices = {d.id: d.name for d in devices}
        self.device_ids = {d.device_id: d.name for d in devices}

    def sig(self, value: Any) -> Any:
        return self.signals.get(int(value), value) if value is not None else None

    def text(self, s: str) -> str:
        s = re.sub(r"cmd_[0-9a-f]{32}", lambda m: f"<{self.text(self.cmds[m[0]])}>", s)
        s = re.sub(r"\bdev_[A-Za-z0-9_-]{12}\b", lambda m: self.device_ids.get(m[0], m[0]), s)
        s = re.sub(r"^(open|copy:skip):(\d+):(\d+)$",
                   lambda m: f"{m[1]}:{self.devices[int(m[2])]}:{self.sig(m[3])}", s)  # fmt: skip
        s = re.sub(r"^close:(\d+):", lambda m: f"close:{self.devices[int(m[1])]}:", s)
        s = re.sub(r"\bsig:(\d+):", lambda m: f"sig:{self.sig(m[1])}:", s)
        s = re.sub(r"\bsig:([a-z]+):(\d+)", lambda m: f"sig:{m[1]}:{self.sig(m[2])}", s)
        s = re.sub(r"\bsd:(\d+)$", lambda m: f"sd:{self.sig(m[1])}", s)
        return re.sub(r"#(\d+)", lambda m: f"#{self.sig(m[1])}", s)

    def value(self, v: Any, key: str = "") -> Any:
        if key == "signal_id":
            return self.sig(v)
        if isinstance(v, dict):
            return {k: self.value(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return self.text(v) if isinstance(v, str) else v

    def dump(self, v: Any) -> str:
        return json.dumps(self.value(v), sort_keys=True, default=str)


async def snapshot() -> dict[str, list[Any]]:
    signals = {s.id: s.setup_key for s in await Signal.all()}
    commands = await Command.all()
    c = Canon(signals, list(await Device.all()), {x.id: x.dedupe_key for x in commands})
    fields = ("setup_key", "status", "version", "entry", "stop", "take_profit", "fill_price",
              "exit_price", "close_reason", "result_r", "published_at", "expires_at",
              "filled_at", "closed_at", "point2_time", "point2_price")  # fmt: skip
    state = await SymbolState.get(symbol="EURUSD")
    audits = []
    for a in await AuditLog.all():
        target = c.sig(a.target) if a.action.startswith("signal.") and a.target else a.target
        audits.append((a.action, c.text(target or ""), c.dump(a.data)))
    notes = await Notification.exclude(kind="ops.alert")
    return {
        "signals": sorted(tuple(str(getattr(s, f)) for f in fields) for s in await Signal.all()),
        "revisions": sorted(
            (c.sig(r.signal_id), r.version, str(r.entry), str(r.stop), str(r.take_profit))  # type: ignore[attr-defined]
            for r in await SignalRevision.all()
        ),
        "commands": sorted(command_row(c, x) for x in commands),
        "outbox": sorted(
            (
                n.chat_id,
                n.kind,
                c.text(n.dedupe_key),
                c.text(n.depends_on or ""),
                c.sig(n.signal_id),
                n.priority,
                str(n.status),
                c.dump(n.payload),
            )
            for n in notes
        ),  # fmt: skip
        "audit": sorted(audits),
        "state": [(str(state.last_bar_time), state.bars_seen)],
    }


def command_row(c: Canon, x: Command) -> tuple[Any, ...]:
    device = c.devices[x.device_id]  # type: ignore[attr-defined]
    kind, status, key = str(x.type), str(x.status), c.text(x.dedupe_key)
    return (device, kind, c.sig(x.signal_id), status, key, c.dump(x.payload))


# -- faults -------------------------------------------------------------------------------
class Injected(RuntimeError):
    """A bug inside one step (the database errors are OperationalError)."""


@dataclass
class Fault:
    """Raise once, at the first call of `module.name` that `when` selects."""

    module: Any
    name: str
    when: Callable[..., bool]
    after: bool = False  # raise after the real call (it changed state, then failed)
    fired: int = 0

    def install(self, monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> None:
        real = getattr(self.module, self.name)
        fault = self

        def hit(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
            if fault.fired or not fault.when(*args, **kwargs):
                return False
            fault.fired += 1
            return True

        if self.after:  # synchronous (the strategy's step)

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                result = real(*args, **kwargs)
                if hit(args, kwargs):
                    raise error(f"injected after {fault.name}")
                return result

            monkeypatch.setattr(self.module, self.name, sync_wrapper)
            return

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if hit(args, kwargs):
                raise error(f"injected in {fault.name}")
            return await real(*args, **kwargs)

        monkeypatch.setattr(self.module, self.name, wrapper)


def action(name: str) -> Callable[..., bool]:
    return lambda what, **_: what == name


def event(name: str) -> Callable[..., bool]:
    return lambda view, ev, *_, **__: ev == name


def command(kind: CommandType) -> Callable[..., bool]:
    return lambda device_pk, type_, *_, **__: type_ is kind


def at_bar(index: int, candles_time: list[Any]) -> Callable[..., bool]:
    return lambda strategy, bar, **_: bar.time == candles_time[index]


def saving_bar(index: int) -> Callable[[list[Any]], Fault]:
    """The bar's own state row, written after its effects committed (bar `index`)."""
    return lambda times: Fault(
        SymbolState, "save", lambda row, **_: row.last_bar_time == times[index]
    )


STEPS: dict[str, tuple[str, Callable[[list[Any]], Fault]]] = {
    # publish: the signal rows, its cards, the copy engine, the commands' insert
    "publish: signal rows": ("A", lambda _t: Fault(audit, "record", action("signal.published"))),
    "publish: cards": ("A", lambda _t: Fault(
        outbox, "enqueue_many", lambda items: any(i.kind == "signal.new" for i in items))),
    "publish: copy engine": ("A", lambda _t: Fault(copy_engine, "on_publish", lambda *_: True)),
    "publish: commands": ("A", lambda _t: Fault(ea_commands, "create_many", lambda items: items)),
    # revise
    "revise: signal rows": ("A", lambda _t: Fault(audit, "record", action("signal.revised"))),
    "revise: updates": ("A", lambda _t: Fault(fanout, "announce_change", event("revised"))),
    "revise: modify commands": ("A", lambda _t: Fault(ea_commands, "create",
                                                   command(CommandType.MODIFY))),
    # transitions and the close
    "filled": ("A", lambda _t: Fault(audit, "record", action("signal.filled"))),
    "replaced: cancel commands": ("A", lambda _t: Fault(ea_commands, "create",
                                                     command(CommandType.CANCEL))),
    "replaced: copy engine": ("A", lambda _t: Fault(
        copy_engine, "on_transition", lambda view, *_: view.status.value == "replaced")),
    "closed": ("A", lambda _t: Fault(fanout, "announce_change", event("closed"))),
    "expired": ("A", lambda _t: Fault(audit, "record", action("signal.expired"))),
    "cancelled": ("B", lambda _t: Fault(fanout, "announce_change", event("cancelled"))),
    "cancelled: cancel commands": ("B", lambda _t: Fault(ea_commands, "create",
                                                      command(CommandType.CANCEL))),
    # the bar itself: its state row, and the strategy step (after it consumed the bar)
    "bar state after a publish": ("A", saving_bar(724)),
    "bar state after four steps": ("A", saving_bar(771)),
}  # fmt: skip


@pytest.mark.parametrize("error", [Injected, OperationalError], ids=["bug", "database"])
@pytest.mark.parametrize("step", list(STEPS))
async def test_a_fault_at_any_step_heals_on_retry_with_the_fault_free_effects(
    database: str, candles: Candles, monkeypatch: pytest.MonkeyPatch, step: str, error: Any
) -> None:
    window, make = STEPS[step]
    expected = await baseline(candles, window)
    fault = make([candles.bar(i).time for i in range(len(candles))])
    fault.install(monkeypatch, error)
    got, failures = await run(candles, window)
    assert fault.fired == 1 and failures == 1
    for table in expected:
        assert got[table] == expected[table], table


@pytest.mark.parametrize("index", [724, 725, 771, 823])
async def test_a_step_that_consumed_the_bar_then_failed_is_rewound(
    database: str, candles: Candles, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    """The reported case: the detector had consumed the bar when applying it failed, so every
    retry said 'bar ... is not after ...; feed in order' until a restart."""
    expected = await baseline(candles, "A")
    times = [candles.bar(i).time for i in range(len(candles))]
    fault = Fault(LiveStrategy, "step", at_bar(index, times), after=True)
    fault.install(monkeypatch, Injected)
    got, failures = await run(candles, "A")
    assert fault.fired == 1 and failures == 1
    assert got == expected


async def test_the_baseline_holds_every_kind_of_step(database: str, candles: Candles) -> None:
    """The windows above really contain what the fault tests claim to cover."""
    state = await baseline(candles, "A")
    statuses = {row[1] for row in state["signals"]}
    assert statuses >= {"closed", "replaced", "expired"}
    assert {row[1] for row in state["commands"]} == {"open", "modify", "cancel"}
    kinds = {row[1] for row in state["outbox"]}
    assert kinds >= {"signal.new", "signal.free", "signal.channel", "signal.update",
                     "signal.edit", "terminal.skip"}  # fmt: skip
    assert any(r[1] == 2 for r in state["revisions"])
    assert "cancelled" in {row[1] for row in (await baseline(candles, "B"))["signals"]}
