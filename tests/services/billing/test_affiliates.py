"""Affiliates: the due period, payouts (minimum, once under concurrency, paid / rejected), fraud
flags and the owner's review, clicks and the summary."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.billing import Commission, CommissionState, Payout, PayoutStatus, Provider
from models.users import Role, User
from services import audit
from services.billing import affiliates, catalog, payments
from services.billing.payments import PaymentIn
from services.errors import InvalidInput, NoChange
from tests.services.terminals import helpers as th

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def starter(database: str) -> int:
    offers = await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    return next(o.version_id for o in offers if o.code == "starter")


async def referred(referrer_id: int, telegram_id: int, name: str, at: datetime = T0) -> int:
    user = await th.user(telegram_id, Role.PUBLIC, name)
    await User.filter(id=user.id).update(referred_by_id=referrer_id, created_at=at)
    return user.id


async def pay(user_id: int, version: int, charge: str, at: datetime, cents: int = 9900,
              raw: dict | None = None) -> int:  # fmt: skip
    paid = PaymentIn(
        provider=Provider.STRIPE, charge_id=charge, user_id=user_id, plan_version_id=version,
        amount=cents, currency="USD", usd_cents=cents, paid_at=at, days=30, raw=raw or {},
    )  # fmt: skip
    return (await payments.record(paid, at)).payment_id


async def test_commissions_become_available_at_their_due_date(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    nico = await referred(ana.id, 2, "Nico")
    await pay(nico, starter, "in_1", T0)
    due = T0 + affiliates.DUE_DAYS * DAY
    assert await affiliates.release_due(due - timedelta(seconds=1)) == 0
    assert await affiliates.release_due(due) == 1
    assert await affiliates.release_due(due + DAY) == 0  # once
    summary = await affiliates.summary(ana.id)
    assert (summary.available_cents, summary.pending_cents, summary.signups, summary.paying) == (
        2970, 0, 1, 1,
    )  # fmt: skip


async def test_payout_minimum_once_and_settlement(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    buyers = [await referred(ana.id, 10 + i, f"B{i}", T0 + i * 3 * timedelta(hours=1))
              for i in range(2)]  # fmt: skip
    await pay(buyers[0], starter, "in_a", T0)
    await affiliates.release_due(T0 + 15 * DAY)
    with pytest.raises(InvalidInput, match="affiliate.payout_minimum"):
        await affiliates.request_payout(ana.id, T0 + 15 * DAY)  # $29.70 < $50
    await pay(buyers[1], starter, "in_b", T0 + DAY)
    await affiliates.release_due(T0 + 16 * DAY)
    results = await asyncio.gather(
        *(affiliates.request_payout(ana.id, T0 + 16 * DAY) for _ in range(5)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, Payout)]
    assert len(made) == 1 and made[0].amount == 5940
    assert all(isinstance(r, NoChange) for r in results if not isinstance(r, Payout))
    assert await Payout.all().count() == 1
    with pytest.raises(NoChange):  # after the first committed: "open", not "below the minimum"
        await affiliates.request_payout(ana.id, T0 + 16 * DAY)
    with pytest.raises(InvalidInput):
        await affiliates.settle_payout(made[0].id, paid=True, note="  ", actor_id=9, now=T0)
    done = await affiliates.settle_payout(
        made[0].id, paid=True, note="wire-118", actor_id=9, now=T0 + 17 * DAY
    )
    assert done.status == PayoutStatus.PAID and done.reference == "wire-118"
    with pytest.raises(NoChange):
        await affiliates.settle_payout(made[0].id, paid=False, note="x", actor_id=9, now=T0)
    states = await Commission.all().values_list("state", flat=True)
    assert set(states) == {CommissionState.PAID}
    summary = await affiliates.summary(ana.id)
    assert (summary.paid_cents, summary.available_cents) == (5940, 0)
    assert len(await audit.recent(action="affiliate.payout_paid")) == 1


async def test_a_rejected_payout_returns_its_commissions(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    for i in range(2):
        buyer = await referred(ana.id, 10 + i, f"B{i}", T0 + i * 2 * timedelta(hours=1))
        await pay(buyer, starter, f"in_{i}", T0)
    await affiliates.release_due(T0 + 15 * DAY)
    payout = await affiliates.request_payout(ana.id, T0 + 15 * DAY)
    assert (await affiliates.summary(ana.id)).requested_cents == 5940
    await affiliates.settle_payout(payout.id, paid=False, note="no tax id", actor_id=9, now=T0)
    summary = await affiliates.summary(ana.id)
    assert (summary.available_cents, summary.requested_cents) == (5940, 0)
    again = await affiliates.request_payout(ana.id, T0 + 16 * DAY)
    assert again.amount == 5940


async def test_same_payer_is_flagged_and_waits_for_the_owner(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    await pay(ana.id, starter, "in_own", T0, raw={"customer_email": "Ana@Example.com"})
    nico = await referred(ana.id, 2, "Nico")
    await pay(nico, starter, "in_n", T0, raw={"data": {"customer_email": "ana@example.com "}})
    (row,) = await Commission.all()
    assert row.flagged == "same_payer"
    assert await affiliates.release_due(T0 + 30 * DAY) == 0  # flagged: never released alone
    assert [c.id for c in await affiliates.flagged()] == [row.id]
    await affiliates.review(row.id, approve=True, actor_id=9, now=T0 + 30 * DAY)
    reviewed = await Commission.get(id=row.id)
    assert reviewed.state == CommissionState.AVAILABLE and reviewed.flagged is None
    with pytest.raises(NoChange):
        await affiliates.review(row.id, approve=False, actor_id=9, now=T0)


async def test_burst_and_refund_rate_flags(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    burst = [await referred(ana.id, 100 + i, f"N{i}", T0 + i * timedelta(minutes=5))
             for i in range(affiliates.BURST_MAX + 1)]  # fmt: skip
    await pay(burst[0], starter, "in_burst", T0)
    assert (await Commission.get(payment__provider_charge_id="in_burst")).flagged == (
        "referral_burst"
    )
    bea = await th.user(2, Role.PUBLIC, "Bea")
    spread = [await referred(bea.id, 200 + i, f"S{i}", T0 + i * 3 * timedelta(hours=1))
              for i in range(4)]  # fmt: skip
    ids = [await pay(u, starter, f"in_s{i}", T0 + i * DAY) for i, u in enumerate(spread[:3])]
    for pid in ids[:1]:
        await payments.refund(pid, T0 + 5 * DAY, reason="test")
    await pay(spread[3], starter, "in_s3", T0 + 6 * DAY)  # 1 of 3 earlier refunded: 33% >= 30%
    flags = dict(await Commission.all().values_list("payment__provider_charge_id", "flagged"))
    assert flags["in_s3"] == "refund_rate"
    assert flags["in_s1"] is None and flags["in_s2"] is None


async def test_owner_rejecting_a_flag_reverses_it(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    await pay(ana.id, starter, "in_own", T0, raw={"fingerprint": "card_fp_1"})
    nico = await referred(ana.id, 2, "Nico")
    await pay(nico, starter, "in_n", T0, raw={"fingerprint": "card_fp_1"})
    (row,) = await Commission.all()
    await affiliates.review(row.id, approve=False, actor_id=9, now=T0)
    assert (await Commission.get(id=row.id)).state == CommissionState.REVERSED
    assert await affiliates.owed_cents() == 0


async def test_clicks_count_whether_attributed_or_not(starter: int) -> None:
    ana = await th.user(1, Role.PUBLIC, "Ana")
    code = (await User.get(id=ana.id)).referral_code
    assert await affiliates.record_click(code.lower(), 2, attributed=True, now=T0)
    assert await affiliates.record_click(code, 3, attributed=False, now=T0)
    assert not await affiliates.record_click("NOSUCHCODE", 4, attributed=False, now=T0)
    assert (await affiliates.summary(ana.id)).clicks == 2
