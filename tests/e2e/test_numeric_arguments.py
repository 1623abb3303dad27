"""Numbers typed into commands are checked before any query: ASCII digits in the range of
what they name, or a reply that says what is wrong. Never "something went wrong", never an
ops alert, never an OverflowError from the database. The real app and the emulator."""

from __future__ import annotations

import pytest

from models.signals import ChannelRoute
from tests.e2e.conftest import OWNER, SUB, say, text
from tgemu import EmulatorClient

HUGE = "99999999999999999999999"
# Cases the report did not name: the 64-bit edges, signs, zero, digits of other scripts
# (str.isdigit and int() take them), a superscript (isdigit yes, int() no).
NOT_IDS = [HUGE, str(2**63), str(2**64), "-5", "0", "+5", "١٢", "²", "-0"]


@pytest.mark.parametrize("command", ["/users {}", "/role {} admin", "/ban {}", "/unban {}"])
async def test_a_bad_telegram_id_is_named(owner_app, tg: EmulatorClient, command: str) -> None:
    for value in NOT_IDS:
        reply = text(await say(tg, OWNER, command.format(value)))
        assert reply.startswith(f"“{value}” is not a Telegram user id: send its digits only"), (
            command,
            value,
        )
        assert "from 1 to 4503599627370495" in reply
    found = text(await say(tg, OWNER, command.format(f"  {SUB}  ")))
    assert "@sam" in found, "a real id, spaces around, still works"
    await no_apology_and_no_alert(tg)


async def test_users_search_text_stays_a_search(owner_app, tg: EmulatorClient) -> None:
    assert text(await say(tg, OWNER, "/users 1e5")) == "No users match."
    assert "• @sam — 1000002" in text(await say(tg, OWNER, "/users sam"))
    assert "No user found for “123456”" in text(await say(tg, OWNER, "/users 123456"))


async def test_a_bad_signal_id_is_named(owner_app, tg: EmulatorClient) -> None:
    for value in NOT_IDS + [str(2**31)]:
        reply = text(await say(tg, OWNER, f"/cancel_signal {value}"))
        assert reply.startswith(f"“{value}” is not a signal number"), value
        assert "from 1 to 2147483647" in reply
    for value in ("abc", "1e5", "#"):
        assert text(await say(tg, OWNER, f"/cancel_signal {value}")).startswith("Usage:")
    assert text(await say(tg, OWNER, "/cancel_signal   #7  ")) == "There is no signal #7."
    await no_apology_and_no_alert(tg)


async def test_a_bad_chat_id_is_named(owner_app, tg: EmulatorClient) -> None:
    for value in (HUGE, str(2**63), f"-{2**64}", "١٢", "+5"):
        for command in (f"/unroute EURUSD {value}", f"/route EURUSD {value}"):
            reply = text(await say(tg, OWNER, command))
            assert reply.startswith(f"“{value}” is not a Telegram chat id"), command
    reply = text(await say(tg, OWNER, "/unroute EURUSD -1001234567890"))
    assert reply == "No such route for EURUSD. Send /route to list them."
    assert not await ChannelRoute.exists()
    await no_apology_and_no_alert(tg)


async def no_apology_and_no_alert(tg: EmulatorClient) -> None:
    said = [text(m) for m in await tg.messages(OWNER) if m["from_bot"]]
    assert said, "the bot answered"
    assert not [t for t in said if "something went wrong" in t or t.startswith("⚠️")]
