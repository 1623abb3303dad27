"""/plans, /paysupport and /grant through the real dispatcher (recorded Bot API calls)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from models.billing import EntitlementSource
from models.signals import Approval
from models.users import Role
from services import audit
from services.billing import catalog
from services.billing import entitlements as ent
from services.signals import approvals
from services.users import profiles as users_service
from tests.handlers.recording import make_bot
from tests.handlers.test_devices import Harness
from tests.services.terminals import helpers as th

OWNER, ADMIN, NICO, SUB = 31, 32, 33, 34


async def harness(**settings: object) -> Harness:
    config = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000, **settings)
    bot, session = make_bot()
    return Harness(bot, create_dispatcher(config, bot, build_i18n()), session)


@pytest.fixture
async def h(database: str) -> AsyncIterator[Harness]:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(ADMIN, "Adam", "adam", Role.ADMIN)
    await users_service.seed(NICO, "Nico", "nico", Role.PUBLIC)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    yield await harness(owner_ids=str(OWNER))


async def test_plans_lists_the_stars_plans_and_the_free_users_plan(h: Harness) -> None:
    (text,) = await h.send(NICO, "/plans")
    assert text.startswith("<b>Plans</b>\n\nYou are on the free plan")
    assert "<b>Starter</b>: 7,616 ⭐ for 30 days" in text
    assert "<b>Starter Copy</b>: 9,900 ⭐ for 30 days" in text
    assert "copy mode (every signal executed automatically)" in text
    assert "1 MetaTrader terminal." in text
    # over Telegram's 10,000 Stars cap at the default rate: not sold in the bot, and no card link
    assert "Pro" not in text and "Elite" not in text
    assert "http" not in text and "stripe" not in text.lower() and "$" not in text


async def test_plans_shows_the_current_plan_and_its_renewal_in_the_users_language(
    h: Harness,
) -> None:
    nico = await users_service.get_by_telegram_id(NICO)
    start = datetime.now(UTC) - timedelta(days=1)
    await ent.grant(nico.id, "pro", 30, source=EntitlementSource.STARS, now=start, renews=True)
    await users_service.set_language(NICO, "es")
    h.dp["user_cache"].invalidate(NICO)
    (text,) = await h.send(NICO, "/plans")
    assert text.startswith("<b>Planes</b>\n\nTu plan: <b>Pro</b>, se renueva automáticamente el")
    assert "<b>Starter</b>: 7.616 ⭐ por 30 días" in text  # the reader's grouping
    await users_service.set_language(NICO, "ru")
    h.dp["user_cache"].invalidate(NICO)  # as the /language handler does
    (text,) = await h.send(NICO, "/plans")
    assert "Ваш тариф: <b>Pro</b>, продлится автоматически" in text
    (comp,) = await h.send(SUB, "/plans")
    assert "Your plan: <b>Starter</b> (complimentary, no end date)." in comp


async def test_plans_says_when_a_period_ends_or_is_in_grace(h: Harness) -> None:
    nico = await users_service.get_by_telegram_id(NICO)
    now = datetime.now(UTC)
    await ent.grant(
        nico.id, "starter", 1, source=EntitlementSource.GRANT, now=now - timedelta(days=2)
    )
    (text,) = await h.send(NICO, "/plans")
    assert "Your plan <b>Starter</b> ended on" in text and "you keep access until" in text
    await ent.grant(nico.id, "starter", 10, source=EntitlementSource.GRANT, now=now)
    h.dp["user_cache"].invalidate(NICO)  # a payment event does this
    (text,) = await h.send(NICO, "/plans")
    assert "Your plan: <b>Starter</b> until" in text and "does not renew by itself" in text


async def test_paysupport_names_the_contact_and_the_refund_policy(h: Harness) -> None:
    (text,) = await h.send(NICO, "/paysupport")
    assert f'<a href="tg://user?id={OWNER}">the bot\'s owner</a>' in text
    assert "<b>Refunds</b>" in text and "14 days" in text
    custom = await harness(support_contact="<help@desk.example>")
    (text,) = await custom.send(NICO, "/paysupport")
    assert "Write to &lt;help@desk.example&gt; with the date" in text  # escaped


async def test_admin_grants_a_plan_audited_and_the_user_gets_access(h: Harness) -> None:
    (before,) = await h.send(NICO, "/plans")  # cached with free access
    assert "free plan" in before
    (done,) = await h.send(ADMIN, f"/grant {NICO} pro_copy 14")  # by id (/plans dropped @nico)
    assert done.startswith("✅ ") and " has <b>Pro Copy</b> from " in done
    assert "(complimentary)" in done
    (entry,) = await audit.recent(action="billing.granted")
    assert (entry.actor_id, entry.data["plan"], entry.data["days"]) == (ADMIN, "pro_copy", 14)
    assert entry.data["source"] == "grant"
    (after,) = await h.send(NICO, "/plans")  # the grant invalidated the cached user
    assert "Your plan: <b>Pro Copy</b> until" in after


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: /grant &lt;id | @username&gt; &lt;plan&gt; &lt;days&gt;"),
        ("@nico starter", "Usage: /grant"),
        ("@nico starter 30 extra", "Usage: /grant"),
        ("@nico platinum 30", "There is no plan “platinum”. Plans: starter, starter_copy, pro,"),
        (
            "@nico starter thirty",
            "“thirty” is not a number of days: send a whole number from 1 to 3660.",
        ),
        ("@nico starter 0", "“0” is not a number of days"),
        ("@nico starter 99999", "“99999” is not a number of days"),
        ("@nico starter ３０", "is not a number of days"),  # fullwidth digits are refused
        ("@nobody starter 30", "nobody"),
        ("12x starter 30", "12x"),
    ],
)
async def test_grant_explains_bad_arguments(h: Harness, args: str, reply: str) -> None:
    (text,) = await h.send(ADMIN, f"/grant {args}".strip())
    assert reply in text
    assert await audit.recent(action="billing.granted") == []


async def test_grant_is_for_admins_only(h: Harness) -> None:
    (text,) = await h.send(SUB, "/grant @nico starter 30")
    assert text == "Sorry, this action is not available for your account."
    assert await audit.recent(action="billing.granted") == []


async def test_a_paying_visitor_approves_from_the_card_until_the_period_ends(h: Harness) -> None:
    (done,) = await h.send(ADMIN, f"/grant {NICO} starter 30")
    assert " has <b>Starter</b> " in done
    nico = await users_service.get_by_telegram_id(NICO)
    await approvals.accept_disclaimer(nico, await approvals.app_settings.disclaimer_version())
    view = await th.publish()
    calls = await h.press(NICO, f"sig:approve:{view.id}")
    assert await Approval.filter(signal_id=view.id, user_id=nico.id).exists(), calls
    (entitlement,) = await ent.history(nico.id)
    await ent.end(entitlement.id, datetime.now(UTC), reason="expired by test")
    h.dp["user_cache"].invalidate(NICO)  # a payment event does this; expiry reloads by itself
    refused = await h.press(NICO, f"sig:reject:{view.id}")
    assert "Approving signals is for subscribers." in refused[-1]
    (approval,) = await Approval.filter(signal_id=view.id, user_id=nico.id)
    assert approval.decision == "approved"  # the refused reject changed nothing


async def test_the_upgrade_button_opens_the_plans_with_buy_buttons(h: Harness) -> None:
    calls = await h.press(NICO, "upg:card")
    assert any(t.startswith("<b>Plans</b>") for t in calls), calls
    sent = [c for c in h.session.calls if type(c).__name__ == "SendMessage"][-1]
    rows = [[b.text for b in row] for row in sent.reply_markup.inline_keyboard]
    assert rows[0] == ["🎁 Try Starter free for 7 days"]  # handlers.trials' buttons first
    buy = rows.index(["Starter: subscribe (30 days, renews)"])
    assert rows[buy + 1] == ["30 days", "90 days"]
    assert sent.reply_markup.inline_keyboard[buy][0].callback_data == "buy:starter:s"
