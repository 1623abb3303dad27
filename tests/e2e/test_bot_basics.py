"""As a user would: /start, /help per role, /language, /role, a denied admin command."""

from __future__ import annotations

import aiohttp

from bot.app import AppRunner, build_i18n
from handlers.menus import commands_for
from models.users import Role, User
from tests.e2e.conftest import ADMIN, OWNER, SUB, VISITOR
from tests.waiting import until
from tgemu import EmulatorClient


async def menu(tg: EmulatorClient, user: int) -> list[str]:
    return [c["command"] for c in await tg.commands(user, user)]


def text_of(message: dict) -> str:
    return message.get("text") or message.get("caption") or ""


async def ask(tg: EmulatorClient, user: int, text: str) -> dict:
    await tg.send(user, text)
    return await tg.wait_for_bot(user)


async def test_start_registers_and_shows_the_menu(app: AppRunner, tg: EmulatorClient) -> None:
    reply = await ask(tg, SUB, "/start")
    assert "Welcome to SignalDesk, Sam!" in text_of(reply)
    buttons = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert "❓ Help" in buttons and "🛠 Admin" not in buttons
    assert await User.exists(telegram_id=SUB)


async def test_help_per_role(app: AppRunner, tg: EmulatorClient) -> None:
    await ask(tg, OWNER, "/start")
    owner_help = text_of(await ask(tg, OWNER, "/help"))
    assert "/role" in owner_help and "/users" in owner_help
    visitor_help = text_of(await ask(tg, VISITOR, "/help"))
    assert "/language" in visitor_help
    assert "/users" not in visitor_help and "/role" not in visitor_help


async def test_denied_admin_command(app: AppRunner, tg: EmulatorClient) -> None:
    await ask(tg, VISITOR, "/start")
    reply = await ask(tg, VISITOR, "/admin")
    # the visitor's Telegram language is Spanish
    assert text_of(reply) == "Lo siento, esta acción no está disponible para tu cuenta."


async def test_language_buttons_persist(app: AppRunner, tg: EmulatorClient) -> None:
    prompt = await ask(tg, SUB, "/language")
    await tg.press(SUB, SUB, prompt["message_id"], text="Русский")
    edited = await tg.wait_for(SUB, lambda m: "Язык сохранён" in text_of(m))
    assert edited["message_id"] == prompt["message_id"]
    assert (await User.get(telegram_id=SUB)).language == "ru"
    assert text_of(await ask(tg, SUB, "/cancel")) == "Отменять нечего."


async def test_owner_changes_a_role_and_menus_follow(app: AppRunner, tg: EmulatorClient) -> None:
    await ask(tg, ADMIN, "/start")
    reply = await ask(tg, OWNER, "/role @adam admin")
    assert text_of(reply) == "@adam is now admin."
    assert (await User.get(telegram_id=ADMIN)).role == Role.ADMIN
    told = await tg.wait_for(ADMIN, lambda m: "You are now an admin" in text_of(m), after_seq=0)
    assert "/admin opens the tools" in text_of(told)  # the user hears of it, then it holds
    assert "/users" in text_of(await ask(tg, ADMIN, "/help"))
    # the admin's own command menu now lists the admin commands (and not the owner's)
    expected = [c.command for c in commands_for(Role.ADMIN, build_i18n(), "en")]
    names = await until(
        lambda: menu(tg, ADMIN), f"the admin's menu {expected}", accept=lambda n: n == expected
    )
    assert "users" in names and "role" not in names
    public = await menu(tg, VISITOR)
    assert "users" not in public and "help" in public


async def test_health_ready_metrics(app: AppRunner, tg: EmulatorClient) -> None:
    await ask(tg, SUB, "/help")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{app.base_url}/health") as r:
            assert r.status == 200 and (await r.json())["status"] == "ok"
        async with http.get(f"{app.base_url}/ready") as r:
            assert r.status == 200 and (await r.json())["migrations"] == "head"
        async with http.get(f"{app.base_url}/metrics") as r:
            body = await r.text()
            assert 'signaldesk_updates_total{type="message"}' in body
            assert "signaldesk_handler_seconds_bucket" in body
        async with http.get(f"{app.base_url}/no/such/page") as r:
            assert r.status == 404
            assert r.content_type == "application/problem+json"
            assert (await r.json())["status"] == 404


async def test_webhook_rejects_a_wrong_secret(webhook_app: AppRunner) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{webhook_app.base_url}{webhook_app.settings.webhook_path}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with http.post(url, json={"update_id": 1}, headers=headers) as r:
            assert r.status == 401
            assert r.content_type == "application/problem+json"
            assert (await r.json())["title"] == "Unauthorized"


async def test_a_visitor_who_gets_a_plan_gets_the_subscribers_menu(
    app: AppRunner, tg: EmulatorClient
) -> None:
    await ask(tg, VISITOR, "/start")
    assert "devices" not in await menu(tg, VISITOR)
    reply = await ask(tg, OWNER, f"/grant {VISITOR} starter 30")
    assert "Starter" in text_of(reply)
    paid = await until(
        lambda: menu(tg, VISITOR), "the subscriber's menu", accept=lambda n: "devices" in n
    )
    assert "signals" in paid and "positions" in paid and "users" not in paid
    # the role did not change: roles stay permissions, the menu follows the access
    assert (await User.get(telegram_id=VISITOR)).role == Role.PUBLIC
