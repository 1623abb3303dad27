"""Trials once per Telegram account (also when started concurrently) and promo codes: limits
under concurrent redemptions, once per user, expiry, plan restriction, pending discounts, audit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import Entitlement, EntitlementSource, PromoCode, PromoRedemption, TrialUse
from models.users import Role
from services import audit
from services.billing import catalog, promos, trials
from services.billing import entitlements as ent
from services.errors import InvalidInput, NotFound
from services.users.profiles import UserInfo
from tests.services.terminals import helpers as th

OWNER, NICO = 920, 921


@pytest.fixture
async def plans(database: str) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))


async def owner() -> UserInfo:
    return await th.user(OWNER, Role.OWNER, "Olivia")


async def users(n: int) -> list[UserInfo]:
    return [await th.user(3000 + i, Role.PUBLIC, f"U{i}") for i in range(n)]


# -- trials ---------------------------------------------------------------------------------------
async def test_a_trial_once_per_account_whatever_the_plan(plans: None, clock: ManualClock) -> None:
    nico = await th.user(NICO, Role.PUBLIC, "Nico")
    assert [o.code for o in await trials.available(nico, clock.now())] == [
        "starter",
        "starter_copy",
    ]  # fmt: skip  (the plans sold for Stars at this rate, each with 7 days)
    started = await trials.start(nico, "Starter_Copy", clock.now())
    assert started.entitlement.ends_at == clock.now() + timedelta(days=7)
    assert started.entitlement.source is EntitlementSource.TRIAL
    assert await trials.available(nico, clock.now()) == []
    with pytest.raises(InvalidInput, match="error.trial_used"):
        await trials.start(nico, "starter", clock.now() + timedelta(days=30))
    with pytest.raises(NotFound, match="error.plan_unknown"):
        await trials.start(nico, "platinum", clock.now())
    (granted,) = await audit.recent(action="billing.granted")
    assert granted.data["source"] == "trial" and granted.actor_id == NICO


async def test_concurrent_trial_starts_give_one_trial(plans: None, clock: ManualClock) -> None:
    nico = await th.user(NICO, Role.PUBLIC, "Nico")
    results = await asyncio.gather(
        *(trials.start(nico, plan, clock.now()) for plan in ["starter", "starter_copy"] * 3),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, trials.TrialStarted)]
    assert len(wins) == 1
    assert all(isinstance(r, InvalidInput) for r in results if r not in wins)
    assert await TrialUse.filter(telegram_id=NICO).count() == 1
    assert await Entitlement.filter(user_id=nico.id).count() == 1


async def test_no_trial_with_a_current_plan(plans: None, clock: ManualClock) -> None:
    nico = await th.user(NICO, Role.PUBLIC, "Nico")
    await ent.grant(nico.id, "starter", 10, source=EntitlementSource.GRANT, now=clock.now())
    with pytest.raises(InvalidInput, match="error.trial_has_plan"):
        await trials.start(nico, "starter", clock.now())


# -- promo codes ----------------------------------------------------------------------------------
async def test_concurrent_redemptions_never_exceed_the_limit(
    plans: None, clock: ManualClock
) -> None:
    await promos.create(await owner(), ["LIMIT5", "days", "10", "starter", "5"], clock.now())
    people = await users(12)
    results = await asyncio.gather(
        *(promos.redeem(u, "limit5", clock.now()) for u in people), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, promos.Redeemed)]
    lost = [r for r in results if not isinstance(r, promos.Redeemed)]
    assert len(won) == 5 and len(lost) == 7
    assert all(isinstance(r, InvalidInput) and r.key == "error.promo_exhausted" for r in lost)
    assert (await PromoCode.get(code="LIMIT5")).redemptions == 5
    assert await PromoRedemption.all().count() == 5
    promo_rows = await Entitlement.filter(source=EntitlementSource.PROMO)
    assert len(promo_rows) == 5
    assert all(r.ends_at - r.starts_at == timedelta(days=10) for r in promo_rows)
    assert len(await audit.recent(action="billing.promo_redeemed")) == 5


async def test_once_per_user_also_concurrently_and_the_count_stays_true(
    plans: None, clock: ManualClock
) -> None:
    await promos.create(await owner(), ["TWICE", "percent", "20"], clock.now())
    (nico,) = await users(1)
    results = await asyncio.gather(
        *(promos.redeem(nico, "TWICE", clock.now()) for _ in range(4)), return_exceptions=True
    )
    assert sum(isinstance(r, promos.Redeemed) for r in results) == 1
    assert {r.key for r in results if isinstance(r, InvalidInput)} == {"error.promo_already_used"}
    assert (await PromoCode.get(code="TWICE")).redemptions == 1  # the losers rolled back


async def test_extra_days_go_to_the_codes_plan_or_the_current_one_else_refused(
    plans: None, clock: ManualClock
) -> None:
    boss = await owner()
    await promos.create(boss, ["ANY7", "days", "7"], clock.now())
    (nico,) = await users(1)
    with pytest.raises(InvalidInput, match="error.promo_needs_plan"):
        await promos.redeem(nico, "ANY7", clock.now())
    assert (await PromoCode.get(code="ANY7")).redemptions == 0
    await ent.grant(nico.id, "starter_copy", 30, source=EntitlementSource.GRANT, now=clock.now())
    done = await promos.redeem(nico, "any7", clock.now())
    assert done.entitlement is not None and done.entitlement.plan == "starter_copy"
    assert done.entitlement.starts_at == clock.now() + timedelta(days=30)  # stacked after
    access = await ent.access_for(nico.id, clock.now())
    assert access.ends_at == clock.now() + timedelta(days=37)


async def test_expiry_switch_off_and_plan_restricted_discounts(
    plans: None, clock: ManualClock
) -> None:
    boss = await owner()
    await promos.create(boss, ["SPRING", "percent", "25", "2030-01-10", "starter"], clock.now())
    await promos.create(boss, ["BIG", "percent", "40"], clock.now())
    await promos.create(boss, ["GONE", "days", "3", "starter"], clock.now())
    (nico,) = await users(1)
    await promos.redeem(nico, "SPRING", clock.now())
    spring = await PromoCode.get(code="SPRING")
    assert await promos.pending_discount(nico.id, "starter", clock.now()) == (spring.id, 25)
    assert await promos.pending_discount(nico.id, "starter_copy", clock.now()) is None
    await promos.redeem(nico, "BIG", clock.now())
    big = await PromoCode.get(code="BIG")
    assert await promos.pending_discount(nico.id, "starter", clock.now()) == (big.id, 40)
    assert await promos.consume(big.id, nico.id, clock.now(), payment_id=77)
    assert not await promos.consume(big.id, nico.id, clock.now())  # once
    assert await promos.pending_discount(nico.id, "starter", clock.now()) == (spring.id, 25)
    later = clock.now() + timedelta(days=10)  # SPRING is valid through 2030-01-10 (UTC)
    assert await promos.pending_discount(nico.id, "starter", later) is None
    await promos.disable(boss, "gone", clock.now())
    with pytest.raises(InvalidInput, match="error.promo_expired"):
        await promos.redeem(nico, "GONE", clock.now())
    other = (await users(2))[1]
    with pytest.raises(InvalidInput, match="error.promo_expired"):
        await promos.redeem(other, "SPRING", later)
    assert promos.discounted(7616, 25) == 5712 and promos.discounted(1, 99) == 1
    actions = {e.action for e in await audit.recent(limit=100)}
    assert {"billing.promo_created", "billing.promo_redeemed", "billing.promo_consumed",
            "billing.promo_disabled"} <= actions  # fmt: skip


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["X", "days", "3"], "error.promo_code_invalid"),
        (["OKAY", "hours", "3"], "error.promo_usage"),
        (["OKAY", "percent", "100"], "error.promo_percent"),
        (["OKAY", "days", "0"], "error.promo_days"),
        (["OKAY", "days", "3", "platinum"], "error.plan_unknown"),
        (["OKAY", "days", "3", "2029-12-31"], "error.promo_expiry_past"),
        (["OKAY", "days", "3", "2030-02-30"], "error.promo_expiry"),
        (["OKAY", "days"], "error.promo_usage"),
    ],
)
async def test_bad_codes_are_refused_with_the_reason(
    plans: None, clock: ManualClock, args: list[str], key: str
) -> None:
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await promos.create(await owner(), args, clock.now())
    assert refused.value.key == key
    assert await PromoCode.all().count() == 0
