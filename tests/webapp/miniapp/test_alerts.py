"""The Alerts page's routes over HTTP: 401 without a session, 403 over the plan's quota, 404
for another user's alert, 422 with the refused field and the reason in the user's language,
and the actual results (list, add, get, delete)."""

from __future__ import annotations

from typing import Any

import pytest

from core.clock import ManualClock
from models.alerts import AlertState, PriceAlert
from services.alerts import service
from services.alerts.service import NewAlert
from services.users import profiles
from tests.alerts.conftest import ELITE, FREE, PRO, STARTER, World, make_world
from tests.webapp.miniapp.conftest import Api

GOOD = {"symbol": "XAUUSD", "condition": "above", "level": "2410"}


@pytest.fixture
async def world(api: Api, clock: ManualClock) -> World:
    return await make_world(clock)


async def test_every_route_needs_a_session(api: Api, world: World) -> None:
    for method, path, body in (("GET", "/api/v1/alerts", None), ("POST", "/api/v1/alerts", GOOD),
                               ("GET", "/api/v1/alerts/1", None),
                               ("DELETE", "/api/v1/alerts/1", None)):  # fmt: skip
        status, problem, r = await api.call(method, path, json=body)
        assert status == 401, (method, path)
        assert r.content_type == "application/problem+json" and problem["status"] == 401


async def test_add_list_get_delete(api: Api, world: World) -> None:
    auth = await api.login(PRO)
    status, empty, _ = await api.call("GET", "/api/v1/alerts", auth=auth)
    assert status == 200
    assert empty["items"] == [] and empty["quota"] == {"used": 0, "limit": 20, "plan": "pro"}
    assert empty["symbols"] == [
        {"symbol": "EURUSD", "last": "1.08500", "digits": 5, "tick": "0.00001"},
        {"symbol": "XAUUSD", "last": "2400.00", "digits": 2, "tick": "0.01"},
    ]
    body = {**GOOD, "note": "breakout", "repeat": True, "cooldown_min": 15}
    status, made, _ = await api.call("POST", "/api/v1/alerts", auth=auth, json=body)
    assert status == 201, made
    assert {k: made[k] for k in ("symbol", "condition", "level", "note", "repeat", "cooldown_min",
                                 "state", "fired_count")} == {  # fmt: skip
        "symbol": "XAUUSD", "condition": "above", "level": "2410.00", "note": "breakout",
        "repeat": True, "cooldown_min": 15, "state": "active", "fired_count": 0,
    }  # fmt: skip
    status, listed, _ = await api.call("GET", "/api/v1/alerts", auth=auth)
    assert [a["id"] for a in listed["items"]] == [made["id"]] and listed["quota"]["used"] == 1
    status, one, _ = await api.call("GET", f"/api/v1/alerts/{made['id']}", auth=auth)
    assert status == 200 and one == made
    status, gone, _ = await api.call("DELETE", f"/api/v1/alerts/{made['id']}", auth=auth)
    assert status == 200 and gone["state"] == "deleted"
    status, problem, _ = await api.call("GET", f"/api/v1/alerts/{made['id']}", auth=auth)
    assert status == 404 and problem["detail"] == f"Alert #{made['id']} was not found."


async def test_another_users_alert_is_404(api: Api, world: World) -> None:
    theirs = await service.create(await world.user(ELITE), NewAlert("XAUUSD", "below", "2390"))
    auth = await api.login(PRO)
    for method in ("GET", "DELETE"):
        status, problem, _ = await api.call(method, f"/api/v1/alerts/{theirs.id}", auth=auth)
        assert status == 404 and problem["title"] == "Not Found"
    assert (await PriceAlert.get(id=theirs.id)).state is AlertState.ACTIVE


@pytest.mark.parametrize(
    ("who", "detail"),
    [
        (
            STARTER,
            "Your plan (Starter) does not include price alerts. The Pro plan allows 20: "
            "see /plans.",
        ),
        (
            FREE,
            "Your plan (free) does not include price alerts. The Pro plan allows 20: see /plans.",
        ),
    ],
)
async def test_a_plan_without_alerts_is_403(api: Api, world: World, who: int, detail: str) -> None:
    auth = await api.login(who)
    status, listed, _ = await api.call("GET", "/api/v1/alerts", auth=auth)
    assert status == 200 and listed["quota"]["limit"] == 0
    status, problem, _ = await api.call("POST", "/api/v1/alerts", auth=auth, json=GOOD)
    assert status == 403 and problem["detail"] == detail
    assert await PriceAlert.all().count() == 0


async def test_a_full_quota_is_403_naming_the_plan_that_raises_it(api: Api, world: World) -> None:
    pro = await world.user(PRO)
    for i in range(20):
        await service.create(pro, NewAlert("XAUUSD", "above", str(2401 + i)))
    status, problem, _ = await api.call("POST", "/api/v1/alerts", auth=await api.login(PRO),
                                        json=GOOD)  # fmt: skip
    assert status == 403
    assert problem["detail"] == ("You have 20 active alerts, the most the Pro plan allows. "
                                 "Delete one, or move to Elite for 100: see /plans.")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"level": "abc"}, "level", "“abc” is not a price: type a number such as 2400.50."),
        (
            {"level": "2410.001"},
            "level",
            "2410.001 is not on XAUUSD's price grid: its tick is 0.01. Try 2,410.00 or 2,410.01.",
        ),
        (
            {"level": "2700"},
            "level",
            "2,700.00 is 12.5% away from XAUUSD's last price of 2,400.00; "
            "an alert may be at most 10% away.",
        ),
        (
            {"level": "2390"},
            "level",
            "XAUUSD is already at or above 2,390.00 (last price 2,400.00): "
            "an “above” alert needs a higher level. Use “cross” or “below”.",
        ),
        (
            {"symbol": "DOGE"},
            "symbol",
            "DOGE is not a symbol we know. Alerts can be set on: EURUSD, XAUUSD.",
        ),
        (
            {"symbol": "USDJPY"},
            "symbol",
            "USDJPY has no live price feed right now, so an alert on it "
            "could never fire. Live feeds: EURUSD, XAUUSD.",
        ),
        ({"note": "n" * 300}, "note", "The note is 300 characters long; at most 200, please."),
        (
            {"repeat": True, "cooldown_min": 0},
            "cooldown_min",
            "The cool-down must be from 1 to 1440 minutes, not 0.",
        ),
    ],
)
async def test_refusals_name_the_field(api: Api, world: World, change: dict[str, Any], field: str,
                                       message: str) -> None:  # fmt: skip
    status, problem, r = await api.call("POST", "/api/v1/alerts", auth=await api.login(PRO),
                                        json={**GOOD, **change})  # fmt: skip
    assert status == 422 and r.content_type == "application/problem+json"
    assert problem["errors"] == [{"field": field, "in": "body", "message": message}]
    assert problem["detail"] == message


async def test_refusals_in_the_users_language(api: Api, world: World) -> None:
    await profiles.set_language(PRO, "es")
    status, problem, _ = await api.call("POST", "/api/v1/alerts", auth=await api.login(PRO),
                                        json={**GOOD, "level": "x"})  # fmt: skip
    assert status == 422
    assert (
        problem["errors"][0]["message"] == "«x» no es un precio: escribe un número como 2400.50."
    )


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": "XAUUSD", "condition": "sideways", "level": "2410"},
        {"symbol": "XAUUSD", "condition": "above"},
        {**GOOD, "level": 2410},
        {**GOOD, "extra": 1},
        {**GOOD, "symbol": ""},
        {**GOOD, "repeat": "maybe"},
    ],
)
async def test_malformed_bodies_are_422(api: Api, world: World, body: dict[str, Any]) -> None:
    status, problem, _ = await api.call(
        "POST", "/api/v1/alerts", auth=await api.login(PRO), json=body
    )
    assert status == 422 and problem["errors"], problem
    assert await PriceAlert.all().count() == 0


@pytest.mark.parametrize("path", ["/api/v1/alerts/0", "/api/v1/alerts/x", "/api/v1/alerts/1e3"])
async def test_malformed_ids_are_422(api: Api, world: World, path: str) -> None:
    status, problem, _ = await api.call("DELETE", path, auth=await api.login(PRO))
    assert status == 422 and problem["errors"][0]["in"] == "path"
