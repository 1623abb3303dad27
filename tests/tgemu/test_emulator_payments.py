"""Telegram Stars: invoices, the pre-checkout round trip, successful payments and refunds."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, Message, PreCheckoutQuery

from tests.tgemu.helpers import USER_ID, polling
from tgemu import EmulatorClient


def shop_dispatcher(paid: list[dict[str, Any]]) -> Dispatcher:
    router = Router()

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        if query.invoice_payload.startswith("sold-out"):
            await query.answer(ok=False, error_message="Sold out, sorry")
        else:
            await query.answer(ok=True)

    @router.message(F.successful_payment)
    async def thanks(message: Message) -> None:
        assert message.successful_payment is not None
        paid.append(message.successful_payment.model_dump())
        await message.answer("Thanks! Your plan is active.")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def send_stars_invoice(bot: Bot, payload: str, amount: int = 250) -> Message:
    return await bot.send_invoice(
        USER_ID,
        title="Pro plan",
        description="30 days of signals",
        payload=payload,
        currency="XTR",
        prices=[LabeledPrice(label="Pro", amount=amount)],
    )


async def test_stars_invoice_pay_and_refund(bot: Bot, client: EmulatorClient) -> None:
    paid: list[dict[str, Any]] = []
    invoice = await send_stars_invoice(bot, "plan:pro:30")
    assert invoice.invoice is not None and invoice.invoice.total_amount == 250
    async with polling(shop_dispatcher(paid), bot):
        result = await client.pay(USER_ID, chat_id=USER_ID, message_id=invoice.message_id)
        thanks = await client.wait_for_bot(USER_ID)
    assert result["ok"] and result["status"] == "paid"
    charge = result["successful_payment"]["telegram_payment_charge_id"]
    assert paid[0]["telegram_payment_charge_id"] == charge
    assert (paid[0]["currency"], paid[0]["total_amount"]) == ("XTR", 250)
    assert paid[0]["invoice_payload"] == "plan:pro:30"
    assert thanks["text"] == "Thanks! Your plan is active."
    assert await bot.refund_star_payment(USER_ID, charge) is True
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(USER_ID, charge)
    payments = await client.payments()
    assert [(p["telegram_payment_charge_id"], p["refunded"]) for p in payments] == [(charge, True)]


async def test_each_payment_gets_a_unique_charge_id(bot: Bot, client: EmulatorClient) -> None:
    invoice = await send_stars_invoice(bot, "plan:pro:30")
    async with polling(shop_dispatcher([]), bot):
        first = await client.pay(USER_ID, chat_id=USER_ID, message_id=invoice.message_id)
        second = await client.pay(USER_ID, chat_id=USER_ID, message_id=invoice.message_id)
    charges = {r["successful_payment"]["telegram_payment_charge_id"] for r in (first, second)}
    assert len(charges) == 2


async def test_declined_pre_checkout_reports_the_bots_message(
    bot: Bot, client: EmulatorClient
) -> None:
    invoice = await send_stars_invoice(bot, "sold-out:1")
    async with polling(shop_dispatcher([]), bot):
        result = await client.pay(USER_ID, chat_id=USER_ID, message_id=invoice.message_id)
    assert result == {
        "ok": False,
        "status": "declined",
        "pre_checkout_query_id": result["pre_checkout_query_id"],
        "error_message": "Sold out, sorry",
        "seq": result["seq"],
    }
    assert await client.payments() == []


async def test_unanswered_pre_checkout_times_out(bot: Bot, client: EmulatorClient) -> None:
    invoice = await send_stars_invoice(bot, "plan:pro:30")
    result = await client.pay(
        USER_ID, chat_id=USER_ID, message_id=invoice.message_id, timeout_s=0.2
    )
    assert (result["ok"], result["status"]) == (False, "timeout")


async def test_subscription_invoice_link(bot: Bot, client: EmulatorClient) -> None:
    link = await bot.create_invoice_link(
        title="Pro monthly",
        description="Renews every 30 days",
        payload="sub:pro",
        currency="XTR",
        prices=[LabeledPrice(label="Pro", amount=300)],
        subscription_period=2592000,
    )
    assert link.startswith("https://t.me/$")
    paid: list[dict[str, Any]] = []
    async with polling(shop_dispatcher(paid), bot):
        result = await client.pay(USER_ID, invoice_link=link)
        await client.wait_for_bot(USER_ID)
    assert result["ok"]
    assert paid[0]["is_recurring"] is True and paid[0]["subscription_expiration_date"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"prices": [LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=2)]},
            "STARS_INVOICE_INVALID",
        ),
        ({"provider_token": "prov:123"}, "PAYMENT_PROVIDER_INVALID"),
        ({"currency": "USD"}, "PAYMENT_PROVIDER_INVALID"),
        ({"prices": [LabeledPrice(label="free", amount=0)]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
    ],
)
async def test_invoice_validation(
    bot: Bot, client: EmulatorClient, overrides: dict[str, Any], error: str
) -> None:
    params: dict[str, Any] = {
        "title": "Pro",
        "description": "Plan",
        "payload": "p",
        "currency": "XTR",
        "prices": [LabeledPrice(label="Pro", amount=5)],
    }
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_invoice(USER_ID, **(params | overrides))
