"""The VIP chat: a private channel or group that paying users enter with a link of their own.

Rules (issue 11):
- The owner names the chat (`set_chat`); the bot must be an administrator that may invite
  users (links, join requests) and restrict members (removals). Kept in app settings.
- An entitled user (`Feature.VIP_CHANNEL`) gets a single-use link (`member_limit` 1, expiring
  after `invite_ttl`), stored as a `VipInvite`; an unexpired unused one is handed out again.
- A join through a link we issued to that user, while entitled: a `VipMembership`, the invite
  used, the link revoked (one seat, one person). A join through a link issued to someone else,
  or without one of ours by someone not entitled: removed (ban then unban: they may come back
  after paying) and the link revoked. Each is audited.
- Join requests: approved when entitled, declined otherwise.
- Access ends (expiry after grace, refund): `reconcile` (the scheduler's job) finds members we
  know whose access is gone and removes them with a message. Telegram has no "list members"
  method, so it walks our memberships and recent invitees with getChatMember: members who left
  unseen are closed, invitees found inside without a recorded join are recorded (or removed).

Telegram is reached through the `VipTelegram` port, implemented with aiogram by the assembly;
this module imports no aiogram. Messages to users go through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from tortoise.transactions import in_transaction

from models.billing import VipInvite, VipMembership
from models.users import Role, User, UserStatus
from services import app_settings, audit
from services.billing.catalog import Feature
from services.billing.entitlements import access_for
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.outbox import notifications as outbox
from services.outbox.kinds import PlainText
from services.text.formatting import render
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)
CHAT_KEY = "vip.chat_id"
TITLE_KEY = "vip.chat_title"
TTL_KEY = "vip.invite_ttl_minutes"
DEFAULT_TTL = timedelta(hours=1)
REUSE_MARGIN = timedelta(minutes=5)  # an invite closer than this to expiry is not handed out
INVITEE_WINDOW = timedelta(days=2)  # reconcile checks invitees whose link expired this recently
NEEDED_RIGHTS = ("can_invite_users", "can_restrict_members")
INSIDE = frozenset({"member", "administrator", "creator", "restricted"})
STAFF_INSIDE = frozenset({"administrator", "creator"})  # never removed by us


class VipChatUnavailable(Exception):
    """The port could not find the chat (unknown, or the bot is not in it)."""


@dataclass(frozen=True, slots=True)
class ChatFacts:
    id: int
    title: str
    type: str  # group | supergroup | channel | private
    bot_is_admin: bool
    rights: frozenset[str]  # the bot's administrator rights that are granted


@runtime_checkable
class VipTelegram(Protocol):
    """What the VIP chat needs of Telegram (the assembly implements it with aiogram's Bot)."""

    async def chat_facts(self, chat: int | str) -> ChatFacts:
        """The chat and the bot's standing in it; raises VipChatUnavailable."""
        ...

    async def create_link(self, chat_id: int, *, name: str, expires_at: datetime) -> str:
        """A link admitting one member until `expires_at` (member_limit 1)."""
        ...

    async def revoke_link(self, chat_id: int, link: str) -> None: ...

    async def member_status(self, chat_id: int, telegram_id: int) -> str:
        """ChatMember.status: creator, administrator, member, restricted, left, kicked."""
        ...

    async def remove(self, chat_id: int, telegram_id: int) -> None:
        """Ban then unban: out of the chat, free to come back with a new link."""
        ...

    async def answer_request(self, chat_id: int, telegram_id: int, *, approve: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class VipChat:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class Invite:
    link: str
    expires_at: datetime
    reused: bool


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A chat_member update, as the service needs it."""

    chat_id: int
    telegram_id: int
    old_status: str
    new_status: str
    invite_link: str | None = None
    link_is_primary: bool = False
    by_bot: bool = False  # the change was made by our bot (its own removal)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    checked: int = 0
    removed: tuple[int, ...] = ()  # Telegram ids removed for lost access
    closed: tuple[int, ...] = ()  # left without us seeing it
    recorded: tuple[int, ...] = ()  # found inside without a recorded join
    errors: int = 0


@dataclass
class _Tally:
    checked: int = 0
    removed: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)
    errors: int = 0

    def report(self) -> ReconcileReport:
        return ReconcileReport(
            self.checked, tuple(self.removed), tuple(self.closed), tuple(self.recorded),
            self.errors,
        )  # fmt: skip


# -- the owner's set-up ---------------------------------------------------------------------
def _chat_ref(text: str) -> int | str:
    ref = text.strip()
    if ref.startswith("@") and 2 <= len(ref) <= 33:
        return ref
    if ref.removeprefix("-").isascii() and ref.removeprefix("-").isdigit() and len(ref) < 21:
        return int(ref)
    raise InvalidInput("vip.chat_ref_invalid", text=ref[:40])


async def set_chat(port: VipTelegram, ref: str, *, actor_id: int) -> VipChat:
    """Name the VIP chat (`@username` or numeric id) after checking the bot's rights there."""
    try:
        facts = await port.chat_facts(_chat_ref(ref))
    except VipChatUnavailable:
        raise NotFound("vip.chat_not_found", chat=ref.strip()[:40]) from None
    if facts.type == "private":
        raise InvalidInput("vip.chat_private", chat=facts.title)
    if not facts.bot_is_admin:
        raise InvalidInput("vip.bot_not_admin", chat=facts.title)
    missing = [r for r in NEEDED_RIGHTS if r not in facts.rights]
    if missing:
        raise InvalidInput("vip.bot_rights_missing", chat=facts.title, rights=", ".join(missing))
    async with in_transaction():
        previous = await app_settings.get(CHAT_KEY)
        await app_settings.put(CHAT_KEY, facts.id)
        await app_settings.put(TITLE_KEY, facts.title)
        await audit.record(
            "vip.chat_set", actor_id=actor_id, target=str(facts.id), title=facts.title,
            previous=previous,
        )  # fmt: skip
    return VipChat(facts.id, facts.title)


async def current_chat() -> VipChat | None:
    chat_id = await app_settings.get(CHAT_KEY)
    if chat_id is None:
        return None
    return VipChat(int(chat_id), str(await app_settings.get(TITLE_KEY) or chat_id))


async def invite_ttl() -> timedelta:
    minutes = await app_settings.get(TTL_KEY)
    return DEFAULT_TTL if minutes is None else timedelta(minutes=max(1, int(minutes)))


async def _entitled(user: User, now: datetime) -> bool:
    """The user's plan includes the VIP channel, and we have not banned them."""
    if UserStatus(user.status) is UserStatus.BANNED:
        return False
    access = await access_for(user.id, now, role=Role(user.role))
    return access.has(Feature.VIP_CHANNEL)


async def _user(telegram_id: int) -> User | None:
    return await User.get_or_none(telegram_id=telegram_id)


# -- the user's link ------------------------------------------------------------------------
async def issue_invite(port: VipTelegram, telegram_id: int, now: datetime) -> Invite:
    """The user's own single-use link; raises with the reason when they cannot have one."""
    chat = await current_chat()
    if chat is None:
        raise NotFound("vip.not_configured")
    user = await _user(telegram_id)
    if user is None or not await _entitled(user, now):
        raise PermissionDenied("vip.not_entitled")
    if await port.member_status(chat.id, telegram_id) in INSIDE:
        raise InvalidInput("vip.already_member", chat=chat.title)
    live = (
        await VipInvite.filter(
            user_id=user.id, chat_id=chat.id, used_at=None, revoked_at=None,
            expires_at__gt=now + REUSE_MARGIN,
        ).order_by("-expires_at").first()
    )  # fmt: skip
    if live is not None:
        return Invite(live.invite_link, live.expires_at, reused=True)
    expires = now + await invite_ttl()
    link = await port.create_link(chat.id, name=f"vip-{user.id}", expires_at=expires)
    async with in_transaction():
        await VipInvite.create(user_id=user.id, chat_id=chat.id, invite_link=link,
                               expires_at=expires)  # fmt: skip
        await audit.record(
            "vip.invite_issued", actor_id=telegram_id, target=str(telegram_id), chat=chat.id,
            expires=expires.isoformat(),
        )  # fmt: skip
    return Invite(link, expires, reused=False)


# -- what happens in the chat ---------------------------------------------------------------
async def on_member_change(port: VipTelegram, change: MemberChange, now: datetime) -> str:
    """React to a chat_member update of the VIP chat; returns what was done (for the log):
    ignored | admitted | intruder_removed | unentitled_removed | left."""
    chat = await current_chat()
    if chat is None or chat.id != change.chat_id:
        return "ignored"
    was_in, is_in = change.old_status in INSIDE, change.new_status in INSIDE
    if was_in and not is_in:
        await _closed(change.chat_id, change.telegram_id, now, by_bot=change.by_bot)
        return "left"
    if was_in or not is_in or change.new_status in STAFF_INSIDE:
        return "ignored"
    return await _joined(port, change, now)


async def _joined(port: VipTelegram, change: MemberChange, now: datetime) -> str:
    user = await _user(change.telegram_id)
    invite = None
    if change.invite_link is not None:
        invite = await VipInvite.get_or_none(invite_link=change.invite_link)
    issued_to = invite.user_id if invite is not None else None  # type: ignore[attr-defined]
    entitled = user is not None and await _entitled(user, now)
    if user is not None and entitled and (invite is None or issued_to == user.id):
        await _admit(user, change.chat_id, now, invite)
        if invite is not None:
            await _revoke(port, invite, now)  # its one seat is taken
        return "admitted"
    foreign = invite is not None and (user is None or issued_to != user.id)
    await port.remove(change.chat_id, change.telegram_id)
    if invite is not None:
        await _revoke(port, invite, now)
    elif change.invite_link is not None and not change.link_is_primary:
        await port.revoke_link(change.chat_id, change.invite_link)
    outcome = "intruder_removed" if foreign else "unentitled_removed"
    async with outbox.transaction():
        await audit.record(
            f"vip.{outcome}", actor_id=None, target=str(change.telegram_id),
            chat=change.chat_id, link_owner=issued_to, link=(change.invite_link or "")[-12:],
        )  # fmt: skip
        if user is not None:
            key = _("vip.removed_foreign_link") if foreign else _("vip.removed_not_entitled")
            await _tell(user, key, f"{outcome}:{change.chat_id}:{now.isoformat()}")
    return outcome


async def _revoke(port: VipTelegram, invite: VipInvite, now: datetime) -> None:
    if invite.revoked_at is None:
        await port.revoke_link(invite.chat_id, invite.invite_link)
        invite.revoked_at = now
        await invite.save(update_fields=["revoked_at"])


async def _admit(user: User, chat_id: int, now: datetime, invite: VipInvite | None) -> None:
    async with in_transaction():
        if invite is not None and invite.used_at is None:
            invite.used_at = now
            await invite.save(update_fields=["used_at"])
        row, created = await VipMembership.get_or_create(
            defaults={"joined_at": now}, user_id=user.id, chat_id=chat_id
        )
        if not created:
            row.joined_at, row.removed_at = now, None
            await row.save(update_fields=["joined_at", "removed_at", "updated_at"])
        await audit.record(
            "vip.joined", actor_id=user.telegram_id, target=str(user.telegram_id),
            chat=chat_id, invite=invite.id if invite else None,
        )  # fmt: skip


async def _closed(chat_id: int, telegram_id: int, now: datetime, *, by_bot: bool) -> bool:
    """The user is out of the chat: their membership (if any) ends now. True if one did."""
    user = await _user(telegram_id)
    if user is None:
        return False
    async with in_transaction():
        changed = await VipMembership.filter(
            user_id=user.id, chat_id=chat_id, removed_at=None
        ).update(removed_at=now)
        if changed and not by_bot:
            await audit.record("vip.left", actor_id=telegram_id, target=str(telegram_id),
                               chat=chat_id)  # fmt: skip
    return bool(changed)


async def on_join_request(port: VipTelegram, chat_id: int, telegram_id: int,
                          now: datetime) -> bool | None:  # fmt: skip
    """Approve the request of an entitled user, decline anyone else's (None: not our chat)."""
    chat = await current_chat()
    if chat is None or chat.id != chat_id:
        return None
    user = await _user(telegram_id)
    approve = user is not None and await _entitled(user, now)
    await port.answer_request(chat_id, telegram_id, approve=approve)
    async with outbox.transaction():
        await audit.record(
            "vip.request_approved" if approve else "vip.request_declined",
            actor_id=None, target=str(telegram_id), chat=chat_id,
        )  # fmt: skip
        if user is not None and not approve:
            await _tell(user, _("vip.request_declined"), f"declined:{chat_id}:{now.isoformat()}")
    return approve


# -- the end of access ----------------------------------------------------------------------
async def remove_member(port: VipTelegram, user: User, chat_id: int, now: datetime,
                        *, reason: str) -> None:  # fmt: skip
    """Take the user out of the chat (ban then unban) and tell them why."""
    await port.remove(chat_id, user.telegram_id)
    async with outbox.transaction():
        await VipMembership.filter(user_id=user.id, chat_id=chat_id, removed_at=None).update(
            removed_at=now
        )
        await audit.record("vip.removed", actor_id=None, target=str(user.telegram_id),
                           chat=chat_id, reason=reason)  # fmt: skip
        await _tell(user, _("vip.removed_access_ended"), f"removed:{chat_id}:{now.isoformat()}")


async def reconcile(port: VipTelegram, now: datetime) -> ReconcileReport:
    """Compare who is in the chat (by getChatMember, for the members and recent invitees we
    know) with who is entitled, and fix the difference."""
    chat = await current_chat()
    if chat is None:
        return ReconcileReport()
    tally = _Tally()
    members = await VipMembership.filter(chat_id=chat.id, removed_at=None).prefetch_related("user")
    known = {m.user_id for m in members}  # type: ignore[attr-defined]
    invitees = await User.filter(
        vip_invites__chat_id=chat.id, vip_invites__expires_at__gt=now - INVITEE_WINDOW
    ).distinct()
    users = [m.user for m in members] + [u for u in invitees if u.id not in known]
    for user in users:
        tally.checked += 1
        try:
            await _check(port, chat.id, user, user.id in known, now, tally)
        except Exception:
            tally.errors += 1
            log.exception("vip reconcile: check failed", extra={"user_id": user.telegram_id})
    report = tally.report()
    if report.removed or report.closed or report.recorded or report.errors:
        await audit.record(
            "vip.reconciled", actor_id=None, target=str(chat.id), checked=report.checked,
            removed=list(report.removed), closed=list(report.closed),
            recorded=list(report.recorded), errors=report.errors,
        )  # fmt: skip
    return report


async def _check(port: VipTelegram, chat_id: int, user: User, known: bool, now: datetime,
                 tally: _Tally) -> None:  # fmt: skip
    state = await port.member_status(chat_id, user.telegram_id)
    if state not in INSIDE:
        if known and await _closed(chat_id, user.telegram_id, now, by_bot=False):
            tally.closed.append(user.telegram_id)
        return
    if state in STAFF_INSIDE:
        return
    if await _entitled(user, now):
        if not known:
            await _admit(user, chat_id, now, None)
            tally.recorded.append(user.telegram_id)
        return
    await remove_member(port, user, chat_id, now, reason="access_ended")
    tally.removed.append(user.telegram_id)


async def _tell(user: User, key: str, dedupe: str) -> None:
    """A message to the user in their language, through the outbox (caller's transaction)."""
    body = render(user.language, key, plans="/plans", vip="/vip")
    await outbox.enqueue(
        user.telegram_id,
        PlainText(body),
        f"vip:{user.telegram_id}:{dedupe}",
        user_id=user.telegram_id,
    )
