"""Invite links, join requests and chat_member updates as the Bot API documents them, through
aiogram's real Bot; users act through the control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Update

from tests.tgemu.helpers import OTHER_ID, TOKEN, USER_ID, make_bot
from tgemu import EmulatorClient, EmulatorServer
from tgemu.client import EmulatorControlError
from tgemu.state import Emulator

VIP = -1009001
T0 = 1_900_000_000


class Ticking:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticking:
    return Ticking()


@pytest.fixture
async def server(ticks: Ticking) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN, emulator=Emulator(TOKEN, clock=ticks)) as running:
        yield running


@pytest.fixture
async def vip(client: EmulatorClient) -> int:
    await client.add_chat(VIP, "supergroup", "SignalDesk VIP")
    return VIP


LISTENED = ["chat_member", "chat_join_request", "message"]


async def listen(bot: Bot) -> None:
    """Ask for chat_member and chat_join_request (allowed_updates applies from now on)."""
    await bot.get_updates(timeout=0, allowed_updates=LISTENED)


async def updates(bot: Bot, *kinds: str) -> list[Update]:
    """What the bot receives now (each update once), asking for `kinds`."""
    got = await bot.get_updates(timeout=0, allowed_updates=list(kinds))
    if got:
        await bot.get_updates(offset=got[-1].update_id + 1, timeout=0)
    return got


async def test_link_terms_round_trip_in_aiogram_shape(bot: Bot, vip: int) -> None:
    link = await bot.create_chat_invite_link(
        vip, name="vip-sam", expire_date=T0 + 3600, member_limit=1
    )
    assert link.name == "vip-sam" and link.member_limit == 1
    assert int(link.expire_date.timestamp()) == T0 + 3600  # type: ignore[union-attr]
    assert not link.creates_join_request and not link.is_revoked and not link.is_primary
    assert link.creator.is_bot
    edited = await bot.edit_chat_invite_link(vip, link.invite_link, name="renamed")
    # Telegram replaces every term: what the edit omits is cleared
    assert (edited.name, edited.member_limit, edited.expire_date) == ("renamed", None, None)
    revoked = await bot.revoke_chat_invite_link(vip, link.invite_link)
    assert revoked.is_revoked and revoked.invite_link == link.invite_link
    with pytest.raises(TelegramBadRequest, match="INVITE_HASH_EXPIRED"):
        await bot.edit_chat_invite_link(vip, link.invite_link, name="again")
    with pytest.raises(TelegramBadRequest, match="INVITE_HASH_EXPIRED"):
        await bot.revoke_chat_invite_link(vip, "https://t.me/+never-made")


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        ({"member_limit": 0}, "MEMBER_LIMIT_INVALID"),
        ({"member_limit": 100_000}, "MEMBER_LIMIT_INVALID"),
        ({"member_limit": 1, "creates_join_request": True}, "requiring administrator approval"),
        ({"name": "x" * 33}, "name is too long"),
    ],
)
async def test_link_terms_telegram_refuses(
    bot: Bot, vip: int, terms: dict[str, Any], error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.create_chat_invite_link(vip, **terms)


async def test_limits_at_the_edges_are_accepted(bot: Bot, vip: int) -> None:
    assert (await bot.create_chat_invite_link(vip, member_limit=99_999)).member_limit == 99_999
    assert (await bot.create_chat_invite_link(vip, name="x" * 32)).name == "x" * 32


async def test_rights_are_checked_for_each_call(
    bot: Bot, client: EmulatorClient, vip: int
) -> None:
    link = await bot.create_chat_invite_link(vip, creates_join_request=True)
    await client.join(USER_ID, invite_link=link.invite_link)
    await client.set_bot_rights(vip, can_invite_users=False)
    me = await bot.get_chat_member(vip, 123456789)
    assert me.status == "administrator" and me.can_invite_users is False  # type: ignore[union-attr]
    assert me.can_restrict_members is True  # type: ignore[union-attr]
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage chat invite link"):
        await bot.create_chat_invite_link(vip)
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage chat invite link"):
        await bot.revoke_chat_invite_link(vip, link.invite_link)
    with pytest.raises(TelegramBadRequest, match="CHAT_ADMIN_REQUIRED"):
        await bot.approve_chat_join_request(vip, USER_ID)
    await client.set_bot_rights(vip, can_restrict_members=False)
    with pytest.raises(TelegramBadRequest, match="not enough rights to restrict"):
        await bot.ban_chat_member(vip, OTHER_ID)
    await client.set_bot_rights(vip, bot_is_admin=False)
    assert (await bot.get_chat_member(vip, 123456789)).status == "member"
    admins = await bot.get_chat_administrators(vip)
    assert [a.user.id for a in admins] == []
    with pytest.raises(TelegramBadRequest, match="not enough rights to restrict"):
        await bot.unban_chat_member(vip, OTHER_ID)


async def test_single_use_link_admits_one_and_says_so_in_chat_member(
    bot: Bot, client: EmulatorClient, vip: int
) -> None:
    await listen(bot)
    link = await bot.create_chat_invite_link(vip, member_limit=1, expire_date=T0 + 3600)
    joined = await client.join(USER_ID, invite_link=link.invite_link)
    assert joined["status"] == "joined" and USER_ID in joined["chat"]["members"]
    with pytest.raises(EmulatorControlError) as used_up:
        await client.join(OTHER_ID, invite_link=link.invite_link)
    assert used_up.value.status == 409
    (update,) = await updates(bot, "chat_member")
    member = update.chat_member
    assert member is not None and member.chat.id == vip and member.from_user.id == USER_ID
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("left", "member")
    assert member.invite_link is not None and member.invite_link.invite_link == link.invite_link
    # the seat frees when the member leaves (a limit on simultaneous members)
    await client.leave(USER_ID, vip)
    (left,) = await updates(bot, "chat_member")
    assert left.chat_member is not None and left.chat_member.new_chat_member.status == "left"
    assert (await client.join(OTHER_ID, invite_link=link.invite_link))["status"] == "joined"
    listed = (await client.invites(vip))["invite_links"]
    assert [entry["members_joined"] for entry in listed] == [[OTHER_ID]]


async def test_expired_and_revoked_links_are_refused(
    bot: Bot, client: EmulatorClient, vip: int, ticks: Ticking
) -> None:
    short = await bot.create_chat_invite_link(vip, expire_date=T0 + 60)
    revoked = await bot.create_chat_invite_link(vip)
    await bot.revoke_chat_invite_link(vip, revoked.invite_link)
    ticks.now = T0 + 60
    for link, status in ((short.invite_link, 410), (revoked.invite_link, 404)):
        with pytest.raises(EmulatorControlError) as refused:
            await client.join(USER_ID, invite_link=link)
        assert refused.value.status == status
    assert (await bot.get_chat_member(vip, USER_ID)).status == "left"


async def test_chat_member_is_not_sent_by_default_nor_to_a_non_admin(
    bot: Bot, client: EmulatorClient, vip: int
) -> None:
    await bot.get_updates(timeout=0)  # allowed_updates never given: Telegram's default
    link = await bot.create_chat_invite_link(vip)
    await client.join(USER_ID, invite_link=link.invite_link)
    assert await updates(bot) == []  # the default set excludes chat_member
    await client.set_bot_rights(vip, bot_is_admin=False)
    await listen(bot)
    await client.leave(USER_ID, vip)
    assert await updates(bot, "chat_member") == []
    assert (await client.stats())["updates_dropped"] == 2


async def test_join_request_approved(bot: Bot, client: EmulatorClient, vip: int) -> None:
    await listen(bot)
    link = await bot.create_chat_invite_link(vip, creates_join_request=True, name="ask")
    assert (await client.join(USER_ID, invite_link=link.invite_link))["status"] == "requested"
    with pytest.raises(EmulatorControlError):
        await client.join(USER_ID, invite_link=link.invite_link)  # one pending request
    (request,) = await updates(bot, "chat_join_request", "chat_member")
    asked = request.chat_join_request
    assert asked is not None and asked.from_user.id == USER_ID and asked.user_chat_id == USER_ID
    assert asked.invite_link is not None and asked.invite_link.invite_link == link.invite_link
    assert asked.invite_link.pending_join_request_count == 1
    assert (await bot.get_chat_member(vip, USER_ID)).status == "left"
    assert await bot.approve_chat_join_request(vip, USER_ID)
    (update,) = await updates(bot, "chat_join_request", "chat_member")
    member = update.chat_member
    assert member is not None and member.new_chat_member.status == "member"
    assert member.via_join_request and member.from_user.is_bot
    assert member.invite_link is not None and member.invite_link.invite_link == link.invite_link
    with pytest.raises(TelegramBadRequest, match="USER_ALREADY_PARTICIPANT"):
        await bot.approve_chat_join_request(vip, USER_ID)


async def test_join_request_declined(bot: Bot, client: EmulatorClient, vip: int) -> None:
    await listen(bot)
    link = await bot.create_chat_invite_link(vip, creates_join_request=True)
    await client.join(OTHER_ID, invite_link=link.invite_link)
    assert await bot.decline_chat_join_request(vip, OTHER_ID)
    assert (await client.invites(vip))["join_requests"] == []
    assert (await bot.get_chat_member(vip, OTHER_ID)).status == "left"
    with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
        await bot.decline_chat_join_request(vip, OTHER_ID)
    kinds = [u.event_type for u in await updates(bot, "chat_join_request", "chat_member")]
    assert kinds == ["chat_join_request"]  # declining tells nobody


async def test_ban_then_unban_removes_a_member_who_may_come_back(
    bot: Bot, client: EmulatorClient, vip: int
) -> None:
    await listen(bot)
    first = await bot.create_chat_invite_link(vip, member_limit=1)
    await client.join(USER_ID, invite_link=first.invite_link)
    await bot.ban_chat_member(vip, USER_ID)
    with pytest.raises(EmulatorControlError) as banned:
        await client.join(
            USER_ID, invite_link=(await bot.create_chat_invite_link(vip)).invite_link
        )
    assert banned.value.status == 403
    await bot.unban_chat_member(vip, USER_ID, only_if_banned=True)
    assert (await bot.get_chat_member(vip, USER_ID)).status == "left"
    statuses = [
        (u.chat_member.old_chat_member.status, u.chat_member.new_chat_member.status)
        for u in await updates(bot, "chat_member")
        if u.chat_member is not None
    ]
    assert statuses == [("left", "member"), ("member", "kicked"), ("kicked", "left")]
    again = await bot.create_chat_invite_link(vip, member_limit=1)
    assert (await client.join(USER_ID, invite_link=again.invite_link))["status"] == "joined"


async def test_private_chats_need_a_link_and_control_errors_are_problems(
    client: EmulatorClient, vip: int
) -> None:
    with pytest.raises(EmulatorControlError) as no_link:
        await client.join(USER_ID, chat_id=vip)
    assert no_link.value.status == 403
    with pytest.raises(EmulatorControlError) as unknown:
        await client.join(USER_ID, invite_link="https://t.me/+nope")
    assert unknown.value.status == 404
    with pytest.raises(EmulatorControlError) as not_member:
        await client.leave(USER_ID, vip)
    assert not_member.value.status == 409
    with pytest.raises(EmulatorControlError) as bad_right:
        await client.set_bot_rights(vip, can_fly=True)
    assert bad_right.value.status == 422


async def test_the_bot_fixture_is_the_same_bot(server: EmulatorServer) -> None:
    other = make_bot(server.url)
    try:
        assert (await other.get_me()).id == 123456789
    finally:
        await other.session.close()
