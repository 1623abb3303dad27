"""The Plan and Settings pages' routes: the plan and its changes (Stars only), notification
preferences per kind. Thin: each calls `services.miniapp.plan` or `services.outbox.preferences`."""

from __future__ import annotations

from core import clock
from core.http.problems import ProblemError
from models.notifications import DeliveryMode
from services.billing.checkout import Kind
from services.miniapp import plan
from services.miniapp.plan import PlanBilling
from services.outbox import preferences
from services.outbox.preferences import Category
from services.text.i18n import translator
from services.users.profiles import UserInfo
from webapp.miniapp.api import CONFIG_KEY, Api, Call
from webapp.miniapp.routes import plan_out
from webapp.miniapp.schemas_plan import (
    CheckoutIn,
    FeatureOut,
    InvoiceOut,
    NotificationsOut,
    NotificationsPatch,
    OfferOut,
    PlanIn,
    PlanPageOut,
    ScheduledOut,
)

api = Api()
KINDS = {"subscription": Kind.SUBSCRIPTION, "once_30": Kind.ONCE_30, "once_90": Kind.ONCE_90}
KIND_NAMES = {kind: name for name, kind in KINDS.items()}


def _billing(call: Call) -> PlanBilling:
    billing = call.request.app[CONFIG_KEY].billing
    if billing is None:  # an assembly without Telegram payments (never the bot's own)
        raise ProblemError(503, "Service Unavailable", "payments are not available here")
    return billing


async def _page(user: UserInfo) -> PlanPageOut:
    found = await plan.state(user, clock.now())
    language = user.language
    t = translator(language)
    scheduled = found.scheduled
    return PlanPageOut(
        current=plan_out(found.access, language),
        offers=[
            OfferOut(
                code=o.code, name=o.name, stars_30=o.stars_30, stars_90=o.stars_90,
                features=[FeatureOut(code=f.value, name=t(f"feature.{f.value}"))
                          for f in o.features],
                terminal_limit=o.terminal_limit, action=o.action,  # type: ignore[arg-type]
            )
            for o in found.offers
        ],
        scheduled=None if scheduled is None else ScheduledOut(
            plan=scheduled.plan, plan_name=plan.plan_label(language, scheduled.plan),
            current=scheduled.current, effective_at=scheduled.effective_at,
        ),
        can_cancel=found.can_cancel, can_reenable=found.can_reenable,
    )  # fmt: skip


@api.get("/plan", response=PlanPageOut, summary="The user's plan, renewal and the plans to buy")
async def get_plan(call: Call) -> PlanPageOut:
    return await _page(call.me)


@api.post(
    "/plan/checkout", response=InvoiceOut, body=CheckoutIn, errors=(404, 503),
    summary="A Telegram Stars invoice link for a plan, for Telegram.WebApp.openInvoice",
)  # fmt: skip
async def plan_checkout(call: Call) -> InvoiceOut:
    kind = KINDS[call.body.kind]
    made = await plan.invoice(call.me, call.body.plan, kind, clock.now(), _billing(call))
    return InvoiceOut(
        url=made.url, plan=made.plan, kind=KIND_NAMES[made.kind],  # type: ignore[arg-type]
        stars=made.stars, days=made.days, subscription=made.kind is Kind.SUBSCRIPTION,
    )  # fmt: skip


@api.post(
    "/plan/downgrade", response=PlanPageOut, body=PlanIn, errors=(404, 503),
    summary="Switch to a cheaper plan when the current paid period ends",
)  # fmt: skip
async def plan_downgrade(call: Call) -> PlanPageOut:
    await plan.downgrade(call.me, call.body.plan, clock.now(), _billing(call))
    return await _page(call.me)


@api.post(
    "/plan/cancel", response=PlanPageOut, errors=(404, 503),
    summary="Stop the Stars subscription's renewal (access lasts to the end of the period)",
)  # fmt: skip
async def plan_cancel(call: Call) -> PlanPageOut:
    await plan.cancel(call.me, clock.now(), _billing(call))
    return await _page(call.me)


@api.post(
    "/plan/reenable", response=PlanPageOut, errors=(404, 503),
    summary="Let a canceled Stars subscription renew again",
)  # fmt: skip
async def plan_reenable(call: Call) -> PlanPageOut:
    await plan.reenable(call.me, clock.now(), _billing(call))
    return await _page(call.me)


def _modes(found: dict[Category, DeliveryMode]) -> NotificationsOut:
    return NotificationsOut(**{c.value: m.value for c, m in found.items()})


@api.get(
    "/settings/notifications", response=NotificationsOut,
    summary="Notification preferences per kind: on, silent (no sound) or off",
)  # fmt: skip
async def get_notifications(call: Call) -> NotificationsOut:
    return _modes(await preferences.get(call.me.telegram_id))


@api.patch(
    "/settings/notifications", response=NotificationsOut, body=NotificationsPatch,
    summary="Change notification preferences (the kinds named; the others stay)",
)  # fmt: skip
async def patch_notifications(call: Call) -> NotificationsOut:
    changes = {
        Category(name): DeliveryMode(mode)
        for name, mode in call.body.model_dump(exclude_none=True).items()
    }
    return _modes(await preferences.set_modes(call.me.telegram_id, changes))
