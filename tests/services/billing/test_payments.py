"""Payments exactly once: the period each one buys, duplicates (sequential and concurrent),
events out of order, refunds that end access and reverse commissions, renewal states."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.bus import Bus
from models.billing import (
    Commission,
    CommissionState,
    Entitlement,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    ProcessedEvent,
    Provider,
)
from models.users import Role
from services import audit
from services.billing import affiliates, catalog, payments
from services.billing import entitlements as ent
from services.billing.payments import PaymentIn, RenewalState
from services.events import UserChanged
from tests.services.terminals import helpers as th

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def plans(database: str) -> dict[str, catalog.Offer]:
    offers = await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    return {o.code: o for o in offers}


def stars(user_id: int, version_id: int, charge: str, **kw: object) -> PaymentIn:
    base: dict[str, object] = {
        "provider": Provider.STARS, "charge_id": charge, "user_id": user_id,
        "plan_version_id": version_id, "amount": 7616, "currency": "XTR", "usd_cents": 9900,
        "paid_at": T0,
    }  # fmt: skip
    base.update(kw)
    return PaymentIn(**base)  # type: ignore[arg-type]


async def test_a_one_off_payment_buys_its_days_after_the_current_period(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    starter = plans["starter"]
    first = await payments.record(stars(nico.id, starter.version_id, "c1", days=30), T0)
    assert first.created and first.entitlement is not None
    assert (first.entitlement.starts_at, first.entitlement.ends_at) == (T0, T0 + 30 * DAY)
    second = await payments.record(stars(nico.id, starter.version_id, "c2", days=90), T0 + DAY)
    assert second.entitlement is not None
    assert (second.entitlement.starts_at, second.entitlement.ends_at) == (
        T0 + 30 * DAY, T0 + 120 * DAY,
    )  # fmt: skip
    access = await ent.access_for(nico.id, T0 + 2 * DAY)
    assert access.plan == "starter" and access.ends_at == T0 + 120 * DAY
    row = await Payment.get(id=first.payment_id)
    assert (row.amount, row.currency, row.usd_cents, row.status) == (
        7616, "XTR", 9900, PaymentStatus.PAID,
    )  # fmt: skip
    paid = await audit.recent(action="billing.paid")
    assert [e.data["payment"] for e in paid] == [second.payment_id, first.payment_id]


async def test_a_duplicate_charge_changes_nothing(plans: dict[str, catalog.Offer]) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    paid = stars(nico.id, plans["starter"].version_id, "dup", days=30)
    first = await payments.record(paid, T0)
    again = await payments.record(paid, T0 + DAY)
    assert first.created and not again.created and again.payment_id == first.payment_id
    assert await Payment.all().count() == 1 and await Entitlement.all().count() == 1
    assert len(await audit.recent(action="billing.paid")) == 1


async def test_concurrent_duplicates_record_one_payment(plans: dict[str, catalog.Offer]) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    paid = stars(nico.id, plans["starter"].version_id, "race", days=30)
    results = await asyncio.gather(*(payments.record(paid, T0) for _ in range(20)))
    assert sum(r.created for r in results) == 1
    assert len({r.payment_id for r in results}) == 1
    assert await Payment.all().count() == 1 and await Entitlement.all().count() == 1


async def test_provider_periods_converge_whatever_the_order(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    sam = await th.user(2, Role.PUBLIC, "Sam")
    version = plans["starter"].version_id
    ref = "stars:first"
    events = [
        (f"r{i}", T0 + 30 * i * DAY, T0 + 30 * (i + 1) * DAY) for i in range(3)
    ]  # fmt: skip
    for user, order in ((nico, events), (sam, list(reversed(events)))):
        for charge, start, end in order:
            await payments.record(
                stars(user.id, version, f"{user.id}-{charge}", period_start=start,
                      period_end=end, subscription_ref=f"{ref}{user.id}",
                      is_recurring=charge != "r0"),
                T0,
            )  # fmt: skip

    async def periods(user_id: int) -> list[tuple[datetime, datetime, bool]]:
        rows = await Entitlement.filter(user_id=user_id).order_by("starts_at")
        return [(r.starts_at, r.ends_at, r.renews) for r in rows]

    assert await periods(nico.id) == await periods(sam.id)
    for user in (nico, sam):
        access = await ent.access_for(user.id, T0 + 40 * DAY)
        assert access.ends_at == T0 + 90 * DAY and access.renews


async def test_refund_ends_access_once_and_reverses_the_commission(
    plans: dict[str, catalog.Offer],
) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    nico = await th.user(2, Role.PUBLIC, "Nico")
    from models.users import User

    await User.filter(id=nico.id).update(referred_by_id=ana.id)
    bought = await payments.record(stars(nico.id, plans["starter"].version_id, "c1", days=30), T0)
    commission = await Commission.get(payment_id=bought.payment_id)
    assert (commission.amount, commission.state, commission.due_at) == (
        2970, CommissionState.PENDING, T0 + affiliates.DUE_DAYS * DAY,
    )  # fmt: skip
    done = await payments.refund(bought.payment_id, T0 + DAY, reason="asked", actor_id=99)
    again = await payments.refund(bought.payment_id, T0 + 2 * DAY, reason="twice")
    assert done.created and not again.created and len(done.ended) == 1
    assert await ent.access_for(nico.id, T0 + DAY + timedelta(seconds=1)) == ent.FREE
    row = await Payment.get(id=bought.payment_id)
    assert row.status == PaymentStatus.REFUNDED and row.refunded_at == T0 + DAY
    assert (await Commission.get(id=commission.id)).state == CommissionState.REVERSED
    assert len(await audit.recent(action="billing.refunded")) == 1
    assert len(await audit.recent(action="affiliate.reversed")) == 1


def test_commission_rule() -> None:
    assert affiliates.rate_for(None, T0) == Decimal(30)
    assert affiliates.rate_for(T0, T0 + 360 * DAY) == Decimal(15)
    assert affiliates.rate_for(T0, T0 + 361 * DAY) is None
    assert affiliates.commission_cents(12870, Decimal(15)) == 1931  # 1930.5 rounds half up
    assert affiliates.commission_cents(1, Decimal(30)) == 0


async def test_no_commission_after_twelve_months_or_without_a_referrer(
    plans: dict[str, catalog.Offer],
) -> None:
    from models.users import User

    ana = await th.user(1, Role.PUBLIC, "Ana")
    nico = await th.user(2, Role.PUBLIC, "Nico")
    solo = await th.user(3, Role.PUBLIC, "Solo")
    await User.filter(id=nico.id).update(referred_by_id=ana.id)
    version = plans["starter"].version_id
    await payments.record(stars(solo.id, version, "s1", days=30), T0)
    await payments.record(stars(nico.id, version, "n1", days=30), T0)
    await payments.record(stars(nico.id, version, "n2", days=30), T0 + 200 * DAY)
    await payments.record(stars(nico.id, version, "n3", days=30), T0 + 400 * DAY)
    amounts = await Commission.all().order_by("id").values_list("amount", "rate_pct")
    assert [(a, Decimal(str(r))) for a, r in amounts] == [(2970, Decimal(30)), (1485, Decimal(15))]


async def test_renewal_states_follow_the_subscription(plans: dict[str, catalog.Offer]) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await payments.record(
        stars(nico.id, plans["starter"].version_id, "c1", period_end=T0 + 30 * DAY,
              subscription_ref="stars:c1"),
        T0,
    )  # fmt: skip
    mid = T0 + 10 * DAY
    assert (await ent.access_for(nico.id, mid)).renews
    assert await payments.set_renewal("stars:c1", RenewalState.CANCELED, mid) == nico.id
    canceled = await ent.access_for(nico.id, mid)
    assert canceled.plan == "starter" and not canceled.renews and not canceled.in_grace
    await payments.set_renewal("stars:c1", RenewalState.ACTIVE, mid)
    assert (await ent.access_for(nico.id, mid)).renews
    await payments.set_renewal("stars:c1", RenewalState.FAILED, T0 + 30 * DAY)
    failed = await ent.access_for(nico.id, T0 + 30 * DAY + DAY)
    assert failed.in_grace and not failed.renews
    assert (await Entitlement.get(user_id=nico.id)).status == EntitlementStatus.GRACE
    assert await ent.access_for(nico.id, T0 + 30 * DAY + ent.GRACE) == ent.FREE
    assert await payments.set_renewal("stars:unknown", RenewalState.CANCELED, mid) is None


async def test_an_event_is_claimed_once(plans: dict[str, catalog.Offer]) -> None:
    async with payments.transaction():
        assert await payments.claim_event(Provider.STRIPE, "evt_1", "invoice.paid")
    async with payments.transaction():
        assert not await payments.claim_event(Provider.STRIPE, "evt_1", "invoice.paid")
    with pytest.raises(RuntimeError):
        async with payments.transaction():
            assert await payments.claim_event(Provider.STRIPE, "evt_2", "invoice.paid")
            raise RuntimeError  # rolled back: the event stays unprocessed
    async with payments.transaction():
        assert await payments.claim_event(Provider.STRIPE, "evt_2", "invoice.paid")
    assert await ProcessedEvent.all().count() == 2


async def test_changes_drop_the_users_cached_access_after_commit(
    plans: dict[str, catalog.Offer], bus: Bus
) -> None:
    heard: list[int | None] = []
    bus.subscribe(UserChanged, lambda e: heard.append(e.telegram_id))
    nico = await th.user(7, Role.PUBLIC, "Nico")
    bought = await payments.record(stars(nico.id, plans["starter"].version_id, "c1", days=30), T0)
    await payments.refund(bought.payment_id, T0 + DAY, reason="test")
    assert heard == [7, 7]
