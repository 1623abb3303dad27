"""GET /api/v1/mystats: the user's results against the strategy's over a period, the paid
feature's; only the caller's own fills count; bad periods are problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.users import Role
from tests.analytics import fills_seed as seed
from tests.webapp.miniapp.conftest import Api
from tests.webapp.miniapp.test_api import assert_problem

SUB, OTHER, FREE = 1000002, 1000005, 1000003
NOV = datetime(2026, 11, 10, 12, tzinfo=UTC)


async def _history() -> None:
    sam, olly = await seed.user(SUB, name="Sam"), await seed.user(OTHER, name="Olly")
    usd = await seed.terminal(sam, "USD box")
    win = await seed.signal(NOV, "3.0")
    loss = await seed.signal(NOV + timedelta(days=1), "-1.0")
    await seed.signal(NOV + timedelta(days=2), "2.0")
    await seed.fill(usd, win, "1.10002", close="1.10300", profit="29.80")  # 2.98 R
    await seed.fill(usd, loss, "1.10001", close="1.09900", profit="-10.10")  # -1.01 R
    # Olly took all three with another result: none of it is Sam's
    olly_box = await seed.terminal(olly, "Olly box", "EUR")
    for s in (win, loss):
        await seed.fill(olly_box, s, "1.10050", close="1.10100", profit="5")


async def test_the_results_of_a_month(api: Api) -> None:
    await _history()
    status, body, _ = await api.call("GET", "/api/v1/mystats?period=2026-11",
                                      auth=await api.login(SUB))  # fmt: skip
    assert status == 200, body
    assert (body["period"], body["kind"], body["terminals"]) == ("2026-11", "month", 1)
    assert body["start"].startswith("2026-11-01T00:00:00") and body["end"].startswith("2026-12-01")
    total = body["total"]
    assert (total["signals"], total["taken"], total["closed"]) == (3, 2, 2)
    assert total["my_r"] == pytest.approx(1.97) and total["strategy_r"] == pytest.approx(4.0)
    assert total["slippage_r"] == pytest.approx(0.03)
    assert total["money"] == [{"currency": "USD", "profit": "19.70"}]
    (nov,) = body["months"]
    assert (nov["year"], nov["month"], nov["taken"]) == (2026, 11, 2)
    assert total["median_spread_points"] is None and body["brokers"] == []


async def test_the_spread_at_fills_and_the_brokers(api: Api) -> None:
    sam = await seed.user(SUB, name="Sam")
    box = await seed.terminal(sam, "IC box", broker="IC Markets")
    win = await seed.signal(NOV, "3.0")
    await seed.fill(box, win, "1.10002", close="1.10300", profit="29.80", spread=11)
    _, body, _ = await api.call("GET", "/api/v1/mystats?period=2026-11",
                                auth=await api.login(SUB))  # fmt: skip
    assert body["brokers"] == ["IC Markets"]
    assert body["total"]["median_spread_points"] == 11.0
    assert body["months"][0]["median_spread_points"] == 11.0


async def test_the_default_is_the_last_30_days(api: Api, clock: object) -> None:
    await _history()
    status, body, _ = await api.call("GET", "/api/v1/mystats", auth=await api.login(SUB))
    assert status == 200 and body["period"] == "30d" and body["kind"] == "days"
    assert body["total"]["signals"] == 0  # the clock stands in 2030: nothing closed since
    assert body["months"] == []


async def test_a_user_without_a_terminal_gets_the_strategy_alone(api: Api) -> None:
    await _history()
    await seed.user(1000009, name="Nia")
    _, body, _ = await api.call("GET", "/api/v1/mystats?period=2026-11",
                                auth=await api.login(1000009))  # fmt: skip
    assert body["terminals"] == 0 and body["total"]["signals"] == 3
    assert body["total"]["taken"] == 0 and body["total"]["money"] == []


async def test_who_may_ask(api: Api) -> None:
    status, body, response = await api.call("GET", "/api/v1/mystats")
    assert_problem(status, body, response, 401)
    await seed.user(FREE, Role.PUBLIC)
    status, body, response = await api.call("GET", "/api/v1/mystats", auth=await api.login(FREE))
    assert_problem(status, body, response, 403)


@pytest.mark.parametrize(
    ("query", "where"),
    [("period=2026-13", "detail"), ("period=abc", "detail"), ("period=0d", "detail"),
     ("period=" + "9" * 17, "errors"), ("days=30", "errors")],
)  # fmt: skip
async def test_bad_periods_are_problems(api: Api, query: str, where: str) -> None:
    await seed.user(SUB)
    status, body, response = await api.call("GET", f"/api/v1/mystats?{query}",
                                            auth=await api.login(SUB))  # fmt: skip
    assert_problem(status, body, response, 422)
    assert body[where], body
    if where == "detail":
        assert "is not a period" in body["detail"]
