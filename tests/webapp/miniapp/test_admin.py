"""The Mini App's Admin routes over HTTP: admins and the owner only (401 without a session, 403
for subscribers and free users), the chat's rules (only the owner changes roles; admins ban
below their own role; revenue is the owner's), and each action's effect through the chat's
services: a ban locks the user out of the API, a grant gives access, a pause stops the trading
loop publishing, a cancel reaches cards and terminals, a broadcast queues one outbox row per
recipient once per idempotency key."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.http.problems import PROBLEM_TYPE
from handlers.commands import COMMANDS
from models.audit import AuditLog
from models.billing import Provider
from models.devices import CommandStatus, CommandType, DeviceMode
from models.notifications import Notification
from models.signals import Signal, SignalStatus
from models.users import Role, User
from services.billing import catalog, payments
from services.billing.payments import PaymentIn
from services.signals.trading_loop import SymbolRunner
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import OWNER, Api, init_data
from trading.candles import load_csv
from trading.symbols import get_spec

ADMIN, SUB, FREE, FREE2, FREE3 = 1000004, 1000002, 1000003, 1000006, 1000007
DATA = Path(__file__).resolve().parents[3] / "data" / "samples" / "EURUSD_H1.csv"
KEY = "bc-0123456789abcdef"
ROUTES = [
    ("GET", "/api/v1/admin/users", None),
    ("GET", f"/api/v1/admin/users/{SUB}", None),
    ("PATCH", f"/api/v1/admin/users/{SUB}/role", {"role": "admin"}),
    ("PATCH", f"/api/v1/admin/users/{SUB}/ban", {"banned": True}),
    ("POST", f"/api/v1/admin/users/{SUB}/grant", {"plan": "pro", "days": 30}),
    ("GET", "/api/v1/admin/plans", None),
    ("GET", "/api/v1/admin/symbols", None),
    ("PATCH", "/api/v1/admin/symbols/EURUSD", {"paused": True}),
    ("GET", "/api/v1/admin/signals", None),
    ("POST", "/api/v1/admin/signals/1/cancel", None),
    ("GET", "/api/v1/admin/revenue", None),
    ("GET", "/api/v1/admin/broadcast/audience?audience=all", None),
    ("POST", "/api/v1/admin/broadcast/preview", {"audience": "all", "text": "Hi"}),
    ("POST", "/api/v1/admin/broadcast", {"audience": "all", "text": "Hi",
                                         "idempotency_key": KEY}),
]  # fmt: skip
READS = [
    "/api/v1/admin/users",
    f"/api/v1/admin/users/{SUB}",
    "/api/v1/admin/plans",
    "/api/v1/admin/symbols",
    "/api/v1/admin/signals",
    "/api/v1/admin/broadcast/audience?audience=paid",
]


def assert_problem(status: int, body: Any, response: Any, expected: int) -> None:
    assert status == expected, body
    assert response.content_type == PROBLEM_TYPE
    assert body["status"] == expected and body["title"] and body["instance"]


@pytest.fixture
async def people(api: Api) -> None:
    """The owner, an admin, a subscriber and a free user; the plan catalog."""
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await th.user(OWNER, Role.OWNER, "Olivia")
    await th.user(ADMIN, Role.ADMIN, "Ada")
    await th.user(SUB, Role.SUBSCRIBER, "Sam")
    await th.user(FREE, Role.PUBLIC, "Nico")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_admin_route_refuses_the_unsigned_subscribers_and_free_users(
    api: Api, people: None, method: str, path: str, body: Any
) -> None:
    status, problem, response = await api.call(method, path, json=body)
    assert_problem(status, problem, response, 401)
    for who in (SUB, FREE):
        status, problem, response = await api.call(
            method, path, auth=await api.login(who), json=body
        )
        assert_problem(status, problem, response, 403)
    assert not await AuditLog.exists(action__in=["user.role_changed", "user.banned"])
    assert not await Notification.exists(dedupe_key__startswith="broadcast:")


@pytest.mark.parametrize("who", [ADMIN, OWNER])
async def test_admins_and_the_owner_read_every_admin_page(
    api: Api, people: None, who: int
) -> None:
    header = await api.login(who)
    for path in READS:
        status, body, _ = await api.call("GET", path, auth=header)
        assert status == 200, (path, body)


async def test_revenue_is_the_owners_as_in_the_chat(api: Api, people: None) -> None:
    status, body, response = await api.call(
        "GET", "/api/v1/admin/revenue", auth=await api.login(ADMIN)
    )
    assert_problem(status, body, response, 403)
    assert body["detail"] == "Only the owner can do that."
    status, body, _ = await api.call("GET", "/api/v1/admin/revenue", auth=await api.login(OWNER))
    assert status == 200 and body["currency"] == "USD"
    assert len(body["daily"]) == 90 and 1 <= len(body["monthly"]) <= 12
    assert body["subscribers"] == 0 and body["mrr_cents"] == 0
    assert body["formatted"]["mrr_cents"] == "$0.00"
    times = [p["time"] for p in body["daily"]]
    assert times == sorted(times) and len(set(times)) == 90


async def test_revenue_counts_a_payment_per_day_and_month_in_the_owners_locale(
    api: Api, people: None, clock: Any
) -> None:
    nico = await User.get(telegram_id=FREE)
    starter = await catalog.offer("starter")
    assert starter is not None
    paid_at = clock.now() - timedelta(days=5)
    await payments.record(
        PaymentIn(
            provider=Provider.STARS, charge_id="ch-1", user_id=nico.id,
            plan_version_id=starter.version_id, amount=7615, currency="XTR", usd_cents=9900,
            paid_at=paid_at, days=30,
        ),
        paid_at,
    )  # fmt: skip
    status, r, _ = await api.call("GET", "/api/v1/admin/revenue", auth=await api.login(OWNER))
    assert status == 200
    assert (r["mrr_cents"], r["subscribers"], r["arpu_cents"]) == (9900, 1, 9900)
    assert r["by_plan"] == [{"plan": "starter", "plan_name": "Starter", "subscribers": 1}]
    assert r["formatted"]["mrr_cents"] == "$99.00"
    daily = [(p["mrr_cents"], p["subscribers"]) for p in r["daily"]]
    assert daily[-5:] == [(9900, 1)] * 5 and daily[-7] == (0, 0)  # from the day it was paid
    assert (r["monthly"][-1]["mrr_cents"], r["monthly"][-1]["subscribers"]) == (9900, 1)
    await User.filter(telegram_id=OWNER).update(language="es")
    _, r, _ = await api.call("GET", "/api/v1/admin/revenue", auth=await api.login(OWNER))
    assert r["formatted"]["mrr_cents"].replace("\xa0", " ") == "99,00 US$"


async def test_search_finds_by_id_username_and_name_and_pages(api: Api, people: None) -> None:
    header = await api.login(ADMIN)
    for q, expected in [(str(SUB), {SUB}), ("@nico", {FREE}), ("olivi", {OWNER}),
                        ("A", {ADMIN, SUB, OWNER})]:  # fmt: skip
        status, page, _ = await api.call("GET", f"/api/v1/admin/users?q={q}", auth=header)
        assert status == 200
        assert {u["telegram_id"] for u in page["items"]} >= expected, q
        if q != "A":
            assert {u["telegram_id"] for u in page["items"]} == expected, q
    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await api.call("GET", f"/api/v1/admin/users{query}", auth=header)
        assert status == 200 and len(page["items"]) <= 2
        seen += [u["telegram_id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted({OWNER, ADMIN, SUB, FREE}) and len(seen) == 4


async def test_one_user_shows_role_status_plan_and_terminals(api: Api, people: None) -> None:
    sam = await th.user(SUB)
    await th.device(sam)
    await th.device(sam, name="Spare")
    status, body, _ = await api.call(
        "GET", f"/api/v1/admin/users/{SUB}", auth=await api.login(ADMIN)
    )
    assert status == 200
    assert (body["role"], body["status"], body["terminals"]) == ("subscriber", "active", 2)
    assert body["access"]["plan"] == "starter" and body["access"]["complimentary"] is True
    status, body, response = await api.call(
        "GET", "/api/v1/admin/users/999999", auth=await api.login(ADMIN)
    )
    assert_problem(status, body, response, 404)


async def test_only_the_owner_changes_roles(api: Api, people: None) -> None:
    path = f"/api/v1/admin/users/{SUB}/role"
    status, body, response = await api.call(
        "PATCH", path, auth=await api.login(ADMIN), json={"role": "admin"}
    )
    assert_problem(status, body, response, 403)
    assert (await User.get(telegram_id=SUB)).role == Role.SUBSCRIBER
    owner = await api.login(OWNER)
    status, body, _ = await api.call("PATCH", path, auth=owner, json={"role": "admin"})
    assert status == 200 and body["role"] == "admin"
    assert (await User.get(telegram_id=SUB)).role == Role.ADMIN
    entry = await AuditLog.get(action="user.role_changed", target=str(SUB))
    assert entry.actor_id == OWNER and entry.data["new"] == "admin"
    assert await Notification.exists(chat_id=SUB, kind="access.promoted_admin")
    status, body, response = await api.call("PATCH", path, auth=owner, json={"role": "admin"})
    assert_problem(status, body, response, 409)  # already: nothing recorded
    assert await AuditLog.filter(action="user.role_changed").count() == 1
    status, body, response = await api.call(
        "PATCH", f"/api/v1/admin/users/{OWNER}/role", auth=owner, json={"role": "public"}
    )
    assert_problem(status, body, response, 403)


async def test_a_ban_locks_the_user_out_of_the_api_until_unbanned(api: Api, people: None) -> None:
    sam = await api.login(SUB)
    admin = await api.login(ADMIN)
    path = f"/api/v1/admin/users/{SUB}/ban"
    status, body, _ = await api.call("PATCH", path, auth=admin, json={"banned": True})
    assert status == 200 and body["status"] == "banned"
    status, body, response = await api.call("GET", "/api/v1/me", auth=sam)
    assert_problem(status, body, response, 403)
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB)}
    )
    assert_problem(status, body, response, 403)
    entry = await AuditLog.get(action="user.banned", target=str(SUB))
    assert entry.actor_id == ADMIN
    assert await Notification.exists(chat_id=SUB, kind="access.banned")
    status, body, _ = await api.call("PATCH", path, auth=admin, json={"banned": False})
    assert status == 200 and body["status"] == "active"
    assert (await api.call("GET", "/api/v1/me", auth=sam))[0] == 200
    assert await AuditLog.exists(action="user.unbanned", target=str(SUB), actor_id=ADMIN)


async def test_admins_cannot_ban_the_owner_another_admin_or_themselves(
    api: Api, people: None
) -> None:
    admin = await api.login(ADMIN)
    await th.user(1000008, Role.ADMIN, "Abe")
    for target in (OWNER, 1000008, ADMIN):
        status, body, response = await api.call(
            "PATCH", f"/api/v1/admin/users/{target}/ban", auth=admin, json={"banned": True}
        )
        assert_problem(status, body, response, 403)
    assert not await AuditLog.exists(action="user.banned")


async def test_a_grant_gives_the_user_the_plan(api: Api, people: None) -> None:
    nico = await api.login(FREE)
    status, me, _ = await api.call("GET", "/api/v1/me", auth=nico)
    assert me["access"]["plan"] is None
    status, plans, _ = await api.call("GET", "/api/v1/admin/plans", auth=await api.login(ADMIN))
    assert status == 200 and {"code": "pro", "name": "Pro"} in plans["items"]
    assert plans["items"][0]["code"] == "starter"  # cheapest first
    status, body, _ = await api.call(
        "POST", f"/api/v1/admin/users/{FREE}/grant", auth=await api.login(ADMIN),
        json={"plan": "pro", "days": 30},
    )  # fmt: skip
    assert status == 200 and body["plan"] == "pro"
    assert body["user"]["access"]["plan"] == "pro"
    status, me, _ = await api.call("GET", "/api/v1/me", auth=nico)
    assert (
        status == 200 and me["access"]["plan"] == "pro" and me["access"]["complimentary"] is False
    )
    assert "approvals" in me["access"]["features"]
    assert await AuditLog.exists(action="billing.granted", actor_id=ADMIN)
    status, body, response = await api.call(
        "POST", f"/api/v1/admin/users/{FREE}/grant", auth=await api.login(ADMIN),
        json={"plan": "platinum", "days": 30},
    )  # fmt: skip
    assert_problem(status, body, response, 422)
    assert "There is no plan" in body["detail"]


async def run_bars(count: int) -> int:
    """The trading loop's runner over the bundled EURUSD bars: signals published."""
    candles = load_csv(DATA, "EURUSD").candles
    runner = SymbolRunner("EURUSD", get_spec("EURUSD"), charts=False)
    for i in range(count):
        await runner.process(candles.bar(i))
    return await Signal.filter(symbol="EURUSD").count()


@pytest.mark.parametrize("resume", [False, True], ids=["paused", "paused-then-resumed"])
async def test_a_pause_stops_the_trading_loop_publishing_on_that_symbol(
    api: Api, people: None, resume: bool
) -> None:
    admin = await api.login(ADMIN)
    path = "/api/v1/admin/symbols/EURUSD"
    status, body, _ = await api.call("PATCH", path, auth=admin, json={"paused": True})
    assert status == 200 and body["changed"] is True and body["symbol"]["paused"] is True
    status, body, _ = await api.call("PATCH", path, auth=admin, json={"paused": True})
    assert status == 200 and body["changed"] is False  # already: nothing recorded
    assert await AuditLog.filter(action="strategy.paused", target="EURUSD").count() == 1
    if resume:
        status, body, _ = await api.call("PATCH", path, auth=admin, json={"paused": False})
        assert status == 200 and body["symbol"]["paused"] is False
    status, listed, _ = await api.call("GET", "/api/v1/admin/symbols", auth=admin)
    assert [(s["symbol"], s["paused"]) for s in listed["items"]] == [("EURUSD", not resume)]
    published = await run_bars(38)  # the bundled data's first setup publishes by bar 38
    assert (published > 0) is resume


async def test_an_unknown_symbol_is_422(api: Api, people: None) -> None:
    status, body, response = await api.call(
        "PATCH", "/api/v1/admin/symbols/NOPE", auth=await api.login(ADMIN),
        json={"paused": True},
    )  # fmt: skip
    assert_problem(status, body, response, 422)


async def test_a_cancel_updates_the_signal_its_cards_and_the_terminals(
    api: Api, people: None
) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam, mode=DeviceMode.COPY)
    view = await th.publish()
    (opening,) = await th.commands(CommandType.OPEN, device_id=device.id)
    await th.set_status(opening.id, CommandStatus.PLACED, ticket=77)  # a pending order
    admin = await api.login(ADMIN)
    status, listed, _ = await api.call("GET", "/api/v1/admin/signals", auth=admin)
    assert [s["id"] for s in listed["items"]] == [view.id]
    status, body, _ = await api.call("POST", f"/api/v1/admin/signals/{view.id}/cancel", auth=admin)
    assert status == 200 and body["status"] == "cancelled"
    assert (await Signal.get(id=view.id)).status == SignalStatus.CANCELLED
    assert await AuditLog.exists(action="signal.cancelled", target=str(view.id), actor_id=ADMIN)
    assert await th.commands(CommandType.CANCEL, device_id=device.id)  # the EA is told
    assert await Notification.exists(chat_id=SUB, signal_id=view.id, kind="signal.edit")
    status, body, response = await api.call(
        "POST", f"/api/v1/admin/signals/{view.id}/cancel", auth=admin
    )
    assert_problem(status, body, response, 422)  # no longer open
    status, body, response = await api.call(
        "POST", "/api/v1/admin/signals/424242/cancel", auth=admin
    )
    assert_problem(status, body, response, 404)


async def broadcast_rows() -> list[Notification]:
    return await Notification.filter(dedupe_key__startswith="broadcast:").order_by("chat_id")


async def test_a_broadcast_queues_one_row_per_recipient_once_per_key(
    api: Api, people: None
) -> None:
    await th.user(FREE2, Role.PUBLIC, "Flo")
    await th.user(FREE3, Role.PUBLIC, "Fay")
    await th.user(1000009, Role.PUBLIC, "Bob")
    admin = await api.login(ADMIN)
    await api.call("PATCH", "/api/v1/admin/users/1000009/ban", auth=admin, json={"banned": True})
    audience = {"audience": "free"}
    status, body, _ = await api.call(
        "GET", "/api/v1/admin/broadcast/audience?audience=free", auth=admin
    )
    assert status == 200 and body["recipients"] == 3  # Nico, Flo, Fay; Bob is banned
    status, body, _ = await api.call(
        "POST", "/api/v1/admin/broadcast/preview", auth=admin,
        json={**audience, "text": "  Markets close early <b>today</b>.\n"},
    )  # fmt: skip
    assert status == 200
    assert body == {"text": "Markets close early <b>today</b>.", "recipients": 3}
    assert await broadcast_rows() == []  # a preview queues nothing
    send = {**audience, "text": "Markets close early <b>today</b>.", "idempotency_key": KEY}
    status, body, _ = await api.call("POST", "/api/v1/admin/broadcast", auth=admin, json=send)
    assert status == 200 and body == {"recipients": 3, "queued": 3, "repeated": False}
    rows = await broadcast_rows()
    assert [r.chat_id for r in rows] == [FREE, FREE2, FREE3]
    assert {r.payload["text"] for r in rows} == {"Markets close early <b>today</b>."}
    assert all(r.payload.get("parse_mode") is None and r.audience == "active" for r in rows)
    await th.user(1000010, Role.PUBLIC, "New")  # joins before the double tap's second request
    status, body, _ = await api.call("POST", "/api/v1/admin/broadcast", auth=admin, json=send)
    assert status == 200 and body == {"recipients": 3, "queued": 0, "repeated": True}
    assert len(await broadcast_rows()) == 3
    entry = await AuditLog.get(action="broadcast.sent")
    assert (entry.actor_id, entry.target, entry.data["recipients"]) == (ADMIN, KEY, 3)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [("all", {OWNER, ADMIN, SUB, FREE, FREE2}), ("paid", {OWNER, ADMIN, SUB, FREE2}),
     ("free", {FREE}), ("plan:pro", {FREE2}), ("plan:starter", {OWNER, ADMIN, SUB})],
)  # fmt: skip
async def test_each_audience_reaches_whom_it_names(
    api: Api, people: None, audience: str, expected: set[int]
) -> None:
    await th.user(FREE2, Role.PUBLIC, "Flo")
    admin = await api.login(ADMIN)
    await api.call("POST", f"/api/v1/admin/users/{FREE2}/grant", auth=admin,
                   json={"plan": "pro", "days": 30})  # fmt: skip
    reach, _, plan = audience.partition(":")
    body = {"audience": reach, **({"plan": plan} if plan else {})}
    status, sent, _ = await api.call(
        "POST", "/api/v1/admin/broadcast", auth=admin,
        json={**body, "text": "Hello", "idempotency_key": f"k-{reach}-{plan}-0001"},
    )  # fmt: skip
    assert status == 200 and sent["recipients"] == len(expected)
    assert {r.chat_id for r in await broadcast_rows()} == expected


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", f"/api/v1/admin/users/{SUB}/role", {"role": "owner"}),
        ("PATCH", f"/api/v1/admin/users/{SUB}/role", {"role": "admin", "extra": 1}),
        ("PATCH", "/api/v1/admin/users/0/ban", {"banned": True}),
        ("PATCH", f"/api/v1/admin/users/{SUB}/ban", {"banned": "maybe"}),
        ("POST", f"/api/v1/admin/users/{SUB}/grant", {"plan": "pro", "days": 0}),
        ("POST", f"/api/v1/admin/users/{SUB}/grant", {"plan": "p r o", "days": 3}),
        ("PATCH", "/api/v1/admin/symbols/EUR-USD", {"paused": True}),
        ("POST", "/api/v1/admin/signals/0/cancel", None),
        ("GET", "/api/v1/admin/users?limit=0", None),
        ("GET", "/api/v1/admin/users?cursor=%21%21", None),
        ("GET", "/api/v1/admin/broadcast/audience?audience=everyone", None),
        ("GET", "/api/v1/admin/broadcast/audience?audience=plan", None),
        ("POST", "/api/v1/admin/broadcast/preview", {"audience": "all", "text": ""}),
        ("POST", "/api/v1/admin/broadcast/preview", {"audience": "all", "text": "   "}),
        ("POST", "/api/v1/admin/broadcast/preview", {"audience": "plan", "plan": "gold",
                                                      "text": "Hi"}),
        ("POST", "/api/v1/admin/broadcast", {"audience": "all", "text": "Hi"}),
        ("POST", "/api/v1/admin/broadcast", {"audience": "all", "text": "Hi",
                                             "idempotency_key": "short"}),
        ("POST", "/api/v1/admin/broadcast", {"audience": "all", "text": "x" * 4001,
                                             "idempotency_key": KEY}),
    ],
)  # fmt: skip
async def test_malformed_input_is_422_with_a_problem_body(
    api: Api, people: None, method: str, path: str, body: Any
) -> None:
    status, problem, response = await api.call(
        method, path, auth=await api.login(OWNER), json=body
    )
    assert_problem(status, problem, response, 422)
    assert problem["detail"]
    assert (await User.get(telegram_id=SUB)).role == Role.SUBSCRIBER
    assert await broadcast_rows() == []


async def test_a_double_tap_sends_the_broadcast_once(api: Api, people: None) -> None:
    await th.user(FREE2, Role.PUBLIC, "Flo")
    admin = await api.login(ADMIN)
    send = {"audience": "free", "text": "Once", "idempotency_key": KEY}
    answers = await asyncio.gather(
        *(api.call("POST", "/api/v1/admin/broadcast", auth=admin, json=send) for _ in range(2))
    )
    assert [(status, body["recipients"]) for status, body, _ in answers] == [(200, 2), (200, 2)]
    assert [r.chat_id for r in await broadcast_rows()] == [FREE, FREE2]


async def test_the_refusal_test_covers_every_admin_route(api: Api) -> None:
    """Every admin operation the document lists is one of `ROUTES` (refused without a session
    and for subscribers and free users above): a new admin route cannot go untested."""
    _, document, _ = await api.call("GET", "/api/v1/openapi.json")
    documented = {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method in ops
        if path.startswith("/api/v1/admin/")
    }
    tested = set()
    for method, path, _body in ROUTES:
        bare = path.split("?")[0]
        matches = {
            (m, p) for m, p in documented
            if m == method and re.fullmatch(re.sub(r"\{\w+\}", r"[^/]+", p), bare)
        }  # fmt: skip
        assert len(matches) == 1, (method, path)
        tested |= matches
    assert tested == documented and len(documented) >= 14


CHAT_COMMAND = {  # the chat command each admin route does the work of
    "/api/v1/admin/users": "users", f"/api/v1/admin/users/{SUB}": "users",
    f"/api/v1/admin/users/{SUB}/role": "role", f"/api/v1/admin/users/{SUB}/ban": "ban",
    f"/api/v1/admin/users/{SUB}/grant": "grant", "/api/v1/admin/plans": "grant",
    "/api/v1/admin/symbols": "strategy", "/api/v1/admin/symbols/EURUSD": "strategy",
    "/api/v1/admin/signals": "cancel_signal", "/api/v1/admin/signals/1/cancel": "cancel_signal",
    "/api/v1/admin/revenue": "revenue", "/api/v1/admin/broadcast/audience": "admin",
    "/api/v1/admin/broadcast/preview": "admin", "/api/v1/admin/broadcast": "admin",
}  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_an_admin_may_do_what_the_chat_lets_an_admin_do(
    api: Api, people: None, method: str, path: str, body: Any
) -> None:
    spec = {c.name: c.role for c in COMMANDS}[CHAT_COMMAND[path.split("?")[0]]]
    status, answer, response = await api.call(method, path, auth=await api.login(ADMIN), json=body)
    if spec is Role.OWNER:
        assert_problem(status, answer, response, 403)
        assert answer["detail"] == "Only the owner can do that."
    else:
        assert spec is Role.ADMIN and status in (200, 201, 404), (status, answer)
    status, answer, _ = await api.call(method, path, auth=await api.login(OWNER), json=body)
    assert status in (200, 201, 404, 409), (status, answer)  # the owner: everything
