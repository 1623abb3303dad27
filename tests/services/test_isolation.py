"""Nothing one terminal, user or chat brings may fail a signal for the others.

A fault is injected for ONE recipient at each per-recipient step of publish, revise, the
transitions and approvals (a bug raising inside planning or rendering, or data of that
recipient that cannot be used); everyone else must get exactly what they would have got, and
the one left out is audited, told (a terminal's owner) and reported to ops, rate-limited.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from decimal import InvalidOperation
from typing import Any

import pytest
from tortoise.exceptions import OperationalError

from models.audit import AuditLog
from models.devices import Command, CommandStatus, CommandType, Device, DeviceMode, DeviceSymbol
from models.notifications import Notification
from models.signals import ChannelRoute, CloseReason, Decision, Signal, SignalStatus
from models.users import Role, User
from services.copy import engine as copy_engine
from services.copy import opening as copy_open
from services.ops_alerts import OpsAlerts
from services.outbox import fanout, kinds
from services.signals import approvals
from services.signals import lifecycle as signals
from services.terminals import commands as ea_commands
from services.terminals import symbol_map
from tests.services.terminals import helpers as th

OWNER, SAM, BEA, FREE, CHANNEL = 900, 901, 902, 903, -100500
OPEN, MODIFY, CANCEL, CLOSE = (CommandType.OPEN, CommandType.MODIFY, CommandType.CANCEL,
                               CommandType.CLOSE)  # fmt: skip
BAD = "EURUSD.bad"  # the victim terminal's broker name for EURUSD (a sane spec)
FAULTS = [InvalidOperation(), ZeroDivisionError("division by zero"), KeyError("tick"),
          RuntimeError("a bug")]  # fmt: skip


@pytest.fixture
def alerts() -> OpsAlerts:
    return OpsAlerts([OWNER], interval_s=300)


async def world(mode: DeviceMode = DeviceMode.COPY) -> dict[str, Device]:
    """The owner, Sam and Bea (subscribers with a terminal each), a free user, a channel."""
    await th.user(OWNER, Role.OWNER, "Olivia")
    sam, bea = await th.user(SAM), await th.user(BEA, name="Bea")
    await th.user(FREE, Role.PUBLIC, "Nico")
    await ChannelRoute.create(symbol="EURUSD", chat_id=CHANNEL, title="EURUSD signals")
    good = await th.device(sam, mode=mode, name="Sam MT5")
    victim = await th.device(bea, mode=mode, name="Bea MT5")
    spec = symbol_map.spec_json(th.report(BAD))
    await DeviceSymbol.create(device=victim, name=BAD, symbol="EURUSD", spec=spec)
    return {"good": good, "victim": victim}


def fail_when(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    hit: Callable[..., bool],
    exc: Exception,
) -> None:
    """`module.name` raises `exc` for the calls `hit` selects; other calls work as before."""
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if hit(*args, **kwargs):
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def for_victim_spec(*args: Any, **_: Any) -> bool:
    return any(getattr(a, "name", None) == BAD for a in args)


async def chats(kind: str, signal_id: int) -> set[int]:
    rows = await Notification.filter(kind=kind, signal_id=signal_id).values_list("chat_id")
    return {int(r[0]) for r in rows}


async def isolated(step: str) -> list[AuditLog]:
    return [r for r in await AuditLog.filter(action="signal.isolated") if r.data["step"] == step]


async def ops_alerts() -> list[str]:
    rows = await Notification.filter(kind="ops.alert", chat_id=OWNER).order_by("id")
    return [r.payload["text"] for r in rows]


async def opens(signal_id: int) -> dict[int, Command]:
    rows = await th.commands(OPEN, signal_id=signal_id)
    return {r.device_id: r for r in rows}  # type: ignore[attr-defined]


async def publish(alerts: OpsAlerts, chart: Any = None) -> signals.SignalView:
    view = await signals.publish(th.draft(), chart, alerts=alerts)
    assert view is not None
    return view


@pytest.mark.parametrize("exc", FAULTS, ids=lambda e: type(e).__name__)
async def test_publish_reaches_everyone_when_one_terminals_planning_fails(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    """The reported case: rounding raised InvalidOperation for one terminal inside publish."""
    devices = await world()
    fail_when(monkeypatch, copy_open, "terminal_levels", for_victim_spec, exc)
    view = await publish(alerts)
    assert await Signal.exists(id=view.id)
    assert set(await opens(view.id)) == {devices["good"].id}
    assert await chats("signal.new", view.id) == {OWNER, SAM, BEA}  # every paid user
    assert await chats("signal.free", view.id) == {FREE}
    assert await chats("signal.channel", view.id) == {CHANNEL}
    (notice,) = await th.texts(BEA, "terminal.skip")
    assert "was not sent to your terminal <b>Bea MT5</b>" in notice
    assert "an error on our side while preparing its order" in notice
    (entry,) = await isolated("copy.open")
    assert entry.target == devices["victim"].device_id and entry.data["signal_id"] == view.id
    assert entry.data["error"].startswith(type(exc).__name__)
    skipped = await AuditLog.get(action="copy.skipped", target=devices["victim"].device_id)
    assert skipped.data["reason"] == "internal_error"
    (alert,) = await ops_alerts()
    assert f"Signal #{view.id}: planning the order failed for {devices['victim'].device_id}" in (
        alert
    )


@pytest.mark.parametrize(
    "symbol_map_value",
    [{"EURUSD": "E" * 40}, {"XAUUSD": "GOLD", "EURUSD": "E" * 33}],  # names no command carries
)
async def test_a_terminals_own_settings_cannot_break_the_fan_out(
    database: str, alerts: OpsAlerts, symbol_map_value: dict[str, str]
) -> None:
    devices = await world()
    await Device.filter(id=devices["victim"].id).update(symbol_map=symbol_map_value)
    view = await publish(alerts)
    assert set(await opens(view.id)) == {devices["good"].id}
    assert [e.target for e in await isolated("copy.open")] == [devices["victim"].device_id]


async def test_a_malformed_symbol_map_counts_as_none(database: str, alerts: OpsAlerts) -> None:
    devices = await world()
    await Device.filter(id=devices["victim"].id).update(symbol_map=["EURUSD", 5])
    view = await publish(alerts)
    assert set(await opens(view.id)) == {devices["good"].id, devices["victim"].id}
    assert await isolated("copy.open") == []


async def test_one_users_card_failing_does_not_stop_the_others(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = await world()
    await User.filter(telegram_id=BEA).update(language="xx")
    fail_when(
        monkeypatch, kinds, "card_text", lambda _v, lang, *_a, **_k: lang == "xx", KeyError("x")
    )
    view = await publish(alerts)
    assert await chats("signal.new", view.id) == {OWNER, SAM}
    assert await chats("signal.channel", view.id) == {CHANNEL}
    assert set(await opens(view.id)) == {devices["good"].id, devices["victim"].id}
    assert [e.target for e in await isolated("fanout.card")] == [f"user {BEA}"]
    assert "rendering the card failed for user 902" in (await ops_alerts())[0]


async def test_a_chart_that_cannot_be_rendered_degrades_to_text_cards(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)
    await world()

    def broken(view: signals.SignalView) -> bytes:
        raise ValueError("matplotlib says no")

    view = await publish(alerts, chart=broken)
    cards = await Notification.filter(kind="signal.new", signal_id=view.id)
    assert {c.chat_id for c in cards} == {OWNER, SAM, BEA}
    assert {c.payload["method"] for c in cards} == {"send_message"}
    assert len(await isolated("fanout.chart")) == 1


async def test_revise_moves_the_other_orders_and_tells_the_other_chats(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = await world()
    view = await publish(alerts)
    assert len(await opens(view.id)) == 2
    await User.filter(telegram_id=BEA).update(language="xx")
    fail_when(monkeypatch, copy_engine, "terminal_levels", for_victim_spec, InvalidOperation())
    fail_when(monkeypatch, kinds, "update_text", lambda _v, lang, *_: lang == "xx",
              RuntimeError("a bug"))  # fmt: skip
    key = (await Signal.get(id=view.id)).setup_key
    revised = await signals.revise(key, 2, D("1.07700"), D("1.08000"), D("1.06725"), alerts=alerts)
    assert revised is not None and revised.version == 2
    modifies = await th.commands(MODIFY, signal_id=view.id)
    assert [m.device_id for m in modifies] == [devices["good"].id]  # type: ignore[attr-defined]
    assert await chats("signal.update", view.id) == {OWNER, SAM, CHANNEL}
    assert [e.target for e in await isolated("copy.modify")] == [devices["victim"].device_id]
    assert [e.target for e in await isolated("fanout.change")] == [f"chat {BEA}"]
    assert len(await ops_alerts()) == 2  # one per kind of failure


async def _break_payload(device: Device, signal_id: int, **payload: Any) -> None:
    row = await Command.get(device_id=device.id, signal_id=signal_id, type=OPEN)
    row.payload = {k: v for k, v in row.payload.items() if k not in payload} | {
        k: v for k, v in payload.items() if v is not None
    }
    await row.save(update_fields=["payload"])


@pytest.mark.parametrize(
    "status", [SignalStatus.EXPIRED, SignalStatus.REPLACED, SignalStatus.CANCELLED]
)
async def test_an_ending_signal_cancels_the_other_orders_when_one_cannot_be(
    database: str, alerts: OpsAlerts, status: SignalStatus
) -> None:
    devices = await world()
    view = await publish(alerts)
    await _break_payload(devices["victim"], view.id, symbol=None)  # a row that lost its symbol
    await signals.transition(view.id, status, alerts=alerts)
    cancels = await th.commands(CANCEL, signal_id=view.id)
    assert [c.device_id for c in cancels] == [devices["good"].id]  # type: ignore[attr-defined]
    assert (await Signal.get(id=view.id)).status == status
    assert await chats("signal.update", view.id) == {OWNER, SAM, BEA, CHANNEL}
    assert [e.target for e in await isolated("copy.cancel")] == [devices["victim"].device_id]
    assert "cancelling the order failed" in (await ops_alerts())[0]


async def test_a_closed_signal_closes_the_other_positions_when_one_cannot_be(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    await th.visibility("entry_only")  # the server manages exits: it sends the closes
    devices = await world()
    view = await publish(alerts)
    for ticket, cmd in enumerate((await opens(view.id)).values(), start=100):
        await th.set_status(cmd.id, CommandStatus.FILLED, ticket=ticket)
    await _break_payload(devices["victim"], view.id, side="sideways")
    await User.filter(telegram_id=BEA).update(language="xx")
    fail_when(monkeypatch, kinds, "update_text", lambda _v, lang, *_: lang == "xx",
              InvalidOperation())  # fmt: skip
    await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY, alerts=alerts)
    await signals.transition(
        view.id, SignalStatus.CLOSED, price=th.TP, reason=CloseReason.TP, alerts=alerts
    )
    closes = await th.commands(CLOSE, signal_id=view.id)
    assert [c.device_id for c in closes] == [devices["good"].id]  # type: ignore[attr-defined]
    assert (await Signal.get(id=view.id)).status == SignalStatus.CLOSED
    assert await chats("signal.update", view.id) == {OWNER, SAM, CHANNEL}
    assert [e.target for e in await isolated("copy.close")] == [devices["victim"].device_id]
    assert len(await isolated("fanout.change")) == 2  # filled, then closed


async def test_approval_opens_on_the_users_other_terminals(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = await world(DeviceMode.APPROVAL)
    bea = await th.user(BEA, name="Bea")
    laptop = await th.device(bea, name="Bea laptop")
    fail_when(monkeypatch, copy_open, "terminal_levels", for_victim_spec, InvalidOperation())
    view = await publish(alerts)
    version = await approvals.app_settings.disclaimer_version()
    await approvals.accept_disclaimer(bea, version)
    result = await approvals.decide(bea, view.id, Decision.APPROVED, alerts=alerts)
    assert result.changed and result.decision is Decision.APPROVED
    assert set(await opens(view.id)) == {laptop.id}
    (notice,) = await th.texts(BEA, "terminal.skip")
    assert "<b>Bea MT5</b>" in notice
    assert [e.target for e in await isolated("copy.open")] == [devices["victim"].device_id]


async def test_the_same_fault_is_alerted_once_per_interval(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world()
    fail_when(monkeypatch, copy_open, "terminal_levels", for_victim_spec, InvalidOperation())
    first, second = await publish(alerts), await publish(alerts)
    assert len(await isolated("copy.open")) == 2  # each one audited
    (alert,) = await ops_alerts()  # told once in the interval
    assert f"Signal #{first.id}" in alert and second.id != first.id


async def test_database_errors_roll_the_whole_event_back(
    database: str, alerts: OpsAlerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a recipient's fault: nothing is half published, and a retry starts afresh."""
    await world()

    async def down(*_: Any) -> list[str | None]:
        raise OperationalError("database is locked")

    monkeypatch.setattr(ea_commands, "create_many", down)
    draft = th.draft()
    with pytest.raises(OperationalError):
        await signals.publish(draft, alerts=alerts)
    assert not await Signal.exists()
    assert not await Notification.filter(kind__startswith="signal").exists()
    monkeypatch.undo()
    view = await signals.publish(draft, alerts=alerts)
    assert view is not None and len(await opens(view.id)) == 2
