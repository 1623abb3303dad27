"""The VIP chat end to end: the real app (polling) against the emulator, whose clock is the
process clock. The owner names the chat, a paying user gets a link and joins, someone else's
link gets its user removed and the link revoked, join requests are approved or declined, access
ends after the grace period and the reconciliation job removes the member, and it records a
member whose join it never saw."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.app import AppRunner
from bot.vip_port import TelegramVip
from core import db
from core.clock import ManualClock
from models.billing import EntitlementSource, VipMembership
from models.users import Role, User
from services.billing import catalog
from services.billing import entitlements as ent
from services.users import profiles as users_service
from tests.e2e.conftest import OWNER, SUB, TOKEN, VISITOR, app_settings, running_app, say, text
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer
from tgemu.state import Emulator

VIP = -1009001
EVE = 1000005
LINK = re.compile(r"https://t\.me/\+[\w-]+")


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[EmulatorServer]:
    """Telegram on the process clock: link expiry and the app's "now" agree."""
    emu = Emulator(TOKEN, clock=lambda: clock.now().timestamp())
    async with EmulatorServer(TOKEN, emulator=emu) as server:
        yield server


@pytest.fixture
async def app(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, clock: ManualClock
) -> AsyncIterator[AppRunner]:
    """Nico (in Spanish) has paid for 30 days of Starter, Sam is a subscriber by role, Eve is a
    visitor;
    the VIP supergroup @sd_vip exists with the bot as an administrator."""
    await tg.add_user(EVE, "Eve", username="eve")
    await tg.add_chat(VIP, "supergroup", "SignalDesk VIP", username="sd_vip", admins=[OWNER])
    await db.init_db(clean_db)
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    nico = await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    await users_service.seed(EVE, "Eve", "eve", Role.PUBLIC)
    await users_service.set_language(VISITOR, "es")  # outbox messages follow the saved language
    await ent.grant(nico.id, "starter", 30, source=EntitlementSource.STARS, now=clock.now())
    await db.close_db()
    settings = app_settings(clean_db, emulator.url, throttle_rate=100, throttle_burst=100,
                            sender_rate_per_s=500, sender_per_chat_per_s=100)  # fmt: skip
    async with running_app(settings) as runner:
        reply = await say(tg, OWNER, "/vip_channel @sd_vip")
        assert "The VIP chat is now SignalDesk VIP (-1009001)" in text(reply)
        yield runner


async def members(tg: EmulatorClient) -> dict[str, Any]:
    return dict((await tg.invites(VIP))["chat"])


async def link_of(tg: EmulatorClient, user: int) -> str:
    reply = await say(tg, user, "/vip")
    found = LINK.search(text(reply))
    assert found is not None, text(reply)
    return found.group(0)


async def membership(telegram_id: int) -> VipMembership | None:
    user = await User.get(telegram_id=telegram_id)
    return await VipMembership.get_or_none(user_id=user.id, chat_id=VIP)


async def link_state(tg: EmulatorClient, link: str) -> dict[str, Any]:
    (entry,) = [e for e in (await tg.invites(VIP))["invite_links"] if e["invite_link"] == link]
    return dict(entry)


async def test_the_owner_names_the_chat_only_where_the_bot_may_run_it(
    app: AppRunner, tg: EmulatorClient
) -> None:
    await tg.set_bot_rights(VIP, can_restrict_members=False)
    reply = await say(tg, OWNER, "/vip_channel @sd_vip")
    assert "lacks these rights: can_restrict_members" in text(reply)
    await tg.set_bot_rights(VIP, bot_is_admin=False)
    assert "is not an administrator" in text(await say(tg, OWNER, "/vip_channel -1009001"))
    assert "does not know the chat" in text(await say(tg, OWNER, "/vip_channel @nowhere"))
    assert "The VIP chat is SignalDesk VIP" in text(
        await say(tg, OWNER, "/vip_channel")
    )  # unchanged
    refused = await say(tg, VISITOR, "/vip_channel @sd_vip")  # the owner's command only
    assert "SignalDesk VIP" not in text(refused)


async def test_in_the_group_the_owner_names_it_and_links_are_not_posted(
    app: AppRunner, tg: EmulatorClient
) -> None:
    await tg.set_bot_rights(VIP, can_invite_users=False)
    await tg.send(OWNER, "/vip_channel", chat_id=VIP)  # no argument, inside the group: this one
    refused = await tg.wait_for_bot(VIP)
    assert "lacks these rights: can_invite_users" in text(refused)
    await tg.set_bot_rights(VIP, can_invite_users=True)
    await tg.send(OWNER, "/vip_channel", chat_id=VIP)
    assert "The VIP chat is now SignalDesk VIP" in text(await tg.wait_for_bot(VIP))
    await tg.send(OWNER, "/vip", chat_id=VIP)
    reply = await tg.wait_for_bot(VIP)
    assert "personal: ask me for it in our private chat" in text(reply)
    assert "t.me/+" not in text(reply)


async def test_a_paying_user_joins_with_their_link(app: AppRunner, tg: EmulatorClient) -> None:
    assert {"chat_member", "chat_join_request"} <= set(app.dp.resolve_used_update_types())
    link = await link_of(tg, VISITOR)
    assert (await link_state(tg, link))["member_limit"] == 1
    assert (await tg.join(VISITOR, invite_link=link))["status"] == "joined"
    row = await until(lambda: membership(VISITOR), "Nico's membership")
    assert row.removed_at is None
    state = await until(lambda: link_state(tg, link), "the link revoked",
                        accept=lambda s: s["is_revoked"])  # fmt: skip
    assert state["members_joined"] == [VISITOR]
    assert "Ya eres miembro de SignalDesk VIP" in text(await say(tg, VISITOR, "/vip"))  # es
    refused = await say(tg, EVE, "/vip")
    assert "included in the paid plans: /plans" in text(refused)


async def test_someone_elses_link_removes_the_user_and_revokes_it(
    app: AppRunner, tg: EmulatorClient
) -> None:
    link = await link_of(tg, VISITOR)
    await tg.join(EVE, invite_link=link)
    notice = await tg.wait_for(EVE, lambda m: "issued to someone else" in text(m))
    assert notice["from_bot"]
    chat = await members(tg)
    assert EVE not in chat["members"] and EVE not in chat["banned"]  # banned, then unbanned
    assert (await link_state(tg, link))["is_revoked"]
    assert await membership(EVE) is None
    fresh = await link_of(tg, VISITOR)  # Nico still gets a seat of his own
    assert fresh != link
    assert (await tg.join(VISITOR, invite_link=fresh))["status"] == "joined"
    await until(lambda: membership(VISITOR), "Nico's membership")


async def test_join_requests_approved_for_payers_declined_for_others(
    app: AppRunner, tg: EmulatorClient
) -> None:
    asking = await app.bot.create_chat_invite_link(VIP, creates_join_request=True)
    assert (await tg.join(VISITOR, invite_link=asking.invite_link))["status"] == "requested"
    await until(lambda: members(tg), "Nico approved", accept=lambda c: VISITOR in c["members"])
    await until(lambda: membership(VISITOR), "Nico's membership")
    await tg.join(EVE, invite_link=asking.invite_link)
    declined = await tg.wait_for(EVE, lambda m: "request to join" in text(m))
    assert "/plans" in text(declined)
    assert (await tg.invites(VIP))["join_requests"] == []
    assert EVE not in (await members(tg))["members"]


async def test_access_ends_after_grace_and_reconciliation_removes_the_member(
    app: AppRunner, tg: EmulatorClient, clock: ManualClock
) -> None:
    from jobs.vip_jobs import vip_reconcile

    assert app.ea_jobs is not None and app.ea_jobs.get_job("vip_reconcile_job") is not None
    await tg.join(VISITOR, invite_link=await link_of(tg, VISITOR))
    await until(lambda: membership(VISITOR), "Nico's membership")
    port = TelegramVip(app.bot)
    clock.advance(timedelta(days=30, hours=47))  # the period is over, the grace is not
    assert (await vip_reconcile(port)).removed == ()
    assert VISITOR in (await members(tg))["members"]
    clock.advance(timedelta(hours=1))
    assert (await vip_reconcile(port)).removed == (VISITOR,)
    chat = await members(tg)
    assert VISITOR not in chat["members"] and VISITOR not in chat["banned"]
    notice = await tg.wait_for(VISITOR, lambda m: "Tu acceso al canal VIP terminó" in text(m))
    assert "/plans" in text(notice)
    row = await membership(VISITOR)
    assert row is not None and row.removed_at == clock.now()
    assert "incluido en los planes de pago" in text(await say(tg, VISITOR, "/vip"))


async def test_reconciliation_records_a_join_it_never_saw(
    app: AppRunner, tg: EmulatorClient
) -> None:
    from jobs.vip_jobs import vip_reconcile

    link = await link_of(tg, SUB)  # complimentary by role: entitled
    await tg.set_bot_rights(VIP, bot_is_admin=False)  # chat_member goes to admins only
    await tg.join(SUB, invite_link=link)
    await tg.set_bot_rights(VIP, bot_is_admin=True)
    assert await membership(SUB) is None
    report = await vip_reconcile(TelegramVip(app.bot))
    assert report.recorded == (SUB,) and report.removed == ()
    row = await membership(SUB)
    assert row is not None and row.removed_at is None
    await tg.leave(SUB, VIP)
    await until(lambda: membership(SUB), "Sam's membership closed",
                accept=lambda r: r is not None and r.removed_at is not None)  # fmt: skip
