"""Free trials: `/trial [plan]`. A trial is the plan's `trial_days` (catalog file or
/plans_admin), once per Telegram account whatever the plan (`trial_uses.telegram_id` is UNIQUE:
two concurrent starts cannot both win), for users without a current plan, of a plan they could
buy in the bot (`storefront.listed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import bus
from models.billing import TrialUse
from services.billing import catalog, storefront
from services.billing import entitlements as billing
from services.billing.catalog import Offer
from services.billing.entitlements import EntitlementInfo
from services.errors import InvalidInput, NotFound
from services.events import UserChanged
from services.users.profiles import UserInfo


@dataclass(frozen=True, slots=True)
class TrialStarted:
    offer: Offer
    entitlement: EntitlementInfo


async def available(user: UserInfo, now: datetime) -> list[Offer]:
    """The plans `user` may try now (empty: trial used, a current plan, or none offers one)."""
    if await TrialUse.filter(telegram_id=user.telegram_id).exists():
        return []
    access = await billing.access_for(user.id, now, role=user.role)
    if access.paid and not access.complimentary:
        return []
    view = await storefront.plans_for(user, now)
    return [o for o in view.offers if o.terms.trial_days > 0]


async def start(user: UserInfo, plan_text: str, now: datetime) -> TrialStarted:
    """Start the trial of `plan_text` for `user` (refusals say why); publishes UserChanged."""
    code = plan_text.strip().lower()
    if await catalog.offer(code) is None:
        known = ", ".join(o.code for o in await catalog.offers())
        raise NotFound("error.plan_unknown", plan=plan_text[:32], known=known)
    if await TrialUse.filter(telegram_id=user.telegram_id).exists():
        raise InvalidInput("error.trial_used")
    access = await billing.access_for(user.id, now, role=user.role)
    if access.paid and not access.complimentary:
        raise InvalidInput("error.trial_has_plan")
    offer = next((o for o in await available(user, now) if o.code == code), None)
    if offer is None:
        raise InvalidInput("error.trial_unavailable", plan=code)
    granted = await billing.start_trial(user.id, user.telegram_id, code, now)
    bus.publish(UserChanged(user.telegram_id))
    return TrialStarted(offer, granted)
