"""Card payments through the real stripe SDK against the loopback fake (stripeemu): Checkout and
portal sessions, webhooks signed with Stripe's scheme (valid, bad, stale, duplicate, out of
order), link codes, refunds both ways, renewal states, and 50 concurrent deliveries on
PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock as process_clock
from core import db
from models.billing import (
    Entitlement,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    ProcessedEvent,
    StripeCustomer,
)
from models.users import Role
from services import audit
from services.billing import catalog, stripe_billing, stripe_ledger
from services.billing import entitlements as ent
from services.billing.stripe_billing import StripeBilling
from services.billing.stripe_webhook import BadSignature, Handled
from services.errors import InvalidInput, NoChange, NotFound, PermissionDenied
from stripeemu import Event, StripeEmuServer, signature_header
from tests.dbutil import create_pg_database, drop_pg_database, postgres_server_url
from tests.services.terminals import helpers as th

DAY = timedelta(days=1)


@dataclass
class Stripe:
    server: StripeEmuServer
    billing: StripeBilling

    @property
    def emu(self):  # type: ignore[no-untyped-def]
        return self.server.emulator

    async def deliver(self, event: Event, **kw: object) -> Handled:
        body, headers = self.emu.signed(event, **kw)
        return await self.billing.handle_event(
            body, headers["Stripe-Signature"], process_clock.now()
        )

    async def deliver_all(self, events: list[Event]) -> list[Handled]:
        return [await self.deliver(e) for e in events]

    def new_events(self, since: int) -> list[Event]:
        return list(self.emu.events[since:])

    async def buy(self, plan: str = "starter", email: str = "sam@example.com") -> dict:
        started = await self.billing.checkout(
            plan, email=email, success_url="https://desk.test/ok?s={CHECKOUT_SESSION_ID}",
            cancel_url="https://desk.test/pricing",
        )  # fmt: skip
        return self.emu.complete_checkout(started.id)


async def offers() -> dict[str, catalog.Offer]:
    return {
        o.code: o for o in await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    }


@pytest.fixture
async def stripe_fake(database: str, clock: process_clock.ManualClock) -> AsyncIterator[Stripe]:
    await offers()
    async with StripeEmuServer(
        auto_deliver=False, clock=lambda: process_clock.now().timestamp()
    ) as server:
        billing = StripeBilling(
            server.secret_key, server.webhook_secret, api_base=server.url, max_network_retries=0
        )
        yield Stripe(server, billing)
        await billing.close()


async def test_checkout_is_a_subscription_at_the_plans_price(stripe_fake: Stripe) -> None:
    started = await stripe_fake.billing.checkout(
        "pro", email="ana@example.com", success_url="https://d.test/ok?s={CHECKOUT_SESSION_ID}",
        cancel_url="https://d.test/pricing",
    )  # fmt: skip
    session = stripe_fake.emu.get(started.id)
    assert started.url == f"{stripe_fake.server.url}/c/pay/{started.id}"
    assert (session["mode"], session["amount_total"], session["currency"]) == (
        "subscription", 19900, "usd",
    )  # fmt: skip
    assert session["customer_email"] == "ana@example.com"
    pro = (await offers())["pro"]
    assert session["metadata"] == {"plan": "pro", "plan_version_id": str(pro.version_id)}
    (price,) = [p for p in stripe_fake.emu.store.all("prices")]
    assert price["lookup_key"] == f"signaldesk:pro:v{pro.version}"
    assert price["recurring"] == {**price["recurring"], "interval": "day", "interval_count": 30}
    again = await stripe_fake.billing.checkout(
        "pro", email=None, success_url="https://d.test/ok", cancel_url="https://d.test/p"
    )
    assert again.id != started.id and len(stripe_fake.emu.store.all("prices")) == 1
    with pytest.raises(NotFound):
        await stripe_fake.billing.checkout(
            "nope", email=None, success_url="https://d.test/ok", cancel_url="https://d.test/p"
        )


async def test_a_price_edit_makes_a_new_price_and_subscribers_keep_theirs(
    stripe_fake: Stripe,
) -> None:
    await stripe_fake.buy("starter")
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    text = catalog.DEFAULT_PLANS_FILE.read_text().replace('usd = "99.00"', 'usd = "109.00"', 1)
    await catalog.sync_catalog(catalog.parse_catalog(text, Decimal("0.013")))
    await stripe_fake.buy("starter", email="new@example.com")
    keys = sorted(p["lookup_key"] for p in stripe_fake.emu.store.all("prices"))
    assert keys == ["signaldesk:starter:v1", "signaldesk:starter:v2"]
    first_sub = stripe_fake.emu.store.all("subscriptions")[0]
    stripe_fake.emu.renew(first_sub["id"])
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    # the first subscriber renews at the first version's price, the newcomer bought the second
    paid = await Payment.all().order_by("id").prefetch_related("plan_version")
    assert [(p.amount, p.plan_version.version, p.is_recurring) for p in paid] == [
        (9900, 1, False), (10900, 2, False), (9900, 1, True),
    ]  # fmt: skip


async def test_paid_before_linking_then_linked_once(stripe_fake: Stripe) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    handled = await stripe_fake.deliver_all(stripe_fake.emu.events)
    assert all(h.applied for h in handled)
    payment = await Payment.get()
    assert (payment.user_id, payment.amount, payment.currency, payment.usd_cents) == (  # type: ignore[attr-defined]
        None, 9900, "USD", 9900,
    )  # fmt: skip
    assert payment.provider_charge_id == session["invoice"]
    assert await Entitlement.all().count() == 0
    view = await stripe_fake.billing.success(session["id"], process_clock.now())
    assert view.link_code and not view.linked and view.plan == "starter"
    row = await StripeCustomer.get(customer_id=session["customer"])
    assert (row.subscription_id, row.email) == (session["subscription"], "sam@example.com")

    linked = await stripe_ledger.link(sam.id, 5, view.link_code.lower(), process_clock.now())
    (period,) = linked.granted
    invoice = stripe_fake.emu.get(session["invoice"])
    line = invoice["lines"]["data"][0]["period"]
    assert (period.starts_at.timestamp(), period.ends_at.timestamp()) == (
        line["start"], line["end"],
    )  # fmt: skip
    access = await ent.access_for(sam.id, process_clock.now())
    assert access.plan == "starter" and access.renews
    assert (await Payment.get()).user_id == sam.id  # type: ignore[attr-defined]
    with pytest.raises(NoChange):
        await stripe_ledger.link(sam.id, 5, view.link_code, process_clock.now())
    assert await Entitlement.all().count() == 1
    later = await stripe_fake.billing.success(session["id"], process_clock.now())
    assert later.linked and later.link_code is None
    assert len(await audit.recent(action="billing.stripe_linked")) == 1
    assert len(await audit.recent(action="billing.attached")) == 1

    stripe_fake.emu.renew(session["subscription"])  # the next invoice goes to Sam at once
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    assert await Payment.filter(user_id=sam.id).count() == 2
    assert (await ent.access_for(sam.id, process_clock.now())).ends_at == period.ends_at + 30 * DAY


async def test_link_codes_refuse_other_accounts_expired_and_unknown_codes(
    stripe_fake: Stripe, clock: process_clock.ManualClock
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    eve = await th.user(6, Role.PUBLIC, "Eve")
    first = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(first["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    with pytest.raises(PermissionDenied):
        await stripe_ledger.link(eve.id, 6, code, clock.now())
    with pytest.raises(NotFound):
        await stripe_ledger.link(eve.id, 6, "NOSUCHCODE", clock.now())
    assert await Entitlement.filter(user_id=eve.id).count() == 0

    second = await stripe_fake.buy(email="eve@example.com")
    since = len(stripe_fake.emu.events)
    await stripe_fake.deliver_all(stripe_fake.emu.events[since - 3 :])
    stale = (await stripe_fake.billing.success(second["id"], clock.now())).link_code
    assert stale
    clock.advance(stripe_ledger.LINK_TTL + timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        await stripe_ledger.link(eve.id, 6, stale, clock.now())
    fresh = await stripe_fake.billing.success(second["id"], clock.now())  # the page renews it
    assert fresh.link_code and fresh.link_code != stale
    linked = await stripe_ledger.link(eve.id, 6, fresh.link_code, clock.now())
    assert len(linked.granted) == 1
    refused = await audit.recent(action="billing.stripe_link_refused")
    assert sorted(e.data["reason"] for e in refused) == [
        "error.link_expired", "error.link_other_account", "error.link_unknown",
    ]  # fmt: skip


async def test_signatures_bad_tampered_and_stale_are_refused(stripe_fake: Stripe) -> None:
    await stripe_fake.buy()
    event = stripe_fake.emu.events_of("invoice.paid")[0]
    body, headers = stripe_fake.emu.signed(event)
    now = process_clock.now()
    wrong = signature_header(body, "whsec_other", int(time.time()))
    old = signature_header(body, stripe_fake.server.webhook_secret, int(time.time()) - 301)
    for payload, header in (
        (body, wrong), (body.replace(b"9900", b"9901"), headers["Stripe-Signature"]),
        (body, old), (body, None), (body, "t=abc"), (b"\xff\xfe", headers["Stripe-Signature"]),
    ):  # fmt: skip
        with pytest.raises(BadSignature):
            await stripe_fake.billing.handle_event(payload, header, now)
    assert await Payment.all().count() == 0 and await ProcessedEvent.all().count() == 0
    handled = await stripe_fake.billing.handle_event(body, headers["Stripe-Signature"], now)
    assert handled.applied and await Payment.all().count() == 1


async def test_a_duplicate_delivery_changes_nothing(stripe_fake: Stripe) -> None:
    await stripe_fake.buy()
    paid = stripe_fake.emu.events_of("invoice.paid")[0]
    first = await stripe_fake.deliver(paid)
    again = await stripe_fake.deliver(paid)
    assert first.applied and not again.applied
    assert await Payment.all().count() == 1
    assert len(await audit.recent(action="billing.paid")) == 1


async def _state() -> tuple[object, ...]:
    """What the events left: payments, customers, periods (after the buyer links)."""
    payments = [(p.provider_charge_id, p.amount, p.status) for p in await Payment.all()]
    customers = [(c.customer_id, c.subscription_id, c.email) for c in await StripeCustomer.all()]
    periods = [
        (e.starts_at, e.ends_at, e.renews, e.status)
        for e in await Entitlement.all().order_by("starts_at")
    ]
    return payments, customers, periods


ORDERS = list(
    itertools.permutations(
        ("checkout.session.completed", "invoice.paid", "customer.subscription.updated")
    )
)


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o[:1] + o[1:]) for o in ORDERS])
async def test_every_order_of_events_converges(stripe_fake: Stripe, order: tuple[str]) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    stripe_fake.emu.cancel_at_period_end(session["subscription"])  # in the portal, at once
    by_type = {e.type: e for e in stripe_fake.emu.events}
    for kind in order:
        assert (await stripe_fake.deliver(by_type[kind])).applied
    code = (await stripe_fake.billing.success(session["id"], process_clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, process_clock.now())
    payments, customers, periods = await _state()
    invoice = stripe_fake.emu.get(session["invoice"])
    line = invoice["lines"]["data"][0]["period"]
    assert payments == [(session["invoice"], 9900, PaymentStatus.PAID)]
    assert customers == [(session["customer"], session["subscription"], "sam@example.com")]
    assert [(s.timestamp(), e.timestamp(), r, st) for s, e, r, st in periods] == [  # type: ignore[attr-defined]
        (line["start"], line["end"], False, EntitlementStatus.ACTIVE)
    ]
    access = await ent.access_for(sam.id, process_clock.now())
    assert access.plan == "starter" and not access.renews  # canceled: to the period's end


async def test_a_failed_renewal_starts_grace_and_a_paid_retry_ends_it(
    stripe_fake: Stripe, clock: process_clock.ManualClock
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(session["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    clock.advance(30 * DAY)
    since = len(stripe_fake.emu.events)
    stripe_fake.emu.fail_renewal(session["subscription"])
    await stripe_fake.deliver_all(stripe_fake.new_events(since))
    access = await ent.access_for(sam.id, clock.now())
    assert access.in_grace and not access.renews
    since = len(stripe_fake.emu.events)
    stripe_fake.emu.renew(session["subscription"])  # the retry is paid
    await stripe_fake.deliver_all(stripe_fake.new_events(since))
    access = await ent.access_for(sam.id, clock.now())
    assert not access.in_grace and access.renews and access.ends_at > clock.now() + 29 * DAY


async def test_deleted_subscription_keeps_access_to_the_period_end(
    stripe_fake: Stripe, clock: process_clock.ManualClock
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(session["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    since = len(stripe_fake.emu.events)
    stripe_fake.emu.cancel_now(session["subscription"])
    await stripe_fake.deliver_all(stripe_fake.new_events(since))
    access = await ent.access_for(sam.id, clock.now())
    assert access.plan == "starter" and not access.renews
    assert access.ends_at is not None and access.ends_at > clock.now() + 29 * DAY


async def test_a_dashboard_refund_revokes_whatever_arrives_first(stripe_fake: Stripe) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    checkout = stripe_fake.emu.events_of("checkout.session.completed")[0]
    invoice = stripe_fake.emu.get(session["invoice"])
    intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    stripe_fake.emu.refund({"payment_intent": intent})
    (refunded,) = stripe_fake.emu.events_of("charge.refunded")
    await stripe_fake.deliver(checkout)
    await stripe_fake.deliver(refunded)  # before invoice.paid: fetched, recorded, refunded
    payment = await Payment.get()
    assert payment.status == PaymentStatus.REFUNDED
    assert not (await stripe_fake.deliver(refunded)).applied
    await stripe_fake.deliver(stripe_fake.emu.events_of("invoice.paid")[0])
    assert await Payment.all().count() == 1
    code = (await stripe_fake.billing.success(session["id"], process_clock.now())).link_code
    assert code
    linked = await stripe_ledger.link(sam.id, 5, code, process_clock.now())
    assert linked.granted == ()  # a refunded payment buys nothing
    assert await ent.access_for(sam.id, process_clock.now()) == ent.FREE


async def test_our_refund_goes_through_stripe_and_the_webhook_adds_nothing(
    stripe_fake: Stripe, clock: process_clock.ManualClock
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(session["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    payment = await Payment.get()
    clock.advance(DAY)
    done = await stripe_fake.billing.refund_payment(
        payment.id, clock.now(), actor_id=1, reason="asked"
    )
    assert done.created and len(done.ended) == 1 and done.user_id == sam.id
    (refund,) = stripe_fake.emu.store.all("refunds")
    assert (refund["amount"], refund["metadata"]) == (9900, {"payment_id": str(payment.id)})
    assert await ent.access_for(sam.id, clock.now()) == ent.FREE
    (event,) = stripe_fake.emu.events_of("charge.refunded")
    assert (await stripe_fake.deliver(event)).applied
    assert len(await audit.recent(action="billing.refunded")) == 1
    again = await stripe_fake.billing.refund_payment(
        payment.id, clock.now(), actor_id=1, reason="twice"
    )
    assert not again.created and len(stripe_fake.emu.store.all("refunds")) == 1


async def test_a_partial_refund_is_audited_and_keeps_access(stripe_fake: Stripe) -> None:
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    invoice = stripe_fake.emu.get(session["invoice"])
    intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    stripe_fake.emu.refund({"payment_intent": intent, "amount": "1000"})
    await stripe_fake.deliver(stripe_fake.emu.events_of("charge.refunded")[0])
    assert (await Payment.get()).status == PaymentStatus.PAID
    (partial,) = await audit.recent(action="billing.partial_refund")
    assert partial.data["refunded"] == 1000


async def test_portal_sessions_for_known_customers_and_signed_links(stripe_fake: Stripe) -> None:
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    started = await stripe_fake.billing.portal(session["customer"], "https://desk.test/pricing")
    portal = stripe_fake.emu.get(started.id)
    assert portal["customer"] == session["customer"]
    assert started.url == f"{stripe_fake.server.url}/p/session/{started.id}"
    token = stripe_fake.billing.portal_token(session["customer"])
    assert stripe_fake.billing.portal_allowed(session["customer"], token)
    assert not stripe_fake.billing.portal_allowed("cus_other", token)
    other = token[:-1] + ("1" if token.endswith("0") else "0")  # one character off
    assert not stripe_fake.billing.portal_allowed(session["customer"], other)
    with pytest.raises(NotFound):
        await stripe_fake.billing.portal("cus_unknown", "https://desk.test/pricing")


PG_SERVER = postgres_server_url() or os.environ.get("PG_TEST_URL")


def _forget_compiled_queries() -> None:
    """Tortoise caches each model's INSERT per connection name ("default"), not per dialect: a
    session that ran on SQLite would send SQLite's placeholders to PostgreSQL (and back).
    Test-only access to the library's cache, for the one test that switches databases."""
    from tortoise.backends.base import executor

    executor.EXECUTOR_CACHE.clear()


@pytest.fixture
async def pg_stripe(clock: process_clock.ManualClock) -> AsyncIterator[Stripe]:
    if not PG_SERVER:
        pytest.skip("no PostgreSQL server: set PG_TEST_URL or DATABASE_URL (CI does)")
    url = await create_pg_database(PG_SERVER, prefix="sdstripe")
    _forget_compiled_queries()
    try:
        await db.migrate(url)
        await db.init_db(url)
        try:
            await offers()
            async with StripeEmuServer(
                auto_deliver=False, clock=lambda: process_clock.now().timestamp()
            ) as server:
                billing = StripeBilling(
                    server.secret_key, server.webhook_secret, api_base=server.url,
                    max_network_retries=0,
                )  # fmt: skip
                yield Stripe(server, billing)
                await billing.close()
        finally:
            await db.close_db()
    finally:
        _forget_compiled_queries()
        await drop_pg_database(url)


@pytest.mark.postgres
async def test_fifty_concurrent_deliveries_record_one_payment_on_postgres(
    pg_stripe: Stripe,
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await pg_stripe.buy()
    await pg_stripe.deliver(pg_stripe.emu.events_of("checkout.session.completed")[0])
    code = (await pg_stripe.billing.success(session["id"], process_clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, process_clock.now())
    paid = pg_stripe.emu.events_of("invoice.paid")[0]
    results = await asyncio.gather(*(pg_stripe.deliver(paid) for _ in range(50)))
    assert sum(r.applied for r in results) == 1
    assert await Payment.all().count() == 1
    assert await Entitlement.filter(user_id=sam.id).count() == 1
    assert await ProcessedEvent.filter(event_id=paid.id).count() == 1
    assert len(await audit.recent(action="billing.paid")) == 1


async def test_the_refund_contract_takes_the_assemblys_client_or_the_environments(
    stripe_fake: Stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await stripe_fake.buy()
    second = await stripe_fake.buy(email="ana@example.com")
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    by_invoice = {p.provider_charge_id: p.id for p in await Payment.all()}
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidInput):
        await stripe_billing.refund_payment(
            by_invoice[first["invoice"]], process_clock.now(), actor_id=1, reason="x"
        )
    done = await stripe_billing.refund_payment(
        by_invoice[first["invoice"]], process_clock.now(), actor_id=1, reason="asked",
        billing=stripe_fake.billing,
    )  # fmt: skip
    assert done.created
    monkeypatch.setenv("STRIPE_SECRET_KEY", stripe_fake.server.secret_key)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", stripe_fake.server.webhook_secret)
    monkeypatch.setenv("STRIPE_API_BASE", stripe_fake.server.url)
    done = await stripe_billing.refund_payment(
        by_invoice[second["invoice"]], process_clock.now(), actor_id=1, reason="asked"
    )
    assert done.created
    assert len(stripe_fake.emu.store.all("refunds")) == 2
    assert await Payment.filter(status=PaymentStatus.REFUNDED).count() == 2


async def test_a_plan_change_in_the_portal_takes_effect_with_the_next_invoice(
    stripe_fake: Stripe, clock: process_clock.ManualClock
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy("starter")
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(session["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    pro = (await offers())["pro"]
    pro_price = await stripe_fake.billing.price_for(pro)
    since = len(stripe_fake.emu.events)
    stripe_fake.emu.update_subscription(
        session["subscription"], {"items": [{"price": pro_price}], "proration_behavior": "none"}
    )
    await stripe_fake.deliver_all(stripe_fake.new_events(since))
    assert (await ent.access_for(sam.id, clock.now())).plan == "starter"  # until the renewal
    clock.advance(30 * DAY)
    since = len(stripe_fake.emu.events)
    stripe_fake.emu.renew(session["subscription"])
    await stripe_fake.deliver_all(stripe_fake.new_events(since))
    renewal = await Payment.filter(is_recurring=True).get()
    assert (renewal.amount, renewal.plan_version_id) == (19900, pro.version_id)  # type: ignore[attr-defined]
    access = await ent.access_for(sam.id, clock.now() + timedelta(seconds=1))
    assert access.plan == "pro" and access.terminal_limit == 3 and access.renews


async def test_settings_enable_card_payments_only_with_both_secrets() -> None:
    from core.settings import SettingsError, load_settings

    none = load_settings(_env_file=None, stripe_secret_key=" ", stripe_webhook_secret="whsec_1")
    assert not none.stripe_enabled and StripeBilling.from_settings(none) is None
    both = load_settings(
        _env_file=None, stripe_secret_key="sk_test_1", stripe_webhook_secret="whsec_1",
        stripe_api_base="http://127.0.0.1:12111/",
    )  # fmt: skip
    assert both.stripe_enabled and both.stripe_api_base == "http://127.0.0.1:12111"
    assert "sk_test_1" not in repr(both) and "whsec_1" not in repr(both)
    built = StripeBilling.from_settings(both)
    assert built is not None
    await built.close()
    with pytest.raises(SettingsError, match="STRIPE_API_BASE"):
        load_settings(_env_file=None, stripe_api_base="ftp://stripe")
