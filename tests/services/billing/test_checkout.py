"""Stars checkout rules below the handlers: payloads, invoice terms and refusals, the upgrade
credit rule, subscription updates and renewals with a floating upgrade credit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from models.billing import EntitlementSource, Plan, Provider, StarsSubscription, SubscriptionState
from models.devices import Device, DeviceMode, DeviceStatus
from models.users import Role
from services import audit
from services.billing import catalog, changes, payments, promos, refunds
from services.billing import entitlements as ent
from services.billing.changes import OldPeriod, credit_days
from services.billing.checkout import (
    BadPayload,
    Checkout,
    Kind,
    Payload,
    Refusal,
    SuccessfulPayment,
)
from services.errors import InvalidInput, NoChange
from tests.services.terminals import helpers as th

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PERIOD = timedelta(seconds=2_592_000)
CHECKOUT = Checkout(b"k" * 32, Decimal("0.013"))


class FakePort:
    """Records what checkout asked Telegram to do."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, str, bool]] = []

    async def edit_subscription(self, telegram_id: int, charge_id: str, *, canceled: bool) -> None:
        self.edits.append((telegram_id, charge_id, canceled))

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        raise AssertionError


@pytest.fixture
async def plans(database: str) -> dict[str, catalog.Offer]:
    offers = await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    return {o.code: o for o in offers}


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("with_code", [False, True])
def test_a_payload_round_trips_and_fits_telegrams_128_bytes(kind: Kind, with_code: bool) -> None:
    p = Payload(kind, 2**40, 2**31, 2**31, with_code, datetime(2099, 12, 31, tzinfo=UTC))
    text = CHECKOUT.encode(p)
    assert len(text.encode()) <= 64
    assert CHECKOUT.decode(text) == p


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("1m", "1q", 1),  # 30 days -> 90 days
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the MAC
        lambda t: t.split(".", 1)[1],  # a field dropped
        lambda t: "",
        lambda t: "x" * 128,
    ],
)
def test_an_edited_payload_does_not_verify(edit: object) -> None:
    text = CHECKOUT.encode(Payload(Kind.ONCE_30, 5, 7, 0, False, T0))
    with pytest.raises(BadPayload):
        CHECKOUT.decode(edit(text))  # type: ignore[operator]
    other = Checkout(b"o" * 32, Decimal("0.013"))
    with pytest.raises(BadPayload):
        other.decode(text)  # another key (another MASTER_KEY)


@pytest.mark.parametrize(
    ("used_days", "old_usd", "new_usd", "expected"),
    [
        (10, "99.00", "128.70", 15),  # 20/30 * 99 / 128.70 * 30 = 15.38
        (0, "99.00", "128.70", 23),  # a full period: 23.07
        (29, "99.00", "128.70", 0),  # one day left: 0.77 -> 0
        (15, "99.00", "198.00", 7),  # 0.5 * 0.5 * 30 = 7.5
        (30, "99.00", "128.70", 0),  # nothing left
    ],
)
def test_the_upgrade_credit_rule(
    used_days: int, old_usd: str, new_usd: str, expected: int
) -> None:
    old = [OldPeriod(T0, T0 + 30 * DAY, Fraction(old_usd))]
    assert credit_days(old, Fraction(new_usd), 30, T0 + used_days * DAY) == expected


def test_the_credit_counts_a_stacked_period_in_full() -> None:
    old = [
        OldPeriod(T0, T0 + 30 * DAY, Fraction(99)),
        OldPeriod(T0 + 30 * DAY, T0 + 60 * DAY, Fraction(99)),
    ]
    # (20/30 + 1) * 99 / 128.70 * 30 = 38.46
    assert credit_days(old, Fraction("128.70"), 30, T0 + 10 * DAY) == 38


async def test_invoice_terms_and_the_plans_that_are_not_sold(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    terms = await CHECKOUT.prepare(nico, "starter", Kind.ONCE_90, T0)
    assert (terms.stars, terms.days) == (3 * 7616, 90)
    assert (await CHECKOUT.prepare(nico, "starter", Kind.SUBSCRIPTION, T0)).stars == 7616
    with pytest.raises(InvalidInput) as card:
        await CHECKOUT.prepare(nico, "pro", Kind.SUBSCRIPTION, T0)
    assert card.value.key == "checkout.card_only"
    await Plan.filter(code="starter_copy").update(access_code="VIP2030")
    with pytest.raises(InvalidInput) as hidden:
        await CHECKOUT.prepare(nico, "starter_copy", Kind.ONCE_30, T0)
    assert hidden.value.key == "checkout.not_offered"
    coded = await CHECKOUT.prepare(nico, "starter_copy", Kind.ONCE_30, T0, access_code="VIP2030")
    assert await CHECKOUT.pre_checkout(nico.id, coded.payload, 9900, "XTR", T0) is None


async def test_pre_checkout_refuses_what_changed_since_the_invoice(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    terms = await CHECKOUT.prepare(nico, "starter", Kind.ONCE_30, T0)
    check = CHECKOUT.pre_checkout
    assert await check(nico.id, terms.payload, 7616, "XTR", T0 + timedelta(hours=23)) is None
    assert await check(nico.id, terms.payload, 7616, "XTR", T0 + 25 * timedelta(hours=1)) is (
        Refusal.STALE
    )
    assert await check(nico.id, terms.payload, 7616, "USD", T0) is Refusal.PRICE_CHANGED
    assert await check(nico.id + 1, terms.payload, 7616, "XTR", T0) is Refusal.TAMPERED
    await Plan.filter(code="starter").update(hidden=True)
    assert await check(nico.id, terms.payload, 7616, "XTR", T0) is Refusal.NOT_OFFERED
    await Plan.filter(code="starter").update(hidden=False, newcomers_only=True)
    assert await check(nico.id, terms.payload, 7616, "XTR", T0) is None
    await ent.grant(nico.id, "starter_copy", 1, source=EntitlementSource.STARS, now=T0 - 9 * DAY)
    assert await check(nico.id, terms.payload, 7616, "XTR", T0) is Refusal.NEWCOMERS_ONLY


def _first(charge: str, payload: str, expires: datetime) -> SuccessfulPayment:
    return SuccessfulPayment(
        "XTR", 7616, payload, charge, is_recurring=True, is_first_recurring=True,
        subscription_expiration_date=expires,
    )  # fmt: skip


async def test_subscription_updates_follow_the_subscription_and_unknown_ones_change_nothing(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    terms = await CHECKOUT.prepare(nico, "starter", Kind.SUBSCRIPTION, T0)
    port = FakePort()
    await CHECKOUT.paid(nico, _first("stx1", terms.payload, T0 + PERIOD), T0, port)
    assert await CHECKOUT.subscription_update(nico, "another payload", "canceled", T0) is None
    change = await CHECKOUT.subscription_update(nico, terms.payload, "failed", T0 + PERIOD)
    assert change is not None and change.state.value == "failed"
    access = await ent.access_for(nico.id, T0 + PERIOD + DAY)
    assert (access.plan, access.in_grace) == ("starter", True)
    assert (await StarsSubscription.get(first_charge_id="stx1")).state == SubscriptionState.FAILED
    assert (await ent.access_for(nico.id, T0 + PERIOD + ent.GRACE + DAY)).plan is None


async def test_an_upgrade_credit_floats_after_each_renewal(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    port = FakePort()
    once = await CHECKOUT.prepare(nico, "starter", Kind.ONCE_30, T0)
    await CHECKOUT.paid(nico, SuccessfulPayment("XTR", 7616, once.payload, "stx0"), T0, port)
    now = T0 + 10 * DAY
    sub = await CHECKOUT.prepare(nico, "starter_copy", Kind.SUBSCRIPTION, now)
    first = replace(_first("stx1", sub.payload, now + PERIOD), total_amount=9900)
    done = await CHECKOUT.paid(nico, first, now, port)
    assert done.upgrade is not None and done.upgrade.credit_days == 15
    assert done.ends_at == now + PERIOD + 15 * DAY
    renewal = replace(
        first, charge_id="stx2", is_first_recurring=False,
        subscription_expiration_date=now + 2 * PERIOD,
    )  # fmt: skip
    again = await CHECKOUT.paid(nico, renewal, now + PERIOD, port)
    assert again.renewal and again.ends_at == now + 2 * PERIOD + 15 * DAY
    await CHECKOUT.subscription_update(nico, sub.payload, "canceled", now + PERIOD)
    access = await ent.access_for(nico.id, now + 2 * PERIOD + 14 * DAY)
    assert access.plan == "starter_copy"  # the credited days, after the last paid period
    assert (await ent.access_for(nico.id, now + 2 * PERIOD + 15 * DAY + ent.GRACE)).plan is None


async def test_a_downgrade_cancels_the_renewal_and_is_stored(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    port = FakePort()
    sub = await CHECKOUT.prepare(nico, "starter_copy", Kind.SUBSCRIPTION, T0)
    paid = replace(_first("stx1", sub.payload, T0 + PERIOD), total_amount=9900)
    await CHECKOUT.paid(nico, paid, T0, port)
    scheduled = await changes.schedule_downgrade(nico, "starter", T0 + DAY, port)
    assert (scheduled.plan, scheduled.current, scheduled.effective_at) == (
        "starter",
        "starter_copy",
        T0 + PERIOD,
    )
    assert port.edits == [(nico.telegram_id, "stx1", True)]
    assert await changes.due(T0 + PERIOD - DAY) == []
    (due,) = await changes.due(T0 + PERIOD)
    assert await changes.delivered(due.id, T0 + PERIOD)
    assert not await changes.delivered(due.id, T0 + PERIOD)  # once
    with pytest.raises(InvalidInput):
        await changes.schedule_downgrade(nico, "starter_copy", T0 + DAY, port)


async def test_a_percent_off_promo_discounts_one_invoice_and_is_consumed_once(
    plans: dict[str, catalog.Offer],
) -> None:
    owner = await th.user(9, Role.OWNER, "Olivia")
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await promos.create(owner, ["SPRING20", "percent", "20"], T0)
    await promos.redeem(nico, "SPRING20", T0)
    terms = await CHECKOUT.prepare(nico, "starter", Kind.ONCE_30, T0)
    assert terms.stars == 6093  # ceil(7616 * 0.8)
    assert CHECKOUT.decode(terms.payload).promo_id > 0
    sub = await CHECKOUT.prepare(nico, "starter", Kind.SUBSCRIPTION, T0)
    assert sub.stars == 7616  # renewals are charged at the link's price: no promo on them
    check = CHECKOUT.pre_checkout
    assert await check(nico.id, terms.payload, 7616, "XTR", T0) is Refusal.PRICE_CHANGED
    assert await check(nico.id, terms.payload, 6093, "XTR", T0) is None
    paid = SuccessfulPayment("XTR", 6093, terms.payload, "stx9")
    await CHECKOUT.paid(nico, paid, T0, FakePort())
    await CHECKOUT.paid(nico, paid, T0, FakePort())  # a duplicate consumes nothing more
    assert await promos.pending_discount(nico.id, "starter", T0) is None
    assert len(await audit.recent(action="billing.promo_consumed")) == 1
    # the same invoice again: its promo is used, so its price no longer holds
    assert await check(nico.id, terms.payload, 6093, "XTR", T0) is Refusal.PRICE_CHANGED
    assert (await CHECKOUT.prepare(nico, "starter", Kind.ONCE_30, T0)).stars == 7616


class RefundingPort(FakePort):
    def __init__(self, already: bool = False) -> None:
        super().__init__()
        self.already = already
        self.refunds: list[tuple[int, str]] = []

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        self.refunds.append((telegram_id, charge_id))
        if self.already:
            raise refunds.AlreadyRefunded


@pytest.mark.parametrize("already", [False, True])
async def test_a_refund_ends_access_once_and_enforces_it_on_terminals(
    plans: dict[str, catalog.Offer], already: bool
) -> None:
    owner = await th.user(9, Role.OWNER, "Olivia")
    nico = await th.user(1, Role.PUBLIC, "Nico")
    terms = await CHECKOUT.prepare(nico, "starter_copy", Kind.ONCE_30, T0)
    await CHECKOUT.paid(
        nico, SuccessfulPayment("XTR", 9900, terms.payload, "stx7"), T0, FakePort()
    )
    await th.device(nico, name="Copy", mode=DeviceMode.COPY)
    port = RefundingPort(already)
    done, view = await refunds.refund(
        "stx7", T0 + DAY, actor_id=owner.telegram_id, reason="asked", port=port
    )
    assert done.created and view.charge_id == "stx7" and port.refunds == [(1, "stx7")]
    assert (await ent.access_for(nico.id, T0 + DAY)).plan is None
    (device,) = await Device.all()
    assert (device.status, device.paused_reason) == (DeviceStatus.PAUSED, "no_access")
    with pytest.raises(NoChange):  # a second /refund: nothing to do, Telegram not asked
        await refunds.refund(str(view.id), T0 + DAY, actor_id=9, reason="again", port=port)
    assert len(port.refunds) == 1
    assert await refunds.telegram_refunded("stx7", T0 + DAY) is not None  # the echo: no-op
    assert len(await audit.recent(action="billing.refunded")) == 1


async def _card_subscription(user_id: int, plans: dict[str, catalog.Offer]) -> None:
    """A renewing Starter Copy card subscription ("stripe:sub_1") from T0 for 30 days."""
    await payments.record(
        payments.PaymentIn(
            provider=Provider.STRIPE, charge_id="in_1", user_id=user_id,
            plan_version_id=plans["starter_copy"].version_id, amount=12870, currency="USD",
            usd_cents=12870, paid_at=T0, period_start=T0, period_end=T0 + 30 * DAY,
            subscription_ref="stripe:sub_1",
        ),
        T0,
    )  # fmt: skip


async def test_a_card_subscription_is_not_downgraded_from_the_bot(
    plans: dict[str, catalog.Offer],
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await _card_subscription(nico.id, plans)
    port = FakePort()
    with pytest.raises(InvalidInput) as refused:
        await changes.schedule_downgrade(nico, "starter", T0 + DAY, port)
    assert refused.value.key == "checkout.downgrade_card" and port.edits == []
    assert await changes.scheduled(nico.id) is None


@pytest.mark.parametrize("plan", ["starter", "starter_copy"])
async def test_no_stars_invoice_while_a_card_subscription_renews(
    plans: dict[str, catalog.Offer], plan: str
) -> None:
    nico = await th.user(1, Role.PUBLIC, "Nico")
    await _card_subscription(nico.id, plans)
    for kind in Kind:
        with pytest.raises(InvalidInput) as refused:
            await CHECKOUT.prepare(nico, plan, kind, T0 + DAY)
        assert refused.value.key == "checkout.card_renews"
    await payments.set_renewal("stripe:sub_1", payments.RenewalState.CANCELED, T0 + DAY)
    terms = await CHECKOUT.prepare(nico, plan, Kind.ONCE_30, T0 + DAY)  # canceled: may buy
    assert terms.plan == plan
