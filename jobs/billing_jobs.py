"""Billing's periodic work on the scheduler leader: downgrades scheduled for renewal are
delivered as the new plan's Stars subscription link when the paid period ends; affiliate
commissions past their due date become available; the daily Stars reconciliation against
`getStarTransactions`. Thin: each job calls one service; the Telegram ports are here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.types import LabeledPrice, StarTransaction, TransactionPartnerUser

from core import clock
from jobs.ea_jobs import EaScheduler, _safe
from services.billing import affiliates, reconcile
from services.billing.checkout import SUBSCRIPTION_PERIOD, Checkout
from services.billing.reconcile import StarTx
from services.ops_alerts import OpsAlerts
from services.text.formatting import phrase
from services.text.i18n import msgid as _

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


RELEASE_S = 600.0
RECONCILE_S = 86400.0
RECONCILE_WINDOW = timedelta(days=35)
MISMATCH = _("ops.stars_mismatch")  # {count}, {kinds}, {charges}
FLAGGED = _("ops.commissions_flagged")  # {count}


def _tx(t: StarTransaction) -> StarTx:
    date = t.date if isinstance(t.date, datetime) else datetime.fromtimestamp(t.date, UTC)
    return StarTx(
        id=t.id,
        amount=t.amount,
        date=date,
        incoming=isinstance(t.source, TransactionPartnerUser),
        refund=isinstance(t.receiver, TransactionPartnerUser),
    )


class BotStarLedger:
    """`reconcile.StarLedger` over the Bot API."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def page(self, offset: int, limit: int) -> Sequence[StarTx]:
        answer = await self.bot.get_star_transactions(offset=offset, limit=limit)
        return [_tx(t) for t in answer.transactions]


async def release_job() -> None:
    released = await affiliates.release_due(clock.now())
    if released:
        log.info("affiliate commissions available", extra={"count": released})


async def flagged_alert(alerts: OpsAlerts) -> int:
    """Tell the owners how many flagged commissions wait for their review (at most once per
    alert interval while any wait)."""
    waiting = len(await affiliates.flagged())
    if waiting:
        await alerts.alert("affiliate-flagged", phrase(FLAGGED, count=waiting))
    return waiting


async def reconcile_stars(bot: Bot, alerts: OpsAlerts) -> list[reconcile.Mismatch]:
    now = clock.now()
    found = await reconcile.reconcile(BotStarLedger(bot), now - RECONCILE_WINDOW, now)
    if found:
        kinds = ", ".join(sorted({m.kind for m in found}))
        charges = ", ".join(m.charge_id for m in found[:5])
        await alerts.alert(
            f"stars-reconcile:{kinds}",
            phrase(MISMATCH, count=len(found), kinds=kinds, charges=charges),
        )
    return found


def add_billing_jobs(scheduler: EaScheduler, bot: Bot, alerts: OpsAlerts) -> None:
    """Register the billing jobs on the leader's scheduler (first runs now)."""

    async def stars_reconcile_job() -> None:
        await reconcile_stars(bot, alerts)

    async def release_commissions_job() -> None:
        await release_job()
        await flagged_alert(alerts)

    now = clock.now()
    for job, seconds in ((release_commissions_job, RELEASE_S), (stars_reconcile_job, RECONCILE_S)):
        scheduler.add_job(
            _safe(job, scheduler.running_jobs), "interval", seconds=seconds, id=job.__name__,
            next_run_time=now,
        )  # fmt: skip
