"""/devices and /positions through the real dispatcher: what is sent and what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from handlers.terminal_views import DevCB, PosCB
from models.audit import AuditLog
from models.devices import (
    AccountSnapshot,
    Command,
    CommandType,
    CopySettings,
    Device,
    DeviceMode,
    DeviceStatus,
    Position,
)
from models.users import Role
from services.terminals import devices, risk_guard
from services.users import profiles as users_service
from tests.handlers.recording import RecordingSession, callback_update, make_bot, text_update

SUB, OTHER, VISITOR = 11, 12, 13
NOT_ENTITLED = "Terminals and copy trading need an active subscription."
LONGEST_ID = "dev_" + "W" * 12


@dataclass
class Harness:
    bot: Bot
    dp: Dispatcher
    session: RecordingSession

    async def send(self, user_id: int, text: str) -> list[str]:
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, text_update(user_id, text))
        return self.texts(before)

    async def press(self, user_id: int, data: str) -> list[str]:
        """Texts sent or edited, and callback answers, in order."""
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, callback_update(user_id, data))
        return self.texts(before)

    def texts(self, since: int) -> list[str]:
        wanted = ("SendMessage", "EditMessageText", "AnswerCallbackQuery", "SendDocument")
        out = []
        for call in self.session.calls[since:]:
            name = type(call).__name__
            if name in wanted:
                out.append(getattr(call, "text", None) or getattr(call, "caption", None) or "")
        return out

    def last_markup(self) -> list[tuple[str, str]]:
        for call in reversed(self.session.calls):
            markup = getattr(call, "reply_markup", None)
            if markup is not None:
                return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]
        return []


@pytest.fixture
async def h(database: str) -> AsyncIterator[Harness]:
    settings = load_settings(
        _env_file=None, throttle_rate=1000, throttle_burst=1000,
        public_url="https://desk.example.com",
    )  # fmt: skip
    bot, session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n())
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(OTHER, "Olly", "olly", Role.SUBSCRIBER)
    yield Harness(bot, dp, session)


async def _device(telegram_id: int = SUB, name: str = "Main MT5", **kw: Any) -> Device:
    new = await devices.create_device(telegram_id, name, **kw)
    return await Device.get(device_id=new.device_id)


def test_callback_data_fits_telegrams_64_bytes() -> None:
    longest = [
        DevCB(action="revoke_yes", device_id=LONGEST_ID, field="max_trades_per_day"),
        DevCB(action="set", device_id=LONGEST_ID, field="max_open_positions"),
        PosCB(action="close_yes", device_id=LONGEST_ID, ticket=2**63 - 1),
    ]
    for data in longest:
        assert len(data.pack().encode()) <= 64, data.pack()


async def test_add_shows_the_secret_once_with_setup_and_the_ea(h: Harness) -> None:
    (listing,) = await h.send(SUB, "/devices")
    assert listing.startswith("You have no terminals yet.")
    assert h.last_markup() == [("➕ Add terminal", DevCB(action="add").pack())]
    assert await h.press(SUB, DevCB(action="add").pack()) == [
        "", "Send a name for the new terminal (up to 64 characters), e.g. “Main MT5”. /cancel to stop.",
    ]  # fmt: skip
    bad = await h.send(SUB, " " * 3 + "\x07")
    assert bad == ["A terminal name must be 1 to 64 characters, without control characters."]
    created, *files = await h.send(SUB, "  Main   MT5 ")
    row = await Device.get(user__telegram_id=SUB)
    assert (row.name, row.mode, row.status) == ("Main MT5", DeviceMode.APPROVAL, "active")
    secret = created.split("Secret: <code>", 1)[1].split("</code>", 1)[0]
    assert len(secret) >= 32 and secret not in row.secret_enc  # sealed at rest
    assert f"Device id: <code>{row.device_id}</code>" in created
    assert "shown only this once" in created and "https://desk.example.com" in created
    assert files == ["The SignalDesk EA for MetaTrader 5.",
                     "Its include files: unzip next to SignalDeskEA.mq5 (an include folder)."]  # fmt: skip
    (doc, zipped) = h.session.of("SendDocument")
    assert doc.document.path.name == "SignalDeskEA.mq5"  # type: ignore[attr-defined]
    assert zipped.document.filename == "SignalDeskEA-include.zip"  # type: ignore[attr-defined]
    (listing,) = await h.send(SUB, "/devices")
    assert "<b>Main MT5</b> · approval · active" in listing and "Last seen: ⚪ never" in listing
    assert secret not in listing


async def test_rename_mode_and_revoke(h: Harness) -> None:
    dev = await _device()
    card = await h.press(SUB, DevCB(action="open", device_id=dev.device_id).pack())
    assert "Mode: approval" in card[-1] and f"<code>{dev.device_id}</code>" in card[-1]
    await h.press(SUB, DevCB(action="rename", device_id=dev.device_id).pack())
    assert await h.send(SUB, "x" * 65) == [
        "A terminal name must be 1 to 64 characters, without control characters."
    ]
    (card,) = await h.send(SUB, "Laptop <MT5>")
    assert card.startswith("<b>Laptop &lt;MT5&gt;</b>")
    calls = await h.press(SUB, DevCB(action="mode", device_id=dev.device_id).pack())
    assert "Mode: copy" in calls[-1]
    assert (await Device.get(id=dev.id)).mode == DeviceMode.COPY
    confirm = await h.press(SUB, DevCB(action="revoke", device_id=dev.device_id).pack())
    assert confirm[-1].startswith("Revoke <b>Laptop &lt;MT5&gt;</b>? Its EA is cut off at once")
    assert (await Device.get(id=dev.id)).status == DeviceStatus.ACTIVE  # asked, not done
    done = await h.press(SUB, DevCB(action="revoke_yes", device_id=dev.device_id).pack())
    assert done[-1].startswith("🗑 <b>Laptop &lt;MT5&gt;</b> is revoked")
    assert (await Device.get(id=dev.id)).status == DeviceStatus.REVOKED
    actions = set(await AuditLog.all().values_list("action", flat=True))
    assert {"device.renamed", "device.mode_changed", "device.revoked"} <= actions


async def test_another_users_terminal_is_out_of_reach(h: Harness) -> None:
    """Hand-crafted callbacks: the server checks ownership, whatever buttons were shown."""
    theirs = await _device(OTHER, "Olly's MT5")
    for action in ("open", "rename", "revoke_yes", "mode", "settings", "resume"):
        answers = await h.press(SUB, DevCB(action=action, device_id=theirs.device_id).pack())
        assert answers[-1].startswith("No such terminal among yours."), action
    answers = await h.press(
        SUB, PosCB(action="close_yes", device_id=theirs.device_id, ticket=1).pack()
    )
    assert answers[-1].startswith("No such terminal among yours.")
    row = await Device.get(id=theirs.id)
    assert (row.status, row.mode, row.name) == ("active", "approval", "Olly's MT5")
    assert await Command.all().count() == 0


async def test_visitors_are_refused(h: Harness) -> None:
    await users_service.seed(VISITOR, "Vic", "vic", Role.PUBLIC)
    # terminals follow entitlements, not roles: the entitlement service says why
    assert await h.send(VISITOR, "/devices") == [NOT_ENTITLED]
    assert await h.send(VISITOR, "/positions") == [NOT_ENTITLED]


@pytest.mark.parametrize(
    ("field", "typed", "reply", "stored"),
    [
        ("risk_pct", "1,5%", "✅ Saved: Risk per trade = 1.5%.", D("1.5")),
        ("risk_pct", "12", "Risk per trade must be a number from 0.1 to 10", None),
        ("risk_pct", "lots", "Risk per trade must be a number from 0.1 to 10", None),
        # strict plain decimals: no exponent, no NaN/Infinity, no sign, ASCII digits only
        ("risk_pct", "1e1", "Risk per trade must be a number from 0.1 to 10", None),
        ("risk_pct", "1E0", "Risk per trade must be a number from 0.1 to 10", None),
        ("risk_pct", "NaN", "Risk per trade must be a number from 0.1 to 10", None),
        ("max_drawdown_pct", "Infinity", "The max drawdown must be a number from 1 to 90", None),
        ("risk_pct", "+2", "Risk per trade must be a number from 0.1 to 10", None),
        ("risk_pct", "٣", "Risk per trade must be a number from 0.1 to 10", None),
        ("max_lot", "1_0", "The max lot must be a number from 0.01 to 100", None),
        ("max_open_positions", "5e0", "Max open positions must be a whole number", None),
        ("risk_pct", ".5", "✅ Saved: Risk per trade = 0.5%.", D("0.5")),
        ("lot_multiplier", "0.5x", "✅ Saved: Lot multiplier = 0.5×.", D("0.5")),
        ("lot_multiplier", "3", "The lot multiplier must be a number from 0.1 to 2.0", None),
        ("max_lot", "off", "✅ Saved: Max lot per trade = no cap.", None),
        ("max_lot", "0.25", "✅ Saved: Max lot per trade = 0.25.", D("0.25")),
        ("max_open_positions", "2.5", "Max open positions must be a whole number", None),
        ("max_open_positions", "3", "✅ Saved: Max open positions = 3.", 3),
        ("max_trades_per_day", "101", "Max trades per day must be a whole number", None),
        ("max_drawdown_pct", "95", "The max drawdown must be a number from 1 to 90", None),
        ("max_drawdown_pct", "12.5", "✅ Saved: Max drawdown = 12.5%.", D("12.5")),
    ],
)
async def test_risk_settings_are_validated_and_audited(
    h: Harness, field: str, typed: str, reply: str, stored: object
) -> None:
    dev = await _device()
    shown = await h.press(SUB, DevCB(action="settings", device_id=dev.device_id).pack())
    assert "Risk per trade: <b>2%</b>" in shown[-1] and "Max drawdown: <b>20%</b>" in shown[-1]
    asked = await h.press(SUB, DevCB(action="set", device_id=dev.device_id, field=field).pack())
    assert asked[-1].startswith("Send the new value for <b>")
    answer = (await h.send(SUB, typed))[0]
    assert answer.startswith(reply)
    row = await CopySettings.get_or_none(device_id=dev.id)
    if reply.startswith("✅"):
        assert row is not None and getattr(row, field) == stored
        entry = await AuditLog.get(action="device.settings_changed")
        assert (entry.actor_id, entry.data["field"]) == (SUB, field)
    else:
        assert row is None or getattr(row, field) == getattr(CopySettings(), field)
        assert (await h.send(SUB, "1"))[0].startswith("✅ Saved")  # the question stays open


async def test_resume_after_a_guard_pause(h: Harness) -> None:
    dev = await _device()
    await Device.filter(id=dev.id).update(status=DeviceStatus.PAUSED, paused_reason="drawdown")
    card = await h.press(SUB, DevCB(action="open", device_id=dev.device_id).pack())
    assert "Status: paused by the drawdown guard" in card[-1]
    assert ("▶️ Resume trading", DevCB(action="resume", device_id=dev.device_id).pack()) in (
        h.last_markup()
    )
    card = await h.press(SUB, DevCB(action="resume", device_id=dev.device_id).pack())
    assert "Status: active" in card[-1]
    assert (await Device.get(id=dev.id)).status == DeviceStatus.ACTIVE
    assert not await risk_guard.resume(dev, SUB)  # already active


async def test_positions_show_pnl_and_close_on_request(h: Harness) -> None:
    dev = await _device()
    await _device(name="Spare")  # no report yet
    await AccountSnapshot.create(
        device=dev, balance=D(10000), equity=D("9875.5"), margin=D(50), currency="USD",
        high_water=D(10000), drawdown_pct=D("1.24"),
    )  # fmt: skip
    await Position.create(
        device=dev, ticket=555, symbol="EURUSD.r", side="sell", volume=D("0.53"),
        open_price=D("1.07592"), profit=D("-124.5"), comment="manual", orphan=True,
    )  # fmt: skip
    (text,) = await h.send(SUB, "/positions")
    assert "<b>Main MT5</b> · Balance $10,000.00 · equity $9,875.50 · drawdown 1.24%" in text
    assert "#555 EURUSD.r SELL 0.53 @ 1.07592 · P&amp;L <b>-124.50</b> · not opened by" in text
    assert "<b>Spare</b> · No account report yet.\nNo open positions." in text
    close = PosCB(action="close", device_id=dev.device_id, ticket=555).pack()
    assert h.last_markup() == [("✖️ Close #555 EURUSD.r", close)]
    asked = await h.press(SUB, close)
    assert "Close position #555 (EURUSD.r SELL 0.53 lots, P&amp;L -124.50)" in asked[-1]
    assert await Command.all().count() == 0  # asked, not done
    yes = PosCB(action="close_yes", device_id=dev.device_id, ticket=555).pack()
    done = await h.press(SUB, yes)
    assert done[-1].startswith("Close of #555 sent to Main MT5.")
    (cmd,) = await Command.filter(type=CommandType.CLOSE)
    assert (cmd.payload["ticket"], cmd.payload["symbol"], cmd.device_id) == (
        555,
        "EURUSD.r",
        dev.id,
    )  # type: ignore[attr-defined]
    again = await h.press(SUB, yes)
    assert again[-1] == "A close of position 555 is already on its way to the terminal."
    gone = await h.press(SUB, PosCB(action="close_yes", device_id=dev.device_id, ticket=9).pack())
    assert gone[-1].startswith("Position 9 is not open on this terminal")
    assert await AuditLog.filter(action="position.close_requested", actor_id=SUB).count() == 1
