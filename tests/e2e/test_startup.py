"""Start-up and shutdown: non-essential Bot API calls that fail are retried, never fatal;
essential ones are retried a little, then stop start-up with one line and nothing left running;
a graceful stop lets the update in hand finish."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bot import app as app_module
from bot.app import AppRunner, StartupError, build_i18n
from core import db
from handlers.menus import commands_for
from models.users import Role
from tests.e2e.conftest import OWNER, SUB, app_settings, running_app
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer


def owner_commands() -> list[str]:
    """The owner's own menu in English, as the bot sets it."""
    return [c.command for c in commands_for(Role.OWNER, build_i18n(), "en")]


async def menu(tg: EmulatorClient, chat_id: int) -> list[str]:
    """The menu a user sees in their private chat (their own scope, else the default one)."""
    return [c["command"] for c in await tg.commands(chat_id, chat_id)]


async def owner_menu_set(tg: EmulatorClient, chat_id: int) -> list[str]:
    """Until the chat shows the owner's menu: while the chat's own scope is still being
    retried it shows the default (public) menu, which is not the awaited state."""
    expected = owner_commands()
    return await until(
        lambda: menu(tg, chat_id),
        f"chat {chat_id}'s menu to be the owner's {expected}",
        accept=lambda names: names == expected,
    )


async def test_failing_menus_do_not_stop_the_bot_and_are_retried(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "UI_RETRY_DELAYS_S", (0.05, 0.05, 0.05))
    await tg.inject_fault("setMyCommands", 500, times=2)
    async with running_app(app_settings(clean_db, emulator.url)):
        await tg.send(SUB, "/help")
        reply = await tg.wait_for_bot(SUB)
        assert "/language" in reply["text"]  # the bot answers although its menus failed
        assert "role" in await owner_menu_set(tg, OWNER)  # the retry set the owner's menu
        stats = await tg.stats()
    assert stats["methods"]["setMyCommands"] > 2


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


async def test_an_unreachable_bot_api_stops_start_up_in_one_line_and_cleans_up(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "TELEGRAM_START_RETRIES_S", (0.01, 0.01))
    api = f"http://127.0.0.1:{closed_port()}"
    port = closed_port()
    runner = AppRunner(app_settings(clean_db, api, web_port=port), migrate=False)
    with pytest.raises(StartupError, match=rf"^Bot API at {api}: .*Cannot connect"):
        await runner.start()
    with socket.socket() as s:  # the web server let go of its port
        s.bind(("127.0.0.1", port))
    await db.init_db(clean_db)  # and of the database
    await db.close_db()


async def test_a_rejected_token_stops_start_up_without_retrying(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient
) -> None:
    settings = app_settings(clean_db, emulator.url, bot_token="987654321:not-the-emulators-token")
    with pytest.raises(StartupError, match="BOT_TOKEN was rejected"):
        await AppRunner(settings, migrate=False).start()
    assert "987654321:not" not in str(settings)  # the token is a secret in messages, too


async def test_transient_bot_api_failures_at_start_up_are_retried(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "TELEGRAM_START_RETRIES_S", (0.01, 0.01, 0.01))
    await tg.inject_fault("deleteWebhook", 502, times=2)
    async with running_app(app_settings(clean_db, emulator.url)):
        await tg.send(SUB, "/help")
        assert "/language" in (await tg.wait_for_bot(SUB))["text"]
    assert (await tg.stats())["methods"]["deleteWebhook"] == 3


async def test_polling_shutdown_lets_the_update_in_hand_finish(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient
) -> None:
    runner = AppRunner(app_settings(clean_db, emulator.url), migrate=False)
    await runner.start()
    try:
        await tg.send(SUB, "/help")  # registers the user, so the next one is quick
        await tg.wait_for_bot(SUB)
        replies = (await tg.stats())["methods"]["sendMessage"]
        await tg.set_latency(1500, methods=["sendMessage"])
        await tg.send(SUB, "/menu")

        async def sent() -> int:
            return int((await tg.stats())["methods"]["sendMessage"])

        # Until the bot is handling it: its reply has reached the emulator, which holds it.
        await until(sent, "the /menu reply in flight", accept=lambda n: n > replies)
    finally:
        await runner.stop()
    bot_messages = [m for m in await tg.messages(SUB) if m["from_bot"]]
    assert len(bot_messages) == 2  # the /menu reply was sent before stop() returned
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        apology = i18n.gettext("error.unexpected").split("{ref}")[0]
    assert not any(apology in (m.get("text") or "") for m in bot_messages)


async def test_an_owner_who_never_opened_the_bot_holds_back_no_other_menu(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "UI_RETRY_DELAYS_S", (0.05,))
    stranger = 1000999  # in OWNER_IDS, unknown to Telegram until they open the bot
    settings = app_settings(clean_db, emulator.url, owner_ids=f"{stranger},{OWNER}")
    async with running_app(settings):
        # The first round got past the stranger: description, menu button, the owner's menu.
        await owner_menu_set(tg, OWNER)
        methods = (await tg.stats())["methods"]
        assert methods["setMyDescription"] == 1 and methods["setChatMenuButton"] == 1
        await tg.add_user(stranger, "Late", username="late")  # opens the bot at last
        assert "role" in await owner_menu_set(tg, stranger)  # the retry set it
        assert (await tg.stats())["methods"]["setMyDescription"] == 1  # not repeated


async def test_a_missing_replay_file_stops_start_up_in_one_line(
    clean_db: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.csv"
    settings = app_settings(clean_db, emulator.url, market_data="replay", replay_file=str(missing))
    runner = AppRunner(settings, migrate=False)
    with pytest.raises(StartupError, match=rf"^trading loop: REPLAY_FILE {missing}: "):
        await runner.start()
    assert runner.sender is None  # what the leader had started was stopped again


async def test_a_failing_shutdown_step_still_releases_everything(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """One step of `stop` raising (here the Bot API session's close) is logged, and the steps
    after it still run: the database is closed (a new `init_db` may open it again: one left
    open would refuse every later start in the process) and the FSM storage too."""
    port = closed_port()
    runner = AppRunner(app_settings(clean_db, emulator.url, web_port=port), migrate=False)
    await runner.start()
    storage_closed = False
    real_close = runner.dp.storage.close

    async def close_storage() -> None:
        nonlocal storage_closed
        storage_closed = True
        await real_close()

    async def broken() -> None:
        msg = "the session broke"
        raise RuntimeError(msg)

    monkeypatch.setattr(runner.bot.session, "close", broken)
    monkeypatch.setattr(runner.dp.storage, "close", close_storage)
    await runner.stop()
    assert storage_closed
    assert any(
        r.getMessage() == "a shutdown step failed" and r.step == "close the Bot API session"  # type: ignore[attr-defined]
        for r in caplog.records
    )
    with socket.socket() as s:  # the web server let go of its port
        s.bind(("127.0.0.1", port))
    await db.init_db(clean_db)  # and of the database
    await db.close_db()


async def test_a_shutdown_step_that_never_returns_is_given_up_and_the_rest_still_run(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A step that hangs (here the Bot API session's close never returns) is cancelled after
    its bound and logged by name; the FSM storage, the web server's port and the database are
    still released, so `stop` returns and the process can exit or start again."""
    monkeypatch.setattr(app_module, "STOP_STEP_TIMEOUT_S", 0.2)
    port = closed_port()
    runner = AppRunner(app_settings(clean_db, emulator.url, web_port=port), migrate=False)
    await runner.start()
    storage_closed = asyncio.Event()
    real_close = runner.dp.storage.close

    async def close_storage() -> None:
        storage_closed.set()
        await real_close()

    async def hangs() -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(runner.bot.session, "close", hangs)
    monkeypatch.setattr(runner.dp.storage, "close", close_storage)
    await runner.stop()
    assert storage_closed.is_set()
    timed_out = [r for r in caplog.records if r.getMessage() == "a shutdown step timed out"]
    assert [r.step for r in timed_out] == ["close the Bot API session"]  # type: ignore[attr-defined]
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    await db.init_db(clean_db)
    await db.close_db()
