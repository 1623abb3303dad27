"""The VIP chat's rules (services.billing.vip) over an in-memory Telegram that records calls:
set-up checks, single-use invites, joins with one's own / someone else's / no link, join
requests, removal at the end of access, and reconciliation of drift. Through the real Bot API
(emulator) end to end: tests/e2e/test_vip.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import EntitlementSource, VipInvite, VipMembership
from models.notifications import Notification
from models.users import Role, User, UserStatus
from services import app_settings, audit
from services.billing import catalog, vip
from services.billing import entitlements as ent
from services.billing.vip import ChatFacts, MemberChange, VipChatUnavailable
from services.errors import InvalidInput, NotFound, PermissionDenied
from tests.services.terminals import helpers as th

VIP = -1009001
OWNER, SAM, NICO, EVE = 1, 2, 3, 4
ALL_RIGHTS = frozenset({"can_invite_users", "can_restrict_members"})


@dataclass
class FakeTelegram:
    """Telegram as the port sees it: one chat, its members, links; every call recorded."""

    facts: ChatFacts = field(
        default_factory=lambda: ChatFacts(VIP, "SignalDesk VIP", "supergroup", True, ALL_RIGHTS)
    )
    members: dict[int, str] = field(default_factory=dict)
    links: dict[str, bool] = field(default_factory=dict)  # link -> revoked
    calls: list[tuple[str, object]] = field(default_factory=list)

    async def chat_facts(self, chat: int | str) -> ChatFacts:
        self.calls.append(("chat_facts", chat))
        if chat not in (VIP, "@sd_vip"):
            raise VipChatUnavailable("Bad Request: chat not found")
        return self.facts

    async def create_link(self, chat_id: int, *, name: str, expires_at: datetime) -> str:
        link = f"https://t.me/+link{len(self.links)}"
        self.links[link] = False
        self.calls.append(("create_link", (name, expires_at)))
        return link

    async def revoke_link(self, chat_id: int, link: str) -> None:
        self.links[link] = True
        self.calls.append(("revoke_link", link))

    async def member_status(self, chat_id: int, telegram_id: int) -> str:
        return self.members.get(telegram_id, "left")

    async def remove(self, chat_id: int, telegram_id: int) -> None:
        self.members[telegram_id] = "left"
        self.calls.append(("remove", telegram_id))

    async def answer_request(self, chat_id: int, telegram_id: int, *, approve: bool) -> None:
        if approve:
            self.members[telegram_id] = "member"
        self.calls.append(("approve" if approve else "decline", telegram_id))

    def made(self, kind: str) -> list[object]:
        return [arg for name, arg in self.calls if name == kind]


@pytest.fixture
async def tg(database: str, clock: ManualClock) -> FakeTelegram:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    await th.user(OWNER, Role.OWNER, "Olivia")
    for tid, name in ((SAM, "Sam"), (NICO, "Nico"), (EVE, "Eve")):
        await th.user(tid, Role.PUBLIC, name)
    telegram = FakeTelegram()
    await vip.set_chat(telegram, "@sd_vip", actor_id=OWNER)
    return telegram


async def pay(telegram_id: int, now: datetime, days: int = 30) -> None:
    user = await th.user(telegram_id, Role.PUBLIC, "x")
    await ent.grant(user.id, "starter", days, source=EntitlementSource.STARS, now=now)


def joined(telegram_id: int, link: str | None) -> MemberChange:
    return MemberChange(VIP, telegram_id, "left", "member", invite_link=link)


async def texts(telegram_id: int) -> list[str]:
    rows = await Notification.filter(chat_id=telegram_id).order_by("id")
    return [str(r.payload["text"]) for r in rows]


@pytest.mark.parametrize(
    ("facts", "error"),
    [
        (ChatFacts(VIP, "VIP", "supergroup", False, frozenset()), "vip.bot_not_admin"),
        (ChatFacts(VIP, "VIP", "channel", True, frozenset({"can_invite_users"})),
         "vip.bot_rights_missing"),
        (ChatFacts(VIP, "Sam", "private", False, frozenset()), "vip.chat_private"),
    ],
)  # fmt: skip
async def test_set_chat_refuses_a_chat_the_bot_cannot_run(
    tg: FakeTelegram, facts: ChatFacts, error: str
) -> None:
    tg.facts = facts
    with pytest.raises(InvalidInput) as refused:
        await vip.set_chat(tg, str(VIP), actor_id=OWNER)
    assert refused.value.key == error
    assert (await vip.current_chat()) == vip.VipChat(VIP, "SignalDesk VIP")  # unchanged


async def test_set_chat_stores_and_audits(tg: FakeTelegram) -> None:
    assert await app_settings.get(vip.CHAT_KEY) == VIP
    (entry,) = await audit.recent(action="vip.chat_set")
    assert entry.actor_id == OWNER and entry.target == str(VIP)
    with pytest.raises(NotFound):
        await vip.set_chat(tg, "@elsewhere", actor_id=OWNER)
    with pytest.raises(InvalidInput, match="vip.chat_ref_invalid"):
        await vip.set_chat(tg, "not a chat", actor_id=OWNER)


async def test_invite_is_single_use_short_lived_and_handed_out_again(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    now = clock.now()
    await pay(SAM, now)
    invite = await vip.issue_invite(tg, SAM, now)
    assert invite.expires_at == now + timedelta(hours=1) and not invite.reused
    again = await vip.issue_invite(tg, SAM, now + timedelta(minutes=10))
    assert again.link == invite.link and again.reused  # no second live link
    assert len(tg.made("create_link")) == 1
    clock.advance(timedelta(minutes=56))  # the first is about to expire: a fresh one
    third = await vip.issue_invite(tg, SAM, clock.now())
    assert third.link != invite.link
    await app_settings.put(vip.TTL_KEY, 15)
    clock.advance(timedelta(hours=2))
    assert (await vip.issue_invite(tg, SAM, clock.now())).expires_at == clock.now() + timedelta(
        minutes=15
    )
    rows = await VipInvite.filter(chat_id=VIP).count()
    assert rows == 3 and len(await audit.recent(action="vip.invite_issued")) == 3


async def test_invite_refused_with_the_reason(tg: FakeTelegram, clock: ManualClock) -> None:
    with pytest.raises(PermissionDenied, match="vip.not_entitled"):
        await vip.issue_invite(tg, NICO, clock.now())
    with pytest.raises(PermissionDenied):
        await vip.issue_invite(tg, 999, clock.now())  # never met
    await pay(SAM, clock.now())
    tg.members[SAM] = "member"
    with pytest.raises(InvalidInput, match="vip.already_member"):
        await vip.issue_invite(tg, SAM, clock.now())
    await app_settings.put(vip.CHAT_KEY, None)
    with pytest.raises(NotFound, match="vip.not_configured"):
        await vip.issue_invite(tg, SAM, clock.now())
    assert tg.made("create_link") == []


async def test_joining_with_ones_own_link_admits_and_spends_the_link(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    await pay(SAM, clock.now())
    invite = await vip.issue_invite(tg, SAM, clock.now())
    tg.members[SAM] = "member"
    assert await vip.on_member_change(tg, joined(SAM, invite.link), clock.now()) == "admitted"
    row = await VipInvite.get(invite_link=invite.link)
    assert row.used_at == clock.now() and row.revoked_at == clock.now()
    assert tg.links[invite.link] is True and tg.made("remove") == []
    membership = await VipMembership.get(chat_id=VIP)
    assert membership.removed_at is None
    assert [e.target for e in await audit.recent(action="vip.joined")] == [str(SAM)]


async def test_someone_elses_link_removes_the_intruder_and_revokes_it(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    await pay(SAM, clock.now())
    await pay(EVE, clock.now())  # even a paying user may not use another's seat
    invite = await vip.issue_invite(tg, SAM, clock.now())
    for intruder in (EVE, 777):  # a registered user and a stranger
        outcome = await vip.on_member_change(tg, joined(intruder, invite.link), clock.now())
        assert outcome == "intruder_removed"
    assert tg.made("remove") == [EVE, 777]
    assert tg.made("revoke_link") == [invite.link]  # once
    assert await VipMembership.filter(chat_id=VIP).count() == 0
    (eve_text,) = await texts(EVE)
    assert "issued to someone else" in eve_text and "/vip" in eve_text
    logged = await audit.recent(action="vip.intruder_removed")
    sam = await th.user(SAM, Role.PUBLIC, "Sam")
    assert {e.target for e in logged} == {str(EVE), "777"}
    assert {e.data["link_owner"] for e in logged} == {sam.id}


async def test_unentitled_join_without_our_link(tg: FakeTelegram, clock: ManualClock) -> None:
    out = await vip.on_member_change(tg, joined(NICO, "https://t.me/+admins"), clock.now())
    assert out == "unentitled_removed" and tg.made("remove") == [NICO]
    assert tg.made("revoke_link") == ["https://t.me/+admins"]
    primary = MemberChange(VIP, EVE, "left", "member", "https://t.me/+main", link_is_primary=True)
    assert await vip.on_member_change(tg, primary, clock.now()) == "unentitled_removed"
    assert tg.made("revoke_link") == ["https://t.me/+admins"]  # the primary link stays
    (nico_text,) = await texts(NICO)
    assert "/plans" in nico_text
    await pay(SAM, clock.now())
    assert await vip.on_member_change(tg, joined(SAM, None), clock.now()) == "admitted"


async def test_changes_elsewhere_and_staff_are_ignored(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    other = MemberChange(-5, NICO, "left", "member")
    admin = MemberChange(VIP, NICO, "left", "administrator")
    for change in (other, admin):
        assert await vip.on_member_change(tg, change, clock.now()) == "ignored"
    assert tg.calls == [("chat_facts", "@sd_vip")]


async def test_join_requests_approved_when_entitled(tg: FakeTelegram, clock: ManualClock) -> None:
    await pay(SAM, clock.now())
    assert await vip.on_join_request(tg, VIP, SAM, clock.now()) is True
    assert await vip.on_join_request(tg, VIP, NICO, clock.now()) is False
    assert await vip.on_join_request(tg, -5, NICO, clock.now()) is None
    assert tg.made("approve") == [SAM] and tg.made("decline") == [NICO]
    (declined,) = await texts(NICO)
    assert "declined" in declined and "/plans" in declined
    assert len(await audit.recent(action="vip.request_declined")) == 1


async def test_a_banned_user_is_not_entitled(tg: FakeTelegram, clock: ManualClock) -> None:
    await pay(SAM, clock.now())
    await vip.on_member_change(tg, joined(SAM, None), clock.now())
    tg.members[SAM] = "member"
    await User.filter(telegram_id=SAM).update(status=UserStatus.BANNED)
    with pytest.raises(PermissionDenied):
        await vip.issue_invite(tg, SAM, clock.now())
    assert (await vip.reconcile(tg, clock.now())).removed == (SAM,)


async def test_leaving_closes_the_membership(tg: FakeTelegram, clock: ManualClock) -> None:
    await pay(SAM, clock.now())
    await vip.on_member_change(tg, joined(SAM, None), clock.now())
    left = MemberChange(VIP, SAM, "member", "left")
    assert await vip.on_member_change(tg, left, clock.now()) == "left"
    assert (await VipMembership.get(chat_id=VIP)).removed_at == clock.now()
    assert len(await audit.recent(action="vip.left")) == 1


async def test_reconcile_removes_members_after_grace_and_fixes_drift(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    start = clock.now()
    await pay(SAM, start, days=1)
    await pay(NICO, start, days=30)
    await pay(EVE, start, days=30)
    for tid in (SAM, NICO):
        tg.members[tid] = "member"
        await vip.on_member_change(tg, joined(tid, None), start)
    await vip.issue_invite(tg, EVE, start)  # Eve joins; the update is lost
    tg.members[EVE] = "member"
    tg.members[NICO] = "left"  # Nico left; that update was lost too
    clock.advance(timedelta(days=2))  # Sam's day is over, but the grace is not
    report = await vip.reconcile(tg, clock.now())
    assert report.removed == () and report.closed == (NICO,) and report.recorded == (EVE,)
    clock.advance(ent.GRACE)  # past the grace: Sam's access has ended
    report = await vip.reconcile(tg, clock.now())
    assert report.removed == (SAM,) and report.checked == 2
    assert tg.made("remove") == [SAM] and tg.members[SAM] == "left"
    (removed,) = await texts(SAM)
    assert "has ended" in removed
    sam = await th.user(SAM, Role.PUBLIC, "Sam")
    assert (await VipMembership.get(user_id=sam.id)).removed_at == clock.now()
    logged = await audit.recent(action="vip.reconciled")
    assert [e.data["removed"] for e in logged] == [[SAM], []]
    assert (await vip.reconcile(tg, clock.now())).removed == ()  # nothing left to fix


async def test_reconcile_counts_telegram_failures_and_goes_on(
    tg: FakeTelegram, clock: ManualClock
) -> None:
    await pay(SAM, clock.now())
    await vip.on_member_change(tg, joined(SAM, None), clock.now())

    async def broken(chat_id: int, telegram_id: int) -> str:
        raise RuntimeError("Telegram is down")

    tg.member_status = broken  # type: ignore[method-assign]
    assert (await vip.reconcile(tg, clock.now())).errors == 1
