"""What the bot shows and does around plans: the catalog as one user may see it (/plans) and the
admins' complimentary grants (/grant).

Listed for a user: plans sold for Stars (a plan over Telegram's cap has no Stars price and is
not offered in the bot: card payments live on the web page only, and the bot never points
there), not hidden, not behind an access code, and `newcomers_only` plans only to users who
never paid. The user's current plan is always shown, whatever its flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.billing import Entitlement, EntitlementSource
from services.billing import catalog
from services.billing import entitlements as billing
from services.billing.catalog import Offer
from services.billing.entitlements import Access, EntitlementInfo
from services.errors import InvalidInput
from services.text.numbers import IntBound, parse_int
from services.users import profiles
from services.users.profiles import UserInfo

GRANT_DAYS = IntBound("error.grant_days", 1, billing.MAX_GRANT_DAYS, "a number of days")
PAID_SOURCES = (EntitlementSource.STARS, EntitlementSource.STRIPE)


@dataclass(frozen=True, slots=True)
class PlansView:
    offers: tuple[Offer, ...]
    access: Access


@dataclass(frozen=True, slots=True)
class Granted:
    user: UserInfo
    entitlement: EntitlementInfo


async def has_paid(user_id: int) -> bool:
    """Whether the user ever had a paid (Stars or card) entitlement."""
    return await Entitlement.filter(user_id=user_id, source__in=PAID_SOURCES).exists()


def listed(offer: Offer, *, newcomer: bool) -> bool:
    terms = offer.terms
    return (
        terms.stars_price is not None
        and not terms.hidden
        and terms.access_code is None
        and (newcomer or not terms.newcomers_only)
    )


async def plans_for(user: UserInfo, now: datetime) -> PlansView:
    """The plans `user` may buy in the bot, cheapest first, and their access at `now`."""
    access = await billing.access_for(user.id, now, role=user.role)
    newcomer = not await has_paid(user.id)
    offers = tuple(o for o in await catalog.offers() if listed(o, newcomer=newcomer))
    return PlansView(offers, access)


async def grant(
    actor: UserInfo, target: str, plan_code: str, days_text: str, now: datetime
) -> Granted:
    """A complimentary period (`source` grant) of `plan_code` for `days_text` days, for the user
    `target` (Telegram id or @username); audited by `billing.granted` with the admin."""
    days = parse_int(days_text, GRANT_DAYS)
    code = plan_code.strip().lower()
    if await catalog.offer(code) is None:
        known = ", ".join(o.code for o in await catalog.offers())
        raise InvalidInput("error.plan_unknown", plan=plan_code[:32], known=known)
    user = await profiles.find(target)
    granted = await billing.grant(
        user.id, code, days, source=EntitlementSource.GRANT, now=now, actor_id=actor.telegram_id
    )
    # billing.grant announces the change after commit: caches drop, terminals follow (lifecycle)
    return Granted(user, granted)
