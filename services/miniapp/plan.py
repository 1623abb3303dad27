"""The Mini App's Plan page: the user's plan and renewal, the plans they may buy, and buying,
downgrading, cancelling and re-enabling, through the same billing services as the chat's
/plans, /cancel_subscription and the scheduled-change job.

Buying is Telegram Stars only (Telegram's rule for digital goods in a Mini App): the server
makes an invoice link with `createInvoiceLink` (a 30-day subscription link for a subscription,
a one-off link for 30 or 90 days) from `Checkout.prepare`'s terms, the page opens it with
`Telegram.WebApp.openInvoice`, and the plan shown afterwards is our own state after Telegram's
`successful_payment` reached the bot (`Checkout.paid`), never the page's `invoiceClosed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from models.billing import StarsSubscription, SubscriptionState
from services.billing import changes, storefront
from services.billing.catalog import Feature
from services.billing.changes import Scheduled
from services.billing.checkout import Checkout, Kind, StarsPort, plan_label
from services.billing.entitlements import Access
from services.errors import InvalidInput
from services.text.i18n import msgid as _
from services.text.i18n import translator
from services.users.profiles import UserInfo

TITLE_MAX, DESCRIPTION_MAX = 32, 255  # createInvoiceLink's limits


class InvoiceLinks(Protocol):
    """createInvoiceLink in Telegram Stars (the web layer implements it with aiogram)."""

    async def invoice_link(
        self, title: str, description: str, payload: str, stars: int, *, subscription: bool
    ) -> str:
        """The t.me/$... link Telegram made; `subscription`: a 30-day subscription link."""


@dataclass(frozen=True, slots=True)
class PlanBilling:
    """What the Plan page needs of Telegram and the checkout (the assembly builds it)."""

    checkout: Checkout
    links: InvoiceLinks
    stars: StarsPort


@dataclass(frozen=True, slots=True)
class OfferItem:
    code: str
    name: str
    stars_30: int
    stars_90: int
    features: tuple[Feature, ...]
    terminal_limit: int
    action: str  # "current" | "upgrade" | "downgrade" | "buy"


@dataclass(frozen=True, slots=True)
class PlanState:
    access: Access
    offers: tuple[OfferItem, ...]
    scheduled: Scheduled | None
    can_cancel: bool  # a Stars subscription renews: it can be stopped here
    can_reenable: bool  # a canceled Stars subscription can renew again


@dataclass(frozen=True, slots=True)
class InvoiceLink:
    url: str
    plan: str
    kind: Kind
    stars: int
    days: int


def _action(code: str, access: Access, downgrade: bool) -> str:
    """What choosing the plan does: nothing (the plan the user pays for), a downgrade at
    renewal, an upgrade (a dearer plan while one is paid: `changes.apply_upgrade` credits the
    rest), or a purchase."""
    if code == access.plan and not access.complimentary:
        return "current"
    if downgrade:
        return "downgrade"
    return "upgrade" if access.paid and not access.complimentary else "buy"


async def state(user: UserInfo, now: datetime) -> PlanState:
    """The user's plan, renewal and the plans they may buy (as /plans lists them)."""
    view = await storefront.plans_for(user, now)
    access = view.access
    order = tuple(Feature)
    items = []
    for offer in view.offers:
        terms = offer.terms
        stars = terms.stars_price or 0
        items.append(
            OfferItem(
                code=offer.code, name=plan_label(user.language, offer.code),
                stars_30=stars, stars_90=stars * Kind.ONCE_90.periods,
                features=tuple(f for f in order if f in terms.features),
                terminal_limit=terms.terminal_limit,
                action=_action(offer.code, access, await changes.is_downgrade(access, offer.code)),
            )
        )  # fmt: skip
    rows = await StarsSubscription.filter(user_id=user.id, expires_at__gt=now).values_list(
        "state", flat=True
    )
    subs = {str(s) for s in rows}
    return PlanState(
        access=access, offers=tuple(items), scheduled=await changes.scheduled(user.id),
        can_cancel=SubscriptionState.ACTIVE.value in subs,
        can_reenable=SubscriptionState.CANCELED.value in subs,
    )  # fmt: skip


def invoice_text(language: str | None, plan: str, kind: Kind) -> tuple[str, str]:
    """The invoice's title and description in the buyer's language (as the chat's)."""
    t = translator(language)
    name = plan_label(language, plan)
    if kind is Kind.SUBSCRIPTION:
        title = t(_("checkout.title_subscription")).format(name=name)
        description = t(_("checkout.desc_subscription"))
    else:
        title = t(_("checkout.title_once")).format(name=name, days=kind.days)
        description = t(_("checkout.desc_once")).format(days=kind.days)
    return title[:TITLE_MAX], description[:DESCRIPTION_MAX]


async def invoice(
    user: UserInfo, plan_code: str, kind: Kind, now: datetime, billing: PlanBilling
) -> InvoiceLink:
    """A Stars invoice link for `plan_code` as `kind` (the terms `Checkout.prepare` gives the
    chat's Buy buttons). A cheaper plan while a dearer one renews is a downgrade at renewal
    (`downgrade`), never a second charge now."""
    access = user.access
    if access is not None and await changes.is_downgrade(access, plan_code):
        raise InvalidInput(_("miniapp.plan_use_downgrade"), plan=plan_code[:32])
    terms = await billing.checkout.prepare(user, plan_code, kind, now)
    title, description = invoice_text(user.language, terms.plan, kind)
    url = await billing.links.invoice_link(
        title, description, terms.payload, terms.stars, subscription=kind is Kind.SUBSCRIPTION
    )
    return InvoiceLink(url, terms.plan, kind, terms.stars, terms.days)


async def downgrade(
    user: UserInfo, plan_code: str, now: datetime, billing: PlanBilling
) -> Scheduled:
    """Switch to the cheaper plan at renewal (the chat's downgrade confirm button)."""
    return await changes.schedule_downgrade(user, plan_code, now, billing.stars)


async def cancel(user: UserInfo, now: datetime, billing: PlanBilling) -> None:
    """Stop the renewing Stars subscription (access continues to the end of the period)."""
    await billing.checkout.cancel(user, now, billing.stars)


async def reenable(user: UserInfo, now: datetime, billing: PlanBilling) -> None:
    """Let a canceled Stars subscription renew again."""
    await billing.checkout.reenable(user, now, billing.stars)
