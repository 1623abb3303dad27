"""Creating, listing and deleting alerts: every refusal with its reason (in the words the user
reads), the quota of each plan, and another user's alert out of reach."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from models.alerts import AlertState, PriceAlert
from services.alerts import service
from services.alerts.service import NewAlert
from services.errors import InvalidInput, NotFound, PermissionDenied, UserFacingError
from services.text.formatting import render
from tests.alerts.conftest import ADMIN, ELITE, FREE, PRO, PRO_COPY, STARTER, World


def said(error: UserFacingError, language: str = "en") -> str:
    return render(language, error.key, **error.params)


async def refused(world: World, new: NewAlert, who: int = PRO) -> UserFacingError:
    with pytest.raises(UserFacingError) as caught:
        await service.create(await world.user(who), new)
    return caught.value


async def test_create_list_and_delete(world: World) -> None:
    pro = await world.user(PRO)
    made = await service.create(pro, NewAlert("xauusd", "above", "2410.5", "  breakout  watch "))
    assert (made.symbol, made.condition, made.level, made.note) == (
        "XAUUSD",
        "above",
        D("2410.50"),
        "breakout watch",
    )
    assert (made.repeat, made.cooldown_min, made.state, made.fired_count) == (
        False,
        5,
        "active",
        0,
    )
    again = await service.create(
        pro, NewAlert("GOLD", "cross", "2390", repeat=True, cooldown_min=15)
    )
    assert again.symbol == "XAUUSD"  # GOLD is the same instrument as the XAUUSD feed
    assert [a.id for a in await service.alerts(pro)] == [again.id, made.id]
    assert (await service.quota(pro)).used == 2
    gone = await service.delete(pro, made.id)
    assert gone.state == "deleted"
    assert [a.id for a in await service.alerts(pro)] == [again.id]
    with pytest.raises(NotFound):
        await service.delete(pro, made.id)  # deleted once


async def test_another_users_alert_is_not_found(world: World) -> None:
    mine = await service.create(await world.user(PRO), NewAlert("XAUUSD", "below", "2390"))
    elite = await world.user(ELITE)
    with pytest.raises(NotFound) as caught:
        await service.delete(elite, mine.id)
    assert said(caught.value) == f"Alert #{mine.id} was not found."
    with pytest.raises(NotFound):
        await service.alert(elite, mine.id)
    assert (await PriceAlert.get(id=mine.id)).state is AlertState.ACTIVE


@pytest.mark.parametrize("typed", ["abc", "24o0", "-2400", "0", "1e3", "2400.5.1", ""])
async def test_a_level_that_is_no_number(world: World, typed: str) -> None:
    error = await refused(world, NewAlert("XAUUSD", "above", typed))
    assert isinstance(error, InvalidInput)
    assert said(error) == f"“{typed}” is not a price: type a number such as 2400.50."


async def test_a_level_off_the_tick_names_the_tick_and_the_nearest_levels(world: World) -> None:
    error = await refused(world, NewAlert("XAUUSD", "above", "2410.005"))
    assert said(error) == (
        "2410.005 is not on XAUUSD's price grid: its tick is 0.01. Try 2,410.00 or 2,410.01."
    )
    error = await refused(world, NewAlert("EURUSD", "below", "1.080001"))
    assert "its tick is 0.00001" in said(error) and "1.08000 or 1.08001" in said(error)
    assert "шаг 0.01" in said(await refused(world, NewAlert("XAUUSD", "above", "2410.001")), "ru")


async def test_a_level_far_from_the_market_names_the_price(world: World) -> None:
    error = await refused(world, NewAlert("XAUUSD", "above", "3000"))
    assert said(error) == (
        "3,000.00 is 25% away from XAUUSD's last price of 2,400.00; an alert may be at most "
        "10% away."
    )
    assert "2400,00" in said(error, "es").replace(".", "")  # the reader's number format


@pytest.mark.parametrize(
    ("condition", "level", "start"),
    [
        ("above", "2400", "XAUUSD is already at or above 2,400.00 (last price 2,400.00)"),
        ("above", "2390", "XAUUSD is already at or above 2,390.00"),
        ("below", "2410", "XAUUSD is already at or below 2,410.00"),
        ("cross", "2400", "XAUUSD is at 2,400.00 right now"),
    ],
)
async def test_a_level_on_the_wrong_side(world: World, condition: str, level: str,
                                         start: str) -> None:  # fmt: skip
    assert said(await refused(world, NewAlert("XAUUSD", condition, level))).startswith(start)


async def test_unknown_symbol_and_symbol_without_feed(world: World) -> None:
    error = await refused(world, NewAlert("DOGE", "above", "1"))
    assert said(error) == "DOGE is not a symbol we know. Alerts can be set on: EURUSD, XAUUSD."
    error = await refused(world, NewAlert("GBPUSD", "above", "1.3"))
    assert said(error) == (
        "GBPUSD has no live price feed right now, so an alert on it could never fire. "
        "Live feeds: EURUSD, XAUUSD."
    )
    world.clock.advance(__import__("datetime").timedelta(hours=6))  # the feeds go stale
    error = await refused(world, NewAlert("XAUUSD", "above", "2410"))
    assert said(error).startswith("XAUUSD has no live price feed right now")


async def test_condition_note_and_cooldown_refusals(world: World) -> None:
    error = await refused(world, NewAlert("XAUUSD", "sideways", "2410"))
    assert said(error) == "“sideways” is not a condition: use above, below or cross."
    error = await refused(world, NewAlert("XAUUSD", "above", "2410", "x" * 201))
    assert said(error) == "The note is 201 characters long; at most 200, please."
    for minutes in (0, 1441):
        error = await refused(world, NewAlert("XAUUSD", "above", "2410", cooldown_min=minutes))
        assert said(error) == f"The cool-down must be from 1 to 1440 minutes, not {minutes}."


async def fill(world: World, who: int, n: int) -> None:
    user = await world.user(who)
    for i in range(n):
        await service.create(user, NewAlert("XAUUSD", "above", str(2401 + i)))


@pytest.mark.parametrize(
    ("who", "quota", "message"),
    [
        (
            STARTER,
            0,
            "Your plan (Starter) does not include price alerts. The Pro plan allows 20: "
            "see /plans.",
        ),
        (
            FREE,
            0,
            "Your plan (free) does not include price alerts. The Pro plan allows 20: see /plans.",
        ),
        (
            PRO,
            20,
            "You have 20 active alerts, the most the Pro plan allows. Delete one, or move "
            "to Elite for 100: see /plans.",
        ),
        (
            PRO_COPY,
            20,
            "You have 20 active alerts, the most the Pro Copy plan allows. Delete one, "
            "or move to Elite for 100: see /plans.",
        ),
        (
            ELITE,
            100,
            "You have 100 active alerts, the most the Elite plan allows. Delete one first.",
        ),
    ],
)
async def test_quota_per_plan(world: World, who: int, quota: int, message: str) -> None:
    assert (await service.quota(await world.user(who))).limit == quota
    await fill(world, who, quota)
    error = await refused(world, NewAlert("XAUUSD", "below", "2390"), who)
    assert isinstance(error, PermissionDenied)
    assert said(error) == message


async def test_deleted_and_fired_alerts_free_the_quota_and_staff_have_many(world: World) -> None:
    await fill(world, PRO, 20)
    pro = await world.user(PRO)
    first = (await service.alerts(pro))[-1]
    await service.delete(pro, first.id)
    await service.create(pro, NewAlert("XAUUSD", "below", "2390"))  # room again
    assert (await service.quota(await world.user(ADMIN))).limit == service.STAFF_QUOTA
