"""/plans_admin: the owner edits the catalog in the database.

`price <plan> <usd>` (the Stars price follows: ceil(usd / STARS_USD_RATE), card only above
Telegram's cap), `stars <plan> <n>` and `trial <plan> <days>` make a new plan version (existing
subscribers keep theirs); `hide|show <plan>`, `newcomers <plan> on|off` and
`code <plan> <code|off>` change how the plan is offered. Every edit is audited
(`billing.plan_edited`). Edits win over the catalog file until the owner changes that plan's
entry in the file (`services.billing.catalog`, module docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services import audit
from services.billing import catalog
from services.billing.catalog import STARS_SUBSCRIPTION_CAP, Offer
from services.errors import InvalidInput, NoChange, NotFound
from services.text.numbers import IntBound, parse_decimal, parse_int
from services.users.profiles import UserInfo

STARS = IntBound("error.plan_stars", 1, STARS_SUBSCRIPTION_CAP, "a Stars price")
TRIAL = IntBound("error.plan_trial", 0, 90, "a number of trial days")
MAX_USD = Decimal(100_000)
ACTIONS = ("price", "stars", "trial", "hide", "show", "newcomers", "code")
SWITCH = {"on": True, "off": False}


@dataclass(frozen=True, slots=True)
class Edited:
    before: Offer
    after: Offer

    @property
    def new_version(self) -> bool:
        return self.after.version_id != self.before.version_id


def _usd(text: str) -> Decimal:
    usd = parse_decimal(text)
    if usd is None or not 0 < usd <= MAX_USD:
        raise InvalidInput("error.plan_usd", text=text[:16], max=MAX_USD)
    return usd.quantize(catalog.CENT, rounding=ROUND_HALF_UP)


async def _apply(offer: Offer, action: str, value: str, rate: Decimal) -> Offer:
    code = offer.code
    if action == "price":
        usd = _usd(value)
        stars: int | None = catalog.stars_price(usd, rate)
        if stars is not None and stars > STARS_SUBSCRIPTION_CAP:
            stars = None  # card only, as the catalog file would have it
        return await catalog.edit_terms(code, usd_price=usd, stars_price=stars)
    if action == "stars":
        return await catalog.edit_terms(code, stars_price=parse_int(value, STARS))
    if action == "trial":
        return await catalog.edit_terms(code, trial_days=parse_int(value, TRIAL))
    if action in ("hide", "show"):
        return await catalog.set_flags(code, hidden=action == "hide")
    if action == "newcomers":
        if value.lower() not in SWITCH:
            raise InvalidInput("error.plan_switch", text=value[:16])
        return await catalog.set_flags(code, newcomers_only=SWITCH[value.lower()])
    access = value.strip()
    if not access or len(access) > 64 or any(c.isspace() for c in access):
        raise InvalidInput("error.plan_access_code", text=access[:16])
    return await catalog.set_flags(code, access_code=None if access.lower() == "off" else access)


def _needs_value(action: str) -> bool:
    return action not in ("hide", "show")


async def edit(actor: UserInfo, args: list[str], rate: Decimal) -> Edited:
    """One edit: `args` = [action, plan, value?] (see the module docstring)."""
    if not args or args[0].lower() not in ACTIONS:
        raise InvalidInput("error.plan_admin_usage")
    action = args[0].lower()
    if len(args) != (3 if _needs_value(action) else 2):
        raise InvalidInput("error.plan_admin_usage")
    before = await catalog.offer(args[1].strip().lower())
    if before is None:
        known = ", ".join(o.code for o in await catalog.offers())
        raise NotFound("error.plan_unknown", plan=args[1][:32], known=known)
    value = args[2] if len(args) == 3 else ""
    after = await _apply(before, action, value, rate)
    if after == before:
        raise NoChange("error.plan_unchanged", plan=before.code)
    await audit.record(
        "billing.plan_edited", actor_id=actor.telegram_id, target=before.code, edit=action,
        value=value[:64], version_before=before.version, version=after.version,
    )  # fmt: skip
    return Edited(before, after)
