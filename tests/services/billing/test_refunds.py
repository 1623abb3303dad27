"""The owner's refund dispatch: a card payment goes to Stripe (through the assembly's
StripeBilling, against the fake Stripe), with the same effects as the Stars path."""

from __future__ import annotations

from datetime import timedelta

from core import clock as process_clock
from models.billing import Payment
from models.users import Role
from services import audit
from services.billing import entitlements as ent
from services.billing import refunds, stripe_ledger
from tests.services.billing.test_stripe_billing import Stripe, stripe_fake  # noqa: F401
from tests.services.terminals import helpers as th


class NoTelegram:
    async def refund(self, telegram_id: int, charge_id: str) -> None:
        raise AssertionError  # a card payment is never refunded through Telegram


async def test_refund_of_a_card_payment_goes_through_stripe(
    stripe_fake: Stripe,  # noqa: F811
    clock: process_clock.ManualClock,
) -> None:
    sam = await th.user(5, Role.PUBLIC, "Sam")
    session = await stripe_fake.buy()
    await stripe_fake.deliver_all(stripe_fake.emu.events)
    code = (await stripe_fake.billing.success(session["id"], clock.now())).link_code
    assert code
    await stripe_ledger.link(sam.id, 5, code, clock.now())
    payment = await Payment.get()
    clock.advance(timedelta(days=1))
    done, view = await refunds.refund(
        payment.provider_charge_id, clock.now(), actor_id=1, reason="asked",
        port=NoTelegram(), stripe=stripe_fake.billing,
    )  # fmt: skip
    assert done.created and view.id == payment.id and view.provider.value == "stripe"
    (refund,) = stripe_fake.emu.store.all("refunds")
    assert refund["metadata"] == {"payment_id": str(payment.id)}
    assert await ent.access_for(sam.id, clock.now()) == ent.FREE
    (entry,) = await audit.recent(action="billing.refunded")
    assert (entry.actor_id, entry.data["reason"]) == (1, "asked")
