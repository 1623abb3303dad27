"""Billing's periodic work on the scheduler leader: downgrades scheduled for renewal are
delivered as the new plan's Stars subscription link when the paid period ends. Thin: the job
calls `Checkout.deliver_changes`; `BotInvoiceLinks` is its Telegram side (createInvoiceLink)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import LabeledPrice

from core import clock
from services.billing.checkout import SUBSCRIPTION_PERIOD, Checkout

log = logging.getLogger(__name__)
PLAN_CHANGES_EVERY_S = 60.0


class BotInvoiceLinks:
    """`checkout.LinkPort` over aiogram's Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def subscription_link(
        self, title: str, description: str, payload: str, stars: int
    ) -> str:
        return await self.bot.create_invoice_link(
            title=title, description=description, payload=payload, currency="XTR",
            prices=[LabeledPrice(label=title, amount=stars)],
            subscription_period=int(SUBSCRIPTION_PERIOD.total_seconds()),
        )  # fmt: skip


def plan_changes_job(bot: Bot, checkout: Checkout) -> Callable[[], Awaitable[None]]:
    """The job sending due downgrades' subscription links."""
    links = BotInvoiceLinks(bot)

    async def plan_changes() -> None:
        sent = await checkout.deliver_changes(clock.now(), links)
        if sent:
            log.info("scheduled plan links sent", extra={"count": sent})

    return plan_changes
