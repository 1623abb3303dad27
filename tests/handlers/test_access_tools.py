"""/trial, /redeem, /start promo_CODE, the owner's /promo_new /promos /promo_off and
/plans_admin, and the lifecycle buttons, through the real dispatcher (recorded Bot API calls)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import EntitlementSource, Plan, PlanVersion
from models.devices import Device, DeviceMode
from models.users import Role
from services import audit
from services.billing import catalog, lifecycle
from services.billing import entitlements as ent
from services.billing.callbacks import KeepCB, RenewCB
from services.users import profiles as users_service
from tests.handlers.test_devices import Harness
from tests.handlers.test_shop import harness
from tests.services.terminals import helpers as th

OWNER, NICO, PIA = 41, 42, 43


@pytest.fixture
async def h(database: str, clock: ManualClock) -> AsyncIterator[Harness]:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(NICO, "Nico", "nico", Role.PUBLIC)
    await users_service.seed(PIA, "Pia", "pia", Role.PUBLIC)
    yield await harness(owner_ids=str(OWNER))


async def test_trial_lists_the_plans_then_starts_once(h: Harness, clock: ManualClock) -> None:
    (choose,) = await h.send(NICO, "/trial")
    assert "Choose the plan to try for free" in choose
    assert [t for t, _ in h.last_markup()] == [
        "🎁 Try Starter free for 7 days", "🎁 Try Starter Copy free for 7 days"
    ]  # fmt: skip
    data = h.last_markup()[1][1]
    replies = await h.press(NICO, data)
    started = replies[-1]
    assert started.startswith("🎁 Your free trial of <b>Starter Copy</b> is on:")
    assert "copy mode" in started and "1 MetaTrader terminal" in started
    assert "It ends on Jan 8, 00:00 UTC" in started
    (again,) = await h.send(NICO, "/trial starter")
    assert "You have already used your free trial" in again
    (none,) = await h.send(NICO, "/trial")
    assert "No free trial is available to you" in none


async def test_redeem_and_start_promo_in_the_users_language(
    h: Harness, clock: ManualClock
) -> None:
    (usage,) = await h.send(OWNER, "/promo_new")
    assert usage.startswith("Usage: /promo_new &lt;CODE&gt;")
    (made,) = await h.send(OWNER, "/promo_new week days 7 starter 2")
    assert made.startswith("✅ Promo code created: <code>WEEK</code>: 7 extra days")
    assert "used 0 of 2" in made and "start=promo_WEEK" in made
    (pct,) = await h.send(OWNER, "/promo_new SAVE20 percent 20")
    assert "20% off the next Stars purchase" in pct
    (bad,) = await h.send(OWNER, "/promo_new SAVE percent 150")
    assert "“150” is not a percentage: send a whole number from 1 to 99." in bad
    (refused,) = await h.send(NICO, "/promo_new MINE days 3")  # owners only
    assert "Promo code created" not in refused

    await users_service.set_language(NICO, "es")
    h.dp["user_cache"].invalidate(NICO)
    welcome, redeemed = await h.send(NICO, "/start promo_week")
    assert welcome.startswith("¡Bienvenido a SignalDesk")
    assert redeemed.startswith("🎉 Código aceptado: 7 días extra de <b>Starter</b>")
    (twice,) = await h.send(NICO, "/redeem WEEK")
    assert twice == "Ya usaste el código WEEK."
    (pia,) = await h.send(PIA, "/redeem save20")
    assert pia.startswith("🎉 Code accepted: 20% off your next Stars purchase of any plan")
    (listed,) = await h.send(OWNER, "/promos")
    assert "<code>SAVE20</code>" in listed and "used 1 times" in listed
    assert "<code>WEEK</code>: 7 extra days, plan Starter, used 1 of 2" in listed
    (off,) = await h.send(OWNER, "/promo_off week")
    assert off.startswith("⛔ Switched off: <code>WEEK</code>") and "<b>off</b>" in off
    (late,) = await h.send(PIA, "/redeem WEEK")
    assert late == "The promo code WEEK is no longer valid."
    (unknown,) = await h.send(PIA, "/redeem NOPE")
    assert "There is no promo code “NOPE”" in unknown
    entry = (await audit.recent(action="billing.promo_redeemed"))[-1]
    assert entry.actor_id == NICO and entry.data["extra_days"] == 7


async def test_plans_admin_lists_versions_and_edits_make_new_ones(
    h: Harness, clock: ManualClock
) -> None:
    nico = await users_service.get_by_telegram_id(NICO)
    bought = await ent.grant(nico.id, "starter", 30, source=EntitlementSource.GRANT,
                             now=clock.now())  # fmt: skip
    (listing,) = await h.send(OWNER, "/plans_admin")
    assert "<code>starter</code> <b>Starter</b> v1: $99.00, 7,616 ⭐ for 30 days" in listing
    assert "<code>pro</code> <b>Pro</b> v1: $199.00, card only" in listing
    assert "Edits here win over the catalog file (PLANS_FILE)" in listing
    (priced,) = await h.send(OWNER, "/plans_admin price starter 109.50")
    assert priced.startswith("✅ New version v2: <code>starter</code> <b>Starter</b> v2: $109.50")
    assert "8,424 ⭐" in priced and "Existing subscribers keep their version." in priced
    (trial,) = await h.send(OWNER, "/plans_admin trial starter 14")
    assert "v3" in trial and "trial 14 days" in trial
    (hidden,) = await h.send(OWNER, "/plans_admin hide starter")
    assert hidden.startswith("✅ Changed (still v3)") and "hidden" in hidden
    (coded,) = await h.send(OWNER, "/plans_admin code starter VIP-2030")
    assert "access code VIP-2030" in coded
    (same,) = await h.send(OWNER, "/plans_admin hide starter")
    assert same == "Nothing to change: starter is already so."
    for args, reply in [
        ("price starter abc", "“abc” is not a price in dollars"),
        (
            "stars starter 20000",
            "“20000” is not a Stars price: send a whole number from 1 to 10000",
        ),
        ("newcomers starter maybe", "“maybe”: send on or off."),
        ("price platinum 10", "There is no plan “platinum”."),
        ("fly starter", "Usage: /plans_admin [price"),
    ]:
        (answer,) = await h.send(OWNER, f"/plans_admin {args}")
        assert reply in answer, args
    versions = await PlanVersion.filter(plan__code="starter").order_by("version")
    assert [(v.version, str(v.usd_price), v.stars_price, v.trial_days) for v in versions] == [
        (1, "99.00", 7616, 7), (2, "109.50", 8424, 7), (3, "109.50", 8424, 14)
    ]  # fmt: skip
    (row,) = await ent.history(nico.id)
    assert row.plan_version_id == bought.plan_version_id == versions[0].id  # kept v1
    edits = await audit.recent(action="billing.plan_edited")
    assert [e.data["edit"] for e in reversed(edits)] == ["price", "trial", "hide", "code"]

    # restart: the unchanged file entry leaves the edits standing; a changed entry wins
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    offer = await catalog.offer("starter")
    assert offer is not None and offer.version == 3 and offer.terms.hidden
    changed = catalog.load_catalog(None, Decimal("0.013"))
    starter = changed.get("starter")
    assert starter is not None
    import dataclasses

    edited_file = catalog.Catalog(tuple(
        dataclasses.replace(p, usd_price=Decimal("89.00"), stars_price=6847)
        if p.code == "starter" else p for p in changed.plans
    ))  # fmt: skip
    await catalog.sync_catalog(edited_file)
    offer = await catalog.offer("starter")
    assert offer is not None and offer.version == 4 and offer.terms.usd_price == Decimal("89.00")
    assert not offer.terms.hidden and (await Plan.get(code="starter")).access_code is None


async def test_keep_buttons_swap_terminals_and_renew_opens_plans(
    h: Harness, clock: ManualClock
) -> None:
    nico = await users_service.get_by_telegram_id(NICO)
    await ent.grant(nico.id, "starter", 30, source=EntitlementSource.GRANT, now=clock.now())
    old = await th.device(nico, name="Old <1>")
    new = await th.device(nico, name="New", mode=DeviceMode.APPROVAL)
    new.last_seen_at = clock.now()
    await new.save(update_fields=["last_seen_at"])
    await lifecycle.enforce(nico.id, clock.now())
    assert (await Device.get(id=old.id)).status == "paused"
    replies = await h.press(NICO, KeepCB(device_id=old.device_id).pack())
    assert (
        replies[-1]
        == "Your plan's terminals are all in use. Which active terminal should pause instead?"
    )
    ((label, data),) = h.last_markup()
    assert label == "⏸ Pause New instead"
    replies = await h.press(NICO, data)
    assert "▶️ <b>Old &lt;1&gt;</b> is active again; <b>New</b> is paused in its place." in replies
    assert (await Device.get(id=old.id)).status == "active"
    assert (await Device.get(id=new.id)).status == "paused"
    replies = await h.press(NICO, data)  # pressed again: refused, nothing changes
    assert "not paused by your plan's limit any more" in replies[-1]
    pia = await users_service.get_by_telegram_id(PIA)
    await ent.grant(pia.id, "pro", 30, source=EntitlementSource.GRANT, now=clock.now())
    forged = KeepCB(device_id=new.device_id, instead=old.device_id).pack()
    replies = await h.press(PIA, forged)  # someone else's terminals
    assert "No such terminal among yours" in replies[-1]
    assert (await Device.get(id=new.id)).status == "paused"
    replies = await h.press(NICO, RenewCB(plan="starter").pack())
    assert any(r.startswith("<b>Plans</b>") for r in replies)
