"""Through the emulator: a referral link brings a buyer who pays in Stars; the affiliate sees
the click, the sign-up, the paying referral and the commission (pending, then available after
the due period), a payout below the minimum is refused; the owner reads /revenue and gets its
chart; the Stars reconciliation against the emulator's getStarTransactions is quiet, and finds
a payment Telegram never listed."""

from __future__ import annotations

from datetime import timedelta

from jobs.billing_jobs import flagged_alert, reconcile_stars, release_job
from models.billing import Payment, Provider
from models.users import User
from services.billing import affiliates, payments
from services.billing.checkout import Kind
from services.billing.payments import PaymentIn
from tests.e2e.conftest import OWNER, text
from tests.e2e.test_stars_checkout import BEA, Shop, emulator, shop  # noqa: F401 (fixtures)
from tests.waiting import until

CY = 1000031
DAY = timedelta(days=1)


async def test_referral_to_commission_to_revenue(shop: Shop) -> None:  # noqa: F811
    tg = shop.tg
    await shop.say(BEA, "/start", "")
    code = (await User.get(telegram_id=BEA)).referral_code
    await tg.add_user(CY, "Cy", username="cy", language_code="en")
    await shop.say(CY, f"/start ref_{code}", "")
    await shop.say(BEA, f"/start ref_{code}", "")  # her own link, opened again: not attributed
    assert (await User.get(telegram_id=CY)).referred_by_id == (await User.get(telegram_id=BEA)).id
    invoice = await shop.buy_plan(CY, "starter", Kind.SUBSCRIPTION)
    paid = await shop.pay(CY, invoice)
    assert paid["status"] == "paid"
    payment = await until(
        lambda: Payment.get_or_none(provider=Provider.STARS), "the Stars payment recorded"
    )
    commission = affiliates.commission_cents(payment.usd_cents, affiliates.FIRST_RATE)

    summary = text(await shop.say(BEA, "/affiliate", "Affiliate"))
    assert f"start=ref_{code}" in summary
    assert "Clicks: 2 · sign-ups: 1 · paying: 1" in summary
    assert f"Pending: ${commission / 100:,.2f}" in summary

    shop.clock.advance(affiliates.DUE_DAYS * DAY + timedelta(minutes=1))
    await release_job()
    after = text(await shop.say(BEA, "/affiliate", "Affiliate"))
    assert f"available: ${commission / 100:,.2f}" in after
    refused = text(await shop.say(BEA, "/payout", "Payouts start at"))
    assert "$50.00" in refused

    report = text(await shop.say(OWNER, "/revenue", "Revenue"))
    assert f"MRR: ${payment.usd_cents / 100:,.2f}" in report and "Starter: 1" in report
    await tg.send(OWNER, "/revenue chart")
    chart = await tg.wait_for(OWNER, lambda m: m["from_bot"] and bool(m.get("photo")))
    assert chart["photo"]
    refused_visitor = text(await shop.say(CY, "/revenue", ""))
    assert "MRR" not in refused_visitor


async def test_stars_reconciliation_against_the_emulator(shop: Shop) -> None:  # noqa: F811
    invoice = await shop.buy_plan(BEA, "starter", Kind.SUBSCRIPTION)
    assert (await shop.pay(BEA, invoice))["status"] == "paid"
    await until(lambda: Payment.exists(provider=Provider.STARS), "the Stars payment recorded")
    shop.clock.advance(timedelta(hours=1))
    assert await reconcile_stars(shop.app.bot, shop.app.alerts) == []
    first = await Payment.get(provider=Provider.STARS)
    await Payment.create(
        provider=Provider.STARS, provider_charge_id="never-at-telegram", user_id=first.user_id,  # type: ignore[attr-defined]
        plan_version_id=first.plan_version_id, amount=first.amount, currency="XTR",  # type: ignore[attr-defined]
        usd_cents=first.usd_cents, created_at=shop.clock.now() - timedelta(minutes=30),
    )  # fmt: skip
    found = await reconcile_stars(shop.app.bot, shop.app.alerts)
    assert [(m.kind, m.charge_id) for m in found] == [("missing_at_telegram", "never-at-telegram")]
    alert = await shop.tg.wait_for(
        OWNER, lambda m: m["from_bot"] and "Stars reconciliation" in text(m), after_seq=0
    )
    assert "missing_at_telegram" in text(alert)


async def test_owner_hears_of_flagged_commissions_and_reviews_them(shop: Shop) -> None:  # noqa: F811
    await shop.say(BEA, "/start", "")
    bea = await User.get(telegram_id=BEA)
    invoice = await shop.buy_plan(BEA, "starter", Kind.ONCE_30)
    assert (await shop.pay(BEA, invoice))["status"] == "paid"
    await until(lambda: Payment.exists(provider=Provider.STARS), "Bea's payment recorded")
    own = await Payment.get(provider=Provider.STARS)
    await Payment.filter(id=own.id).update(raw_payload={"customer_email": "bea@example.com"})
    await shop.tg.add_user(CY, "Cy", username="cy", language_code="en")
    await shop.say(CY, f"/start ref_{bea.referral_code}", "")
    cy = await User.get(telegram_id=CY)
    await payments.record(
        PaymentIn(
            provider=Provider.STRIPE, charge_id="in_cy", user_id=cy.id,
            plan_version_id=own.plan_version_id, amount=9900, currency="USD",  # type: ignore[attr-defined]
            usd_cents=9900, paid_at=shop.clock.now(), days=30,
            raw={"customer_email": "BEA@example.com"},
        ),
        shop.clock.now(),
    )  # fmt: skip
    assert await flagged_alert(shop.app.alerts) == 1
    await shop.tg.wait_for(
        OWNER, lambda m: m["from_bot"] and "/commissions_flagged" in text(m), after_seq=0
    )
    listed = await shop.say(OWNER, "/commissions_flagged", "Commission #")
    assert "referrer's own payment details" in text(listed)
    await shop.press(OWNER, listed, "✅ Approve")
    await shop.tg.wait_for(OWNER, lambda m: "approved" in text(m), after_seq=0)
    assert await affiliates.flagged() == []
