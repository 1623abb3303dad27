"""Buying with Telegram Stars end to end: the real app against the emulator, which shares the
test's ManualClock (renewals, grace and expiry happen when the test moves time).

Default catalog at 0.013 USD per Star: Starter 7,616 ⭐ ($99), Starter Copy 9,900 ⭐ ($128.70).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiogram.types import LabeledPrice, Update

from bot.app import AppRunner
from core import db
from core.clock import ManualClock
from handlers.shop import BuyCB
from jobs.billing_jobs import BotInvoiceLinks
from models.billing import (
    Entitlement,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    PlanChange,
    StarsSubscription,
    SubscriptionState,
)
from models.users import Role, User
from services import audit
from services.billing import catalog
from services.billing import entitlements as ent
from services.billing.checkout import Checkout, Kind, Payload
from services.users import profiles as users_service
from tests.e2e.conftest import OWNER, TOKEN, app_settings, running_app, text
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

BEA = 1000020
DAY = timedelta(days=1)


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN, clock=lambda: clock.now().timestamp()) as server:
        yield server


@dataclass
class Shop:
    app: AppRunner
    tg: EmulatorClient
    clock: ManualClock

    @property
    def checkout(self) -> Checkout:
        checkout: Checkout = self.app.dp["checkout"]
        return checkout

    async def say(self, user: int, line: str, expect: str = "") -> dict[str, Any]:
        await self.tg.send(user, line)
        return await self.tg.wait_for(user, lambda m: m["from_bot"] and expect in text(m))

    async def press(self, user: int, message: dict[str, Any], label: str) -> None:
        await self.tg.press(user, user, message["message_id"], text=label)

    async def bot_says(self, user: int, expect: str) -> dict[str, Any]:
        """The bot's message in `user`'s chat containing `expect` (sent at any time)."""
        return await self.tg.wait_for(
            user, lambda m: m["from_bot"] and expect in text(m), after_seq=0
        )

    async def buy(self, user: int, label: str) -> dict[str, Any]:
        """Press `label` under /plans; the bot's invoice or subscription-link message."""
        plans = await self.say(user, "/plans", "Plans")
        await self.press(user, plans, label)
        return await self.tg.wait_for(
            user, lambda m: m["from_bot"] and (m.get("invoice") or _url(m) is not None)
        )

    async def buy_plan(self, user: int, plan: str, kind: Kind) -> dict[str, Any]:
        """Press the Buy button of `plan` and `kind` under /plans (by its callback data)."""
        plans = await self.say(user, "/plans", "Plans")
        data = BuyCB(plan=plan, kind=kind.value).pack()
        await self.tg.press(user, user, plans["message_id"], data=data)
        return await self.tg.wait_for(
            user, lambda m: m["from_bot"] and (m.get("invoice") or _url(m) is not None)
        )

    async def pay(self, user: int, message: dict[str, Any]) -> dict[str, Any]:
        url = _url(message)
        if url is not None:
            return await self.tg.pay(user, invoice_link=url)
        return await self.tg.pay(user, chat_id=user, message_id=message["message_id"])

    async def access(self, user: int) -> ent.Access:
        row = await User.get(telegram_id=user)
        return await ent.access_for(row.id, self.clock.now())


def _url(message: dict[str, Any]) -> str | None:
    markup = message.get("reply_markup") or {}
    urls = [b["url"] for row in markup.get("inline_keyboard", []) for b in row if b.get("url")]
    return urls[0] if urls else None


@pytest.fixture
async def shop(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, clock: ManualClock
) -> AsyncIterator[Shop]:
    await tg.add_user(BEA, "Bea", username="bea", language_code="en")
    await db.init_db(clean_db)
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(BEA, "Bea", "bea", Role.PUBLIC)
    await db.close_db()
    settings = app_settings(clean_db, emulator.url, throttle_rate=100, throttle_burst=100)
    async with running_app(settings) as runner:
        yield Shop(runner, tg, clock)


async def test_subscribe_renew_cancel_expire(shop: Shop) -> None:
    tg, clock = shop.tg, shop.clock
    before = await shop.say(BEA, "/signals")
    assert "See the plans and their prices with /plans" in text(before)

    link = await shop.buy(BEA, "Starter: subscribe (30 days, renews)")
    assert "7,616 ⭐ every 30 days" in text(link)
    paid = await shop.pay(BEA, link)
    assert paid["status"] == "paid", paid
    welcome = await shop.bot_says(BEA, "Welcome to Starter")
    expires = datetime(2030, 1, 31, tzinfo=UTC)
    assert "real-time levels" in text(welcome) or "Unlocked:" in text(welcome)
    assert "1 MetaTrader terminal" in text(welcome)
    assert "renews automatically on" in text(welcome)
    first = paid["successful_payment"]["telegram_payment_charge_id"]
    (sub,) = await StarsSubscription.all()
    assert (sub.first_charge_id, sub.state, sub.expires_at) == (
        first,
        SubscriptionState.ACTIVE,
        expires,
    )
    (payment,) = await Payment.all()
    assert (payment.amount, payment.currency, payment.usd_cents) == (7616, "XTR", 9901)
    access = await shop.access(BEA)
    assert (access.plan, access.ends_at, access.renews) == ("starter", expires, True)
    now_allowed = await shop.say(BEA, "/signals")
    assert text(now_allowed) == "No active signals right now."

    clock.set(expires)
    renewed = await tg.renew_subscription(first)
    assert renewed["status"] == "renewed"
    receipt = await shop.bot_says(BEA, "Receipt: 7,616 ⭐ for Starter, renewed until")
    assert "Welcome" not in text(receipt)
    second_end = expires + timedelta(seconds=2_592_000)
    assert (await shop.access(BEA)).ends_at == second_end
    assert await Payment.filter(is_recurring=True).count() == 1

    await tg.cancel_subscription(BEA, first)
    told = await shop.bot_says(BEA, "will not renew. You keep access until")
    assert "Mar" in text(told) or "2030" in text(told)
    access = await shop.access(BEA)
    assert (access.plan, access.renews) == ("starter", False)
    clock.set(second_end - timedelta(hours=1))
    assert (await shop.access(BEA)).plan == "starter"
    assert (await tg.renew_subscription(first))["status"] == "expired"
    clock.set(second_end + timedelta(hours=1))
    access = await shop.access(BEA)
    assert (access.plan, access.in_grace) == ("starter", True)
    clock.set(second_end + ent.GRACE + timedelta(seconds=1))
    assert (await shop.access(BEA)).plan is None
    after = await shop.say(BEA, "/signals")
    assert "See the plans and their prices with /plans" in text(after)


async def test_a_duplicate_successful_payment_changes_nothing(shop: Shop) -> None:
    invoice = await shop.buy(BEA, "30 days")
    paid = await shop.pay(BEA, invoice)
    assert paid["status"] == "paid", paid
    await shop.bot_says(BEA, "Welcome to Starter")
    message = paid["message"]
    update = {
        "update_id": 10**9,
        "message": {
            "message_id": message["message_id"] + 1000,
            "date": int(shop.clock.now().timestamp()),
            "chat": {"id": BEA, "type": "private", "first_name": "Bea"},
            "from": {"id": BEA, "is_bot": False, "first_name": "Bea", "username": "bea"},
            "successful_payment": paid["successful_payment"],
        },
    }
    bot = shop.app.bot
    await shop.app.dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))
    assert await Payment.all().count() == 1
    assert await Entitlement.all().count() == 1
    (row,) = await Entitlement.all()
    assert row.ends_at - row.starts_at == 30 * DAY
    said = [m for m in await shop.tg.messages(BEA) if "Welcome" in text(m)]
    assert len(said) == 1
    assert len(await audit.recent(action="billing.paid")) == 1


async def _invoice_link(shop: Shop, payload: str, stars: int) -> str:
    return await shop.app.bot.create_invoice_link(
        title="Starter", description="30 days", payload=payload, currency="XTR",
        prices=[LabeledPrice(label="Starter", amount=stars)],
    )  # fmt: skip


async def _user_pk(telegram_id: int) -> int:
    return (await User.get(telegram_id=telegram_id)).id


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered", "This invoice is not valid"),
        ("foreign", "This invoice is not valid"),
        ("stale", "This invoice has expired"),
        ("price", "The price changed since the invoice was made"),
    ],
)
async def test_pre_checkout_refuses_bad_payloads_with_a_reason(
    shop: Shop, case: str, reason: str
) -> None:
    await shop.say(BEA, "/start")
    offer = await catalog.offer("starter")
    assert offer is not None
    now = shop.clock.now()
    user = await _user_pk(BEA)
    issued = now - timedelta(hours=25) if case == "stale" else now
    owner = await _user_pk(OWNER) if case == "foreign" else user
    payload = shop.checkout.encode(
        Payload(Kind.ONCE_30, owner, offer.version_id, 0, False, issued)
    )
    if case == "tampered":
        payload = payload.replace(".", ".0", 1)  # another version id, the same MAC
    stars = 7616 + (1 if case == "price" else 0)
    answer = await shop.tg.pay(BEA, invoice_link=await _invoice_link(shop, payload, stars))
    assert answer["status"] == "declined"
    assert reason in answer["error_message"]
    assert await Payment.all().count() == 0


async def test_a_price_change_between_invoice_and_payment_is_refused(shop: Shop) -> None:
    invoice = await shop.buy(BEA, "30 days")
    assert invoice["invoice"]["total_amount"] == 7616
    changed = catalog.Catalog(
        tuple(
            replace(t, usd_price=Decimal("120.00"), stars_price=9231)
            if t.code == "starter" else t
            for t in catalog.load_catalog(None, Decimal("0.013")).plans
        )
    )  # fmt: skip
    await catalog.sync_catalog(changed)
    answer = await shop.pay(BEA, invoice)
    assert answer["status"] == "declined"
    assert "This plan changed since the invoice was made" in answer["error_message"]
    assert await Payment.all().count() == 0
    fresh = await shop.buy(BEA, "30 days")
    assert fresh["invoice"]["total_amount"] == 9231
    assert (await shop.pay(BEA, fresh))["status"] == "paid"


async def test_a_banned_user_is_refused_at_pre_checkout(shop: Shop) -> None:
    invoice = await shop.buy(BEA, "30 days")
    await shop.say(OWNER, "/ban @bea", "bea")
    answer = await shop.pay(BEA, invoice)
    assert answer["status"] == "declined"
    assert "suspended" in answer["error_message"]
    assert await Payment.all().count() == 0


async def test_owner_refund_once_then_telegrams_echo_is_a_no_op(shop: Shop) -> None:
    paid = await shop.pay(BEA, await shop.buy(BEA, "90 days"))
    assert paid["status"] == "paid" and paid["successful_payment"]["total_amount"] == 3 * 7616
    await shop.bot_says(BEA, "Welcome to Starter")
    assert (await shop.access(BEA)).ends_at == shop.clock.now() + 90 * DAY
    (payment,) = await Payment.all()
    ask = await shop.say(OWNER, f"/refund {payment.id} charged twice", "Refund payment #")
    assert "22,848 XTR" in text(ask)
    await shop.press(OWNER, ask, "Refund")
    await shop.bot_says(OWNER, f"Payment #{payment.id} refunded; periods ended: 1")
    await shop.bot_says(BEA, "were refunded to you")  # Telegram's refunded_payment: no-op
    await until(lambda: _refunded(payment.id))
    assert (await shop.access(BEA)).plan is None
    (entry,) = await audit.recent(action="billing.refunded")
    assert (entry.actor_id, entry.data["reason"]) == (OWNER, "charged twice")
    txs = await shop.tg.star_transactions()
    assert [t.get("receiver") is not None for t in txs] == [False, True]


async def _welcomes(shop: Shop, user: int) -> int:
    return sum("Welcome to" in text(m) for m in await shop.tg.messages(user))


async def _refunded(payment_id: int) -> bool:
    row = await Payment.get(id=payment_id)
    return row.status == PaymentStatus.REFUNDED


async def test_telegrams_own_refund_ends_access(shop: Shop) -> None:
    paid = await shop.pay(BEA, await shop.buy(BEA, "Starter: subscribe (30 days, renews)"))
    await shop.bot_says(BEA, "Welcome to Starter")
    await shop.tg.telegram_refund(paid["successful_payment"]["telegram_payment_charge_id"])
    await shop.bot_says(BEA, "7,616 ⭐ were refunded to you")
    (payment,) = await Payment.all()
    assert payment.status == PaymentStatus.REFUNDED
    assert (await shop.access(BEA)).plan is None
    assert len(await audit.recent(action="billing.refunded")) == 1


async def test_a_failed_renewal_starts_grace_with_a_renew_link(shop: Shop) -> None:
    paid = await shop.pay(BEA, await shop.buy(BEA, "Starter: subscribe (30 days, renews)"))
    await shop.bot_says(BEA, "Welcome to Starter")
    first = paid["successful_payment"]["telegram_payment_charge_id"]
    expires = shop.clock.now() + timedelta(seconds=2_592_000)
    shop.clock.set(expires)
    assert (await shop.tg.renew_subscription(first, fail=True))["status"] == "failed"
    told = await shop.bot_says(BEA, "could not be charged. You keep access until")
    url = _url(told)
    assert url is not None and "Subscribe for 7,616 ⭐" in str(told["reply_markup"])
    access = await shop.access(BEA)
    assert (access.plan, access.in_grace, access.renews) == ("starter", True, False)
    assert (await StarsSubscription.get(first_charge_id=first)).state == SubscriptionState.FAILED
    renewed = await shop.tg.pay(BEA, invoice_link=url)  # one tap: a new subscription
    assert renewed["status"] == "paid"
    await until(lambda: _welcomes(shop, BEA), accept=lambda n: n == 2)
    access = await shop.access(BEA)
    assert (access.plan, access.in_grace, access.renews) == ("starter", False, True)


async def test_an_upgrade_credits_the_unused_days_exactly(shop: Shop) -> None:
    assert (await shop.pay(BEA, await shop.buy(BEA, "30 days")))["status"] == "paid"
    await shop.bot_says(BEA, "Welcome to Starter")
    start = shop.clock.now()
    shop.clock.advance(10 * DAY)
    invoice = await shop.buy_plan(BEA, "starter_copy", Kind.ONCE_30)
    assert invoice["invoice"]["total_amount"] == 9900
    assert (await shop.pay(BEA, invoice))["status"] == "paid"
    # unused 20 of 30 days at $99, credited at $128.70 for 30 days: floor(15.38...) = 15
    told = await shop.bot_says(BEA, "Welcome to Starter Copy")
    assert "Your Starter period ended now" in text(told) and "15 days more" in text(told)
    access = await shop.access(BEA)
    now = start + 10 * DAY
    assert (access.plan, access.ends_at) == ("starter_copy", now + 30 * DAY + 15 * DAY)
    old = await Entitlement.filter(plan_version__plan__code="starter").first()
    assert old is not None and (old.status, old.ends_at) == (EntitlementStatus.ENDED, now)
    (ended,) = [e for e in await audit.recent(action="billing.ended")]
    assert ended.data["reason"] == "upgrade"


async def test_a_downgrade_waits_for_the_renewal(shop: Shop) -> None:
    plans = await shop.say(BEA, "/plans", "Plans")
    await shop.press(BEA, plans, "Starter Copy: subscribe (30 days, renews)")
    link = await shop.tg.wait_for(BEA, lambda m: m["from_bot"] and _url(m) is not None)
    paid = await shop.pay(BEA, link)
    await shop.bot_says(BEA, "Welcome to Starter Copy")
    first = paid["successful_payment"]["telegram_payment_charge_id"]
    expires = shop.clock.now() + timedelta(seconds=2_592_000)
    plans = await shop.say(BEA, "/plans", "Plans")
    await shop.press(BEA, plans, "Starter: subscribe (30 days, renews)")
    ask = await shop.bot_says(BEA, "Switch from Starter Copy to Starter?")
    await shop.press(BEA, ask, "Switch at renewal")
    await shop.bot_says(BEA, "Starter Copy stays until")
    (change,) = await PlanChange.all()
    assert (change.plan_code, change.from_plan, change.effective_at) == (
        "starter",
        "starter_copy",
        expires,
    )
    (sub,) = await shop.tg.subscriptions(BEA)
    assert sub["canceled_by_bot"] and sub["id"] == first
    access = await shop.access(BEA)
    assert (access.plan, access.renews, access.ends_at) == ("starter_copy", False, expires)
    listed = await shop.say(BEA, "/plans", "Plans")
    assert "you switch to Starter" in text(listed)
    assert await Payment.all().count() == 1  # nothing charged for the downgrade

    shop.clock.set(expires)  # the period ends: the scheduled plan's link is sent, once
    links = BotInvoiceLinks(shop.app.bot)
    assert await shop.checkout.deliver_changes(shop.clock.now(), links) == 1
    assert await shop.checkout.deliver_changes(shop.clock.now(), links) == 0
    offer = await shop.bot_says(BEA, "Your Starter plan starts now")
    assert "Subscribe for 7,616 ⭐" in str(offer["reply_markup"])
    assert (await shop.pay(BEA, offer))["status"] == "paid"
    await shop.bot_says(BEA, "Welcome to Starter!")
    access = await shop.access(BEA)
    assert (access.plan, access.renews) == ("starter", True)


async def test_cancel_from_the_bot_keeps_access_and_can_be_undone(shop: Shop) -> None:
    paid = await shop.pay(BEA, await shop.buy(BEA, "Starter: subscribe (30 days, renews)"))
    await shop.bot_says(BEA, "Welcome to Starter")
    first = paid["successful_payment"]["telegram_payment_charge_id"]
    ask = await shop.say(BEA, "/cancel_subscription", "Stop renewing Starter?")
    assert "You keep access until Jan 31" in text(ask)
    await shop.press(BEA, ask, "Stop renewals")
    done = await shop.bot_says(BEA, "will not renew. You keep access until Jan 31")
    (sub,) = await shop.tg.subscriptions(BEA)
    assert sub["canceled_by_bot"] and sub["state"] == "canceled"
    access = await shop.access(BEA)
    assert (access.plan, access.renews) == ("starter", False)
    assert (await StarsSubscription.get(first_charge_id=first)).state == SubscriptionState.CANCELED
    await shop.press(BEA, done, "Keep renewing")
    await shop.bot_says(BEA, "renews again; next renewal on Jan 31")
    (sub,) = await shop.tg.subscriptions(BEA)
    assert not sub["canceled_by_bot"] and sub["state"] == "active"
    assert (await shop.access(BEA)).renews
    again = await shop.say(BEA, "/cancel_subscription", "Stop renewing")
    assert again["reply_markup"]


async def test_payment_updates_are_requested_from_telegram(shop: Shop) -> None:
    used = set(shop.app.dp.resolve_used_update_types())
    assert {"pre_checkout_query", "subscription", "message", "callback_query"} <= used
