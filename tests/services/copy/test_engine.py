"""The copy engine: which terminals get which command, sized how, and why others get none."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from models.audit import AuditLog
from models.devices import CommandStatus, CommandType, DeviceMode, DeviceStatus, DeviceSymbol
from models.signals import CloseReason, Decision, Signal, SignalStatus
from models.users import Role
from services import app_settings
from services.copy import engine as copy_engine
from services.copy.sizing import Limits, Skip, terminal_levels, volume_for
from services.signals import approvals
from services.signals import lifecycle as signals
from services.terminals import symbol_map
from tests.services.terminals import helpers as th
from trading.symbols import get_spec

SUB, OTHER, FREE = 501, 502, 503
STOP_DISTANCE = th.STOP - th.ENTRY  # 373 points
OPEN, MODIFY, CANCEL, CLOSE = (CommandType.OPEN, CommandType.MODIFY, CommandType.CANCEL,
                               CommandType.CLOSE)  # fmt: skip


async def test_approval_opens_exactly_once_per_terminal(database: str) -> None:
    sam = await th.user(SUB)
    main = await th.device(sam)
    second = await th.device(sam, name="Backup")
    view = await th.publish()
    assert await th.commands(OPEN) == []  # approval mode waits for the approval
    await th.approve(sam, view.id)
    await approvals.decide(sam, view.id, Decision.REJECTED)
    await th.approve(sam, view.id)  # re-approval: still one execution per terminal
    rows = await th.commands(OPEN)
    assert sorted(r.device_id for r in rows) == [main.id, second.id]  # type: ignore[attr-defined]
    cmd = rows[0]
    assert cmd.dedupe_key == f"open:{cmd.device_id}:{view.id}"  # type: ignore[attr-defined]
    assert (cmd.signal_id, cmd.status, cmd.expires_at) == (view.id, "pending", view.expires_at)
    assert cmd.payload == {
        "symbol": "EURUSD", "side": "sell", "order_type": "limit", "price": "1.07592",
        "sl": "1.07965", "tp": "1.06379", "volume": "0.53", "ticket": None,
        "comment": f"sd:{view.id}", "signal_id": view.id,
        "expires_at": view.expires_at.isoformat(),
    }  # fmt: skip  # 2% of 10,000 = 200; 373 points * 1 USD = 373 per lot -> 0.53 lots


async def test_publish_opens_on_copy_terminals_of_entitled_users(database: str) -> None:
    sam = await th.user(SUB)
    copier = await th.device(sam, mode=DeviceMode.COPY)
    await th.device(sam, name="Approver")  # approval mode: waits for an approval
    await th.device(sam, name="Old", mode=DeviceMode.COPY, status=DeviceStatus.REVOKED)
    view = await th.publish()
    (cmd,) = await th.commands(OPEN)
    assert (
        cmd.signal_id == view.id and cmd.device_id == copier.id and cmd.payload["volume"] == "0.53"
    )  # type: ignore[attr-defined]
    assert await th.texts(SUB, "terminal.skip") == []


async def _skip_case(case: str) -> tuple[int, str]:
    """Arrange one cap; returns the telegram id to read and the expected reason fragment."""
    role = Role.PUBLIC if case == "not_entitled" else Role.SUBSCRIBER
    sam = await th.user(SUB, role)
    args: dict[str, object] = {"mode": DeviceMode.COPY}
    if case == "max_open_positions":
        args["max_open_positions"] = 1
    elif case == "max_trades_per_day":
        args["max_trades_per_day"] = 1
    elif case == "paused":
        args["status"] = DeviceStatus.PAUSED
    elif case == "below_min_volume":
        args["balance"] = D(10)
    elif case == "no_account":
        args["balance"] = None
    elif case == "max_lot_below_min":
        args["max_lot"] = D("0.05")
    dev = await th.device(sam, **args)  # type: ignore[arg-type]
    if case == "max_lot_below_min":  # this broker trades EURUSD in 0.1 lot steps
        spec = symbol_map.spec_json(th.report("EURUSD", volume_min=D("0.1"), step=D("0.1")))
        await DeviceSymbol.create(device=dev, name="EURUSD", symbol="EURUSD", spec=spec)
    if case in ("max_open_positions", "max_trades_per_day"):
        first = await th.publish(side="buy", entry=D("1.1"), stop=D("1.09"), tp=D("1.1325"))
        (cmd,) = await th.commands(OPEN, device_id=dev.id)
        if case == "max_trades_per_day":  # a closed trade still counts for the day
            await th.set_status(cmd.id, CommandStatus.CLOSED)
        assert cmd.signal_id == first.id
    expected = {
        "max_open_positions": "it already has 1 open position or order (your limit is 1)",
        "max_trades_per_day": "it already took 1 trade today (your limit is 1 per UTC day)",
        "paused": "it is paused; resume it in /devices",
        "below_min_volume": "even the minimum volume of 0.01 lots would risk 3.73, above your "
        "budget of 0.20",
        "no_account": "it has not reported its account yet",
        "not_entitled": "copying signals needs an active subscription",
        "max_lot_below_min": "your max lot 0.05 is below the symbol's minimum of 0.1 lots",
    }[case]
    return SUB, expected


@pytest.mark.parametrize(
    "case",
    [
        "max_open_positions", "max_trades_per_day", "paused", "below_min_volume", "no_account",
        "not_entitled", "max_lot_below_min",
    ],
)  # fmt: skip
async def test_copy_skips_are_recorded_and_told_once(database: str, case: str) -> None:
    chat, expected = await _skip_case(case)
    before = len(await th.commands(OPEN))
    view = await th.publish()
    await copy_engine.on_publish(view)  # a retry does not repeat the notice
    assert len(await th.commands(OPEN)) == before
    (text,) = await th.texts(chat, "terminal.skip")
    assert text.startswith(f"⚠️ Signal #{view.id} was not sent to your terminal <b>Main MT5</b>")
    assert expected in text
    entry = await AuditLog.filter(action="copy.skipped").order_by("-id").first()
    assert entry is not None and entry.data["reason"] == case
    assert entry.data["signal_id"] == view.id


async def test_max_lot_caps_the_volume(database: str) -> None:
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY, max_lot=D("0.2"))
    await th.device(sam, name="Half", mode=DeviceMode.COPY, lot_multiplier=D("0.5"))
    await th.device(sam, name="Bold", mode=DeviceMode.COPY, risk_pct=D("5"), max_lot=D("1.33"))
    await th.publish()
    volumes = [c.payload["volume"] for c in await th.commands(OPEN)]
    assert volumes == ["0.20", "0.26", "1.33"]  # 0.53 capped; 100/373 = 0.268; 500/373 = 1.34


@pytest.mark.parametrize(
    ("balance", "limits", "expected"),
    [
        (D(10000), Limits(), D("0.53")),
        (D(10000), Limits(lot_multiplier=D(2)), D("1.07")),  # 400 / 373, floored
        (D(10000), Limits(max_lot=D("0.055")), D("0.05")),  # the cap is floored to the step
        (D(10000000), Limits(), D(100)),  # 536 lots clamped to volume_max
        (D("186.5"), Limits(), D("0.01")),  # exactly the minimum's risk
    ],
)
def test_volume_formula(balance: D, limits: Limits, expected: D) -> None:
    assert volume_for(balance, STOP_DISTANCE, get_spec("EURUSD"), limits) == expected


def test_volume_below_minimum_is_refused_with_numbers() -> None:
    with pytest.raises(Skip) as info:
        volume_for(D(186), STOP_DISTANCE, get_spec("EURUSD"), Limits())
    assert info.value.code == "below_min_volume"
    assert info.value.params == {"min": D("0.01"), "need": D("3.73"), "budget": D("3.72")}


def test_levels_on_a_coarser_terminal_grid_keep_reward_risk() -> None:
    spec = get_spec("EURUSD").with_overrides(digits=4, point=D("0.0001"), tick_size=D("0.0001"))
    levels = terminal_levels("sell", th.ENTRY, th.STOP, th.TP, spec, app_settings.Visibility.FULL)
    assert (levels.price, levels.sl) == (D("1.0759"), D("1.0797"))
    # tp from the rounded levels, rounded away from the entry: 1.0759 - 3.2520 * 0.0038
    assert levels.tp == D("1.0635")
    assert abs(levels.tp - levels.price) / abs(levels.price - levels.sl) >= D("3.25")


async def test_entry_only_sends_a_wide_safety_stop_and_no_target(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await th.visibility("entry_only")
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY)
    await th.publish()
    (cmd,) = await th.commands(OPEN)
    # the real stop 1.07965 plus 3 x 373 points; sized on the real stop
    assert (cmd.payload["sl"], cmd.payload["tp"], cmd.payload["volume"]) == (
        "1.09084", None, "0.53",
    )  # fmt: skip


async def test_revise_modifies_only_unfilled_orders(database: str) -> None:
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY)
    await th.device(sam, name="Second", mode=DeviceMode.COPY)
    view = await th.publish()
    filled, placed = await th.commands(OPEN)
    await th.set_status(filled.id, CommandStatus.FILLED, ticket=11)
    await th.set_status(placed.id, CommandStatus.PLACED, ticket=22)
    key = (await Signal.get(id=view.id)).setup_key
    revised = await signals.revise(key, 2, D("1.07700"), D("1.08000"), D("1.06725"))
    assert revised is not None
    (mod,) = await th.commands(MODIFY)
    assert mod.device_id == placed.device_id  # type: ignore[attr-defined]
    assert mod.dedupe_key == f"modify:{placed.id}:v2"
    assert (mod.payload["price"], mod.payload["sl"], mod.payload["tp"]) == (
        "1.07700", "1.08000", "1.06725",
    )  # fmt: skip
    assert (mod.payload["ticket"], mod.payload["comment"]) == (22, f"sd:{view.id}")


@pytest.mark.parametrize("status", [SignalStatus.EXPIRED, SignalStatus.REPLACED])
async def test_expired_or_replaced_signal_cancels_unfilled_orders(
    database: str, status: SignalStatus
) -> None:
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY)
    await th.device(sam, name="Second", mode=DeviceMode.COPY)
    view = await th.publish()
    filled, pending = await th.commands(OPEN)
    await th.set_status(filled.id, CommandStatus.FILLED, ticket=11)
    await signals.transition(view.id, status)
    (cancel,) = await th.commands(CANCEL)
    assert cancel.dedupe_key == f"cancel:{pending.id}"
    assert (cancel.payload["symbol"], cancel.payload["comment"]) == ("EURUSD", f"sd:{view.id}")
    assert await th.commands(CLOSE) == []


async def test_manual_cancel_of_an_open_signal_cancels_orders(database: str) -> None:
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    await signals.cancel(view.id, actor_id=1)
    assert len(await th.commands(CANCEL)) == 1


@pytest.mark.parametrize(
    ("visibility", "reason", "closes"),
    [
        ("entry_only", CloseReason.TP, 1),  # the server manages exits
        ("entry_only", CloseReason.SL, 1),
        ("full", CloseReason.TP, 0),  # the broker's own take-profit did it
        ("full", CloseReason.MANUAL, 1),  # /cancel_signal of a filled signal
    ],
)
async def test_signal_close_closes_filled_positions_when_we_manage_exits(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    visibility: str,
    reason: CloseReason,
    closes: int,
) -> None:
    await th.visibility(visibility)
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (opened,) = await th.commands(OPEN)
    await th.set_status(opened.id, CommandStatus.FILLED, ticket=777)
    await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)
    if reason is CloseReason.MANUAL:
        await signals.cancel(view.id, actor_id=1)
    else:
        await signals.transition(view.id, SignalStatus.CLOSED, reason=reason, price=th.TP)
    rows = await th.commands(CLOSE)
    assert len(rows) == closes
    if closes:
        assert rows[0].dedupe_key == f"close:{dev.id}:777:0"
        assert (rows[0].payload["ticket"], rows[0].payload["order_type"]) == (777, "market")
        assert rows[0].payload["volume"] is None  # all of it


@pytest.mark.parametrize(
    ("broker", "ours"),
    [
        ("XAUUSD", "XAUUSD"), ("XAUUSDm", "XAUUSD"), ("XAUUSD.pro", "XAUUSD"),
        ("GOLD", "XAUUSD"), ("GOLD.pro", "XAUUSD"), ("GOLDm", "XAUUSD"), ("#XAUUSD", "XAUUSD"),
        ("EURUSD.r", "EURUSD"), ("EURUSD_i", "EURUSD"), ("EURUSD-ECN", "EURUSD"),
        ("eurusd", "EURUSD"), ("EURUSDpro", "EURUSD"), ("GBPUSD+", "GBPUSD"),
        ("AUDCAD.x", "AUDCAD"), ("US30", None), ("BTCUSDT", None), ("", None),
    ],
)  # fmt: skip
def test_broker_symbol_names_map_to_ours(broker: str, ours: str | None) -> None:
    assert symbol_map.auto_map(broker) == ours


def test_a_device_override_wins() -> None:
    assert symbol_map.map_name("XAUEUR.x", {"XAUUSD": "xaueur.x"}) == "XAUUSD"
    assert symbol_map.map_name("GOLD.pro", {}) == "XAUUSD"


async def test_sizing_uses_the_terminals_reported_symbol(database: str) -> None:
    sam = await th.user(SUB)
    dev = await th.device(sam, mode=DeviceMode.COPY)
    spec = {
        "digits": 3, "point": "0.001", "tick_size": "0.001", "tick_value": "0.1",
        "contract_size": "100", "volume_min": "0.1", "volume_max": "50", "volume_step": "0.1",
        "stops_level": 0,
    }  # fmt: skip
    await DeviceSymbol.create(device=dev, name="GOLD.pro", symbol="XAUUSD", spec=spec)
    await DeviceSymbol.create(device=dev, name="XAUUSD.x", symbol="XAUUSD", spec=spec)
    await th.publish("GOLD", "buy", D("2000.00"), D("1990.00"), D("2032.50"))
    (cmd,) = await th.commands(OPEN)
    # 200 USD / (10.000 / 0.001 * 0.1 = 1000 per lot) = 0.2 lots on the broker's grid
    assert (cmd.payload["symbol"], cmd.payload["volume"]) == ("GOLD.pro", "0.2")
    assert (cmd.payload["price"], cmd.payload["sl"], cmd.payload["tp"]) == (
        "2000.000", "1990.000", "2032.500",
    )  # fmt: skip


async def test_override_names_the_broker_symbol(database: str) -> None:
    sam = await th.user(SUB)
    await th.device(sam, mode=DeviceMode.COPY, symbol_map={"EURUSD": "EURUSD.ecn"})
    await th.publish()
    (cmd,) = await th.commands(OPEN)
    assert cmd.payload["symbol"] == "EURUSD.ecn"  # not reported: built-in spec, broker's name


async def test_free_users_approval_is_refused_before_any_command(database: str) -> None:
    from services.errors import PermissionDenied

    free = await th.user(FREE, Role.PUBLIC)
    await th.device(free)
    view = await th.publish()
    with pytest.raises(PermissionDenied):
        await approvals.decide(free, view.id, Decision.APPROVED)
    assert await th.commands(OPEN) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"volume_step": "0"}, "volume_step"),
        ({"tick_size": "1E-40"}, "tick_size"),  # stored before reports were validated
        ({"digits": 14, "point": "1E-14", "tick_size": "1E-14"}, "digits"),
        ({"tick_value": "abc"}, "spec"),
        ({"contract_size": None}, "spec"),
    ],
)
async def test_a_stored_spec_that_is_not_sane_is_a_skip_never_a_guess(
    database: str, change: dict, field: str
) -> None:
    """Specs stored before reports were validated are checked again when used: that terminal
    is skipped with the reason (built-in defaults may not match its broker); others trade."""
    sam, other = await th.user(SUB), await th.user(OTHER, name="Olga")
    dev = await th.device(sam, mode=DeviceMode.COPY)
    fine = await th.device(other, mode=DeviceMode.COPY, name="Olga MT5")
    bad = symbol_map.spec_json(th.report("EURUSD")) | change
    await DeviceSymbol.create(device=dev, name="EURUSD", symbol="EURUSD", spec=bad)
    view = await th.publish()
    (cmd,) = await th.commands(OPEN)
    assert cmd.device_id == fine.id and cmd.payload["volume"] == "0.53"  # type: ignore[attr-defined]
    (text,) = await th.texts(SUB, "terminal.skip")
    assert f"the symbol spec it reported for EURUSD is not usable ({field})" in text
    entry = await AuditLog.get(action="copy.skipped", target=dev.device_id)
    assert entry.data == {"signal_id": view.id, "reason": "bad_spec", "symbol": "EURUSD",
                          "field": field}  # fmt: skip
