"""Every route of the API's route table (not a sample): missing, expired, forged and replayed
credentials are a 401 problem with the security headers. "Replayed" here: an initData or a
session carried past the initData's MINIAPP_MAX_AGE, and a session or initData of another bot
(`services.miniapp.auth`, Replay)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from core.http.problems import PROBLEM_TYPE
from services.miniapp import auth
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import MAX_AGE, TOKEN, Api, init_data
from webapp.miniapp import API
from webapp.miniapp.api import Auth

SUB = 1000002
OTHER_BOT = "987654321:SOMEONE-elses-token-xxxxxxxxxxx"
SAMPLE = {"id": "1", "device_id": "dev_x", "ticket": "1", "alert_id": "1",
          "telegram_id": "1000001", "symbol": "EURUSD", "language": "en"}  # fmt: skip
GUARDED = [op for op in API.operations if op.auth is not Auth.NONE]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: SAMPLE[m.group(1)], path)


def test_the_table_is_the_whole_api() -> None:
    assert len(GUARDED) == len(API.operations) - 2  # all but sign-in and the page's strings
    for op in API.operations:  # a new path parameter needs a sample value here
        assert set(re.findall(r"\{(\w+)", op.path)) <= set(SAMPLE), op.path


@pytest.mark.parametrize("op", GUARDED, ids=lambda op: f"{op.method} {op.path}")
async def test_every_route_refuses_missing_expired_forged_and_replayed_credentials(
    api: Api, clock: Any, op: Any
) -> None:
    await th.user(SUB)
    captured = init_data(SUB)
    status, body, _ = await api.call("POST", "/api/v1/auth/telegram", json={"init_data": captured})
    assert status == 200, body
    opened = body["token"]
    session = auth.issue(SUB, clock.now(), bot_token=TOKEN)
    tampered = session.token[:-2] + ("AA" if not session.token.endswith("AA") else "BB")
    other_bot = auth.issue(SUB, clock.now(), bot_token=OTHER_BOT).token
    now_refused = [None, "", "Bearer", "Basic abc", f"tma {init_data(SUB, token=OTHER_BOT)}",
                   f"Bearer {tampered}", f"Bearer {other_bot}",
                   f"Bearer v1.{SUB}.9999999999.{session.token.split('.')[-1]}"]  # fmt: skip
    path = API.prefix + concrete(op.path)
    for header in now_refused:
        status, body, response = await api.call(op.method, path, auth=header, json={})
        assert status == 401 and response.content_type == PROBLEM_TYPE, (header, body)
        assert body["status"] == 401 and "Content-Security-Policy" in response.headers
    # the captured initData and the session it opened end together, at auth_date + max age
    clock.advance(MAX_AGE + timedelta(seconds=1))
    for header in (f"tma {captured}", f"Bearer {opened}"):
        status, body, response = await api.call(op.method, path, auth=header, json={})
        assert status == 401 and response.content_type == PROBLEM_TYPE, (header, body)
    status, body, _ = await api.call("POST", "/api/v1/auth/telegram", json={"init_data": captured})
    assert status == 401, body


async def test_a_session_never_outlives_its_initdata(api: Api, clock: Any) -> None:
    await th.user(SUB)
    old = int((clock.now() - MAX_AGE + timedelta(minutes=5)).timestamp())
    status, body, _ = await api.call(
        "POST", "/api/v1/auth/telegram", json={"init_data": init_data(SUB, auth_date=old)}
    )
    assert status == 200, body
    header = f"Bearer {body['token']}"
    assert (await api.call("GET", "/api/v1/me", auth=header))[0] == 200
    clock.advance(timedelta(minutes=5))  # the initData is stale: so is its session
    assert (await api.call("GET", "/api/v1/me", auth=header))[0] == 401


@pytest.mark.parametrize("op", API.operations, ids=lambda op: f"{op.method} {op.path}")
async def test_every_route_refuses_an_unknown_query_field_with_a_422_problem(
    api: Api, op: Any
) -> None:
    from models.users import Role

    await th.user(SUB)
    await th.user(1000001, Role.OWNER, "Olivia")
    who = 1000001 if op.auth is Auth.ADMIN else SUB
    header = None if op.auth is Auth.NONE else await api.login(who)
    path = API.prefix + concrete(op.path) + "?unexpected=1"
    status, body, response = await api.call(op.method, path, auth=header, json={})
    assert status == 422 and response.content_type == PROBLEM_TYPE, body
    assert "unexpected" in [e["field"] for e in body["errors"]]


PAID = [op for op in API.operations if op.auth is Auth.PAID]
ADMIN = [op for op in API.operations if op.auth is Auth.ADMIN]
BELOW = {Auth.PAID: ["public"], Auth.ADMIN: ["public", "subscriber"]}


@pytest.mark.parametrize("op", PAID + ADMIN, ids=lambda op: f"{op.method} {op.path}")
async def test_every_route_refuses_the_roles_below_it_with_a_403_and_changes_nothing(
    api: Api, op: Any
) -> None:
    """A free user on every paid route, and a free user and a subscriber on every admin route:
    a 403 problem before the input is even read, and nothing stored or sent."""
    from models.audit import AuditLog
    from models.notifications import Notification
    from models.users import Role

    view = await th.publish()
    people = {"public": 1000003, "subscriber": SUB}
    for role, telegram_id in people.items():
        await th.user(telegram_id, Role(role), role.title())
    before = (await AuditLog.all().count(), await Notification.all().count())
    for role in BELOW[op.auth]:
        header = await api.login(people[role])
        path = API.prefix + concrete(op.path.replace("{id}", str(view.id)))
        status, body, response = await api.call(op.method, path, auth=header, json={})
        assert status == 403 and response.content_type == PROBLEM_TYPE, (role, body)
        assert body["status"] == 403 and body["title"], (role, body)
    assert (await AuditLog.all().count(), await Notification.all().count()) == before


def test_paid_and_admin_routes_are_the_ones_that_need_them() -> None:
    assert len(PAID) >= 15 and len(ADMIN) >= 10
    assert {op.path for op in PAID} >= {"/signals/{id}/decision", "/terminals"}
    assert all(op.path.startswith("/admin/") for op in ADMIN)
