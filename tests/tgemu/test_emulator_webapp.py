"""The emulator signs Mini App initData for the bot it serves, as Telegram does: the app's own
validator (and aiogram's) accept it, for that bot's token only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import LabeledPrice
from aiogram.utils.web_app import safe_parse_webapp_init_data

from services.miniapp.auth import Unauthenticated, validate_init_data
from tests.tgemu.helpers import TOKEN, USER_ID
from tgemu import EmulatorClient, EmulatorServer
from tgemu.client import EmulatorControlError


async def test_signed_init_data_validates_with_the_bots_token(client: EmulatorClient) -> None:
    init = await client.webapp_init_data(USER_ID, start_param="signal_7")
    fields = dict(parse_qsl(init))
    assert json.loads(fields["user"])["username"] == "sam_trades"
    parsed = safe_parse_webapp_init_data(TOKEN, init)  # aiogram agrees with our validator
    assert parsed.user is not None and parsed.user.id == USER_ID
    now = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
    found = validate_init_data(init, TOKEN, now=now, max_age=timedelta(hours=1))
    assert (found.profile.telegram_id, found.start_param) == (USER_ID, "signal_7")
    with pytest.raises(Unauthenticated):
        validate_init_data(init, "1:another-bot", now=now, max_age=timedelta(hours=1))


async def test_auth_date_is_the_callers_and_unknown_users_are_404(client: EmulatorClient) -> None:
    init = await client.webapp_init_data(USER_ID, auth_date=1_700_000_000)
    assert dict(parse_qsl(init))["auth_date"] == "1700000000"
    with pytest.raises(EmulatorControlError) as refused:
        await client.webapp_init_data(424242)
    assert refused.value.status == 404


async def test_signing_needs_the_control_token(server: EmulatorServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/_control/webapp/init_data", json={"user_id": USER_ID}) as r,
    ):
        assert r.status in (401, 403)


async def test_the_web_app_script_stand_in_is_served(server: EmulatorServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/_static/telegram-web-app.js") as r,
    ):
        assert r.status == 200 and "window.Telegram = { WebApp }" in await r.text()


async def test_open_invoice_shows_the_links_terms_and_unknown_links_are_404(
    client: EmulatorClient, bot: Bot
) -> None:
    link = await bot.create_invoice_link(
        title="Starter", description="30 days", payload="p1", currency="XTR",
        prices=[LabeledPrice(label="Starter", amount=7616)], subscription_period=2592000,
    )  # fmt: skip
    sheet = await client.webapp_invoice(link)
    assert sheet == {
        "slug": link.rsplit("$", 1)[-1], "title": "Starter", "description": "30 days",
        "currency": "XTR", "total_amount": 7616, "subscription_period": 2592000,
    }  # fmt: skip
    once = await bot.create_invoice_link(
        title="Once", description="90 days", payload="p2", currency="XTR",
        prices=[LabeledPrice(label="Once", amount=3)],
    )  # fmt: skip
    assert (await client.webapp_invoice(once))["subscription_period"] is None
    with pytest.raises(EmulatorControlError) as unknown:
        await client.webapp_invoice("https://t.me/$nope")
    assert unknown.value.status == 404
