"""The plan catalog: the shipped defaults, Stars prices and their cap, validation, and syncing
into versioned rows (idempotent; a changed price makes a new version)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from models.billing import Plan, PlanVersion
from services.billing import catalog
from services.billing.catalog import CatalogError, Feature

RATE = Decimal("0.013")


def test_default_catalog_has_the_six_plans_at_their_prices() -> None:
    cat = catalog.load_catalog(None, RATE)
    prices = {p.code: p.usd_price for p in cat.plans}
    assert prices == {
        "starter": Decimal("99.00"), "pro": Decimal("199.00"), "elite": Decimal("499.00"),
        "starter_copy": Decimal("128.70"), "pro_copy": Decimal("258.70"),
        "elite_copy": Decimal("648.70"),
    }  # fmt: skip
    limits = {p.code: p.terminal_limit for p in cat.plans}
    assert limits == {"starter": 1, "pro": 3, "elite": 10,
                      "starter_copy": 1, "pro_copy": 3, "elite_copy": 10}  # fmt: skip
    for plan in cat.plans:
        assert (Feature.COPY_MODE in plan.features) == plan.code.endswith("_copy")
        assert {Feature.REALTIME_LEVELS, Feature.APPROVALS} <= plan.features
        assert plan.period_days == 30 and plan.trial_days == 7
    starter = cat.get("starter")
    assert (
        starter is not None and starter.stars_price == 7616
    )  # ceil(99 / 0.013) = 7615.38.. -> 7616


@pytest.mark.parametrize(
    ("usd", "rate", "stars"),
    [
        ("99.00", "0.013", 7616),
        ("128.70", "0.013", 9900),  # exactly 9900: no rounding up of an exact quotient
        ("1.00", "0.013", 77),  # 76.92 -> 77
        ("0.01", "0.013", 1),
        ("10.00", "0.02", 500),
    ],
)
def test_stars_price_rounds_up(usd: str, rate: str, stars: int) -> None:
    assert catalog.stars_price(Decimal(usd), Decimal(rate)) == stars


def test_computed_price_over_the_cap_is_card_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cat = catalog.load_catalog(None, RATE)
    stars = {p.code: p.stars_price for p in cat.plans}
    # 199 / 0.013 = 15,308 and up: over Telegram's 10,000 Stars cap for a subscription.
    assert stars == {"starter": 7616, "starter_copy": 9900, "pro": None, "elite": None,
                     "pro_copy": None, "elite_copy": None}  # fmt: skip
    assert "plan pro: 15308 Stars" in caplog.text and "cap of 10000" in caplog.text
    at_10000 = catalog.parse_catalog('[plans.a]\nusd = "130.00"\n', Decimal("0.013"))
    assert at_10000.plans[0].stars_price == 10_000  # the cap itself is allowed


def test_explicit_stars_price_over_the_cap_is_refused() -> None:
    with pytest.raises(
        CatalogError, match=r"plan 'pro': stars must be a whole number from 1 to 10000"
    ):
        catalog.parse_catalog('[plans.pro]\nusd = "199"\nstars = 10001\n', RATE)
    ok = catalog.parse_catalog('[plans.pro]\nusd = "199"\nstars = 9999\n', RATE)
    assert ok.plans[0].stars_price == 9999


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[plans", "not valid TOML"),
        ("[defaults]\ntrial_days = 3\n", "defines no plans"),
        ("[plans.x]\nterminals = 1\n", "plan 'x': usd is required"),
        ('[plans.x]\nusd = "abc"\n', "plan 'x': usd must be a number"),
        ('[plans.x]\nusd = "-5"\n', "plan 'x': usd must be a positive amount"),
        ('[plans.x]\nusd = "5"\nterminals = -1\n', "terminals must be a whole number from 0"),
        ('[plans.x]\nusd = "5"\nterminals = true\n', "terminals must be a whole number"),
        ('[plans.x]\nusd = "5"\nfeatures = ["teleport"]\n', "unknown features \\['teleport'\\]"),
        ('[plans.x]\nusd = "5"\nfeatures = "approvals"\n', "features must be a list"),
        ('[plans.x]\ncopy_of = "nope"\n', "copy_of must name a plan"),
        ('[plans."a b"]\nusd = "5"\n', "use up to 32 letters"),
        ('[plans.x]\nusd = "5"\naccess_code = ""\n', "access_code must be a non-empty text"),
        ('[plans.x]\nusd = "5"\nperiod_days = 0\n', "period_days must be a whole number from 1"),
    ],
)
def test_bad_catalogs_say_what_to_fix(text: str, error: str) -> None:
    with pytest.raises(CatalogError, match=error):
        catalog.parse_catalog(text, RATE)


def test_flags_and_owner_file(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(
        "[defaults]\ntrial_days = 3\ncopy_markup_pct = 50\n"
        '[plans.vip]\nusd = "10"\nhidden = true\nnewcomers_only = true\naccess_code = " VIP1 "\n'
        '[plans.vip_copy]\ncopy_of = "vip"\ntrial_days = 0\n'
    )
    cat = catalog.load_catalog(path, RATE)
    vip, vip_copy = cat.get("vip"), cat.get("vip_copy")
    assert vip is not None and vip_copy is not None
    assert (vip.hidden, vip.newcomers_only, vip.access_code, vip.trial_days) == (
        True,
        True,
        "VIP1",
        3,
    )
    assert vip_copy.usd_price == Decimal("15.00") and vip_copy.trial_days == 0
    assert vip_copy.features == {Feature.COPY_MODE}
    with pytest.raises(CatalogError, match="cannot read the plans file"):
        catalog.load_catalog(tmp_path / "missing.toml", RATE)


async def test_sync_is_idempotent_and_a_price_change_makes_a_version(database: str) -> None:
    first = await catalog.sync_catalog(catalog.load_catalog(None, RATE))
    assert len(first) == 6 and {o.version for o in first} == {1}
    again = await catalog.sync_catalog(catalog.load_catalog(None, RATE))
    assert [o.version_id for o in again] == [o.version_id for o in first]
    assert await PlanVersion.all().count() == 6

    changed = catalog.parse_catalog(
        '[plans.starter]\nusd = "109.00"\nterminals = 1\n'
        'features = ["realtime_levels", "approvals", "vip_channel"]\n',
        RATE,
    )
    (starter,) = await catalog.sync_catalog(changed)
    assert (starter.version, starter.terms.usd_price, starter.terms.stars_price) == (
        2, Decimal("109.00"), 8385,
    )  # fmt: skip
    old = next(o for o in first if o.code == "starter")
    kept = await catalog.version(old.version_id)
    assert (kept.version, kept.terms.usd_price) == (1, Decimal("99.00"))  # subscribers keep theirs
    current = await catalog.offer("starter")
    assert current is not None and current.version_id == starter.version_id
    # plans no longer in the file are hidden, not deleted (entitlements reference them)
    assert await Plan.filter(hidden=True).count() == 5
    assert [o.code for o in await catalog.offers()][:2] == ["starter", "starter_copy"]

    flags = catalog.parse_catalog(
        '[plans.starter]\nusd = "109.00"\nterminals = 1\nhidden = true\n'
        'features = ["realtime_levels", "approvals", "vip_channel"]\n',
        RATE,
    )
    (flagged,) = await catalog.sync_catalog(flags)
    assert flagged.version == 2 and flagged.terms.hidden  # flags are not terms: no new version


async def test_concurrent_syncs_agree_on_one_version_each(database: str) -> None:
    cat = catalog.load_catalog(None, RATE)
    results = await asyncio.gather(*(catalog.sync_catalog(cat) for _ in range(4)))
    assert all([o.version_id for o in r] == [o.version_id for o in results[0]] for r in results)
    assert await PlanVersion.all().count() == 6
