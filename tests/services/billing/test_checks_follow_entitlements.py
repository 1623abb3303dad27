"""Every existing check answers from entitlements, not roles: the fan-out, the outbox audience at
send time, approvals, the copy engine's copy mode and the terminal limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.billing import EntitlementSource
from models.devices import DeviceMode
from models.notifications import Notification
from models.users import Role
from services.billing import catalog
from services.billing import entitlements as ent
from services.errors import InvalidInput, PermissionDenied
from services.outbox import audience
from services.outbox import notifications as outbox
from services.terminals import devices
from services.users import registration
from services.users.entitlements import Audience
from services.users.profiles import UserInfo
from tests.services.terminals import helpers as th

NICO, PIA = 801, 802  # both role public
GRANT = EntitlementSource.GRANT


@pytest.fixture
async def plans(database: str) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))


async def paid(telegram_id: int, plan: str = "starter", days: int = 30) -> UserInfo:
    """A public user with `plan` from now, loaded as the users middleware loads them."""
    user = await th.user(telegram_id, Role.PUBLIC, f"U{telegram_id}")
    await ent.grant(user.id, plan, days, source=GRANT, now=datetime.now(UTC))
    return await registration.with_access(user)


async def test_a_paying_public_user_gets_real_time_cards_and_others_the_summary(
    plans: None,
) -> None:
    nico = await paid(NICO)
    assert nico.role is Role.PUBLIC and nico.access is not None and nico.access.plan == "starter"
    await th.user(PIA, Role.PUBLIC, "Pia")
    view = await th.publish()
    (card,) = await Notification.filter(chat_id=NICO)
    assert (card.kind, card.audience, card.signal_id) == ("signal.new", Audience.PAID, view.id)
    (summary,) = await Notification.filter(chat_id=PIA)
    assert (summary.kind, summary.audience) == ("signal.free", Audience.FREE)


async def test_the_send_time_check_rereads_entitlements(plans: None) -> None:
    nico = await paid(NICO)
    await th.publish()
    (entitlement,) = await ent.history(nico.id)
    await ent.end(entitlement.id, datetime.now(UTC), reason="refund")  # after queueing
    claimed = [c for c in await outbox.claim_due(datetime.now(UTC), 50) if c.user_id == NICO]
    assert [c.kind for c in claimed] == ["signal.new"]
    screening = await audience.screen(claimed)
    assert screening.send == [] and screening.deferred == 1  # the free summary, later
    (row,) = await Notification.filter(chat_id=NICO)
    assert (row.kind, row.audience) == ("signal.free", Audience.FREE)


async def test_approvals_follow_the_entitlement_and_stop_at_expiry(plans: None) -> None:
    nico = await paid(NICO)
    view = await th.publish()
    result = await th.approve(nico, view.id)
    assert result is not None
    (entitlement,) = await ent.history(nico.id)
    await ent.end(entitlement.id, datetime.now(UTC), reason="expired by test")
    expired = await registration.with_access(nico)
    assert expired.access == ent.FREE
    with pytest.raises(PermissionDenied, match="error.signal_not_entitled"):
        await th.approve(expired, view.id)


async def test_the_grace_period_keeps_access_then_it_ends(plans: None) -> None:
    user = await th.user(NICO, Role.PUBLIC, "Nico")
    now = datetime.now(UTC)
    await ent.grant(user.id, "starter", 1, source=GRANT, now=now - timedelta(days=2))
    in_grace = await registration.with_access(user, now - timedelta(hours=1))
    assert in_grace.access is not None and in_grace.access.in_grace
    view = await th.publish()  # at `now`: 24 h after the end, within the 48 h grace
    (card,) = await Notification.filter(chat_id=NICO)
    assert card.kind == "signal.new"
    after = await registration.with_access(user, now + timedelta(days=2))
    assert after.access == ent.FREE
    with pytest.raises(PermissionDenied):
        await th.approve(after, view.id)


@pytest.mark.parametrize(("plan", "copies"), [("starter", False), ("starter_copy", True)])
async def test_copy_mode_needs_a_copy_plan(plans: None, plan: str, copies: bool) -> None:
    nico = await paid(NICO, plan)
    device = await th.device(nico, mode=DeviceMode.COPY)
    await th.publish()
    opened = await th.commands()
    assert bool(opened) is copies
    if not copies:
        (why,) = await th.texts(NICO, "terminal.skip")
        assert "copying signals needs an active subscription" in why
    approval = await th.device(nico, name="Second")
    switch = devices.set_mode(nico, approval.device_id, DeviceMode.COPY)
    if copies:
        assert (await switch).mode == DeviceMode.COPY
    else:
        with pytest.raises(PermissionDenied, match="error.copy_plan_required"):
            await switch
    assert device.mode == DeviceMode.COPY


async def test_a_users_own_terminals_stop_at_the_plans_limit(plans: None) -> None:
    nico = await paid(NICO, "pro")  # 3 terminals
    limit = nico.access.terminal_limit if nico.access else 0
    for i in range(limit):
        await devices.create_device(NICO, f"T{i}", plan_limit=limit)
    with pytest.raises(InvalidInput, match="error.device_plan_limit") as refused:
        await devices.create_device(NICO, "one more", plan_limit=limit)
    assert refused.value.params == {"limit": 3, "count": 3}
    await devices.create_device(NICO, "by the operator", by_operator=True)  # may exceed it
