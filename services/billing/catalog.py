"""The plan catalog: a TOML file (the owner's `PLANS_FILE`, else the shipped
`default_plans.toml`) read at start and synced into `plan` + `plan_version` rows.

Syncing is idempotent: a plan whose terms (price, Stars price, period, terminals, features,
trial, alert quota) are unchanged keeps its current version; any change creates version n + 1, and
entitlements keep pointing at the version they were bought at. A plan that disappears from the
file is hidden, never deleted (entitlements reference it).

The file and the owner's /plans_admin edits: each plan remembers a digest of its file entry as
last applied (`Plan.file_digest`). At start a plan whose entry is unchanged since then is left
as stored, so edits made in the database win; once the owner changes a plan's entry in the file,
that entry is applied again (a new version if its terms differ) and wins over earlier edits.

Stars price = ceil(usd / STARS_USD_RATE) (a Star is worth `rate` USD; rounding up never sells
below the dollar price). Telegram caps a Stars subscription at 10,000 Stars: an explicit `stars`
price above the cap is refused at load; a computed one above it leaves the plan card-only on the
web page (stars_price None), with a warning naming the rate that would fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.billing import Plan, PlanVersion

log = logging.getLogger(__name__)

DEFAULT_PLANS_FILE = Path(__file__).with_name("default_plans.toml")
STARS_SUBSCRIPTION_CAP = 10_000  # Telegram: a Stars subscription costs at most 10,000 Stars
MAX_ALERT_QUOTA = 10_000  # price alerts per subscriber a plan may allow
CENT = Decimal("0.01")


class Feature(StrEnum):
    REALTIME_LEVELS = "realtime_levels"
    APPROVALS = "approvals"
    COPY_MODE = "copy_mode"
    VIP_CHANNEL = "vip_channel"
    PRIORITY_SUPPORT = "priority_support"
    PRICE_ALERTS = "price_alerts"


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says which plan and how to fix it."""


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What a plan costs and includes, as the catalog file states it."""

    code: str
    usd_price: Decimal
    stars_price: int | None  # None: over Telegram's cap, sold by card only
    period_days: int
    terminal_limit: int
    features: frozenset[Feature]
    trial_days: int
    hidden: bool = False
    newcomers_only: bool = False
    access_code: str | None = None
    alert_quota: int = 0  # active price alerts a subscriber may keep (services.alerts)

    def same_terms(self, row: PlanVersion) -> bool:
        return (
            Decimal(str(row.usd_price)) == self.usd_price
            and row.stars_price == self.stars_price
            and row.period_days == self.period_days
            and row.terminal_limit == self.terminal_limit
            and frozenset(Feature(f) for f in row.features) == self.features
            and row.trial_days == self.trial_days
            and row.alert_quota == self.alert_quota
        )


@dataclass(frozen=True, slots=True)
class Catalog:
    plans: tuple[PlanTerms, ...]

    def get(self, code: str) -> PlanTerms | None:
        return next((p for p in self.plans if p.code == code), None)


@dataclass(frozen=True, slots=True)
class Offer:
    """A plan's current version as stored (what /plans lists and checkout sells)."""

    plan_id: int
    version_id: int
    version: int
    terms: PlanTerms

    @property
    def code(self) -> str:
        return self.terms.code


def stars_price(usd: Decimal, rate: Decimal) -> int:
    """Stars for `usd` at `rate` USD per Star, rounded up (never below the dollar price)."""
    if rate <= 0:
        msg = f"STARS_USD_RATE must be positive, got {rate}"
        raise CatalogError(msg)
    return math.ceil(usd / rate)


def _decimal(code: str, value: object) -> Decimal:
    try:
        usd = Decimal(str(value))
    except InvalidOperation:
        msg = f'plan {code!r}: usd must be a number such as "99.00", got {value!r}'
        raise CatalogError(msg) from None
    if not usd.is_finite() or usd <= 0:
        msg = f"plan {code!r}: usd must be a positive amount, got {value!r}"
        raise CatalogError(msg)
    return usd.quantize(CENT, rounding=ROUND_HALF_UP)


def _int(code: str, entry: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        msg = f"plan {code!r}: {key} must be a whole number from {low} to {high}, got {value!r}"
        raise CatalogError(msg)
    return value


def _features(code: str, value: object) -> frozenset[Feature]:
    if not isinstance(value, list):
        msg = f"plan {code!r}: features must be a list, got {value!r}"
        raise CatalogError(msg)
    known = {f.value for f in Feature}
    unknown = [v for v in value if v not in known]
    if unknown:
        msg = f"plan {code!r}: unknown features {unknown}; known: {sorted(known)}"
        raise CatalogError(msg)
    return frozenset(Feature(v) for v in value)


def _stars(code: str, entry: Mapping[str, Any], usd: Decimal, rate: Decimal) -> int | None:
    if "stars" in entry:
        return _int(code, entry, "stars", 0, 1, STARS_SUBSCRIPTION_CAP)
    price = stars_price(usd, rate)
    if price > STARS_SUBSCRIPTION_CAP:
        fits = (usd / STARS_SUBSCRIPTION_CAP).quantize(Decimal("0.0001"))
        log.warning(
            "plan %s: %s Stars at %s USD per Star is over Telegram's cap of %s: card only "
            "(a rate of at least %s, or an explicit stars price, would sell it for Stars)",
            code, price, rate, STARS_SUBSCRIPTION_CAP, fits,
        )  # fmt: skip
        return None
    return price


def _terms(
    code: str,
    entry: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
) -> tuple[Decimal, int, frozenset[Feature]]:
    if base is None:
        if "usd" not in entry:
            msg = f"plan {code!r}: usd is required (or copy_of = another plan)"
            raise CatalogError(msg)
        usd = _decimal(code, entry["usd"])
        return (
            usd,
            _int(code, entry, "terminals", 1, 0, 1000),
            _features(code, entry.get("features", [])),
        )
    base_code = str(entry["copy_of"])
    markup = _int(code, defaults, "copy_markup_pct", 30, 0, 1000)
    base_usd = _decimal(base_code, base["usd"])
    usd = (
        _decimal(code, entry["usd"])
        if "usd" in entry
        else (base_usd * (100 + markup) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    )
    terminals = _int(code, entry, "terminals", _int(base_code, base, "terminals", 1, 0, 1000),
                     0, 1000)  # fmt: skip
    features = _features(code, entry.get("features", base.get("features", [])))
    return usd, terminals, features | {Feature.COPY_MODE}


def _alert_quota(code: str, entry: Mapping[str, Any], base: Mapping[str, Any] | None) -> int:
    """`alerts` of the entry; a copy variant without its own inherits its base plan's."""
    if "alerts" not in entry and base is not None:
        return _int(str(entry["copy_of"]), base, "alerts", 0, 0, MAX_ALERT_QUOTA)
    return _int(code, entry, "alerts", 0, 0, MAX_ALERT_QUOTA)


def _plan(
    code: str, entry: Mapping[str, Any], plans: Mapping[str, Any], defaults: Mapping[str, Any],
    rate: Decimal,
) -> PlanTerms:  # fmt: skip
    base = None
    if "copy_of" in entry:
        base = plans.get(str(entry["copy_of"]))
        if not isinstance(base, dict) or "copy_of" in base:
            msg = f"plan {code!r}: copy_of must name a plan without copy_of, got {entry['copy_of']!r}"
            raise CatalogError(msg)
    usd, terminals, features = _terms(code, entry, base, defaults)
    access_code = entry.get("access_code")
    if access_code is not None and (not isinstance(access_code, str) or not access_code.strip()):
        msg = f"plan {code!r}: access_code must be a non-empty text, got {access_code!r}"
        raise CatalogError(msg)
    return PlanTerms(
        code=code,
        usd_price=usd,
        stars_price=_stars(code, entry, usd, rate),
        period_days=_int(code, entry, "period_days", defaults.get("period_days", 30), 1, 366),
        terminal_limit=terminals,
        features=features,
        trial_days=_int(code, entry, "trial_days", defaults.get("trial_days", 7), 0, 90),
        hidden=bool(entry.get("hidden", False)),
        newcomers_only=bool(entry.get("newcomers_only", False)),
        access_code=access_code.strip() if access_code else None,
        alert_quota=_alert_quota(code, entry, base),
    )


def parse_catalog(text: str, rate: Decimal) -> Catalog:
    """The catalog in `text` (TOML), validated; CatalogError says what to fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"the plans file is not valid TOML: {exc}"
        raise CatalogError(msg) from None
    defaults = data.get("defaults", {})
    plans = data.get("plans", {})
    if not isinstance(plans, dict) or not plans:
        msg = "the plans file defines no plans: add a [plans.<code>] table"
        raise CatalogError(msg)
    out = []
    for code, entry in plans.items():
        if not code.isascii() or not code.replace("_", "").isalnum() or len(code) > 32:
            msg = f"plan code {code!r}: use up to 32 letters, digits and underscores"
            raise CatalogError(msg)
        out.append(_plan(code, entry, plans, defaults, rate))
    return Catalog(tuple(out))


def load_catalog(path: Path | None, rate: Decimal) -> Catalog:
    """The owner's catalog at `path`, or the shipped default when `path` is None."""
    source = path or DEFAULT_PLANS_FILE
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the plans file {source}: {exc.strerror or exc}"
        raise CatalogError(msg) from None
    return parse_catalog(text, rate)


def _offer(plan: Plan, row: PlanVersion) -> Offer:
    return Offer(
        plan_id=plan.id,
        version_id=row.id,
        version=row.version,
        terms=PlanTerms(
            code=plan.code,
            usd_price=Decimal(str(row.usd_price)),
            stars_price=row.stars_price,
            period_days=row.period_days,
            terminal_limit=row.terminal_limit,
            features=frozenset(Feature(f) for f in row.features),
            trial_days=row.trial_days,
            hidden=plan.hidden,
            newcomers_only=plan.newcomers_only,
            access_code=plan.access_code,
            alert_quota=row.alert_quota,
        ),
    )


def digest(terms: PlanTerms) -> str:
    """A fingerprint of a plan's entry in the file (terms and flags)."""
    text = repr((
        terms.code, str(terms.usd_price), terms.stars_price, terms.period_days,
        terms.terminal_limit, sorted(terms.features), terms.trial_days, terms.hidden,
        terms.newcomers_only, terms.access_code, terms.alert_quota,
    ))  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


async def _sync_plan(terms: PlanTerms) -> Offer:
    plan, _ = await Plan.get_or_create(code=terms.code)
    latest = await PlanVersion.filter(plan_id=plan.id).order_by("-version").first()
    file_digest = digest(terms)
    if latest is not None and plan.file_digest == file_digest:
        return _offer(plan, latest)  # the entry is as last applied: owner edits stand
    flags = (terms.hidden, terms.newcomers_only, terms.access_code)
    if (plan.hidden, plan.newcomers_only, plan.access_code, plan.file_digest) != (
        *flags,
        file_digest,
    ):
        plan.hidden, plan.newcomers_only, plan.access_code = flags
        plan.file_digest = file_digest
        await plan.save()
    if latest is not None and terms.same_terms(latest):
        return _offer(plan, latest)
    return await _create_version(plan, terms, latest)


async def _create_version(plan: Plan, terms: PlanTerms, latest: PlanVersion | None) -> Offer:
    row = await PlanVersion.create(
        plan_id=plan.id,
        version=1 if latest is None else latest.version + 1,
        usd_price=terms.usd_price,
        stars_price=terms.stars_price,
        period_days=terms.period_days,
        terminal_limit=terms.terminal_limit,
        features=sorted(terms.features),
        trial_days=terms.trial_days,
        alert_quota=terms.alert_quota,
    )
    log.info("plan %s: version %s", terms.code, row.version)
    return _offer(plan, row)


async def _sync_once(catalog: Catalog) -> list[Offer]:
    async with in_transaction():
        offers = [await _sync_plan(terms) for terms in catalog.plans]
        codes = [terms.code for terms in catalog.plans]
        await Plan.filter(code__not_in=codes, hidden=False).update(hidden=True)
    return offers


async def sync_catalog(catalog: Catalog) -> list[Offer]:
    """Store `catalog` (idempotent; changed terms make a new version); returns the offers.

    Replicas starting together may race to write the same new version: the loser's
    transaction hits the UNIQUE (plan, version) and runs again, finding the winner's rows."""
    for _ in range(2):
        try:
            return await _sync_once(catalog)
        except IntegrityError:
            log.info("plan catalog written concurrently by another process: syncing again")
    return await _sync_once(catalog)


async def offers() -> list[Offer]:
    """Every plan's current version, cheapest first."""
    out = []
    for plan in await Plan.all():
        latest = await PlanVersion.filter(plan_id=plan.id).order_by("-version").first()
        if latest is not None:
            out.append(_offer(plan, latest))
    return sorted(out, key=lambda o: (o.terms.usd_price, o.code))


async def offer(code: str) -> Offer | None:
    """The current version of the plan `code`, or None."""
    plan = await Plan.get_or_none(code=code)
    if plan is None:
        return None
    latest = await PlanVersion.filter(plan_id=plan.id).order_by("-version").first()
    return None if latest is None else _offer(plan, latest)


async def version(version_id: int) -> Offer:
    """A stored plan version (current or not), e.g. the one an entitlement references."""
    row = await PlanVersion.get(id=version_id).prefetch_related("plan")
    return _offer(row.plan, row)


async def edit_terms(code: str, **changes: Any) -> Offer:
    """A new version of plan `code` with `changes` (PlanTerms fields: usd_price, stars_price,
    trial_days, terminal_limit, features, period_days, alert_quota) over its current version; entitlements
    keep theirs. Returns the current offer unchanged when nothing differs. Replicas editing
    together: the UNIQUE (plan, version) makes the loser try once more on the winner's row."""
    for attempt in range(2):
        try:
            async with in_transaction():
                plan = await Plan.get(code=code)
                latest = await PlanVersion.filter(plan_id=plan.id).order_by("-version").first()
                if latest is None:
                    msg = f"plan {code!r} has no version"
                    raise CatalogError(msg)
                terms = dataclasses.replace(_offer(plan, latest).terms, **changes)
                if terms.same_terms(latest):
                    return _offer(plan, latest)
                return await _create_version(plan, terms, latest)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError  # unreachable: the loop returns or raises


async def set_flags(code: str, **flags: Any) -> Offer:
    """Change how plan `code` is offered (hidden, newcomers_only, access_code): no new version."""
    async with in_transaction():
        plan = await Plan.get(code=code)
        for name, value in flags.items():
            setattr(plan, name, value)
        await plan.save(update_fields=[*flags, "updated_at"])
    found = await offer(code)
    assert found is not None
    return found
