"""Access over entitlement timelines (active, grace, expired, stacked, replaced, complimentary),
trials once per account, and grants validated and audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.billing import EntitlementSource, TrialUse
from models.users import Role
from services import audit
from services.billing import catalog
from services.billing import entitlements as ent
from services.billing.catalog import Feature
from services.errors import InvalidInput, NotFound
from tests.services.terminals import helpers as th

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GRANT = EntitlementSource.GRANT


@pytest.fixture
async def plans(database: str) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))


async def at(user_id: int, moment: datetime, role: Role = Role.PUBLIC) -> ent.Access:
    return await ent.access_for(user_id, moment, role=role)


async def test_no_entitlement_free_or_complimentary_by_role(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    sam = await th.user(2, Role.SUBSCRIBER, "Sam")
    assert await ent.access_for(nico.id, T0) == ent.FREE
    comp = await ent.access_for(sam.id, T0)  # role read from the database
    assert comp == ent.COMPLIMENTARY and comp.plan == "starter" and comp.terminal_limit == 1
    assert comp.has(Feature.COPY_MODE) and comp.has(Feature.APPROVALS)
    assert not ent.FREE.paid and not ent.FREE.has(Feature.REALTIME_LEVELS)


async def test_active_then_grace_then_expired(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await ent.grant(nico.id, "starter", 30, source=GRANT, now=T0)
    assert await at(nico.id, T0 - timedelta(seconds=1)) == ent.FREE  # not started yet
    active = await at(nico.id, T0 + DAY)
    assert (active.plan, active.terminal_limit, active.ends_at, active.in_grace) == (
        "starter", 1, T0 + 30 * DAY, False,
    )  # fmt: skip
    assert active.has(Feature.REALTIME_LEVELS) and not active.has(Feature.COPY_MODE)
    grace = await at(nico.id, T0 + 30 * DAY + timedelta(hours=1))
    assert grace.plan == "starter" and grace.in_grace and grace.ends_at == T0 + 30 * DAY
    assert await at(nico.id, T0 + 30 * DAY + ent.GRACE) == ent.FREE  # grace is half-open
    assert await at(nico.id, T0 + 30 * DAY + ent.GRACE - timedelta(seconds=1)) != ent.FREE


async def test_stacked_periods_show_one_continuous_period(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    first = await ent.grant(nico.id, "pro", 30, source=GRANT, now=T0)
    second = await ent.grant(nico.id, "pro", 30, source=GRANT, now=T0 + 10 * DAY)
    assert second.starts_at == first.ends_at == T0 + 30 * DAY  # bought early: no day lost
    access = await at(nico.id, T0 + 20 * DAY)
    assert (access.plan, access.ends_at, access.in_grace) == ("pro", T0 + 60 * DAY, False)
    assert (await at(nico.id, T0 + 45 * DAY)).terminal_limit == 3
    assert (await at(nico.id, T0 + 61 * DAY)).in_grace


async def test_the_better_plan_wins_while_both_run_then_the_other_resumes(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await ent.grant(nico.id, "starter", 60, source=GRANT, now=T0)
    await ent.grant(nico.id, "elite_copy", 7, source=GRANT, now=T0 + DAY)
    both = await at(nico.id, T0 + 2 * DAY)
    assert (both.plan, both.terminal_limit, both.has(Feature.COPY_MODE)) == (
        "elite_copy",
        10,
        True,
    )
    # elite_copy ended (in its grace): the running starter period is out of grace, so it wins
    after = await at(nico.id, T0 + 8 * DAY + timedelta(hours=1))
    assert (after.plan, after.in_grace, after.ends_at) == ("starter", False, T0 + 60 * DAY)


async def test_ended_early_has_no_grace_and_grace_status_keeps_access(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    granted = await ent.grant(nico.id, "starter", 30, source=GRANT, now=T0, renews=True)
    assert (await at(nico.id, T0 + DAY)).renews
    failed = await ent.set_grace(granted.id)  # a renewal failed
    state = await at(nico.id, T0 + DAY)
    assert state.in_grace and not state.renews and failed.status == "grace"
    await ent.extend(granted.id, T0 + 60 * DAY, renews=True)  # paid after all
    state = await at(nico.id, T0 + 40 * DAY)
    assert (state.in_grace, state.renews, state.ends_at) == (False, True, T0 + 60 * DAY)
    await ent.end(granted.id, T0 + 41 * DAY, reason="refund")
    assert await at(nico.id, T0 + 41 * DAY) == ent.FREE  # no grace after an ended period
    actions = [e.action for e in await audit.recent(action="billing.ended")]
    assert actions == ["billing.ended"]


async def test_a_subscriber_by_role_gets_the_plan_then_falls_back_to_complimentary(
    plans: None,
) -> None:
    sam = await th.user(2, Role.SUBSCRIBER, "Sam")
    await ent.grant(sam.id, "pro_copy", 30, source=GRANT, now=T0)
    assert (await at(sam.id, T0 + DAY, Role.SUBSCRIBER)).plan == "pro_copy"
    later = await at(sam.id, T0 + 40 * DAY, Role.SUBSCRIBER)
    assert later == ent.COMPLIMENTARY and later.complimentary


async def test_access_for_many_agrees_with_access_for(plans: None) -> None:
    users = [await th.user(10 + i, Role.PUBLIC if i % 2 else Role.SUBSCRIBER) for i in range(6)]
    await ent.grant(users[0].id, "elite", 30, source=GRANT, now=T0)
    await ent.grant(users[1].id, "starter", 3, source=GRANT, now=T0)
    moment = T0 + 2 * DAY
    many = await ent.access_for_many({u.id: u.role for u in users}, moment)
    assert many == {u.id: await at(u.id, moment, u.role) for u in users}
    assert many[users[0].id].plan == "elite" and many[users[3].id] == ent.FREE


def test_cached_access_is_valid_until_its_period_or_grace_ends() -> None:
    running = ent.Access("starter", frozenset(), 1, ends_at=T0)
    assert running.still_valid(T0 - timedelta(seconds=1)) and not running.still_valid(T0)
    grace = ent.Access("starter", frozenset(), 1, ends_at=T0, in_grace=True)
    assert grace.still_valid(T0 + ent.GRACE - timedelta(seconds=1))
    assert not grace.still_valid(T0 + ent.GRACE)
    assert ent.FREE.still_valid(T0) and ent.COMPLIMENTARY.still_valid(T0)


async def test_trial_once_per_telegram_account(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    trial = await ent.start_trial(nico.id, nico.telegram_id, "starter", T0)
    assert (trial.source, trial.ends_at) == (EntitlementSource.TRIAL, T0 + 7 * DAY)
    assert (await at(nico.id, T0 + DAY)).plan == "starter"
    for plan in ("starter", "pro"):  # once per account, whatever the plan
        with pytest.raises(InvalidInput, match="error.trial_used"):
            await ent.start_trial(nico.id, nico.telegram_id, plan, T0 + DAY)
    assert await TrialUse.all().count() == 1
    assert len(await ent.history(nico.id)) == 1  # the refused ones granted nothing


async def test_concurrent_trials_of_one_account_grant_one(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    results = await asyncio.gather(
        *(ent.start_trial(nico.id, nico.telegram_id, "starter", T0) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InvalidInput) for r in results if isinstance(r, Exception))
    assert len(await ent.history(nico.id)) == 1


async def test_grant_refuses_bad_input_and_is_audited(plans: None) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    for days in (0, -1, ent.MAX_GRANT_DAYS + 1):
        with pytest.raises(InvalidInput, match="error.grant_days"):
            await ent.grant(nico.id, "starter", days, source=GRANT, now=T0)
    with pytest.raises(NotFound) as unknown:
        await ent.grant(nico.id, "platinum", 30, source=GRANT, now=T0)
    assert unknown.value.params["known"].startswith("starter, starter_copy, pro")
    granted = await ent.grant(nico.id, "pro", 5, source=GRANT, now=T0, actor_id=99)
    (entry,) = await audit.recent(action="billing.granted")
    assert (entry.actor_id, entry.target) == (99, str(nico.id))
    assert entry.data["plan"] == "pro" and entry.data["days"] == 5
    assert entry.data["entitlement"] == granted.id and entry.data["source"] == "grant"
