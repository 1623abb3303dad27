"""Telegram Stars subscriptions and transactions: the updates the bot gets, read raw from
getUpdates and parsed by aiogram's own `Update` (no field it does not know), and the methods'
answers and refusals through aiogram's real Bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, TelegramObject, Update

from core.clock import ManualClock
from tests.tgemu.helpers import OTHER_ID, TOKEN, USER_ID, make_bot
from tgemu import Emulator, EmulatorClient, EmulatorControlError, EmulatorServer

MONTH_S = 2592000


def assert_known_fields(obj: object, where: str = "update") -> None:
    """Every field of `obj` (recursively) is one aiogram declares: the shape is Telegram's."""
    if isinstance(obj, TelegramObject):
        assert not obj.model_extra, f"{where}: fields aiogram does not know: {obj.model_extra}"
        for name in type(obj).model_fields:
            assert_known_fields(getattr(obj, name), f"{where}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            assert_known_fields(item, f"{where}[{i}]")


class RawUpdates:
    """getUpdates in raw JSON, one update at a time, each validated by aiogram's `Update`."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.url = f"{base_url}/bot{TOKEN}/getUpdates"
        self.session = session
        self.offset = 0
        self.allowed: list[str] | None = None

    async def batch(self, timeout: int = 20) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"offset": self.offset, "timeout": timeout}
        if self.allowed is not None:
            body["allowed_updates"] = self.allowed
        async with self.session.post(self.url, json=body) as resp:
            answer = await resp.json()
        assert answer["ok"], answer
        updates: list[dict[str, Any]] = answer["result"]
        for raw in updates:
            assert_known_fields(Update.model_validate(raw))
            self.offset = raw["update_id"] + 1
        return updates

    async def next(self, kind: str) -> dict[str, Any]:
        """The next update, which must be of `kind`; its payload."""
        updates = await self.batch()
        assert updates, f"no update within the long poll (wanted {kind})"
        first = updates[0]
        self.offset = first["update_id"] + 1
        assert kind in first, f"wanted {kind}, got {first}"
        return dict(first[kind])

    async def none_pending(self) -> None:
        assert await self.batch(timeout=0) == []


@pytest.fixture
async def stars_server(clock: ManualClock) -> AsyncIterator[EmulatorServer]:
    emulator = Emulator(TOKEN, clock=lambda: clock.now().timestamp())
    async with EmulatorServer(TOKEN, emulator=emulator) as running:
        yield running


@pytest.fixture
async def control(stars_server: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with stars_server.client() as client:
        await client.add_user(USER_ID, "Sam", username="sam_trades")
        await client.add_user(OTHER_ID, "Nico", language_code="es")
        yield client


@pytest.fixture
async def stars_bot(stars_server: EmulatorServer) -> AsyncIterator[Bot]:
    telegram_bot = make_bot(stars_server.url)
    yield telegram_bot
    await telegram_bot.session.close()


@pytest.fixture
async def raw(stars_server: EmulatorServer) -> AsyncIterator[RawUpdates]:
    async with aiohttp.ClientSession() as session:
        yield RawUpdates(stars_server.url, session)


async def subscription_link(bot: Bot, amount: int = 300, payload: str = "sub:pro") -> str:
    return await bot.create_invoice_link(
        title="Pro monthly",
        description="Renews every 30 days",
        payload=payload,
        currency="XTR",
        prices=[LabeledPrice(label="Pro", amount=amount)],
        subscription_period=MONTH_S,
    )


async def pay_answered(
    bot: Bot, control: EmulatorClient, raw: RawUpdates, user_id: int = USER_ID, **invoice: Any
) -> dict[str, Any]:
    """The user pays; the bot answers the pre-checkout query yes; the successful_payment."""
    paying = asyncio.create_task(control.pay(user_id, **invoice))
    query = await raw.next("pre_checkout_query")
    assert await bot.answer_pre_checkout_query(query["id"], ok=True)
    result = await paying
    assert result["ok"], result
    message = await raw.next("message")
    assert message["successful_payment"] == result["successful_payment"]
    return dict(message["successful_payment"])


async def subscribe(bot: Bot, control: EmulatorClient, raw: RawUpdates) -> dict[str, Any]:
    return await pay_answered(bot, control, raw, invoice_link=await subscription_link(bot))


async def test_paying_a_subscription_link_opens_a_subscription(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    paid = await subscribe(stars_bot, control, raw)
    start = int(clock.now().timestamp())
    assert paid == {
        "currency": "XTR",
        "total_amount": 300,
        "invoice_payload": "sub:pro",
        "telegram_payment_charge_id": paid["telegram_payment_charge_id"],
        "provider_payment_charge_id": "",
        "subscription_expiration_date": start + MONTH_S,
        "is_recurring": True,
        "is_first_recurring": True,
    }
    [sub] = await control.subscriptions(USER_ID)
    assert sub == {
        "id": paid["telegram_payment_charge_id"],
        "user_id": USER_ID,
        "invoice_payload": "sub:pro",
        "title": "Pro monthly",
        "currency": "XTR",
        "amount": 300,
        "subscription_period": MONTH_S,
        "subscription_expiration_date": start + MONTH_S,
        "state": "active",
        "canceled_by_user": False,
        "canceled_by_bot": False,
        "charges": [paid["telegram_payment_charge_id"]],
    }
    assert await control.subscriptions(OTHER_ID) == []


async def test_renewal_is_a_new_recurring_charge_without_pre_checkout(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    first = await subscribe(stars_bot, control, raw)
    clock.advance(MONTH_S)
    renewed = await control.renew_subscription(first["telegram_payment_charge_id"])
    assert renewed["status"] == "renewed"
    payment = await raw.next("message")  # straight away: no pre_checkout_query first
    assert payment["from"]["id"] == USER_ID and payment["chat"]["id"] == USER_ID
    second = payment["successful_payment"]
    assert second == renewed["successful_payment"]
    assert second["telegram_payment_charge_id"] != first["telegram_payment_charge_id"]
    assert (second["is_recurring"], second["is_first_recurring"]) == (True, False)
    assert (
        second["subscription_expiration_date"] == first["subscription_expiration_date"] + MONTH_S
    )
    assert (second["total_amount"], second["invoice_payload"]) == (300, "sub:pro")
    # the renewal's own charge id names the subscription too
    again = await control.renew_subscription(second["telegram_payment_charge_id"])
    assert again["subscription"]["subscription_expiration_date"] == (
        first["subscription_expiration_date"] + 2 * MONTH_S
    )
    assert len(again["subscription"]["charges"]) == 3


async def test_failed_renewal_sends_a_failed_subscription_update_then_may_succeed(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    first = await subscribe(stars_bot, control, raw)
    charge_id = first["telegram_payment_charge_id"]
    clock.advance(MONTH_S)
    failed = await control.renew_subscription(charge_id, fail=True)
    assert (failed["status"], failed["subscription"]["state"]) == ("failed", "failed")
    update = await raw.next("subscription")
    assert update == {
        "user": {"id": USER_ID, "is_bot": False, "first_name": "Sam", "username": "sam_trades"}
        | {"language_code": "en"},
        "invoice_payload": "sub:pro",
        "state": "failed",
    }
    assert [p["telegram_payment_charge_id"] for p in await control.payments()] == [charge_id]
    clock.advance(3600)  # the user tops up an hour later: the new period starts now
    retried = await control.renew_subscription(charge_id)
    assert retried["subscription"]["state"] == "active"
    expiration = retried["successful_payment"]["subscription_expiration_date"]
    assert expiration == int(clock.now().timestamp()) + MONTH_S
    await raw.next("message")


async def test_user_cancels_then_re_enables_then_cancels_and_it_expires(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    canceled = await control.cancel_subscription(USER_ID, charge_id)
    assert canceled["subscription"]["state"] == "canceled"
    assert canceled["subscription"]["canceled_by_user"] is True
    assert (await raw.next("subscription"))["state"] == "canceled"
    with pytest.raises(EmulatorControlError) as twice:
        await control.cancel_subscription(USER_ID, charge_id)
    assert twice.value.status == 409
    await control.cancel_subscription(USER_ID, charge_id, canceled=False)
    assert (await raw.next("subscription"))["state"] == "active"
    await control.cancel_subscription(USER_ID, charge_id)
    assert (await raw.next("subscription"))["state"] == "canceled"
    clock.advance(MONTH_S)
    assert (await control.subscriptions(USER_ID))[0]["state"] == "expired"
    ended = await control.renew_subscription(charge_id)
    assert (ended["status"], ended["subscription"]["state"]) == ("expired", "expired")
    await raw.none_pending()  # no payment, no update: the bot knew the expiration date
    assert len(await control.payments()) == 1
    with pytest.raises(EmulatorControlError) as late:
        await control.cancel_subscription(USER_ID, charge_id, canceled=False)
    assert late.value.status == 409


async def test_a_user_cannot_cancel_someone_elses_subscription(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    with pytest.raises(EmulatorControlError) as refused:
        await control.cancel_subscription(OTHER_ID, charge_id)
    assert refused.value.status == 403


async def test_bot_cancel_sends_no_update_blocks_the_user_and_stops_renewal(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    assert await stars_bot.edit_user_star_subscription(USER_ID, charge_id, is_canceled=True)
    [sub] = await control.subscriptions(USER_ID)
    assert (sub["state"], sub["canceled_by_bot"], sub["canceled_by_user"]) == (
        "canceled",
        True,
        False,
    )
    await raw.none_pending()
    with pytest.raises(EmulatorControlError) as blocked:
        await control.cancel_subscription(USER_ID, charge_id, canceled=False)
    assert blocked.value.status == 409
    assert await stars_bot.edit_user_star_subscription(USER_ID, charge_id, is_canceled=False)
    assert (await control.subscriptions(USER_ID))[0]["state"] == "active"
    await raw.none_pending()
    assert await stars_bot.edit_user_star_subscription(USER_ID, charge_id, is_canceled=True)
    clock.advance(MONTH_S)
    assert (await control.renew_subscription(charge_id))["status"] == "expired"
    await raw.none_pending()


async def test_bot_cancel_then_allow_again_and_it_renews(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    await stars_bot.edit_user_star_subscription(USER_ID, charge_id, is_canceled=True)
    await stars_bot.edit_user_star_subscription(USER_ID, charge_id, is_canceled=False)
    assert (await control.renew_subscription(charge_id))["status"] == "renewed"
    assert (await raw.next("message"))["successful_payment"]["is_first_recurring"] is False


@pytest.mark.parametrize("case", ["unknown", "other_user", "one_off"])
async def test_edit_user_star_subscription_refusals(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, case: str
) -> None:
    sub_charge = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    invoice = await stars_bot.send_invoice(
        USER_ID,
        "Pro 30 days",
        "One period",
        "plan:pro:30",
        "XTR",
        [LabeledPrice(label="P", amount=5)],
    )
    one_off = await pay_answered(
        stars_bot, control, raw, chat_id=USER_ID, message_id=invoice.message_id
    )
    user_id, charge_id, error = {
        "unknown": (USER_ID, "stx-no-such-charge", "CHARGE_NOT_FOUND"),
        "other_user": (OTHER_ID, sub_charge, "CHARGE_NOT_FOUND"),
        "one_off": (USER_ID, one_off["telegram_payment_charge_id"], "SUBSCRIPTION_NOT_FOUND"),
    }[case]
    with pytest.raises(TelegramBadRequest, match=error):
        await stars_bot.edit_user_star_subscription(user_id, charge_id, is_canceled=True)
    assert (await control.subscriptions(USER_ID))[0]["canceled_by_bot"] is False


async def test_star_transactions_list_payments_and_refunds_in_chronological_order(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates, clock: ManualClock
) -> None:
    first = await subscribe(stars_bot, control, raw)
    clock.advance(60)
    invoice = await stars_bot.send_invoice(
        USER_ID,
        "Pro 30 days",
        "One period",
        "plan:pro:30",
        "XTR",
        [LabeledPrice(label="P", amount=5)],
    )
    one_off = await pay_answered(
        stars_bot, control, raw, chat_id=USER_ID, message_id=invoice.message_id
    )
    clock.advance(60)
    assert await stars_bot.refund_star_payment(USER_ID, one_off["telegram_payment_charge_id"])
    refunded = await raw.next("message")
    assert (
        refunded["refunded_payment"]["telegram_payment_charge_id"]
        == (one_off["telegram_payment_charge_id"])
    )
    answer = await stars_bot.get_star_transactions()
    assert_known_fields(answer, "StarTransactions")
    raw_list = await control.star_transactions()
    t0 = int(clock.now().timestamp()) - 120
    user = {"id": USER_ID, "is_bot": False, "first_name": "Sam", "username": "sam_trades"}
    user["language_code"] = "en"
    partner = {"type": "user", "transaction_type": "invoice_payment", "user": user}
    assert raw_list == [
        {
            "id": first["telegram_payment_charge_id"],
            "amount": 300,
            "date": t0,
            "source": partner | {"invoice_payload": "sub:pro", "subscription_period": MONTH_S},
        },
        {
            "id": one_off["telegram_payment_charge_id"],
            "amount": 5,
            "date": t0 + 60,
            "source": partner | {"invoice_payload": "plan:pro:30"},
        },
        {
            "id": one_off["telegram_payment_charge_id"],
            "amount": 5,
            "date": t0 + 120,
            "receiver": partner | {"invoice_payload": "plan:pro:30"},
        },
    ]
    assert [(t.id, t.amount, t.source is None) for t in answer.transactions] == [
        (first["telegram_payment_charge_id"], 300, False),
        (one_off["telegram_payment_charge_id"], 5, False),
        (one_off["telegram_payment_charge_id"], 5, True),
    ]
    page = await stars_bot.get_star_transactions(offset=1, limit=1)
    assert [t.amount for t in page.transactions] == [5]
    assert page.transactions[0].source is not None
    assert (await stars_bot.get_star_transactions(offset=3)).transactions == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_star_transactions_paging_refusals(
    stars_bot: Bot, control: EmulatorClient, params: dict[str, int], error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        await stars_bot.get_star_transactions(**params)


async def test_telegram_refund_reaches_the_bot_as_refunded_payment(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    paid = await subscribe(stars_bot, control, raw)
    charge_id = paid["telegram_payment_charge_id"]
    answer = await control.telegram_refund(charge_id)
    message = await raw.next("message")
    assert message["from"]["id"] == USER_ID
    assert (
        message["refunded_payment"]
        == answer["refunded_payment"]
        == {
            "currency": "XTR",
            "total_amount": 300,
            "invoice_payload": "sub:pro",
            "telegram_payment_charge_id": charge_id,
        }
    )
    with pytest.raises(EmulatorControlError) as twice:
        await control.telegram_refund(charge_id)
    assert twice.value.status == 409
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await stars_bot.refund_star_payment(USER_ID, charge_id)
    assert [t.get("receiver") is not None for t in await control.star_transactions()] == [
        False,
        True,
    ]
    with pytest.raises(EmulatorControlError) as unknown:
        await control.telegram_refund("stx-unknown")
    assert unknown.value.status == 404


async def test_bot_refund_of_someone_elses_charge_is_refused(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await stars_bot.refund_star_payment(OTHER_ID, charge_id)


async def test_subscription_is_in_the_default_update_set_and_can_be_filtered_out(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    charge_id = (await subscribe(stars_bot, control, raw))["telegram_payment_charge_id"]
    raw.allowed = []  # "an empty list: all update types except chat_member, message_reaction..."
    assert await raw.batch(timeout=0) == []
    delivered = await control.cancel_subscription(USER_ID, charge_id)
    assert delivered["update_id"] is not None
    assert (await raw.next("subscription"))["state"] == "canceled"
    raw.allowed = ["message", "pre_checkout_query"]
    assert await raw.batch(timeout=0) == []
    filtered = await control.cancel_subscription(USER_ID, charge_id, canceled=False)
    assert filtered["update_id"] is None
    assert await raw.batch(timeout=0) == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"subscription_period": 86400}, "SUBSCRIPTION_PERIOD_INVALID"),
        ({"subscription_period": MONTH_S * 2}, "SUBSCRIPTION_PERIOD_INVALID"),
        (
            {"currency": "USD", "provider_token": "prov:1", "subscription_period": MONTH_S},
            "SUBSCRIPTION_PERIOD_INVALID",
        ),
        (
            {"prices": [LabeledPrice(label="Pro", amount=10001)], "subscription_period": MONTH_S},
            "SUBSCRIPTION_PRICE_INVALID",
        ),
        (
            {
                "prices": [LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=2)],
                "subscription_period": MONTH_S,
            },
            "STARS_INVOICE_INVALID",
        ),
        ({"provider_token": "prov:1"}, "PAYMENT_PROVIDER_INVALID"),
    ],
)
async def test_create_invoice_link_refusals(
    stars_bot: Bot, control: EmulatorClient, overrides: dict[str, Any], error: str
) -> None:
    params: dict[str, Any] = {
        "title": "Pro monthly",
        "description": "Renews every 30 days",
        "payload": "sub:pro",
        "currency": "XTR",
        "prices": [LabeledPrice(label="Pro", amount=300)],
    }
    with pytest.raises(TelegramBadRequest, match=error):
        await stars_bot.create_invoice_link(**(params | overrides))


async def test_the_largest_subscription_price_is_accepted(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    link = await subscription_link(stars_bot, amount=10000)
    paid = await pay_answered(stars_bot, control, raw, invoice_link=link)
    assert paid["total_amount"] == 10000


async def test_a_pre_checkout_answer_after_the_deadline_is_too_late(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    link = await subscription_link(stars_bot)
    result = await control.pay(USER_ID, invoice_link=link, timeout_s=0.05)
    assert (result["ok"], result["status"]) == (False, "timeout")
    query = await raw.next("pre_checkout_query")
    assert query["id"] == result["pre_checkout_query_id"]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await stars_bot.answer_pre_checkout_query(query["id"], ok=True)
    assert await control.payments() == []
    assert await control.subscriptions() == []
    await raw.none_pending()


async def test_unknown_charges_in_control_actions_are_404(control: EmulatorClient) -> None:
    with pytest.raises(EmulatorControlError) as unknown:
        await control.renew_subscription("stx-unknown")
    assert unknown.value.status == 404


async def test_reset_forgets_subscriptions_and_transactions(
    stars_bot: Bot, control: EmulatorClient, raw: RawUpdates
) -> None:
    await subscribe(stars_bot, control, raw)
    await control.reset()
    assert await control.subscriptions() == []
    assert await control.star_transactions() == []
    assert (await stars_bot.get_star_transactions()).transactions == []
