"""The Mini App API over HTTP: sign-in with Telegram's initData, sessions, authorisation by role,
entitlement and ownership, validation problems, and each route's answer from the services."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from core.http.problems import PROBLEM_TYPE
from models.audit import AuditLog
from models.notifications import Notification
from models.signals import Approval
from models.users import Role, User
from services import app_settings
from services.miniapp import auth
from services.users import access
from services.users.access import Shell
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import MAX_AGE, TOKEN, Api, init_data

SUB, OTHER, FREE = 1000002, 1000005, 1000003
OWNER_ID = 1000001  # the configured owner (conftest OWNER)
ROUTES_WITH_AUTH = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/signals"),
    ("GET", "/api/v1/signals/1"),
    ("POST", "/api/v1/signals/1/decision"),
    ("GET", "/api/v1/terminals"),
    ("GET", "/api/v1/terminals/dev_x"),
    ("GET", "/api/v1/settings"),
    ("PATCH", "/api/v1/settings"),
    ("GET", "/api/v1/stream"),
]


def assert_problem(status: int, body: Any, response: Any, expected: int) -> None:
    assert status == expected, body
    assert response.content_type == PROBLEM_TYPE
    assert body["status"] == expected and body["title"] and body["instance"]


async def test_sign_in_returns_a_session_that_opens_me(api: Api) -> None:
    await th.user(SUB)
    status, body, _ = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB)}
    )
    assert status == 200 and set(body) == {"token", "expires_at"}
    status, me, _ = await api.call("GET", "/api/v1/me", auth=f"Bearer {body['token']}")
    assert status == 200
    assert (me["telegram_id"], me["role"], me["language"]) == (SUB, "subscriber", "en")
    assert me["access"]["plan"] == "starter" and "approvals" in me["access"]["features"]
    assert me["access"]["plan_name"] == "Starter"


async def test_the_tma_scheme_is_accepted_on_every_route(api: Api) -> None:
    await th.user(SUB)
    status, me, _ = await api.call("GET", "/api/v1/me", auth=f"tma {init_data(SUB)}")
    assert status == 200 and me["telegram_id"] == SUB


async def test_a_new_user_is_registered_on_first_sign_in(api: Api) -> None:
    auth_header = await api.login(4242, first_name="Newbie")
    status, me, _ = await api.call("GET", "/api/v1/me", auth=auth_header)
    assert status == 200 and me["role"] == "public" and me["access"]["plan"] is None
    assert await User.exists(telegram_id=4242)


@pytest.mark.parametrize(("method", "path"), ROUTES_WITH_AUTH)
async def test_every_route_refuses_missing_and_forged_credentials(
    api: Api, clock: Any, method: str, path: str
) -> None:
    await th.user(SUB)
    forged = init_data(SUB, token="987654321:SOMEONE-elses-token-xxxxxxxxxxx")
    session = auth.issue(SUB, clock.now(), bot_token=TOKEN)
    tampered = session.token[:-2] + ("AA" if not session.token.endswith("AA") else "BB")
    for header in (None, "", "Bearer", "Basic abc", f"tma {forged}", f"Bearer {tampered}",
                   f"Bearer v1.{SUB}.9999999999.{session.token.split('.')[-1]}"):  # fmt: skip
        status, body, response = await api.call(method, path, auth=header, json={})
        assert_problem(status, body, response, 401)


async def test_initdata_older_than_max_age_is_refused(api: Api, clock: Any) -> None:
    await th.user(SUB)
    old = int((clock.now() - MAX_AGE - timedelta(seconds=1)).timestamp())
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB, auth_date=old)}
    )
    assert_problem(status, body, response, 401)
    assert "expired" in body["detail"]


async def test_a_replayed_initdata_is_refused_once_past_max_age(api: Api, clock: Any) -> None:
    await th.user(SUB)
    captured = init_data(SUB)
    status, _, _ = await api.call("POST", "/api/v1/auth/telegram", json={"init_data": captured})
    assert status == 200
    clock.advance(MAX_AGE + timedelta(seconds=1))
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": captured}
    )
    assert_problem(status, body, response, 401)
    status, body, response = await api.call("GET", "/api/v1/me", auth=f"tma {captured}")
    assert_problem(status, body, response, 401)


async def test_a_session_expires(api: Api, clock: Any) -> None:
    await th.user(SUB)
    header = await api.login(SUB)
    assert (await api.call("GET", "/api/v1/me", auth=header))[0] == 200
    clock.advance(auth.SESSION_TTL)
    status, body, response = await api.call("GET", "/api/v1/me", auth=header)
    assert_problem(status, body, response, 401)


@pytest.mark.parametrize(
    "init",
    [
        "not-a-query-string",
        "auth_date=1&hash=00",
        "hash=&user=%7B%7D",
    ],
)
async def test_malformed_initdata_is_401(api: Api, init: str) -> None:
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init}
    )
    assert_problem(status, body, response, 401)


async def test_initdata_with_a_changed_field_is_forged(api: Api) -> None:
    await th.user(SUB)
    genuine = init_data(SUB)
    changed = genuine.replace("%22id%22%3A+1000002", "%22id%22%3A+1000001")
    assert changed != genuine
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": changed}
    )
    assert_problem(status, body, response, 401)


async def test_a_banned_user_is_403_at_sign_in_and_with_a_session(api: Api) -> None:
    await th.user(SUB)
    header = await api.login(SUB)
    await access.set_banned(Shell(), str(SUB), banned=True)  # after the login: cached
    status, body, response = await api.call("GET", "/api/v1/me", auth=header)
    assert_problem(status, body, response, 403)
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB)}
    )
    assert_problem(status, body, response, 403)


async def test_free_users_are_refused_paid_routes(api: Api) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    view = await th.publish()
    header = await api.login(FREE)
    for method, path in [
        ("GET", f"/api/v1/signals/{view.id}"),
        ("POST", f"/api/v1/signals/{view.id}/decision"),
        ("GET", "/api/v1/terminals"),
    ]:
        status, body, response = await api.call(
            method, path, auth=header, json={"decision": "approved"}
        )
        assert_problem(status, body, response, 403)
    assert not await Approval.exists(signal_id=view.id)


async def test_free_users_see_signals_without_levels(api: Api) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    await app_settings.put("signals.free_delay_hours", 0)
    view = await th.publish()
    status, page, _ = await api.call("GET", "/api/v1/signals", auth=await api.login(FREE))
    assert status == 200
    item = next(i for i in page["items"] if i["id"] == view.id)
    assert item["entry"] is None and item["stop"] is None and item["can_decide"] is False


async def test_paid_users_see_levels_per_the_visibility_setting(api: Api) -> None:
    await th.user(SUB)
    view = await th.publish()
    header = await api.login(SUB)
    status, page, _ = await api.call("GET", "/api/v1/signals", auth=header)
    item = page["items"][0]
    assert status == 200 and item["id"] == view.id
    assert (item["entry"], item["stop"], item["take_profit"]) == ("1.07592", "1.07965", "1.06379")
    assert item["can_decide"] is True and item["decision"] is None
    await app_settings.put("signals.visibility", "entry_only")
    status, page, _ = await api.call("GET", "/api/v1/signals", auth=header)
    item = page["items"][0]
    assert item["entry"] == "1.07592" and item["stop"] is None and item["take_profit"] is None


async def test_signals_paginate_with_a_cursor(api: Api) -> None:
    await th.user(SUB)
    ids = [(await th.publish()).id for _ in range(5)]
    header = await api.login(SUB)
    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await api.call("GET", "/api/v1/signals" + query, auth=header)
        assert status == 200 and len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


async def test_signal_detail_has_candles_and_levels(api: Api) -> None:
    from trading.candles import Bar  # noqa: F401 - the stored bars come from the market data

    await th.user(SUB)
    view = await th.publish()
    status, body, _ = await api.call(
        "GET", f"/api/v1/signals/{view.id}", auth=await api.login(SUB)
    )
    assert status == 200 and body["signal"]["id"] == view.id
    assert body["signal"]["stop"] == "1.07965" and body["approved"] == 0
    assert body["points"] == []  # a manual signal has no Fib points


async def test_an_unknown_signal_is_404(api: Api) -> None:
    await th.user(SUB)
    header = await api.login(SUB)
    status, body, response = await api.call("GET", "/api/v1/signals/999999", auth=header)
    assert_problem(status, body, response, 404)
    status, body, response = await api.call(
        "POST", "/api/v1/signals/999999/decision", auth=header, json={"decision": "rejected"}
    )
    assert_problem(status, body, response, 404)


async def test_first_approval_asks_for_consent_then_approves_with_audit_and_card_edit(
    api: Api,
) -> None:
    await th.user(SUB)
    view = await th.publish()  # the subscriber's card is queued now
    assert await Notification.exists(dedupe_key=f"sig:{view.id}:new:{SUB}")
    header = await api.login(SUB)
    path = f"/api/v1/signals/{view.id}/decision"
    status, body, _ = await api.call("POST", path, auth=header, json={"decision": "approved"})
    assert status == 200 and body["needs_consent"] == "2026-11" and not body["changed"]
    assert "disclaimer" in body["disclaimer"].lower() and "<" not in body["disclaimer"]
    assert not await Approval.exists(signal_id=view.id)
    status, body, _ = await api.call(
        "POST", path, auth=header, json={"decision": "approved", "accept_disclaimer": "2026-11"}
    )
    assert status == 200 and body["changed"] and body["signal"]["decision"] == "approved"
    approval = await Approval.get(signal_id=view.id)
    assert (approval.decision, approval.source, approval.consent_version) == (
        "approved", "mini_app", "2026-11",
    )  # fmt: skip
    audit = await AuditLog.get(action="signal.approved", target=str(view.id))
    assert audit.data["source"] == "mini_app"
    edit = await Notification.get(dedupe_key__startswith=f"sig:{view.id}:edit:decision:")
    assert edit.chat_id == SUB and edit.kind == "signal.edit"
    assert "You approved this signal" in json.dumps(edit.payload, ensure_ascii=False)
    status, body, _ = await api.call("POST", path, auth=header, json={"decision": "rejected"})
    assert status == 200 and body["changed"] and body["signal"]["decision"] == "rejected"
    assert (
        await Notification.filter(dedupe_key__startswith=f"sig:{view.id}:edit:decision:").count()
        == 2
    )


async def test_an_outdated_disclaimer_version_is_refused(api: Api) -> None:
    await th.user(SUB)
    view = await th.publish()
    status, body, response = await api.call(
        "POST", f"/api/v1/signals/{view.id}/decision", auth=await api.login(SUB),
        json={"decision": "approved", "accept_disclaimer": "2020-01"},
    )  # fmt: skip
    assert_problem(status, body, response, 422)
    assert not await Approval.exists(signal_id=view.id)


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/api/v1/signals/{id}/decision", {"decision": "maybe"}, "decision"),
        ("POST", "/api/v1/signals/{id}/decision", {"decision": "approved", "x": 1}, "x"),
        ("POST", "/api/v1/signals/{id}/decision", {}, "decision"),
        ("GET", "/api/v1/signals/abc", None, "id"),
        ("GET", "/api/v1/signals/0", None, "id"),
        ("GET", "/api/v1/signals?limit=0", None, "limit"),
        ("GET", "/api/v1/signals?limit=101", None, "limit"),
        ("GET", "/api/v1/signals?cursor=!!", None, "cursor"),
        ("GET", "/api/v1/signals?cursor=bm90LWFuLWlk", None, "cursor"),
        ("PATCH", "/api/v1/settings", {"language": "de"}, "language"),
        ("GET", "/api/v1/terminals/a%20b", None, "device_id"),
    ],
)
async def test_bad_input_is_a_422_problem_naming_the_field(
    api: Api, method: str, path: str, payload: Any, field: str
) -> None:
    await th.user(SUB)
    view = await th.publish()
    status, body, response = await api.call(
        method, path.format(id=view.id), auth=await api.login(SUB), json=payload
    )
    assert_problem(status, body, response, 422)
    assert field in [e["field"] for e in body["errors"]]


async def test_a_body_that_is_not_json_is_a_400_problem(api: Api) -> None:
    await th.user(SUB)
    status, body, response = await api.call(
        "PATCH", "/api/v1/settings", auth=await api.login(SUB), data=b"{nope",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert_problem(status, body, response, 400)


async def test_terminals_are_the_users_own_and_another_users_is_404(api: Api) -> None:
    sam = await th.user(SUB)
    other = await th.user(OTHER, name="Otto")
    mine = await th.device(sam, name="Sam's MT5")
    theirs = await th.device(other, name="Otto's MT5")
    header = await api.login(SUB)
    status, body, _ = await api.call("GET", "/api/v1/terminals", auth=header)
    assert status == 200 and [t["device_id"] for t in body["items"]] == [mine.device_id]
    assert body["items"][0]["balance"] == "10000.00" and body["items"][0]["currency"] == "USD"
    status, body, _ = await api.call("GET", f"/api/v1/terminals/{mine.device_id}", auth=header)
    assert status == 200 and body["name"] == "Sam's MT5"
    status, body, response = await api.call(
        "GET", f"/api/v1/terminals/{theirs.device_id}", auth=header
    )
    assert_problem(status, body, response, 404)
    assert "Otto" not in json.dumps(body)
    status, body, response = await api.call("GET", "/api/v1/terminals/" + "0" * 63, auth=header)
    assert_problem(status, body, response, 404)  # longer than any id: not a 500


async def test_me_summarises_plan_terminals_and_pending(api: Api) -> None:
    sam = await th.user(SUB)
    await th.device(sam)
    await th.publish()
    status, me, _ = await api.call("GET", "/api/v1/me", auth=await api.login(SUB))
    assert status == 200
    assert (me["terminals_online"], me["terminals_total"], me["pending_approvals"]) == (0, 1, 1)
    assert me["access"]["terminal_limit"] == 1
    assert me["today"] == [{"currency": "USD", "open_positions": 0, "floating": "0",
                            "realised": "0", "total": "0"}]  # fmt: skip


async def test_me_counts_open_positions_and_todays_pnl_per_currency(api: Api, clock: Any) -> None:
    from decimal import Decimal as D

    from models.devices import AccountSnapshot, Command, Execution, Position

    sam = await th.user(SUB)
    usd, eur = await th.device(sam), await th.device(sam, name="Euro")
    await AccountSnapshot.filter(device_id=eur.id).update(currency="EUR")
    other = await th.device(await th.user(OTHER, name="Olga"))  # not Sam's
    for device, ticket, profit in ((usd, 1, "12.50"), (usd, 2, "-2.25"), (eur, 3, "4"),
                                   (other, 4, "999")):  # fmt: skip
        await Position.create(device=device, ticket=ticket, symbol="EURUSD", side="sell",
                              volume=D("0.1"), open_price=th.ENTRY, profit=D(profit))  # fmt: skip
    now = clock.now()
    for n, (closed_at, profit) in enumerate(((now, "7.00"), (now - timedelta(days=1), "100"))):
        command = await Command.create(id=f"cmd_today{n:027d}", device=usd, type="open",
                                       payload={}, dedupe_key=f"today:{n}")  # fmt: skip
        await Execution.create(command=command, device=usd, ticket=10 + n, symbol="EURUSD",
                               side="sell", volume=D("0.1"), fill_price=th.ENTRY, filled_at=now,
                               closed_at=closed_at, profit=D(profit))  # fmt: skip
    status, me, _ = await api.call("GET", "/api/v1/me", auth=await api.login(SUB))
    assert status == 200, me
    by = {d["currency"]: d for d in me["today"]}
    assert set(by) == {"EUR", "USD"}
    assert by["USD"]["open_positions"] == 2 and D(by["USD"]["floating"]) == D("10.25")
    assert D(by["USD"]["realised"]) == 7 and D(by["USD"]["total"]) == D("17.25")
    assert by["EUR"]["open_positions"] == 1 and D(by["EUR"]["total"]) == 4
    status, me, _ = await api.call("GET", "/api/v1/me", auth=await api.login(FREE))
    assert status == 200 and me["today"] == []


async def test_settings_change_the_language(api: Api) -> None:
    await th.user(SUB)
    header = await api.login(SUB)
    status, body, _ = await api.call(
        "PATCH", "/api/v1/settings", auth=header, json={"language": "es"}
    )
    assert status == 200 and body["language"] == "es"
    assert (await User.get(telegram_id=SUB)).language == "es"
    status, body, _ = await api.call("GET", "/api/v1/settings", auth=header)
    assert body == {
        "language": "es", "languages": ["en", "es", "ru"],
        "card_style": "full", "card_styles": ["full", "compact"],
    }  # fmt: skip


@pytest.mark.parametrize("language", ["en", "es", "ru"])
async def test_page_strings_are_translated(api: Api, language: str) -> None:
    status, body, _ = await api.call("GET", f"/api/v1/i18n/{language}")
    assert status == 200 and body["language"] == language
    strings = body["strings"]
    assert all(value and value != key for key, value in strings.items())
    if language != "en":
        english = (await api.call("GET", "/api/v1/i18n/en"))[1]["strings"]
        same = {k for k in strings if strings[k] == english[k] and k != "miniapp.title"}
        assert not same - {
            "miniapp.signal_stop",
            "miniapp.signal_take_profit",
            "miniapp.home_plan",
        }


def test_session_tokens_are_bound_to_the_derived_key(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from services.terminals import secrets as secret_box

    now = datetime(2030, 1, 1, tzinfo=UTC)
    secret_box.configure("key-one", tmp_path)
    token = auth.issue(SUB, now, bot_token=TOKEN).token
    assert auth.verify(token, now, bot_token=TOKEN) == SUB
    secret_box.configure("key-two", tmp_path)
    with pytest.raises(auth.Unauthenticated):
        auth.verify(token, now, bot_token=TOKEN)
    assert TOKEN  # the bot token is not the key: a token survives a bot token change


async def test_initdata_from_the_future_is_refused(api: Api, clock: Any) -> None:
    await th.user(SUB)
    ahead = int((clock.now() + auth.CLOCK_SKEW + timedelta(seconds=5)).timestamp())
    status, body, response = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB, auth_date=ahead)}
    )
    assert_problem(status, body, response, 401)


@pytest.mark.parametrize(("role", "expected"), [(Role.SUBSCRIBER, 403), (Role.ADMIN, 200),
                                                (Role.OWNER, 200)])  # fmt: skip
async def test_admin_routes_are_refused_to_other_roles(
    database: str, clock: Any, bus: Any, tmp_path: Any, role: Role, expected: int
) -> None:
    """The framework's role check, on a route declared `Auth.ADMIN` (the admin pages' routes)."""
    import aiohttp
    from aiohttp.test_utils import TestServer
    from pydantic import BaseModel

    from services.terminals import secrets as secret_box
    from webapp.miniapp import API as declared
    from webapp.miniapp import api as framework

    class Staff(BaseModel):
        role: str

    staff_api = framework.Api(operations=list(declared.operations))

    @staff_api.get("/staff", response=Staff, auth=framework.Auth.ADMIN, summary="staff only")
    async def staff(call: framework.Call) -> Staff:
        return Staff(role=call.me.role.value)

    secret_box.configure("miniapp-tests-master-key", tmp_path)
    await th.user(SUB, role)
    app = make_app_with(staff_api)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            client = Api(str(server.make_url("")).rstrip("/"), http)
            status, body, _ = await client.call(
                "GET", "/api/v1/staff", auth=await client.login(SUB)
            )
            assert status == expected, body
            documented = (await client.call("GET", "/api/v1/openapi.json"))[1]["paths"]
            assert documented["/api/v1/staff"]["get"]["responses"].keys() >= {"401", "403"}
    finally:
        await server.close()


def make_app_with(custom: Any) -> Any:
    from aiohttp import web

    from core.http.problems import problem_middleware
    from tests.webapp.miniapp.conftest import OWNER
    from webapp.miniapp import TELEGRAM_SCRIPT, MiniAppConfig
    from webapp.miniapp.api import CONFIG_KEY
    from webapp.miniapp.pages import setup_pages

    app = web.Application(middlewares=[problem_middleware])
    app[CONFIG_KEY] = MiniAppConfig(
        bot_token=TOKEN, owners=frozenset({OWNER}), max_age=MAX_AGE, script_url=TELEGRAM_SCRIPT
    )
    custom.register(app)
    setup_pages(app)
    return app


async def test_history_lists_ended_signals_with_their_outcome_newest_first(api: Api) -> None:
    from decimal import Decimal

    from models.signals import CloseReason, SignalStatus
    from services.signals import lifecycle

    await th.user(SUB)
    await th.user(FREE, Role.PUBLIC, name="Fred")
    await app_settings.put("signals.visibility", "entry_only")  # over: every level is shown
    won, lost, cancelled, still_open = [await th.publish() for _ in range(4)]
    for view, price in ((won, th.TP), (lost, th.STOP)):
        await lifecycle.transition(view.id, SignalStatus.FILLED)
        await lifecycle.transition(view.id, SignalStatus.CLOSED, price=price,
                                   reason=CloseReason.TP if price == th.TP else CloseReason.SL)  # fmt: skip
    await lifecycle.cancel(cancelled.id, actor_id=SUB)
    header = await api.login(SUB)
    status, body, _ = await api.call("GET", "/api/v1/signals/history?limit=2", auth=header)
    assert status == 200, body
    assert [s["id"] for s in body["items"]] == [cancelled.id, lost.id] and body["next_cursor"]
    assert body["items"][0]["status"] == "cancelled" and body["items"][0]["result_r"] is None
    assert body["items"][1]["close_reason"] == "sl" and Decimal(body["items"][1]["result_r"]) == -1
    assert body["items"][1]["stop"] == str(th.STOP) and not body["items"][1]["can_decide"]
    cursor = body["next_cursor"]
    status, body, _ = await api.call(
        "GET", f"/api/v1/signals/history?limit=2&cursor={cursor}", auth=header
    )
    assert [s["id"] for s in body["items"]] == [won.id] and body["next_cursor"] is None
    assert body["items"][0]["close_reason"] == "tp" and Decimal(body["items"][0]["result_r"]) > 0
    assert still_open.id not in [s["id"] for s in body["items"]]
    # the free tier: outcomes without levels, and only once past the free delay
    await app_settings.put("signals.free_delay_hours", 0)
    status, body, _ = await api.call("GET", "/api/v1/signals/history", auth=await api.login(FREE))
    assert status == 200 and len(body["items"]) == 3
    assert all(s["entry"] is None and s["stop"] is None for s in body["items"])
    assert {s["result_r"] is not None for s in body["items"]} == {True, False}
    status, body, response = await api.call(
        "GET", "/api/v1/signals/history?cursor=!!", auth=header
    )
    assert_problem(status, body, response, 422)


async def test_the_expiry_countdown_runs_on_the_markets_clock(api: Api, clock: Any) -> None:
    """`expires_in_s` counts to the expiry by the symbol's market clock: the real clock without
    a stored bar (or with a live feed); in a replay of history (the sandbox) the newest bar's
    close plus the time since it was stored. Past: 0; history: null."""
    from datetime import UTC, datetime

    from models.signals import SignalSource
    from services.signals import lifecycle, market_data
    from trading.candles import Bar

    async def publish(symbol: str, published: datetime, hours: float) -> int:
        view = await lifecycle.publish(lifecycle.SignalDraft(
            setup_key=f"{symbol}:{published.isoformat()}", symbol=symbol, side="sell",
            entry=th.ENTRY, stop=th.STOP, take_profit=th.TP, published_at=published,
            expires_at=published + timedelta(hours=hours), source=SignalSource.MANUAL,
        ))  # fmt: skip
        assert view is not None
        return view.id

    await th.user(SUB)
    header = await api.login(SUB)
    now = clock.now()
    live = await publish("EURUSD", now, 100)
    replay_bar = datetime(2017, 6, 1, 9, tzinfo=UTC)  # stored a minute ago, 13 years back
    await market_data.record_bar("GBPUSD", Bar(replay_bar, 1.3, 1.31, 1.29, 1.3), 3600,
                                 now=now - timedelta(minutes=1))  # fmt: skip
    replayed = await publish("GBPUSD", replay_bar + timedelta(hours=1), 5)
    past = await publish("EURUSD", now - timedelta(hours=3), 2)

    async def left() -> dict[int, Any]:
        status, page, _ = await api.call("GET", "/api/v1/signals", auth=header)
        assert status == 200, page
        return {i["id"]: i["expires_in_s"] for i in page["items"]}

    assert await left() == {live: 100 * 3600, replayed: 5 * 3600 - 60, past: 0}
    clock.advance(timedelta(minutes=30))  # the replay's clock runs on from its newest bar
    assert await left() == {live: 100 * 3600 - 1800, replayed: 5 * 3600 - 1860, past: 0}
    status, body, _ = await api.call("GET", f"/api/v1/signals/{replayed}", auth=header)
    assert status == 200 and body["signal"]["expires_in_s"] == 5 * 3600 - 1860
    await lifecycle.cancel(past, actor_id=SUB)
    status, body, _ = await api.call("GET", "/api/v1/signals/history", auth=header)
    assert [(s["id"], s["expires_in_s"]) for s in body["items"]] == [(past, None)]


@pytest.mark.parametrize(
    ("language", "missing", "admins_only"),
    [
        ("en", "There is no signal #999999.", "Only admins and the owner may do this."),
        ("es", "No existe la señal #999999.", "Solo los administradores y el propietario pueden hacer esto."),
        ("ru", "Сигнала #999999 нет.", "Это доступно только администраторам и владельцу."),
    ],
)  # fmt: skip
async def test_a_services_error_reads_in_the_callers_language(
    api: Api, language: str, missing: str, admins_only: str
) -> None:
    """Every route, not only the forms that map errors to fields: the problem's detail is the
    service's message in the signed-in user's language (the page shows it as it comes)."""
    from services.users import profiles

    await th.user(SUB)
    await th.user(OWNER_ID, Role.OWNER, "Olivia")
    for who in (SUB, OWNER_ID):
        await profiles.set_language(who, language)
    header = await api.login(SUB)
    status, body, response = await api.call("GET", "/api/v1/signals/999999", auth=header)
    assert_problem(status, body, response, 404)
    assert body["detail"] == missing
    status, body, response = await api.call("GET", "/api/v1/admin/users", auth=header)
    assert_problem(status, body, response, 403)
    assert body["detail"] == admins_only
    status, body, response = await api.call(
        "GET", "/api/v1/admin/users/424242", auth=await api.login(OWNER_ID)
    )
    assert_problem(status, body, response, 404)
    assert "424242" in body["detail"] and body["detail"] != body["title"]
    if language != "en":
        assert "No user found" not in body["detail"]
