"""The bot's menu button opens the Mini App: the app sets a web_app menu button with the page's
URL (setChatMenuButton, recorded by the emulator); an https MINIAPP_URL anywhere, the sandbox's
own loopback page in sandbox mode; a plain http URL outside sandbox mode is not one Telegram
would take, so the button stays the command list."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import AppRunner, build_i18n
from handlers.menus import menu_button
from tests.e2e.conftest import app_settings, running_app
from tests.e2e.test_sandbox import extension, sandbox  # noqa: F401 - the fixture
from tests.waiting import until
from tgemu import EmulatorServer


async def test_an_https_mini_app_url_is_the_menu_button(
    clean_db: str, emulator: EmulatorServer
) -> None:
    url = "https://desk.example.com/app"
    settings = app_settings(clean_db, emulator.url, miniapp_url=url)
    async with running_app(settings):
        button = await until(
            lambda: emulator.emulator.menu_buttons.get(None), "the menu button",
            accept=lambda b: b is not None and b["type"] == "web_app",
        )  # fmt: skip
    assert button["web_app"]["url"] == url and button["text"] == "SignalDesk"


async def test_the_sandbox_menu_button_opens_its_loopback_page(sandbox: AppRunner) -> None:  # noqa: F811
    emu = extension(sandbox).emulator
    assert emu is not None
    button = await until(
        lambda: emu.menu_buttons.get(None), "the sandbox's menu button",
        accept=lambda b: b is not None and b["type"] == "web_app",
    )  # fmt: skip
    assert button["web_app"]["url"] == f"{sandbox.base_url}/app"


@pytest.mark.parametrize(
    ("url", "loopback", "kind"),
    [
        ("https://desk.example.com/app", False, "web_app"),
        ("http://127.0.0.1:8080/app", True, "web_app"),
        ("http://localhost:8080/app", True, "web_app"),
        ("http://127.0.0.1:8080/app", False, "commands"),  # not sandbox mode: Telegram refuses
        ("http://desk.example.com/app", True, "commands"),  # not this machine
        ("ftp://127.0.0.1/app", True, "commands"),
        (None, True, "commands"),
    ],
)
def test_which_urls_make_a_web_app_menu_button(url: Any, loopback: bool, kind: str) -> None:
    assert menu_button(build_i18n(), url, loopback=loopback).type == kind
