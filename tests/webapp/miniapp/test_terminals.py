"""The Terminals and Positions pages' API: add (secret once), rename, mode, revoke (the EA is
refused afterwards), risk settings with per-field messages, resume, positions, close (the EA
gets a CLOSE), the equity curve, the EA files; 401 / 403 / 404 / 409 / 422 on each route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from core.http.problems import PROBLEM_TYPE
from models.audit import AuditLog
from models.billing import EntitlementSource
from models.devices import AccountSnapshot, Command, CommandType, CopySettings, Device, Position
from models.users import Role
from services.billing import catalog, entitlements
from services.miniapp import terminals as service
from services.terminals import ea_files, reports
from services.terminals.protocol import AccountReport, PositionIn
from services.users import profiles
from services.users.profiles import UserInfo
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import Api
from tests.webapp.miniapp.terminal_app import Both, position, serve_both

SUB, OTHER, FREE = 1000002, 1000005, 1000003
DEV = "dev_abcdefghijkl"
ROUTES = [
    ("POST", "/api/v1/terminals", {"name": "MT5"}),
    ("GET", "/api/v1/terminals/{d}/detail", None),
    ("PATCH", "/api/v1/terminals/{d}", {"name": "New"}),
    ("DELETE", "/api/v1/terminals/{d}", None),
    ("PATCH", "/api/v1/terminals/{d}/risk", {"risk_pct": "1"}),
    ("POST", "/api/v1/terminals/{d}/resume", None),
    ("GET", "/api/v1/terminals/{d}/positions", None),
    ("POST", "/api/v1/terminals/{d}/positions/7/close", None),
    ("GET", "/api/v1/terminals/{d}/equity", None),
    ("GET", "/api/v1/ea-files", None),
]
DEVICE_ROUTES = [r for r in ROUTES if "{d}" in r[1]]


@pytest.fixture
async def both(database: str, clock: Any, bus: Any, tmp_path: Any) -> AsyncIterator[Both]:
    from services.terminals import secrets as secret_box

    secret_box.configure("miniapp-tests-master-key", tmp_path)
    async for served in serve_both():
        yield served


def problem(status: int, body: Any, response: Any, expected: int) -> Any:
    assert status == expected, body
    assert response.content_type == PROBLEM_TYPE and body["status"] == expected
    return body


async def report(device: Device, *positions: PositionIn, equity: str = "9950") -> None:
    await reports.on_account(
        device, AccountReport(D(10000), D(equity), D("12.5"), "USD", tuple(positions))
    )


def pos(ticket: int, profit: str) -> PositionIn:
    return PositionIn(ticket, "EURUSD", "sell", D("0.1"), th.ENTRY, th.STOP, th.TP, D(profit), "")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_needs_a_session(api: Api, method: str, path: str, body: Any) -> None:
    status, answer, response = await api.call(method, path.format(d=DEV), json=body)
    problem(status, answer, response, 401)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_free_users_are_refused(api: Api, method: str, path: str, body: Any) -> None:
    free = await th.user(FREE, Role.PUBLIC, "Nico")
    device = await th.device(free)
    header = await api.login(FREE)
    status, answer, response = await api.call(
        method, path.format(d=device.device_id), auth=header, json=body
    )
    problem(status, answer, response, 403)
    assert await Device.filter(user_id=free.id).count() == 1


@pytest.mark.parametrize(("method", "path", "body"), DEVICE_ROUTES)
async def test_another_users_unknown_or_revoked_terminal_is_404(
    api: Api, method: str, path: str, body: Any
) -> None:
    await th.user(SUB)
    other = await th.user(OTHER, name="Otto")
    theirs = await th.device(other, name="Otto's MT5")
    await Position.create(device=theirs, ticket=7, symbol="EURUSD", side="sell",
                          volume=D("0.1"), open_price=th.ENTRY, profit=D(1))  # fmt: skip
    gone = await th.device(await profiles.get_by_telegram_id(SUB), status="revoked")
    header = await api.login(SUB)
    for device_id in (theirs.device_id, DEV, gone.device_id):
        status, answer, response = await api.call(
            method, path.format(d=device_id), auth=header, json=body
        )
        problem(status, answer, response, 404)
    assert (await Device.get(id=theirs.id)).name == "Otto's MT5"
    assert await Device.get(id=theirs.id).values_list("status", flat=True) == "active"
    assert not await Command.filter(device_id=theirs.id).exists()


async def test_add_answers_the_secret_once_and_the_ea_can_use_it(both: Both) -> None:
    await th.user(SUB)
    header = await both.api.login(SUB)
    status, new, _ = await both.api.call(
        "POST", "/api/v1/terminals", auth=header, json={"name": "  Main   MT5 "}
    )
    assert status == 201, new
    device_id, secret = new["device_id"], new["secret"]
    assert new["terminal"]["name"] == "Main MT5" and new["terminal"]["mode"] == "approval"
    assert new["server_url"] == both.url and len(secret) >= 43
    assert [f["name"] for f in new["files"]] == ["SignalDeskEA.mq5", "SignalDeskEA-include.zip"]
    terminal = both.terminal(device_id, secret)
    assert await terminal.call("GET", "/ea/v1/ping") == 200
    assert await both.terminal(device_id, secret[:-1] + "x").call("GET", "/ea/v1/ping") == 401
    for path in ("/api/v1/terminals", f"/api/v1/terminals/{device_id}",
                 f"/api/v1/terminals/{device_id}/detail",
                 f"/api/v1/terminals/{device_id}/positions"):  # fmt: skip
        status, body, _ = await both.api.call("GET", path, auth=header)
        assert status == 200 and secret not in str(body), path
    audit = [row.data for row in await AuditLog.filter(target=device_id)]
    assert audit and secret not in str(audit)
    row = await Device.get(device_id=device_id)
    assert secret not in row.secret_enc


async def test_the_plan_limits_how_many_terminals_a_user_adds(api: Api) -> None:
    await th.user(SUB)  # Starter: one terminal
    header = await api.login(SUB)
    status, _, _ = await api.call("POST", "/api/v1/terminals", auth=header, json={"name": "A"})
    assert status == 201
    status, body, response = await api.call(
        "POST", "/api/v1/terminals", auth=header, json={"name": "B"}
    )
    assert "1 terminal" in problem(status, body, response, 409)["detail"]
    assert await Device.all().count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "   "}, "name"), ({"name": "x" * 65}, "name"), ({"name": "a\x01b"}, "name"),
     ({}, "name"), ({"name": "A", "mode": "copy"}, "mode"), ({"name": 5}, "name")],
)  # fmt: skip
async def test_a_bad_new_terminal_is_a_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    await th.user(SUB)
    status, answer, response = await api.call(
        "POST", "/api/v1/terminals", auth=await api.login(SUB), json=body
    )
    found = problem(status, answer, response, 422)
    assert [e["field"] for e in found["errors"]] == [field]
    assert not await Device.exists()


async def starter(telegram_id: int, clock: Any) -> UserInfo:
    """A public user who bought the Starter plan (approvals, no copy mode)."""
    await catalog.sync_catalog(catalog.load_catalog(None, D("0.013")))
    user = await th.user(telegram_id, Role.PUBLIC, "Nico")
    await entitlements.grant(user.id, "starter", 30, source=EntitlementSource.GRANT,
                             now=clock.now())  # fmt: skip
    return user


async def test_rename_and_mode(api: Api, clock: Any) -> None:
    nico = await starter(FREE, clock)
    device = await th.device(nico)
    header = await api.login(FREE)
    path = f"/api/v1/terminals/{device.device_id}"
    status, body, _ = await api.call("PATCH", path, auth=header, json={"name": "Desk"})
    assert status == 200 and body["name"] == "Desk"
    assert await AuditLog.filter(action="device.renamed", target=device.device_id).exists()
    status, body, response = await api.call(
        "PATCH", path, auth=header, json={"name": "Other", "mode": "copy"}
    )  # Starter has no copy mode: refused, and nothing changed
    assert "Copy plan" in problem(status, body, response, 403)["detail"]
    row = await Device.get(id=device.id)
    assert (row.name, row.mode) == ("Desk", "approval")
    status, body, response = await api.call("PATCH", path, auth=header, json={"name": ""})
    assert problem(status, body, response, 422)["errors"][0]["field"] == "name"
    status, body, response = await api.call("PATCH", path, auth=header, json={"mode": "auto"})
    assert problem(status, body, response, 422)["errors"][0]["field"] == "mode"


async def test_copy_mode_for_access_that_has_it(api: Api) -> None:
    sam = await th.user(SUB)  # complimentary access: Starter's features and copy mode
    device = await th.device(sam)
    status, body, _ = await api.call(
        "PATCH", f"/api/v1/terminals/{device.device_id}", auth=await api.login(SUB),
        json={"mode": "copy"},
    )  # fmt: skip
    assert status == 200 and body["mode"] == "copy", body
    assert (await Device.get(id=device.id)).mode == "copy"


async def test_revoke_refuses_the_ea_at_once(both: Both) -> None:
    await th.user(SUB)
    header = await both.api.login(SUB)
    _, new, _ = await both.api.call("POST", "/api/v1/terminals", auth=header, json={"name": "A"})
    device_id = new["device_id"]
    terminal = both.terminal(device_id, new["secret"])
    assert await terminal.call("GET", "/ea/v1/ping") == 200
    status, body, _ = await both.api.call("DELETE", f"/api/v1/terminals/{device_id}", auth=header)
    assert status == 200 and body == {"device_id": device_id, "revoked": True}
    assert await terminal.call("GET", "/ea/v1/ping") == 401
    assert await terminal.report(1, 1, []) == 401
    status, body, response = await both.api.call(
        "DELETE", f"/api/v1/terminals/{device_id}", auth=header
    )
    problem(status, body, response, 404)
    status, listed, _ = await both.api.call("GET", "/api/v1/terminals", auth=header)
    assert listed["items"] == []
    assert await AuditLog.filter(action="device.revoked", target=device_id).exists()


async def test_risk_settings_validate_each_field_in_the_users_language(api: Api) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam)
    path = f"/api/v1/terminals/{device.device_id}/risk"
    header = await api.login(SUB)
    status, body, response = await api.call(
        "PATCH",
        path,
        auth=header,
        json={"risk_pct": "50", "max_lot": "lots", "lot_multiplier": "1"},
    )
    found = problem(status, body, response, 422)
    messages = {e["field"]: e["message"] for e in found["errors"]}
    assert set(messages) == {"risk_pct", "max_lot"}
    assert messages["risk_pct"].startswith("Risk per trade must be a number from 0.1 to 10")
    assert "“50”" in messages["risk_pct"] and "“lots”" in messages["max_lot"]
    assert not await CopySettings.exists()  # nothing saved when anything is refused

    await profiles.set_language(SUB, "es")
    status, body, _ = await api.call("PATCH", path, auth=header, json={"risk_pct": "0"})
    assert status == 422 and body["errors"][0]["field"] == "risk_pct"
    assert body["errors"][0]["message"].startswith("El riesgo por operación debe ser")
    assert body["detail"] == body["errors"][0]["message"]

    status, body, _ = await api.call(
        "PATCH", path, auth=header,
        json={"risk_pct": "1,5", "max_lot": "off", "max_open_positions": "3"},
    )  # fmt: skip
    assert status == 200, body
    assert body["risk"] | {} == {
        "risk_pct": "1.500", "lot_multiplier": body["risk"]["lot_multiplier"], "max_lot": None, "max_open_positions": 3,
        "max_trades_per_day": None, "max_drawdown_pct": body["risk"]["max_drawdown_pct"],
    }  # fmt: skip
    changed = await AuditLog.filter(action="device.settings_changed").count()
    assert changed == 3
    status, body, response = await api.call("PATCH", path, auth=header, json={"leverage": "5"})
    assert problem(status, body, response, 422)["errors"][0]["field"] == "leverage"


async def test_positions_and_account_figures(api: Api) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam, balance=None)
    header = await api.login(SUB)
    path = f"/api/v1/terminals/{device.device_id}/positions"
    status, body, _ = await api.call("GET", path, auth=header)
    assert status == 200 and body["items"] == [] and body["terminal"]["account"] is None
    await report(device, pos(11, "-30.5"), pos(12, "-19.5"))
    status, body, _ = await api.call("GET", path, auth=header)
    assert [p["ticket"] for p in body["items"]] == [11, 12]
    assert D(body["floating"]) == D("-50")
    account = body["terminal"]["account"]
    assert (D(account["balance"]), D(account["equity"]), D(account["margin"])) == (
        D(10000), D(9950), D("12.5"),
    )  # fmt: skip
    assert D(account["floating"]) == D(-50) and account["currency"] == "USD"
    assert body["terminal"]["live_key"] == device.id


async def test_close_queues_a_close_command_the_ea_receives(both: Both) -> None:
    await th.user(SUB)
    header = await both.api.login(SUB)
    terminal = await both.add(header)
    assert await terminal.report(10000, 9969.5, [position(11, -30.5)]) == 204
    path = f"/api/v1/terminals/{terminal.device_id}/positions/11/close"
    status, body, _ = await both.api.call("POST", path, auth=header)
    assert status == 202 and body["ticket"] == 11, body
    (command,) = await terminal.commands()
    assert (command["id"], command["type"], command["ticket"], command["symbol"]) == (
        body["command_id"], "close", 11, "EURUSD",
    )  # fmt: skip
    status, body, response = await both.api.call("POST", path, auth=header)
    assert "already" in problem(status, body, response, 409)["detail"]
    status, body, response = await both.api.call(
        "POST", f"/api/v1/terminals/{terminal.device_id}/positions/99/close", auth=header
    )
    problem(status, body, response, 404)
    assert await Command.filter(type=CommandType.CLOSE).count() == 1


async def test_resume_after_a_drawdown_stop(api: Api) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam)
    header = await api.login(SUB)
    path = f"/api/v1/terminals/{device.device_id}"
    status, body, response = await api.call("POST", path + "/resume", auth=header)
    problem(status, body, response, 409)
    await Device.filter(id=device.id).update(status="paused", paused_reason="drawdown")
    _, body, _ = await api.call("GET", path + "/detail", auth=header)
    assert (body["status"], body["paused_reason"], body["can_resume"]) == (
        "paused", "drawdown", True,
    )  # fmt: skip
    status, body, _ = await api.call("POST", path + "/resume", auth=header)
    assert status == 200 and (body["status"], body["can_resume"]) == ("active", False)
    assert await AuditLog.filter(action="device.resumed", target=device.device_id).exists()


async def test_the_equity_curve_comes_from_the_snapshots(api: Api, clock: Any) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam, balance=None)
    start = clock.now()
    for i, equity in enumerate(("10000", "10100", "9900")):
        snap = await AccountSnapshot.create(
            device=device, balance=D(10000), equity=D(equity), margin=0, currency="USD",
            high_water=D(10100), drawdown_pct=0,
        )  # fmt: skip
        await AccountSnapshot.filter(id=snap.id).update(created_at=start - timedelta(days=2 - i))
    old = await AccountSnapshot.create(
        device=device, balance=D(1), equity=D(1), margin=0, currency="USD", high_water=D(1),
        drawdown_pct=0,
    )  # fmt: skip
    await AccountSnapshot.filter(id=old.id).update(created_at=start - timedelta(days=20))
    path = f"/api/v1/terminals/{device.device_id}/equity"
    header = await api.login(SUB)
    status, body, _ = await api.call("GET", path, auth=header)
    assert status == 200 and body["currency"] == "USD"
    assert [D(p["equity"]) for p in body["points"]] == [D(10000), D(10100), D(9900)]
    times = [p["time"] for p in body["points"]]
    assert times == sorted(times) and times[-1] == int(start.timestamp())
    _, body, _ = await api.call("GET", path + "?days=30", auth=header)
    assert len(body["points"]) == 4
    status, body, response = await api.call("GET", path + "?days=31", auth=header)
    assert problem(status, body, response, 422)["errors"][0]["field"] == "days"


async def test_a_long_history_is_thinned_keeping_the_newest(api: Api, clock: Any) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam, balance=None)
    count = service.EQUITY_POINTS * 2 + 7
    await AccountSnapshot.bulk_create([
        AccountSnapshot(device=device, balance=D(10000), equity=D(10000 + i), margin=0,
                        currency="USD", high_water=D(10000 + i), drawdown_pct=0)
        for i in range(count)
    ])  # fmt: skip
    await AccountSnapshot.filter(device_id=device.id).update(created_at=clock.now())
    status, body, _ = await api.call(
        "GET", f"/api/v1/terminals/{device.device_id}/equity", auth=await api.login(SUB)
    )
    equities = [int(D(p["equity"])) for p in body["points"]]
    assert status == 200 and len(equities) <= service.EQUITY_POINTS
    assert equities[0] == 10000 and equities[-1] == 10000 + count - 1
    assert equities == sorted(set(equities))


async def test_the_ea_files_are_listed_and_served(api: Api) -> None:
    await th.user(SUB)
    status, body, _ = await api.call("GET", "/api/v1/ea-files", auth=await api.login(SUB))
    assert status == 200 and [f["url"] for f in body["files"]] == [
        "/app/ea/SignalDeskEA.mq5", "/app/ea/SignalDeskEA-include.zip",
    ]  # fmt: skip
    async with api.http.get(api.url + "/app/ea/SignalDeskEA.mq5") as r:
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
        assert await r.read() == Path(ea_files.EA_FILE).read_bytes()
    async with api.http.get(api.url + "/app/ea/SignalDeskEA-include.zip") as r:
        assert r.status == 200 and r.content_type == "application/zip"
        assert len(await r.read()) == body["files"][1]["size"]
    for name in ("SignalDeskEA.mq4", "..%2Fapi.py", "include"):
        async with api.http.get(api.url + "/app/ea/" + name) as r:
            assert r.status == 404 and r.content_type == PROBLEM_TYPE


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [("POST", "/api/v1/terminals/{d}/positions/abc/close", None, "ticket"),
     ("POST", "/api/v1/terminals/{d}/positions/0/close", None, "ticket"),
     ("PATCH", "/api/v1/terminals/{d}", {"colour": "red"}, "colour"),
     ("PATCH", "/api/v1/terminals/{d}/risk", {"risk_pct": 1.5}, "risk_pct"),
     ("PATCH", "/api/v1/terminals/{d}/risk", {"risk_pct": "1" * 21}, "risk_pct"),
     ("GET", "/api/v1/terminals/{d}/equity?days=x", None, "days"),
     ("GET", "/api/v1/terminals/a%20b/detail", None, "device_id")],
)  # fmt: skip
async def test_malformed_input_is_a_422_problem(
    api: Api, method: str, path: str, payload: Any, field: str
) -> None:
    sam = await th.user(SUB)
    device = await th.device(sam)
    status, body, response = await api.call(
        method, path.format(d=device.device_id), auth=await api.login(SUB), json=payload
    )
    assert problem(status, body, response, 422)["errors"][0]["field"] == field
