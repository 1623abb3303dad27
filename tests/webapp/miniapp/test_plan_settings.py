"""The Plan and Settings pages' API: the plan and the plans to buy, Stars invoice links (the
chat's checkout terms), cancel / re-enable / downgrade stored as the chat's do them, and
notification preferences stored and honoured by the outbox (off: nothing queued; silent:
`disable_notification`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import bus as core_bus
from models.billing import PlanChange, StarsSubscription, SubscriptionState
from models.notifications import DeliveryMode, Notification
from models.users import Role
from services.app_settings import Visibility
from services.billing import catalog
from services.billing.checkout import Kind, SuccessfulPayment
from services.events import LiveUpdate
from services.outbox import preferences
from services.outbox.kinds import (
    BillingNotice,
    CardEdit,
    Fill,
    FreeSummary,
    PlainText,
    PositionClosed,
    SignalCard,
    SignalUpdate,
    TerminalAlert,
)
from services.outbox.preferences import Category
from services.text.formatting import Phrase
from services.users import access, profiles
from services.users.access import Shell
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import CHECKOUT, Api
from tests.webapp.miniapp.test_api import assert_problem

SUB, FREE, OTHER = 1000002, 1000003, 1000005
PERIOD = timedelta(seconds=2_592_000)
ROUTES = [
    ("GET", "/api/v1/plan"),
    ("POST", "/api/v1/plan/checkout"),
    ("POST", "/api/v1/plan/downgrade"),
    ("POST", "/api/v1/plan/cancel"),
    ("POST", "/api/v1/plan/reenable"),
    ("GET", "/api/v1/settings/notifications"),
    ("PATCH", "/api/v1/settings/notifications"),
]
BODIES: dict[str, Any] = {
    "/api/v1/plan/checkout": {"plan": "starter"},
    "/api/v1/plan/downgrade": {"plan": "starter"},
    "/api/v1/settings/notifications": {"new_signal": "off"},
}


@pytest.fixture
async def plans(database: str) -> dict[str, catalog.Offer]:
    offers = await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    return {o.code: o for o in offers}


async def subscribe(api: Api, telegram_id: int, plan: str, clock: Any, charge: str) -> str:
    """Buy `plan` as a 30-day subscription the way the page does (a link from the API), then
    Telegram's successful_payment for it reaching the bot (`Checkout.paid`)."""
    auth = await api.login(telegram_id)
    status, link, _ = await api.call(
        "POST", "/api/v1/plan/checkout", auth=auth, json={"plan": plan, "kind": "subscription"}
    )
    assert status == 200, link
    made = api.telegram.links[-1]
    user = await profiles.get_by_telegram_id(telegram_id)
    now = clock.now()
    await CHECKOUT.paid(
        user,
        SuccessfulPayment("XTR", made["stars"], made["payload"], charge, is_recurring=True,
                          is_first_recurring=True, subscription_expiration_date=now + PERIOD),
        now, api.telegram,
    )  # fmt: skip
    return auth


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_refuses_a_caller_without_a_session(
    api: Api, method: str, path: str
) -> None:
    await th.user(SUB)
    for header in (None, "Bearer nope", "tma hash=forged"):
        status, body, response = await api.call(
            method, path, auth=header, json=BODIES.get(path, {})
        )
        assert_problem(status, body, response, 401)


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_banned_user_is_refused_on_every_route(
    api: Api, method: str, path: str, plans: dict[str, catalog.Offer]
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    auth = await api.login(FREE)
    await access.set_banned(Shell(), str(FREE), banned=True)  # after the login: cached
    status, body, response = await api.call(method, path, auth=auth, json=BODIES.get(path, {}))
    assert_problem(status, body, response, 403)


async def test_a_free_user_sees_the_plans_sold_for_stars(
    api: Api, plans: dict[str, catalog.Offer]
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    status, page, _ = await api.call("GET", "/api/v1/plan", auth=await api.login(FREE))
    assert status == 200, page
    assert page["current"]["plan"] is None and page["scheduled"] is None
    assert not page["can_cancel"] and not page["can_reenable"]
    offers = {o["code"]: o for o in page["offers"]}
    assert set(offers) == {"starter", "starter_copy"}  # pro and elite: over the Stars cap
    starter = offers["starter"]
    assert (starter["stars_30"], starter["stars_90"], starter["action"]) == (7616, 22848, "buy")
    assert starter["name"] == "Starter" and starter["terminal_limit"] == 1
    assert [f["code"] for f in starter["features"]] == [
        "realtime_levels", "approvals", "vip_channel",
    ]  # fmt: skip
    assert offers["starter_copy"]["stars_30"] == 9900


@pytest.mark.parametrize(
    ("kind", "stars", "days", "subscription", "code"),
    [
        ("subscription", 7616, 30, True, Kind.SUBSCRIPTION),
        ("once_30", 7616, 30, False, Kind.ONCE_30),
        ("once_90", 3 * 7616, 90, False, Kind.ONCE_90),
    ],
)
async def test_checkout_makes_a_stars_invoice_link_with_the_chats_terms(
    api: Api, plans: dict[str, catalog.Offer], kind: str, stars: int, days: int,
    subscription: bool, code: Kind,
) -> None:  # fmt: skip
    nico = await th.user(FREE, Role.PUBLIC, "Nico")
    status, out, _ = await api.call(
        "POST", "/api/v1/plan/checkout", auth=await api.login(FREE),
        json={"plan": "starter", "kind": kind},
    )  # fmt: skip
    assert status == 200, out
    assert (out["stars"], out["days"], out["subscription"], out["kind"]) == (
        stars, days, subscription, kind,
    )  # fmt: skip
    [made] = api.telegram.links
    assert out["url"] == "https://t.me/$fake1"
    assert (made["stars"], made["subscription"]) == (stars, subscription)
    assert made["title"].startswith("Starter") and len(made["title"]) <= 32
    payload = CHECKOUT.decode(made["payload"])  # the chat's payload: pre-checkout verifies it
    assert (payload.kind, payload.user_id, payload.version_id) == (
        code, nico.id, plans["starter"].version_id,
    )  # fmt: skip


async def test_checkout_refuses_what_is_not_sold_and_malformed_input(
    api: Api, plans: dict[str, catalog.Offer]
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    auth = await api.login(FREE)
    cases = [
        ({"plan": "gold"}, 404),  # no such plan
        ({"plan": "pro"}, 422),  # card only: never sold in the Mini App
        ({"plan": "Starter!"}, 422),
        ({"plan": "starter", "kind": "weekly"}, 422),
        ({"plan": "starter", "stars": 1}, 422),  # unknown field
        ({}, 422),
    ]
    for body, expected in cases:
        status, problem, response = await api.call(
            "POST", "/api/v1/plan/checkout", auth=auth, json=body
        )
        assert_problem(status, problem, response, expected)
    status, problem, response = await api.call(
        "POST", "/api/v1/plan/checkout", auth=auth, data=b"[1]",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert_problem(status, problem, response, 400)
    assert api.telegram.links == []


async def test_after_successful_payment_the_plan_comes_from_our_state(
    api: Api, plans: dict[str, catalog.Offer], clock: Any, bus: Any
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    heard: list[LiveUpdate] = []
    bus.subscribe(LiveUpdate, heard.append)
    auth = await subscribe(api, FREE, "starter", clock, "charge-1")
    assert LiveUpdate("access", 0, (FREE,)) in heard  # the open page re-reads its plan
    status, page, _ = await api.call("GET", "/api/v1/plan", auth=auth)
    assert status == 200
    current = page["current"]
    assert (current["plan"], current["renews"], current["complimentary"]) == (
        "starter", True, False,
    )  # fmt: skip
    assert current["ends_at"].startswith((clock.now() + PERIOD).date().isoformat())
    assert page["can_cancel"] and not page["can_reenable"]
    actions = {o["code"]: o["action"] for o in page["offers"]}
    assert actions == {"starter": "current", "starter_copy": "upgrade"}
    status, me, _ = await api.call("GET", "/api/v1/me", auth=auth)
    assert me["access"]["plan"] == "starter"


async def test_cancel_and_reenable_change_the_stars_subscription(
    api: Api, plans: dict[str, catalog.Offer], clock: Any
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    auth = await subscribe(api, FREE, "starter", clock, "charge-1")
    status, page, _ = await api.call("POST", "/api/v1/plan/cancel", auth=auth)
    assert status == 200, page
    assert not page["current"]["renews"] and page["current"]["plan"] == "starter"
    assert not page["can_cancel"] and page["can_reenable"]
    assert api.telegram.edits == [(FREE, "charge-1", True)]  # editUserStarSubscription
    sub = await StarsSubscription.get(first_charge_id="charge-1")
    assert sub.state == SubscriptionState.CANCELED
    status, problem, response = await api.call("POST", "/api/v1/plan/cancel", auth=auth)
    assert_problem(status, problem, response, 404)  # nothing renews any more

    status, page, _ = await api.call("POST", "/api/v1/plan/reenable", auth=auth)
    assert status == 200 and page["current"]["renews"] and page["can_cancel"]
    assert api.telegram.edits[-1] == (FREE, "charge-1", False)
    status, problem, response = await api.call("POST", "/api/v1/plan/reenable", auth=auth)
    assert_problem(status, problem, response, 404)


async def test_a_cheaper_plan_is_a_downgrade_at_renewal_not_a_charge(
    api: Api, plans: dict[str, catalog.Offer], clock: Any
) -> None:
    nico = await th.user(FREE, Role.PUBLIC, "Nico")
    auth = await subscribe(api, FREE, "starter_copy", clock, "charge-9")
    links = len(api.telegram.links)
    status, page, _ = await api.call("GET", "/api/v1/plan", auth=auth)
    assert {o["code"]: o["action"] for o in page["offers"]}["starter"] == "downgrade"
    status, problem, response = await api.call(
        "POST", "/api/v1/plan/checkout", auth=auth, json={"plan": "starter"}
    )
    assert_problem(status, problem, response, 422)
    assert "switch at renewal" in problem["detail"]
    assert len(api.telegram.links) == links  # no invoice made

    for body, expected in (({"plan": "starter_copy"}, 422), ({"plan": "nope"}, 404),
                           ({"plan": ""}, 422)):  # fmt: skip
        status, problem, response = await api.call(
            "POST", "/api/v1/plan/downgrade", auth=auth, json=body
        )
        assert_problem(status, problem, response, expected)

    status, page, _ = await api.call(
        "POST", "/api/v1/plan/downgrade", auth=auth, json={"plan": "starter"}
    )
    assert status == 200, page
    scheduled = page["scheduled"]
    assert (scheduled["plan"], scheduled["current"]) == ("starter", "starter_copy")
    assert scheduled["effective_at"] == page["current"]["ends_at"]
    assert not page["current"]["renews"]  # the dearer plan's renewal was stopped
    assert api.telegram.edits == [(FREE, "charge-9", True)]
    change = await PlanChange.get(user_id=nico.id, delivered_at=None)
    assert (change.plan_code, change.from_plan) == ("starter", "starter_copy")


async def test_another_users_subscription_is_not_theirs_to_cancel(
    api: Api, plans: dict[str, catalog.Offer], clock: Any
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    await th.user(OTHER, Role.PUBLIC, "Olga")
    await subscribe(api, FREE, "starter", clock, "charge-1")
    other = await api.login(OTHER)
    status, problem, response = await api.call("POST", "/api/v1/plan/cancel", auth=other)
    assert_problem(status, problem, response, 404)
    assert api.telegram.edits == []
    assert (await StarsSubscription.get(first_charge_id="charge-1")).state == "active"


async def test_notification_preferences_are_stored_per_kind(api: Api) -> None:
    await th.user(SUB)
    auth = await api.login(SUB)
    status, prefs, _ = await api.call("GET", "/api/v1/settings/notifications", auth=auth)
    assert status == 200 and set(prefs.values()) == {"on"}
    assert set(prefs) == {c.value for c in Category}
    status, prefs, _ = await api.call(
        "PATCH", "/api/v1/settings/notifications", auth=auth,
        json={"new_signal": "off", "fill": "silent"},
    )  # fmt: skip
    assert status == 200 and (prefs["new_signal"], prefs["fill"], prefs["outcome"]) == (
        "off", "silent", "on",
    )  # fmt: skip
    status, prefs, _ = await api.call(
        "PATCH", "/api/v1/settings/notifications", auth=auth, json={"new_signal": "silent"}
    )
    assert (prefs["new_signal"], prefs["fill"]) == ("silent", "silent")  # the others stay
    await th.user(OTHER, name="Olga")
    status, theirs, _ = await api.call(
        "GET", "/api/v1/settings/notifications", auth=await api.login(OTHER)
    )
    assert set(theirs.values()) == {"on"}  # one user's choice is theirs only
    for body in ({}, {"new_signal": "loud"}, {"sound": "on"}, {"fill": None}):
        status, problem, response = await api.call(
            "PATCH", "/api/v1/settings/notifications", auth=auth, json=body
        )
        assert_problem(status, problem, response, 422)


async def test_a_new_signal_honours_each_users_choice(api: Api) -> None:
    for tid, name in ((SUB, "Sam"), (OTHER, "Olga"), (1000006, "Ivan")):
        await th.user(tid, name=name)
    await th.user(FREE, Role.PUBLIC, "Nico")
    for tid, mode in ((SUB, "off"), (OTHER, "silent"), (FREE, "off")):
        status, _body, _ = await api.call(
            "PATCH", "/api/v1/settings/notifications", auth=await api.login(tid),
            json={"new_signal": mode},
        )  # fmt: skip
        assert status == 200
    view = await th.publish()
    rows = {
        n.chat_id: n
        for n in await Notification.filter(signal_id=view.id, kind__in=("signal.new", "signal.free"))
    }  # fmt: skip
    assert SUB not in rows and FREE not in rows  # off: nothing queued, card or summary
    assert rows[OTHER].payload.get("disable_notification") is True  # silent
    assert "disable_notification" not in rows[1000006].payload  # on (the default)


PHRASE = Phrase("terminal.offline")


@pytest.mark.parametrize(
    ("notice", "category"),
    [
        (SignalUpdate(None, "en", None, "revised", "k"), Category.REVISION),  # type: ignore[arg-type]
        (SignalUpdate(None, "en", None, "filled", "k"), Category.FILL),  # type: ignore[arg-type]
        (SignalUpdate(None, "en", None, "expired", "k"), Category.EXPIRY),  # type: ignore[arg-type]
        (SignalUpdate(None, "en", None, "closed", "k"), Category.OUTCOME),  # type: ignore[arg-type]
        (SignalUpdate(None, "en", None, "cancelled", "k"), Category.OUTCOME),  # type: ignore[arg-type]
        (SignalCard(None, "en", None), Category.NEW_SIGNAL),  # type: ignore[arg-type]
        (FreeSummary(None, "en"), Category.NEW_SIGNAL),  # type: ignore[arg-type]
        (Fill("en", PHRASE), Category.FILL),
        (PositionClosed("en", PHRASE), Category.OUTCOME),
        (TerminalAlert("offline", "en", PHRASE), Category.TERMINAL),
        (BillingNotice("reminder", "en", PHRASE), Category.REMINDER),
        (BillingNotice("ended", "en", PHRASE), None),  # access ended: always told
        (CardEdit(None, "en", None, "k", photo=False), None),  # type: ignore[arg-type]
        (PlainText("hi"), None),
    ],
)
def test_each_kind_of_notification_has_its_preference(notice: Any, category: Any) -> None:
    assert preferences.category_of(notice) is category


async def test_a_silent_reply_stays_silent_and_off_updates_are_not_queued(
    database: str, bus: Any
) -> None:
    from services.outbox import notifications as outbox

    sam = await th.user(SUB)
    await preferences.set_modes(
        SUB, {Category.REVISION: DeliveryMode.SILENT, Category.EXPIRY: DeliveryMode.OFF}
    )
    view = await th.publish()
    items = [
        outbox.Outgoing(SUB, SignalUpdate(view, "en", Visibility.FULL, event, "sig:orig"),
                        f"k-{event}", user_id=sam.telegram_id)
        for event in ("revised", "expired", "closed")
    ]  # fmt: skip
    with core_bus.deferred():
        assert await outbox.enqueue_many(items) == 2
    rows = {
        n.dedupe_key: n.payload for n in await Notification.filter(dedupe_key__startswith="k-")
    }
    assert set(rows) == {"k-revised", "k-closed"}
    assert rows["k-revised"]["disable_notification"] is True
    assert "disable_notification" not in rows["k-closed"]
