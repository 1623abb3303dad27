"""`services.miniapp.plan.InvoiceLinks` over aiogram's Bot: createInvoiceLink in Stars."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import LabeledPrice

from services.billing.checkout import STARS, SUBSCRIPTION_PERIOD


class BotInvoiceLinks:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def invoice_link(
        self, title: str, description: str, payload: str, stars: int, *, subscription: bool
    ) -> str:
        period = int(SUBSCRIPTION_PERIOD.total_seconds()) if subscription else None
        return await self.bot.create_invoice_link(
            title=title, description=description, payload=payload, currency=STARS,
            prices=[LabeledPrice(label=title, amount=stars)], subscription_period=period,
        )  # fmt: skip
